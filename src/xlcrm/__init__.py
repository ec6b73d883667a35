"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here: one typed function per command of the ``xlcrm``
command line (its twin, which :mod:`xlcrm.cli` wraps), their results and the errors they raise.
The implementation lives in modules that are not re-exported under these names, so
``xlcrm.report`` is always the function and the report's parts live in :mod:`xlcrm.reporting`.
"""

from ._version import __version__
from .commands.agenda import AgendaResult, agenda
from .commands.assign import AssignResult, assign
from .commands.attach import attach
from .commands.check import CheckResult, check
from .commands.clean import CleanResult, clean
from .commands.demo import demo
from .commands.diff import DiffResult, diff
from .commands.forget import ForgetResult, forget
from .commands.init import init
from .commands.merge import MergeResult, merge
from .commands.person import PersonResult, person
from .commands.protect import protect, unprotect
from .commands.report import ReportResult, make_report, report
from .commands.score import ScoreResult, score
from .commands.update import UpdateResult, set_baseline, update
from .demodata import DemoData, generate_demo
from .errors import (
    ArgumentError,
    ExportError,
    ImportFileError,
    NotXlcrmWorkbookError,
    PasswordError,
    ReportError,
    SchemaError,
    TemplateError,
    TransplantError,
    UnknownPresetError,
    UnreadableWorkbookError,
    WorkbookBusyError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookLockedError,
    XlcrmError,
)
from .excel.macrobook import MacroResult, macro_workbook
from .exchange.adopt import AdoptResult, adopt
from .exchange.export import ExportedFile, ExportResult, export
from .exchange.importer import ImportResult, import_leads
from .exchange.mapping import available_targets
from .issues import Issue
from .metrics.compare import FieldChange, RecordChange, SettingsChange
from .metrics.threeway import Conflict, MergeStep
from .read import Crm, Settings, load
from .reporting.data import WeeklyReport
from .reporting.mail import SmtpSettings
from .schema import Schema, available_locales, available_presets, load_schema
from .week import WeekResult
from .xlsx.save import SaveResult

__all__ = [
    "AdoptResult",
    "AgendaResult",
    "ArgumentError",
    "AssignResult",
    "CheckResult",
    "CleanResult",
    "Conflict",
    "Crm",
    "DemoData",
    "DiffResult",
    "ExportError",
    "ExportResult",
    "ExportedFile",
    "FieldChange",
    "ForgetResult",
    "ImportFileError",
    "ImportResult",
    "Issue",
    "MacroResult",
    "MergeResult",
    "MergeStep",
    "NotXlcrmWorkbookError",
    "PasswordError",
    "PersonResult",
    "RecordChange",
    "ReportError",
    "ReportResult",
    "SaveResult",
    "Schema",
    "SchemaError",
    "ScoreResult",
    "Settings",
    "SettingsChange",
    "SmtpSettings",
    "TemplateError",
    "TransplantError",
    "UnknownPresetError",
    "UnreadableWorkbookError",
    "UpdateResult",
    "WeekResult",
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
    "attach",
    "available_locales",
    "available_presets",
    "available_targets",
    "check",
    "clean",
    "demo",
    "diff",
    "export",
    "forget",
    "generate_demo",
    "import_leads",
    "init",
    "load",
    "load_schema",
    "macro_workbook",
    "make_report",
    "merge",
    "person",
    "protect",
    "report",
    "score",
    "set_baseline",
    "unprotect",
    "update",
]
