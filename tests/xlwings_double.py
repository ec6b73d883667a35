"""A test double of the small part of xlwings that xlcrm.macros uses, behaving as xlwings
documents it: a range's value is a scalar for one cell, a list for one row or column and a
list of lists otherwise (``options(ndim=2)`` always gives lists of lists); empty cells are
None; numbers are floats; dates are datetimes (a time-only cell is a datetime on
1899-12-30); assigning a list of lists fills the block from the range's top-left cell; a string
starting with "=" is stored as a formula (its cell listed in ``Sheet.formulas``), one starting
with a quote as the text after the quote."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dt.time):
        return dt.datetime.combine(dt.date(1899, 12, 30), value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if value == "":
        return None
    return value


def _address(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", text.upper())
    assert m, text
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


class Range:
    def __init__(self, sheet: Sheet, row: int, column: int, rows: int = 1,
                 columns: int = 1, ndim: int | None = None) -> None:
        self.sheet, self.row, self.column = sheet, row, column
        self.rows_count, self.columns_count, self._ndim = rows, columns, ndim

    def options(self, ndim: int | None = None, **_: Any) -> Range:
        return Range(self.sheet, self.row, self.column, self.rows_count, self.columns_count,
                     ndim)

    def resize(self, row_size: int | None = None, column_size: int | None = None) -> Range:
        return Range(self.sheet, self.row, self.column, row_size or self.rows_count,
                     column_size or self.columns_count)

    def expand(self, mode: str = "table") -> Range:
        rows = 1
        while self.sheet.cells.get((self.row + rows, self.column)) is not None:
            rows += 1
        cols = 1
        while self.sheet.cells.get((self.row, self.column + cols)) is not None:
            cols += 1
        return self.resize(rows, cols)

    @property
    def value(self) -> Any:
        grid = [[self.sheet.cells.get((r, c)) for c in range(self.column,
                                                            self.column + self.columns_count)]
                for r in range(self.row, self.row + self.rows_count)]
        if self._ndim == 2:
            return grid
        if self.rows_count == 1 and self.columns_count == 1:
            return grid[0][0]
        if self.rows_count == 1:
            return grid[0]
        if self.columns_count == 1:
            return [r[0] for r in grid]
        return grid

    @value.setter
    def value(self, data: Any) -> None:
        if not isinstance(data, (list, tuple)):
            data = [[data]]
        elif data and not isinstance(data[0], (list, tuple)):
            data = [list(data)]
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                v = _normalise(v)
                key = (self.row + i, self.column + j)
                self.sheet.formulas.discard(key)
                if isinstance(v, str) and v.startswith("'"):
                    v = v[1:] or None  # Excel's prefix character: the rest is text
                elif isinstance(v, str) and v.startswith("="):
                    self.sheet.formulas.add(key)
                if v is None:
                    self.sheet.cells.pop(key, None)
                else:
                    self.sheet.cells[key] = v
        self.sheet.writes += 1

    @property
    def number_format(self) -> str:
        return self.sheet.formats.get((self.row, self.column), "General")

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        for r in range(self.row, self.row + self.rows_count):
            for c in range(self.column, self.column + self.columns_count):
                self.sheet.formats[(r, c)] = fmt

    def clear_contents(self) -> None:
        for r in range(self.row, self.row + self.rows_count):
            for c in range(self.column, self.column + self.columns_count):
                self.sheet.cells.pop((r, c), None)


class Sheet:
    def __init__(self, book: Book, name: str) -> None:
        self.book, self.name = book, name
        self.cells: dict[tuple[int, int], Any] = {}
        self.formats: dict[tuple[int, int], str] = {}
        self.formulas: set[tuple[int, int]] = set()  # cells Excel would calculate
        self.writes = 0

    def range(self, first: Any, second: Any = None) -> Range:
        row, col = first if isinstance(first, tuple) else _address(first)
        if second is None:
            return Range(self, row, col)
        row2, col2 = second if isinstance(second, tuple) else _address(second)
        return Range(self, row, col, row2 - row + 1, col2 - col + 1)

    @property
    def used_range(self) -> Range:
        if not self.cells:
            return Range(self, 1, 1)
        rows = [r for r, _ in self.cells]
        cols = [c for _, c in self.cells]
        return Range(self, min(rows), min(cols), max(rows) - min(rows) + 1,
                     max(cols) - min(cols) + 1)

    def clear_contents(self) -> None:
        self.cells.clear()
        self.formulas.clear()

    def grid(self) -> list[list[Any]]:
        """Test helper: the sheet from A1 as rows, None for empty cells."""
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells)
        width = max(c for _, c in self.cells)
        return [[self.cells.get((r, c)) for c in range(1, width + 1)]
                for r in range(1, height + 1)]


class Sheets:
    def __init__(self, book: Book) -> None:
        self.book = book
        self._items: list[Sheet] = []

    def __iter__(self):  # noqa: ANN204
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key: int | str) -> Sheet:
        if isinstance(key, int):
            return self._items[key]
        for s in self._items:
            if s.name.lower() == key.lower():
                return s
        raise KeyError(key)

    def add(self, name: str | None = None, before: Sheet | None = None,
            after: Sheet | None = None) -> Sheet:
        sheet = Sheet(self.book, name or f"Sheet{len(self._items) + 1}")
        index = len(self._items) if after is None else self._items.index(after) + 1
        self._items.insert(index, sheet)
        return sheet


class App:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str | None]] = []

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok",
              mode: str | None = None, callback: str | None = None) -> str | None:
        self.alerts.append((prompt, title))
        return None


class Book:
    def __init__(self, name: str, fullname: str = "") -> None:
        self.name, self.fullname = name, fullname or name
        self.sheets = Sheets(self)
        self.app = App()

    @classmethod
    def from_grids(cls, name: str, grids: dict[str, list[list[Any]]]) -> Book:
        """A book holding these sheets, each cell as Excel would give it through xlwings."""
        book = cls(name)
        for sheet_name, rows in grids.items():
            sheet = book.sheets.add(sheet_name)
            for r, row in enumerate(rows, 1):
                for c, v in enumerate(row, 1):
                    v = _normalise(v)
                    if v is not None:
                        sheet.cells[(r, c)] = v
        return book
