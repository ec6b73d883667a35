"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here; the command line (``xlcrm``) wraps these functions.
"""

from __future__ import annotations

from ._version import __version__
from .commands.agenda import AgendaResult, agenda
from .commands.assign import AssignResult, assign
from .commands.check import CheckResult, check
from .commands.clean import CleanResult, clean
from .commands.demo import demo
from .commands.init import init
from .commands.report import ReportResult, make_report, report
from .commands.score import ScoreResult, score
from .demodata import DemoData, generate_demo
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
from .reporting.data import WeeklyReport
from .reporting.mail import SmtpSettings
from .schema import Schema, available_locales, available_presets, load_schema

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
