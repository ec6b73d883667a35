"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here; the command line (``xlcrm``) wraps these functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .assign import AssignResult, assign
from .check import CheckResult, check
from .clean import CleanResult, clean
from .demo import DemoData, demo, generate_demo
from .errors import (
    ExportError,
    SchemaError,
    UnknownPresetError,
    UnreadableWorkbookError,
    WorkbookBusyError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookLockedError,
    XlcrmError,
)
from .issues import Issue
from .read import Crm, Settings, load
from .schema import Schema, available_locales, available_presets, load_schema
from .score import ScoreResult, score
from .workbook import init

__all__ = [
    "AssignResult",
    "CheckResult",
    "CleanResult",
    "Crm",
    "DemoData",
    "ExportError",
    "Issue",
    "Schema",
    "SchemaError",
    "ScoreResult",
    "Settings",
    "UnknownPresetError",
    "UnreadableWorkbookError",
    "WorkbookBusyError",
    "WorkbookError",
    "WorkbookExistsError",
    "WorkbookLockedError",
    "XlcrmError",
    "__version__",
    "assign",
    "available_locales",
    "available_presets",
    "check",
    "clean",
    "demo",
    "generate_demo",
    "init",
    "load",
    "load_schema",
    "score",
]
