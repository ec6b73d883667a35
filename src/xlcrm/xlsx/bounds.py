"""Keep a sheet's reading bounded by where its values really are.

The cell reader (calamine) gives a sheet as one dense grid from its first to its last cell: a
single value at ``XFD1048576`` makes that 17 billion cells (half a terabyte), and a stray value
at ``XFD2`` of a 10,000-row sheet 164 million. :func:`bounded_copy` looks at each sheet's cell
addresses first (a scan of the XML, no parsing); when a sheet's grid would exceed both
:data:`MAX_CELLS` and :data:`DENSITY` times the cells it holds, the values lying beyond a wide
empty gap from the rest are left out of a private copy that is read instead, and each is
reported, so a stray far cell costs nothing and is named. A sheet whose values really spread
that far is refused with one line.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UnreadableWorkbookError
from ..issues import column_index, column_letter
from .scratch import new_scratch_folder

__all__ = ["DENSITY", "MAX_CELLS", "FarCell", "bounded_copy", "bounded_reader", "fits",
           "grid_size"]

#: the largest grid (rows x columns) a sheet is read as: about 320 MB in the reader
MAX_CELLS = 10_000_000
#: how many times its cells a bigger sheet's grid may be (a column of a million values reads
#: as 26 columns by :func:`grid_size`'s bound)
DENSITY = 32
_ROW_GAP = 1_000  # empty rows that part a stray value from the rows above it
_COL_GAP = 64  # empty columns that part a stray value from the columns before it
# literal-led patterns, fast over megabytes: a row's number; a cell reference with a column
# past Z or a row past 999,999 (whatever its row element says)
_ROW_TAG = re.compile(rb'row r="(\d+)"')
# (a cell reference with a column past Z, or one with a row past 999,999: few in most sheets)
_FAR_REF = re.compile(rb' r="(?:([A-Z]{2,3})\d{1,6}|([A-Z]{1,3})(\d{7,}))"')
# any reference _FAR_REF would match starts so: a second letter, or one letter and seven
# digits; searched first, as a sheet of single-letter columns and short rows has none (one
# search is a third of the time of finding every reference)
_FAR_HINT = re.compile(rb' r="[A-Z](?:[A-Z]|\d{7})')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d+)"')
_ROW_ELEMENT = re.compile(rb'<(?:\w+:)?row\b[^>]*?(?:/>|>.*?</(?:\w+:)?row>)', re.DOTALL)
_CELL_ELEMENT = re.compile(rb'<(?:\w+:)?c\b[^>]*?(?:/>|>.*?</(?:\w+:)?c>)', re.DOTALL)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*/>')


@dataclass(frozen=True)
class FarCell:
    """A value left out of reading: ``sheet``, its ``cell`` (``XFD2``)."""

    sheet: str
    cell: str


def grid_size(data: bytes) -> tuple[int, int]:
    """The rows and columns of the grid a reader would make of a sheet's XML (a bound: the
    last row and the last column that hold a cell)."""
    far = _FAR_REF.findall(data) if _FAR_HINT.search(data) else []  # one pass for both kinds
    rows = max(map(int, [*_ROW_TAG.findall(data), *(row for _, _, row in far if row)]),
               default=0)
    wide = {wide or letters for wide, letters, _ in far} - {b""}
    last_col = max((column_index(c.decode()) + 1 for c in wide), default=26)
    return rows, max(last_col, 26)


def fits(data: bytes) -> bool:
    """Whether a sheet's XML makes a grid the reader may build: :data:`MAX_CELLS` at most, or
    at most :data:`DENSITY` times the cells it holds.

    A big sheet is as big as its contents, which the package limits bound: its 900,000 rows
    make a grid of 24 million cells by the bound :func:`grid_size` gives (26 columns for any
    sheet whose columns are single letters) while it holds 7 million; what is refused is a
    grid out of all proportion to its cells, a stray value far from a small table.
    """
    rows, cols = grid_size(data)
    return rows * cols <= MAX_CELLS or rows * cols <= _allowed(data)


def _allowed(data: bytes) -> int:
    """The biggest grid a sheet's XML may make: :data:`MAX_CELLS`, or :data:`DENSITY` times
    its cells."""
    cells = data.count(b"<c ") + data.count(b":c ")  # cell elements, with a prefix or not
    return max(MAX_CELLS, DENSITY * cells)


def _kept_extent(data: bytes) -> tuple[int, int]:
    """The last row and column of the dense part of a sheet: values past a wide empty gap
    (``_ROW_GAP`` rows, ``_COL_GAP`` columns) are strays."""
    rows: set[int] = set()
    cols: set[int] = set()
    for letters, row in _CELL_REF.findall(data):
        rows.add(int(row))
        cols.add(column_index(letters.decode()) + 1)

    def cut(values: set[int], gap: int) -> int:
        last = 0
        for v in sorted(values):
            if v - last > gap and last:
                break
            last = v
        return last

    return cut(rows, _ROW_GAP), cut(cols, _COL_GAP)


def _trim(data: bytes, last_row: int, last_col: int) -> tuple[bytes, list[str]]:
    """The sheet's XML without the cells past ``last_row``/``last_col``; the cells dropped."""
    dropped: list[str] = []

    def cell(m: re.Match[bytes]) -> bytes:
        ref = _CELL_REF.match(m.group(0))
        if ref and (int(ref.group(2)) > last_row
                    or column_index(ref.group(1).decode()) + 1 > last_col):
            dropped.append(ref.group(1).decode() + ref.group(2).decode())
            return b""
        return m.group(0)

    def row(m: re.Match[bytes]) -> bytes:
        return _CELL_ELEMENT.sub(cell, m.group(0))

    trimmed = _ROW_ELEMENT.sub(row, data)
    box = f'<dimension ref="A1:{column_letter(last_col - 1)}{last_row}"/>'.encode()
    return _DIMENSION.sub(box, trimmed, count=1), dropped


def bounded_copy(path: Path, parts: dict[str, str]) -> tuple[Path, list[FarCell]]:
    """Return a workbook to read in place of ``path``, and the stray values it leaves out.

    Args:
        path: the workbook (already checked by :func:`~xlcrm.xlsx.opening.safe_open`).
        parts: sheet name -> its part, of the sheets to be read.

    Returns:
        ``path`` itself when every sheet's grid is within bounds (:func:`fits`, the usual case),
        else a copy with the strays left out, in a private folder of its own that the caller
        removes (``shutil.rmtree(copy.parent)``), and the strays.

    Raises:
        UnreadableWorkbookError: a sheet's values really spread further than :func:`fits`
            allows.
    """
    from .crypto import MemoryFile, keep_in_memory, source

    replaced: dict[str, bytes] = {}
    far: list[FarCell] = []
    plain = source(path)  # an encrypted workbook is read from its in-memory copy
    with zipfile.ZipFile(plain) as zf:
        present = set(zf.namelist())
        for name, part in parts.items():
            if part not in present:
                continue
            data = zf.read(part)
            if fits(data):
                continue
            last_row, last_col = _kept_extent(data)
            if last_row * last_col > _allowed(data):
                raise UnreadableWorkbookError(
                    f"{path.name}: sheet {name} holds values over {last_row:,} rows and "
                    f"{last_col:,} columns, far more than it has cells; delete the rows or "
                    "columns it does not need")
            replaced[part], dropped = _trim(data, last_row, last_col)
            far += [FarCell(name, cell) for cell in dropped]
        if not replaced:
            return path, []
        copy = new_scratch_folder("read") / path.name  # the caller removes it
        # the copy of an encrypted workbook stays in memory too, read by the copy's name
        memory = MemoryFile(path.name) if isinstance(plain, MemoryFile) else None
        with zipfile.ZipFile(memory or copy, "w", zipfile.ZIP_DEFLATED,
                             compresslevel=1) as out:
            for info in zf.infolist():
                out.writestr(info.filename, replaced.get(info.filename) or zf.read(info))
        if memory is not None:
            keep_in_memory(copy, memory.getvalue())
    return copy, far


@contextlib.contextmanager
def bounded_reader(path: Path, sheets: Collection[str] | None = None) -> Iterator[Any]:
    """Open ``path`` with the cell reader, bounded as :func:`bounded_copy` says; for a caller
    that needs some sheets' cells as they are, not the typed tables.

    Args:
        path: the workbook.
        sheets: the only sheets the caller reads (the others' size is then not checked: a
            small sheet is read without unpacking the 300k-row ones); None for every sheet.
    """
    from .cells import read_book
    from .parts import read_outline

    ooxml = path.suffix.lower() in (".xlsx", ".xlsm")  # .xls and .ods are read as they are
    parts = read_outline(path).sheet_parts if ooxml else {}
    if sheets is not None:
        parts = {name: part for name, part in parts.items() if name in sheets}
    copy, _ = bounded_copy(path, parts) if ooxml else (path, [])
    try:
        book = read_book(copy)  # from memory when encrypted, the copy's too
        try:
            yield book
        finally:
            book.close()
    finally:
        if copy != path:
            shutil.rmtree(copy.parent, ignore_errors=True)
