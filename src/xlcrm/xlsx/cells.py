"""Read a workbook's cells as values: the cell reader, and the error cells it can't see.

python-calamine (Rust) parses sheets fast and independently of the writers; where it can't be
installed (xlwings Lite runs Python in the browser) :class:`.openpyxl_book.OpenpyxlBook` gives
the same answers, slower. calamine reads an error cell (``#N/A``, ``#REF!``) as empty, so
:func:`errors_in` finds them in the sheet's XML.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from ..issues import column_index
from .crypto import MemoryFile, source

__all__ = ["errors_in", "open_book", "read_book", "read_part", "workbook_reader"]

_CELL_ERROR = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>.*?<v>([^<]*)</v>'
                         rb'|<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]+)(\d+)"[^>]*>.*?<v>([^<]*)</v>',
                         re.DOTALL)


def workbook_reader() -> tuple[Any, tuple[type[BaseException], ...]]:
    """The workbook reader and the errors it raises: python-calamine, imported here rather than
    at the top so the metrics import without it, or, where it can't be installed (xlwings Lite
    runs in the browser), the slower pure-Python stand-in built on openpyxl."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError:
        from zipfile import BadZipFile

        from .openpyxl_book import OpenpyxlBook

        return OpenpyxlBook, (BadZipFile, KeyError, ValueError, OSError)
    return CalamineWorkbook, (CalamineError,)


def open_book(place: str | Path | MemoryFile, *, load_tables: bool = False) -> Any:
    """Open a workbook with the cell reader: a file by name, an in-memory one (an encrypted
    workbook's plain copy, from :func:`~xlcrm.xlsx.crypto.source`) as a file object."""
    reader = workbook_reader()[0]
    if isinstance(place, MemoryFile):
        return reader.from_filelike(place.reopened(), load_tables=load_tables)
    return reader.from_path(str(place), load_tables=load_tables)


def read_book(path: str | Path, *, load_tables: bool = False) -> Any:
    """Open the workbook ``path`` with the cell reader, from its plain copy in memory when it
    is an unlocked encrypted workbook."""
    return open_book(source(path), load_tables=load_tables)


def read_part(path: Path, part: str) -> bytes | None:
    """The inflated bytes of one part of the workbook ``path`` (from its plain copy in memory
    when it is an unlocked encrypted workbook); None when the package lacks it."""
    try:
        with zipfile.ZipFile(source(path)) as zf:
            return zf.read(part)
    except (KeyError, zipfile.BadZipFile):
        return None


def errors_in(data: bytes) -> dict[tuple[int, int], str]:
    """The error cells (``#N/A``, ``#REF!``) of a sheet's XML: (row, column), 0-based -> the
    error as shown."""
    found: dict[tuple[int, int], str] = {}
    if b't="e"' not in data:  # the usual case: no need to run the pattern over the sheet
        return found
    for m in _CELL_ERROR.finditer(data):
        letters, row, value = (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6))
        found[(int(row) - 1, column_index(letters.decode()))] = value.decode(errors="replace")
    return found
