"""Every error xlcrm raises on purpose, in one tree.

    XlcrmError
    ├── SchemaError (ValueError)            a preset or locale file is wrong
    │   └── UnknownPresetError (LookupError)
    ├── WorkbookError                       a workbook can't be read or written as asked
    │   ├── WorkbookExistsError (FileExistsError)
    │   ├── UnreadableWorkbookError             not a workbook, encrypted, damaged, a bomb
    │   │   └── PasswordError                       encrypted: no password, or a wrong one
    │   ├── NotXlcrmWorkbookError               a team's own workbook: attach or adopt it first
    │   ├── WorkbookLockedError (PermissionError)  open in Excel or LibreOffice
    │   ├── WorkbookBusyError                   another xlcrm run is writing it
    │   └── TransplantError (ValueError)        a sheet can't go into this workbook as asked
    ├── ArgumentError (ValueError)          an argument can't be used as given
    ├── ExportError (ValueError)            an export can't be made as asked
    ├── ImportFileError (ValueError)        a file to import can't be read or matched
    └── ReportError (ValueError)            a report can't be made or sent as asked
        └── TemplateError                       a report template is wrong (file and line)

Each message says where the problem is and how to fix it, in one line, so the command line can
print it as it is.
"""

from __future__ import annotations


class XlcrmError(Exception):
    """Base of every error xlcrm raises on purpose."""


class SchemaError(XlcrmError, ValueError):
    """A preset or locale file is missing, malformed or inconsistent."""


class UnknownPresetError(SchemaError, LookupError):
    """A preset or locale name that xlcrm does not ship."""


class WorkbookError(XlcrmError):
    """A workbook can't be read or written as asked."""


class WorkbookExistsError(WorkbookError, FileExistsError):
    """The target workbook exists and overwriting it was not asked for."""


class UnreadableWorkbookError(WorkbookError):
    """The file is not a workbook that can be read safely (``xlcrm check`` exits with 2)."""


class PasswordError(UnreadableWorkbookError):
    """An encrypted workbook given without its password, or with a wrong one."""


class NotXlcrmWorkbookError(WorkbookError):
    """The workbook is not xlcrm's (it has no xlcrm Settings sheet and records no preset), so
    no command writes into it; ``attach`` or ``adopt`` makes it one."""


class WorkbookLockedError(WorkbookError, PermissionError):
    """Excel or LibreOffice holds the workbook open, and writing it was asked."""


class WorkbookBusyError(WorkbookError):
    """Another xlcrm run holds the workbook's write lock and did not finish in time."""


class TransplantError(WorkbookError, ValueError):
    """A sheet can't be written into this workbook as asked (a name clash ...)."""


class ExportError(XlcrmError, ValueError):
    """An export can't be made as asked."""


class ImportFileError(XlcrmError, ValueError):
    """A file to import can't be read, or none of its columns matches the sheet."""


class ReportError(XlcrmError, ValueError):
    """A report or agenda can't be made or sent as asked (a week that does not exist, no
    data for it, a mail server that refuses it)."""


class TemplateError(ReportError):
    """A report template has an error; the message names the template file and line."""


class ArgumentError(XlcrmError, ValueError):
    """An argument can't be used as given: a period that ends before it starts, a day or a
    name that does not exist."""
