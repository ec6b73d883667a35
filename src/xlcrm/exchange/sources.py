"""Read a lead file as people send it: CSV in any common encoding and delimiter, or XLSX.

The encoding is found from the bytes: a UTF-8 byte-order mark, a UTF-16 mark (what Excel's
"Unicode text" writes), valid UTF-8, or else Windows-1252 (Excel's "CSV" on Western Windows).
The delimiter is the one of comma, semicolon and tab that the header line uses most. Quoted
fields may hold delimiters and line breaks; every record keeps the line of the file it starts
on, so a problem can be reported where a person finds it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema import normalize_header

__all__ = ["RawTable", "detect_date_order", "read_table"]

HEADER_SCAN_ROWS = 20


@dataclass
class RawTable:
    """The cells of a lead file: its header, and each record with the line it starts on."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[Any]]]
    encoding: str = ""
    delimiter: str = ""
    header_line: int = 1


def _encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = raw[:400]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a mark
        return "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def read_table(path: str | Path, names: dict[str, str] | None = None) -> RawTable:
    """Read a CSV/TXT or XLSX lead file into a :class:`RawTable`.

    Args:
        path: the file.
        names: known headers (normalised -> column key), to find the header row of a sheet
            with title rows above it.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        return _read_sheet(path, names or {})
    raw = path.read_bytes()
    encoding = _encoding(raw)
    text = raw.decode(encoding, errors="replace")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    header: list[str] = []
    line = 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not header:
            header = [h.strip() for h in record]
            header_line = start
            continue
        if any(v.strip() for v in record):
            rows.append((start, record))
    if not header:
        header_line = 1
    return RawTable(path, header, rows, encoding, delimiter, header_line)


def _read_sheet(path: Path, names: dict[str, str]) -> RawTable:
    from ..xlsx.cells import workbook_reader  # calamine, or openpyxl where it can't be installed

    workbook, _ = workbook_reader()
    book = workbook.from_path(str(path))
    try:
        best: tuple[int, str, list[list[Any]], int] | None = None
        for name in book.sheet_names:
            grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
                texts = [v for v in row if isinstance(v, str) and v.strip()]
                score = sum(2 if normalize_header(v) in names else 1 for v in texts)
                if len(texts) >= 2 and (best is None or score > best[0]):
                    best = (score, name, grid, r)
    finally:
        book.close()
    if best is None:
        return RawTable(path, [], [])
    _, _, grid, r = best
    header = [str(v).strip() if v not in (None, "") else "" for v in grid[r]]
    rows = [(i + 1, list(row)) for i, row in enumerate(grid[r + 1:], start=r + 1)
            if any(v not in (None, "") for v in row)]
    return RawTable(path, header, rows, "xlsx", "", r + 1)


_DATE = re.compile(r"^\s*(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")


def detect_date_order(values: list[Any], default: str = "DMY") -> str:
    """Return ``DMY`` or ``MDY`` from dates typed as text (a day over 12 tells), else default."""
    dmy = mdy = 0
    for v in values:
        m = _DATE.match(v) if isinstance(v, str) else None
        if not m or len(m.group(1)) == 4:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        dmy += a > 12 >= b
        mdy += b > 12 >= a
    if dmy > mdy:
        return "DMY"
    if mdy > dmy:
        return "MDY"
    return default
