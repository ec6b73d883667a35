"""A stand-in for python-calamine's workbook, read with openpyxl.

The reader uses python-calamine, a compiled (Rust) package. Where it can't be installed (xlwings
Lite runs Python in the browser, where only pure-Python packages and Pyodide's own builds
exist) the reader falls back to this class, which gives the same few answers the reader asks
of a calamine workbook: sheet names, table names and ranges, a sheet's cells as rows of Python
values from A1 (empty cells as ``""``), and its merged ranges. Slower, the same values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl.utils.cell import range_boundaries

__all__ = ["OpenpyxlBook"]


@dataclass(frozen=True)
class _Table:
    name: str
    sheet: str
    start: tuple[int, int]  # first data row and column, 0-based (below the header)
    end: tuple[int, int]


class _Sheet:
    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.merged_cell_ranges = [
            ((r.min_row - 1, r.min_col - 1), (r.max_row - 1, r.max_col - 1))
            for r in ws.merged_cells.ranges]

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None
                  ) -> list[list[Any]]:
        rows = []
        for row in self._ws.iter_rows(min_row=1, min_col=1, max_row=nrows, values_only=True):
            rows.append([_value(v) for v in row])
        while rows and all(v == "" for v in rows[-1]):
            rows.pop()
        return rows


def _value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.timedelta):
        return v
    return v


class OpenpyxlBook:
    """The part of ``python_calamine.CalamineWorkbook`` the reader uses."""

    def __init__(self, path: str | Path | IO[bytes]) -> None:
        import openpyxl

        self._wb = openpyxl.load_workbook(path, data_only=True)
        self.sheet_names = list(self._wb.sheetnames)
        self._tables: dict[str, _Table] = {}
        for ws in self._wb.worksheets:
            for name, ref in ws.tables.items():
                min_col, min_row, max_col, max_row = range_boundaries(ref)
                self._tables[name] = _Table(name, ws.title, (min_row, min_col - 1),
                                            (max_row - 1, max_col - 1))
        self.table_names = list(self._tables)

    @classmethod
    def from_path(cls, path: str, load_tables: bool = False) -> OpenpyxlBook:
        """Open ``path`` (tables are always read)."""
        return cls(path)

    @classmethod
    def from_filelike(cls, filelike: IO[bytes], load_tables: bool = False) -> OpenpyxlBook:
        """Open a workbook held in a file object (tables are always read)."""
        return cls(filelike)

    def get_sheet_by_name(self, name: str) -> _Sheet:
        return _Sheet(self._wb[name])

    def get_table_by_name(self, name: str) -> _Table:
        return self._tables[name]

    def close(self) -> None:
        self._wb.close()
