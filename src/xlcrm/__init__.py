"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here: one typed function per command of the ``xlcrm``
command line (its twin, which :mod:`xlcrm.cli` wraps), their results and the errors they raise.
The implementation lives in modules that are not re-exported under these names, so
``xlcrm.report`` is always the function and the report's parts live in :mod:`xlcrm.reporting`.

Importing :mod:`xlcrm` is cheap: the errors and the version are defined at once, every other
name is imported from its module the first time it is used (``xlcrm.check`` loads the check
and what it needs, nothing else), so ``xlcrm --help`` does not wait for pandas. A new public
name goes in ``__all__`` and in ``_WHERE`` (and in the ``_typing.TYPE_CHECKING`` block, for the type
checker); tests/test_exported_members.py checks each one resolves.
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__
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

if _typing.TYPE_CHECKING:
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

#: Where each lazily imported public name lives.
_WHERE = {
    "AdoptResult": ".exchange.adopt",
    "AgendaResult": ".commands.agenda",
    "AssignResult": ".commands.assign",
    "CheckResult": ".commands.check",
    "CleanResult": ".commands.clean",
    "Conflict": ".metrics.threeway",
    "Crm": ".read",
    "DemoData": ".demodata",
    "DiffResult": ".commands.diff",
    "ExportResult": ".exchange.export",
    "ExportedFile": ".exchange.export",
    "FieldChange": ".metrics.compare",
    "ForgetResult": ".commands.forget",
    "ImportResult": ".exchange.importer",
    "Issue": ".issues",
    "MacroResult": ".excel.macrobook",
    "MergeResult": ".commands.merge",
    "MergeStep": ".metrics.threeway",
    "PersonResult": ".commands.person",
    "RecordChange": ".metrics.compare",
    "ReportResult": ".commands.report",
    "SaveResult": ".xlsx.save",
    "Schema": ".schema",
    "ScoreResult": ".commands.score",
    "Settings": ".read",
    "SettingsChange": ".metrics.compare",
    "SmtpSettings": ".reporting.mail",
    "UpdateResult": ".commands.update",
    "WeekResult": ".week",
    "WeeklyReport": ".reporting.data",
    "adopt": ".exchange.adopt",
    "agenda": ".commands.agenda",
    "assign": ".commands.assign",
    "attach": ".commands.attach",
    "available_locales": ".schema",
    "available_presets": ".schema",
    "available_targets": ".exchange.mapping",
    "check": ".commands.check",
    "clean": ".commands.clean",
    "demo": ".commands.demo",
    "diff": ".commands.diff",
    "export": ".exchange.export",
    "forget": ".commands.forget",
    "generate_demo": ".demodata",
    "import_leads": ".exchange.importer",
    "init": ".commands.init",
    "load": ".read",
    "load_schema": ".schema",
    "macro_workbook": ".excel.macrobook",
    "make_report": ".commands.report",
    "merge": ".commands.merge",
    "person": ".commands.person",
    "protect": ".commands.protect",
    "report": ".commands.report",
    "score": ".commands.score",
    "set_baseline": ".commands.update",
    "unprotect": ".commands.protect",
    "update": ".commands.update",
}

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


def __getattr__(name: str) -> _typing.Any:  # noqa: ANN401 - any public name
    """Import a public name from its module on first use, and keep it."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'xlcrm' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
