"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here; the command line (``xlcrm``) wraps these functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .agenda import AgendaResult, agenda
from .assign import AssignResult, assign
from .check import CheckResult, check
from .clean import CleanResult, clean
from .demo import DemoData, demo, generate_demo
from .errors import (
    ExportError,
    ImportFileError,
    ReportError,
    SchemaError,
    TemplateError,
    UnknownPresetError,
    UnreadableWorkbookError,
    WorkbookBusyError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookLockedError,
    XlcrmError,
)
from .exchange import (
    AdoptResult,
    ExportedFile,
    ExportResult,
    ImportResult,
    adopt,
    available_targets,
    export,
    import_leads,
)
from .issues import Issue
from .read import Crm, Settings, load
from .report import ReportResult, SmtpSettings, WeeklyReport, make_report, report
from .schema import Schema, available_locales, available_presets, load_schema
from .score import ScoreResult, score
from .workbook import init

__all__ = [
    "AdoptResult",
    "AgendaResult",
    "AssignResult",
    "CheckResult",
    "CleanResult",
    "Crm",
    "DemoData",
    "ExportError",
    "ExportResult",
    "ExportedFile",
    "ImportFileError",
    "ImportResult",
    "Issue",
    "ReportError",
    "ReportResult",
    "Schema",
    "SchemaError",
    "ScoreResult",
    "Settings",
    "SmtpSettings",
    "TemplateError",
    "UnknownPresetError",
    "UnreadableWorkbookError",
    "WeeklyReport",
    "WorkbookBusyError",
    "WorkbookError",
    "WorkbookExistsError",
    "WorkbookLockedError",
    "XlcrmError",
    "__version__",
    "adopt",
    "agenda",
    "assign",
    "available_locales",
    "available_presets",
    "available_targets",
    "check",
    "clean",
    "demo",
    "export",
    "generate_demo",
    "import_leads",
    "init",
    "load",
    "load_schema",
    "make_report",
    "report",
    "score",
]
