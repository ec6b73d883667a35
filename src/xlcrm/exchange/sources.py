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
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImportFileError
from ..schema import normalize_header
from ..xlsx.bounds import bounded_copy
from ..xlsx.opening import check_package, check_zip
from ..xlsx.parts import read_outline

__all__ = ["RawTable", "check_sheet_file", "detect_date_order", "read_table"]

HEADER_SCAN_ROWS = 20
MAX_TEXT_BYTES = 512 * 2**20  # a CSV beyond this is no lead file
# characters XML 1.0 (so no spreadsheet cell) can hold
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
csv.field_size_limit(32 * 2**20)  # a long note is no error (Excel itself keeps 32,767 chars)


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
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise ImportFileError(f"{path.name}: is {path.stat().st_size / 2**20:,.0f} MB, more "
                              f"than a lead file xlcrm reads ({MAX_TEXT_BYTES // 2**20} MB); "
                              "split it")
    raw = path.read_bytes()
    encoding = _encoding(raw)
    text = raw.decode(encoding, errors="replace")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    header: list[str] = []
    line = 1
    for record in _records(reader, path):
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


def _records(reader: Any, path: Path) -> Iterator[list[str]]:
    """The CSV's records, with XML-illegal control characters (NUL, U+FFFE ...) dropped: no
    spreadsheet cell can hold them. A record the csv module refuses is one line."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"{path.name}: line {reader.line_num}: can't be read as CSV "
                                  f"({exc}); nothing was imported") from None
        yield [_ILLEGAL.sub("", v) if _ILLEGAL.search(v) else v for v in record]


def _read_sheet(path: Path, names: dict[str, str]) -> RawTable:
    from ..xlsx.cells import workbook_reader  # calamine, or openpyxl where it can't be installed

    workbook, errors = workbook_reader()
    check_sheet_file(path)
    ooxml = path.suffix.lower() in (".xlsx", ".xlsm")
    source, _ = bounded_copy(path, _sheet_parts(path)) if ooxml else (path, [])
    try:
        return _grid_table(path, source, workbook, names)
    except errors as exc:
        raise ImportFileError(f"{path.name}: can't be read as a spreadsheet "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                              "); open it in Excel or LibreOffice and save it again") from None
    finally:
        if source != path:
            shutil.rmtree(source.parent, ignore_errors=True)


def check_sheet_file(path: Path) -> None:
    """The limits every file xlcrm opens is held to (zip bombs, DOCTYPEs, renamed files)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        check_package(path)
    elif suffix == ".ods":
        if not zipfile.is_zipfile(path):
            raise ImportFileError(f"{path.name}: is not an OpenDocument spreadsheet (damaged, "
                                  "or another file renamed)")
        check_zip(path, what="OpenDocument spreadsheet")
    elif path.stat().st_size > MAX_TEXT_BYTES:
        raise ImportFileError(f"{path.name}: is larger than a lead file xlcrm reads")


def _sheet_parts(path: Path) -> dict[str, str]:
    try:
        return read_outline(path).sheet_parts
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportFileError(f"{path.name}: is damaged ({exc}); open it in Excel or "
                              "LibreOffice and save it again") from None


def _grid_table(path: Path, source: Path, workbook: Any, names: dict[str, str]) -> RawTable:
    book = workbook.from_path(str(source))
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
