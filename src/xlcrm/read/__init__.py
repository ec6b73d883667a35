"""Read a hand-edited CRM workbook into typed pandas tables: ``xlcrm.load``.

python-calamine reads the cells (fast, and independent of the writers). Columns are found by
header, whatever their position, language, spelling or case; values are coerced by the column's
type with the tolerance a person expects (dates typed as text, numbers stored as text, ``Y`` /
``x`` / ``sì`` for flags); every value that can't be read is reported as an
:class:`~xlcrm.issues.Issue` pointing at its cell, and never stops the reading of the rest.

One concern per module: :mod:`.cells` (one cell's value by its type), :mod:`.columns` (a column
of cells), :mod:`.headers` (sheets and columns by name, the header row), :mod:`.grid` (a table
of records), :mod:`.settings` (the Settings sheet), :mod:`.backends` (worker threads and
workbook handles) and :mod:`.workbook` (the whole workbook: :func:`load`). The types read
into live in :mod:`xlcrm.crm`.
"""

from __future__ import annotations

from ..crm import Columns, Crm, Settings
from ..xlsx.cells import workbook_reader
from .backends import bulk_work
from .cells import Coercer
from .headers import HEADER_SCAN_ROWS, sheet_header_names
from .kind import require_xlcrm_file
from .workbook import held_reading, load

__all__ = ["HEADER_SCAN_ROWS", "Coercer", "Columns", "Crm", "Settings", "bulk_work", "held_reading",
           "load", "require_xlcrm_file", "sheet_header_names", "workbook_reader"]
