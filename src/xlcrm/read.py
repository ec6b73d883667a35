"""Read a hand-edited CRM workbook into typed pandas tables: ``xlcrm.load``.

python-calamine reads the cells (fast, and independent of the writers). Columns are found by
header, whatever their position, language, spelling or case; values are coerced by the column's
type with the tolerance a person expects (dates typed as text, numbers stored as text, ``Y`` /
``x`` / ``sì`` for flags); every value that can't be read is reported as an
:class:`~xlcrm.issues.Issue` pointing at its cell, and never stops the reading of the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import itertools
import re
import sys
import threading
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from .errors import UnreadableWorkbookError
from .issues import Issue, column_index, column_letter, sort_issues
from .schema import (
    WEEKDAYS,
    Column,
    Milestone,
    Schema,
    Sheet,
    available_locales,
    available_presets,
    load_locale,
    load_schema,
    normalize_header,
)
from .xlsx.opening import safe_open

if TYPE_CHECKING:  # the reader itself is imported where it runs (see _load)
    from python_calamine import CalamineWorkbook

__all__ = ["Columns", "Crm", "Settings", "load"]

HEADER_SCAN_ROWS = 20
_ERROR_VALUES = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                           "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!"})
_TRUE = frozenset({"y", "yes", "x", "1", "true", "si", "sì", "s", "ja", "j", "oui", "vero",
                   "v", "ok", "done", "fatto", "✓", "✔"})
_FALSE = frozenset({"n", "no", "0", "false", "falso", "nein", "non", "f", "-"})
_MONTHS = {name: i for names in (
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
) for i, name in enumerate(names, 1)}

_EXCEL_EPOCH = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}
_PLAUSIBLE = (1900, 2200)  # years a CRM date can have; pandas' range ends in 2262
_TEXT_TYPES = frozenset({"id", "text", "longtext", "email", "phone", "url", "choice", "link"})
_NUMBER_TYPES = frozenset({"money", "number", "integer", "percent"})


# ----- results -------------------------------------------------------------------------------
@dataclass
class Settings:
    """The Settings sheet as read: options, lists and milestones."""

    options: dict[str, Any]
    lists: dict[str, pd.DataFrame]
    milestones: list[Milestone]

    def items(self, list_key: str) -> list[str]:
        """Return the items (first column) of a Settings list, as typed in the workbook."""
        frame = self.lists.get(list_key)
        if frame is None or frame.empty:
            return []
        return [str(v) for v in frame.iloc[:, 0].dropna() if str(v).strip()]

    def stage_probabilities(self) -> dict[str, float]:
        """Return each stage's win probability (0-1) as Settings gives it."""
        frame = self.lists.get("stages")
        if frame is None or "probability" not in frame:
            return {}
        return {str(s): float(p) for s, p in zip(frame["stage"], frame["probability"])
                if isinstance(s, str) and pd.notna(p)}


#: Which columns :func:`load` types: data sheet key -> column keys, or a function of the
#: schema and the Settings as read that returns that mapping.
Columns = (Mapping[str, Collection[str]]
           | Callable[[Schema, Settings], Mapping[str, Collection[str]]])


@dataclass
class Crm:
    """A CRM workbook as typed tables.

    ``tables[key]`` holds one DataFrame per data sheet (``"leads"``, ``"deals"`` ...): its
    columns are the schema's column keys (``"created"``, ``"source"`` ...) then any extra
    columns under their own header; the index is the sheet row number of each record, so a
    message can always point at its cell (see :meth:`cell`). ``owned_cells[key]`` holds the
    cells, as read, of the owned sheets asked for (see :func:`load`).
    """

    path: Path
    schema: Schema
    settings: Settings
    tables: dict[str, pd.DataFrame]
    issues: list[Issue]
    sheet_names: dict[str, str]
    columns: dict[str, dict[str, int]] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)
    date1904: bool = False
    owned_cells: dict[str, list[list[Any]]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.tables[key]

    def cell(self, sheet_key: str, column_key: str, row: int) -> str:
        """Return ``Sheet!F12`` for a record's column (``row`` is the sheet row number)."""
        col = self.columns.get(sheet_key, {}).get(column_key)
        return f"{column_letter(col)}{row}" if col is not None else f"A{row}"

    @property
    def errors(self) -> list[Issue]:
        """The issues of severity error."""
        return [i for i in self.issues if i.severity == "error"]


# ----- the package: properties, date system, where each sheet's XML lives ---------------------
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
       "cp": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
       "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"}


@dataclass
class _Package:
    props: dict[str, str]
    date1904: bool
    sheet_parts: dict[str, str]  # sheet name -> its part, in the workbook's order
    sizes: dict[str, int] = field(default_factory=dict)  # part -> uncompressed bytes


def _read_package(path: Path) -> _Package:
    props: dict[str, str] = {}
    parts: dict[str, str] = {}
    date1904 = False
    with zipfile.ZipFile(path) as zf:
        sizes = {info.filename: info.file_size for info in zf.infolist()}
        names = set(sizes)
        if "docProps/custom.xml" in names:
            root = ET.fromstring(zf.read("docProps/custom.xml"))
            for prop in root.findall("cp:property", _NS):
                value = next(iter(prop), None)
                if value is not None and value.text is not None:
                    props[prop.get("name", "")] = value.text
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        pr = book.find("m:workbookPr", _NS)
        if pr is not None:
            date1904 = pr.get("date1904", "false").lower() in ("1", "true")
        rels_name = "xl/_rels/workbook.xml.rels"
        targets = {}
        if rels_name in names:
            for rel in ET.fromstring(zf.read(rels_name)).findall("rel:Relationship", _NS):
                target = rel.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[rel.get("Id")] = target
        sheets = book.find("m:sheets", _NS)
        for sheet in sheets if sheets is not None else []:
            rid = sheet.get(f"{{{_NS['r']}}}id")
            if rid in targets:
                parts[sheet.get("name", "")] = targets[rid]
    return _Package(props, date1904, parts, sizes)


_CELL_ERROR = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>.*?<v>([^<]*)</v>'
                         rb'|<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]+)(\d+)"[^>]*>.*?<v>([^<]*)</v>',
                         re.DOTALL)


Merged = list[tuple[tuple[int, int], tuple[int, int]]]


class _Books:
    """One workbook handle per worker thread, opened once for the sheets that thread parses.

    A calamine workbook can't serve two threads at once, and opening one reads all the shared
    strings again, which on a big workbook costs as much as parsing a sheet. A thread closes
    its handle as soon as no sheet is left to start, so the copies of the strings don't stay
    in memory beside the sheets being typed.
    """

    def __init__(self, path: Path, sheets: int) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[CalamineWorkbook] = []
        self._unstarted = sheets
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def book(self) -> Iterator[CalamineWorkbook]:
        """The calling thread's workbook handle, for parsing one sheet."""
        with self._lock:
            self._unstarted -= 1
        book: CalamineWorkbook | None = getattr(self._local, "book", None)
        if book is None:
            book = workbook_reader()[0].from_path(str(self.path), load_tables=True)
            self._local.book = book
            self._opened.append(book)
        try:
            yield book
        finally:
            with self._lock:
                last = self._unstarted <= 0
            if last:
                book.close()
                self._local.book = None
                self._opened.remove(book)

    def close(self) -> None:
        """Close the handles still open (a thread had no sheet left, or reading failed)."""
        for book in self._opened:
            book.close()
        self._opened.clear()


def _fetch_sheet(books: _Books, name: str, part: str | None, key: str, plan: _Plan
                 ) -> tuple[list[list[Any]] | _Projected, Merged, dict[tuple[int, int], str]]:
    """Parse one data sheet with the calling thread's workbook handle: the columns the plan
    wants of it once Settings is read, or the whole grid."""
    with books.book() as book:
        sheet = book.get_sheet_by_name(name)
        merged = list(sheet.merged_cell_ranges or [])
        taken = _project(sheet, key, plan, merged)
        rows = taken if taken is not None else sheet.to_python(skip_empty_area=False)
        del sheet  # the parsed sheet, before its error cells are looked for
    return rows, merged, _error_cells(books.path, part) if part else {}


#: A table's sheet, and its first and last cell (0-based row and column) as calamine gives them
_TableSpan = tuple[str, tuple[int, int], tuple[int, int]]


def _fetch_settings(books: _Books, name: str | None, wanted: Collection[str]
                    ) -> tuple[list[list[Any]], dict[str, _TableSpan]]:
    """Parse the Settings sheet's cells and find where its tables (those of ``wanted`` the
    workbook has) are. Run on a worker like the other sheets; also the first sign that the
    file can't be read at all."""
    with books.book() as book:
        if name is None:
            return [], {}
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        spans: dict[str, _TableSpan] = {}
        for table in set(book.table_names or []) & set(wanted):
            # calamine reads the table's whole sheet to find it: ask only for Settings' own
            t = book.get_table_by_name(table)
            if t.start is not None and t.end is not None:
                spans[table] = (t.sheet, t.start, t.end)
    return grid, spans


def _fetch_cells(books: _Books, name: str) -> list[list[Any]]:
    """Parse one sheet's cells as they are (an owned sheet read back, not typed)."""
    with books.book() as book:
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _error_cells(path: Path, part: str) -> dict[tuple[int, int], str]:
    """Find error cells (``#N/A``, ``#REF!``) in a sheet's XML: calamine reads them as empty."""
    found: dict[tuple[int, int], str] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read(part)
    except (KeyError, zipfile.BadZipFile):
        return found
    if b't="e"' not in data:
        return found
    for m in _CELL_ERROR.finditer(data):
        letters, row, value = (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6))
        found[(int(row) - 1, column_index(letters.decode()))] = value.decode(errors="replace")
    return found


# ----- matching sheets and headers in any language -----------------------------------------
@cache
def _sheet_names(preset: str) -> dict[str, str]:
    """Normalized sheet name in any language -> sheet key."""
    names: dict[str, str] = {}
    for loc in available_locales():
        for sheet in load_schema(preset, loc).sheets:
            names.setdefault(normalize_header(sheet.name), sheet.key)
    for sheet in load_schema(preset).sheets:
        names.setdefault(normalize_header(sheet.key), sheet.key)
    return names


def _header_names(columns_by_locale: Iterable[Sequence[Column]]) -> dict[str, str]:
    """Normalized header in any language, or alias -> column key."""
    names: dict[str, str] = {}
    for columns in columns_by_locale:
        for col in columns:
            names.setdefault(normalize_header(col.header), col.key)
    for loc_code in available_locales():
        loc = load_locale(loc_code)
        for columns in columns_by_locale:
            for col in columns:
                for alias in loc.aliases(col.label_key) + loc.aliases(col.key):
                    names.setdefault(normalize_header(alias), col.key)
                names.setdefault(normalize_header(col.key), col.key)
    names.pop("", None)  # an alias of punctuation only ("#") must not match blank cells
    return names


@cache
def _sheet_header_names(preset: str, sheet_key: str) -> dict[str, str]:
    return _header_names([load_schema(preset, loc).sheet(sheet_key).columns
                          for loc in available_locales()])


@cache
def _list_header_names(preset: str, list_key: str) -> dict[str, str]:
    return _header_names([load_schema(preset, loc).settings_list(list_key).columns
                          for loc in available_locales()])


def _detect_preset(sheet_names: Sequence[str]) -> str:
    normalized = {normalize_header(n) for n in sheet_names}
    scores = {p: len(normalized & set(_sheet_names(p))) for p in available_presets()}
    return max(sorted(scores), key=lambda p: scores[p])


def _detect_locale(preset: str, sheet_names: Sequence[str]) -> str:
    best, score = "en", -1
    for loc in available_locales():
        names = {s.name for s in load_schema(preset, loc).sheets}
        hits = len(names & set(sheet_names))
        if hits > score:
            best, score = loc, hits
    return best


# ----- coercion ------------------------------------------------------------------------------
class _Coercer:
    """Turn one column's raw cell values into typed values, noting what can't be read."""

    def __init__(self, *, date_order: str, date1904: bool, yes: str, no: str) -> None:
        self.date_order = date_order.upper() if date_order else "DMY"
        self.epoch = _EXCEL_EPOCH[date1904]
        self.true = _TRUE | {yes.casefold()}
        self.false = _FALSE | {no.casefold()}

    # each returns (value, problem); problem None means fine
    def text(self, v: Any) -> tuple[Any, str | None]:
        if isinstance(v, str):
            s = v.strip()
            return (s or None), None
        if isinstance(v, bool):
            return ("TRUE" if v else "FALSE"), None
        if isinstance(v, float):
            return (str(int(v)) if v.is_integer() else repr(v)), None
        if isinstance(v, (dt.datetime, dt.date, dt.time)):
            return v.isoformat(), None
        return (str(v) if v is not None else None), None

    def number(self, v: Any, percent: bool = False) -> tuple[Any, str | None]:
        if isinstance(v, bool):
            return float(v), None
        if isinstance(v, dt.time):  # a number shown with a time format is still that number
            return (v.hour * 3600 + v.minute * 60 + v.second) / 86400, None
        if isinstance(v, dt.timedelta):
            return v.total_seconds() / 86400, None
        if isinstance(v, dt.date):  # a number shown with a date format: its serial
            stamp = v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
            epoch = self.epoch
            if epoch.year == 1899 and stamp < dt.datetime(1900, 3, 1):
                epoch = dt.datetime(1899, 12, 31)  # Excel's 1900 leap-year quirk
            return (stamp - epoch).total_seconds() / 86400, None
        if isinstance(v, (int, float)):
            return float(v), None
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            parsed = _parse_number(s)
            if parsed is None:
                return None, "is not a number"
            value, was_percent = parsed
            return (value / 100 if was_percent and percent else value), None
        return None, "is not a number"

    def serial(self, v: float) -> dt.datetime | None:
        if not 0 < v < 2_958_466:
            return None
        return self.epoch + dt.timedelta(days=v)

    def datetime(self, v: Any) -> tuple[Any, str | None]:
        value, problem = self._datetime(v)
        if value is not None and not _PLAUSIBLE[0] <= value.year < _PLAUSIBLE[1]:
            return None, "is not a date"  # a serial typed by mistake, or year 9999
        return value, problem

    def _datetime(self, v: Any) -> tuple[Any, str | None]:
        if isinstance(v, dt.datetime):
            return v, None
        if isinstance(v, dt.date):
            return dt.datetime.combine(v, dt.time()), None
        if isinstance(v, bool):
            return None, "is not a date"
        if isinstance(v, (int, float)):
            value = self.serial(float(v))
            return (value, None) if value else (None, "is not a date")
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            parsed = _parse_date_text(s, self.date_order)
            return (parsed, None) if parsed else (None, "is not a date")
        if isinstance(v, dt.timedelta):  # a duration cell: days since the epoch
            return self.epoch + v, None
        return None, "is not a date"

    def date(self, v: Any) -> tuple[Any, str | None]:
        value, problem = self.datetime(v)
        return (value.replace(hour=0, minute=0, second=0, microsecond=0)
                if value is not None else None), problem

    def time(self, v: Any) -> tuple[Any, str | None]:
        if isinstance(v, dt.time):
            return v, None
        if isinstance(v, dt.datetime):
            return v.time(), None
        if isinstance(v, float) and 0 <= v < 1:
            return (dt.datetime.min + dt.timedelta(days=v)).time().replace(microsecond=0), None
        if isinstance(v, dt.timedelta) and v < dt.timedelta(days=1):
            return (dt.datetime.min + v).time(), None
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            m = re.fullmatch(r"(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?", s, re.I)
            if m:
                hour, minute = int(m.group(1)), int(m.group(2))
                if m.group(4):
                    hour = hour % 12 + (12 if m.group(4).lower().startswith("p") else 0)
                if hour < 24 and minute < 60:
                    return dt.time(hour, minute, int(m.group(3) or 0)), None
        return None, "is not a time"

    def flag(self, v: Any) -> tuple[Any, str | None]:
        if isinstance(v, bool):
            return v, None
        if isinstance(v, (int, float)):
            return (bool(v), None) if v in (0, 1) else (None, "is not yes or no")
        if isinstance(v, str):
            s = v.strip().casefold()
            if not s:
                return None, None
            if s in self.true:
                return True, None
            if s in self.false:
                return False, None
        return None, "is not yes or no"


_NUMBER_RE = re.compile(r"[+-]?[\d.,' \u00a0]*\d")


def _parse_number(text: str) -> tuple[float, bool] | None:
    """Parse ``1,234.50``, ``1.234,50``, ``€ 1 200``, ``12%``; None when it isn't a number."""
    s = text.replace("\u00a0", " ").strip()
    percent = s.endswith("%")
    s = re.sub(r"^[^\d+-]+|[^\d]+$", "", s.rstrip("%").strip())  # currency signs, codes
    if not s or not _NUMBER_RE.fullmatch(s):
        return None
    s = s.replace(" ", "").replace("'", "")
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = s.replace(",", "") if len(tail) == 3 and s.count(",") >= 1 and head else \
            s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        return float(s), percent
    except ValueError:
        return None


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")
_NUMERIC_DATE = re.compile(
    r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?:,?\s+(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")
_NAMED_DATE = re.compile(r"(\d{1,2})\s*[ .-]?\s*([A-Za-zÀ-ÿ]{3,})\.?\s*[ .-]?\s*(\d{2,4})"
                         r"(?:,?\s+(\d{1,2})[:.](\d{2}))?")


def _make(y: int, m: int, d: int, hh: str | None = None, mm: str | None = None,
          ss: str | None = None) -> dt.datetime | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return dt.datetime(y, m, d, int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None


def _parse_date_text(s: str, order: str) -> dt.datetime | None:
    """Parse a date typed as text: ISO always; otherwise by the Settings date order."""
    m = _ISO.fullmatch(s)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), m[4], m[5], m[6])
    m = _NUMERIC_DATE.fullmatch(s)
    if m:
        a, b, c = int(m[1]), int(m[2]), int(m[3])
        if len(m[1]) == 4:
            y, mo, d = a, b, c
        elif order == "MDY":
            mo, d, y = a, b, c
        else:  # DMY, and YMD with a short year is ambiguous: read as day first
            d, mo, y = a, b, c
        return _make(y, mo, d, m[4], m[5], m[6])
    m = _NAMED_DATE.fullmatch(s)
    if m:
        month = _MONTHS.get(m[2][:3].casefold())
        if month:
            return _make(int(m[3]), month, int(m[1]), m[4], m[5])
    return None


# ----- one sheet -----------------------------------------------------------------------------
@dataclass
class _SheetRead:
    frame: pd.DataFrame
    columns: dict[str, int]  # column key -> 0-based sheet column
    extras: list[tuple[str, int]]  # extra header -> 0-based sheet column
    header_row: int  # 1-based sheet row of the header


def _find_header(rows: list[list[Any]], names: dict[str, str],
                 merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> tuple[int, list[str]]:
    """Return the header row index and its cells (merged cells filled from their origin)."""
    best, best_score = -1, 0
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = sum(1 for v in row if isinstance(v, str) and normalize_header(v) in names)
        if score > best_score:
            best, best_score = r, score
    if best < 0:
        return -1, []
    header = [v.strip() if isinstance(v, str) else ("" if v == "" else str(v))
              for v in rows[best]]
    for (r0, c0), (r1, c1) in merged:
        if r0 <= best <= r1:  # a merged cell covers the header row: its text heads each column
            origin = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else ""
            for c in range(c0, min(c1 + 1, len(header))):
                if not header[c]:
                    header[c] = str(origin).strip()
    return best, header


@dataclass
class _Projected:
    """A data sheet as a worker took it in: the header, and of the records only the cells of
    the columns asked for (each row's other cells were dropped as it was parsed)."""

    header_row: int  # index of the header row in the sheet (0-based)
    header: list[str]
    sheet_rows: list[int]  # 1-based sheet rows of the records
    columns: dict[int, Sequence[Any]]  # 0-based sheet column -> its records' cells


class _Plan:
    """What the workers need to know to take only some columns of a data sheet: the header
    names of each sheet, its columns, and (once Settings is read) the keys wanted."""

    def __init__(self, preset: str, schema: Schema) -> None:
        self.preset = preset
        self.sheets = {s.key: s for s in schema.data_sheets}
        self._wanted: Future[Mapping[str, Collection[str]]] = Future()

    def decide(self, wanted: Mapping[str, Collection[str]]) -> None:
        """Say which columns to take (sheet key -> column keys); {} takes every sheet whole."""
        if not self._wanted.done():
            self._wanted.set_result(wanted)

    def only(self, key: str) -> Collection[str] | None:
        """The column keys wanted of a sheet (None: all of it); waits for :meth:`decide`."""
        return self._wanted.result().get(key)


def _project(sheet: Any, key: str, plan: _Plan, merged: Merged) -> _Projected | None:
    """Take a parsed sheet's rows one by one, keeping the cells of the wanted columns of the
    records; None when the sheet is to be read whole (no choice of columns, a grid that
    doesn't start in column A, no header row found)."""
    only = plan.only(key)
    if only is None:
        return None
    start = getattr(sheet, "start", None)  # (the openpyxl stand-in reads sheets whole)
    if start is None or start[1] != 0 or not hasattr(sheet, "iter_rows"):
        return None
    columns = plan.sheets[key].columns
    names = _sheet_header_names(plan.preset, key)
    rows = sheet.iter_rows()  # from row 1: the area before the first cell is blank rows
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    h, header = _find_header(head, names, merged)
    if h < 0:
        return None
    mapped: dict[str, int] = {}
    for c, text in enumerate(header):
        found = names.get(normalize_header(text)) if text else None
        if found and found not in mapped:
            mapped[found] = c
    computed = [mapped[c.key] for c in columns if c.formula and c.key in mapped]
    probe = min(mapped.values(), default=0)
    take = sorted({mapped[k] for k in only if k in mapped} | set(computed) | {probe})
    width = len(header)
    get = itemgetter(*take, probe)  # the probe again at the end: always a tuple
    kept: list[tuple[Any, ...]] = []
    sheet_rows: list[int] = []
    where = {c: i for i, c in enumerate(take)}
    formula_at = [where[c] for c in computed]
    body = itertools.chain(head[h + 1:], rows)
    # the same rule as _read_grid: a row holding only formula cells is not a record; else a
    # row whose first mapped cell is filled is one, or any row with a cell filled
    for n, r in enumerate(body, h + 2):
        cells = get(r)
        if computed:
            filled = sum(1 for i in formula_at if cells[i] != "")
            if r.count("") + filled >= width:
                continue
        elif cells[-1] == "" and r.count("") >= width:
            continue
        kept.append(cells)
        sheet_rows.append(n)
    columns_taken: dict[int, Sequence[Any]] = dict(zip(take, zip(*kept))) if kept else {}
    return _Projected(h, header, sheet_rows, columns_taken)


def _read_grid(sheet_title: str, rows: list[list[Any]] | _Projected, columns: Sequence[Column],
               names: dict[str, str], coercer: _Coercer, issues: list[Issue],
               merged: list[tuple[tuple[int, int], tuple[int, int]]],
               errors: dict[tuple[int, int], str], *, top: int = 0, left: int = 0,
               stop_at_blank: bool = False, consume: bool = False,
               only: Collection[str] | None = None) -> _SheetRead | None:
    """Read one table of records from a grid of cells (a whole sheet, or a Settings block).

    With ``consume`` the grid is emptied once its columns are taken out, so the lists of its
    rows are freed before the columns are typed (the peak memory of a big sheet). With
    ``only``, just those columns are typed into the frame; the others, and the extra columns,
    are still found (their headers are checked) but left out of it.
    """
    if isinstance(rows, _Projected):
        h, header = rows.header_row, rows.header
    else:
        h, header = _find_header(rows, names, merged)
    if h < 0:
        wanted = ", ".join(f'"{c.header}"' for c in columns[:4])
        issues.append(Issue(sheet_title, "A1", "error", "no-header",
                            f"no header row found in the first {HEADER_SCAN_ROWS} rows "
                            f"(expected headers such as {wanted})", top + 1, left))
        return None
    projected = rows if isinstance(rows, _Projected) else None
    mapped: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    used: set[str] = set()
    for c, text in enumerate(header):
        key = names.get(normalize_header(text)) if text else None
        if key and key not in mapped:
            mapped[key] = c
        elif key:
            issues.append(Issue(
                sheet_title, f"{column_letter(left + c)}{top + h + 1}", "warning",
                "duplicate-header",
                f'a second "{text}" column; xlcrm reads column '
                f"{column_letter(left + mapped[key])} and keeps this one as an extra column",
                top + h + 1, left + c))
            extras.append((f"{text} ({column_letter(left + c)})", c))
        elif text:
            extras.append((text if text not in used else f"{text} ({column_letter(left + c)})",
                           c))
        elif isinstance(rows, list) and any(r[c] != "" for r in rows[h + 1:] if len(r) > c):
            extras.append((f"Column {column_letter(left + c)}", c))  # data without a header
        used.add(text)
    if projected is not None:  # the worker kept the records' cells of the columns wanted
        sheet_rows, size = projected.sheet_rows, len(projected.sheet_rows)
        cells = projected.columns
        return _typed_frame(sheet_title, columns, mapped, extras, size, sheet_rows,
                            lambda c: cells.get(c, ("",) * size), coercer, issues, errors,
                            top=top, left=left, h=h, only=only)
    assert isinstance(rows, list)
    body = rows[h + 1:]
    if stop_at_blank:
        end = next((i for i, r in enumerate(body) if all(v == "" for v in r)), len(body))
        body = body[:end]
    # a row holding only computed cells (a table's formula columns) is not a record
    computed = [mapped[c.key] for c in columns if c.formula and c.key in mapped]
    if computed:
        keep = [i for i, r in enumerate(body)
                if r.count("") + sum(1 for j in computed if j < len(r) and r[j] != "") < len(r)]
    else:
        # a row whose first read cell is filled is a record: one cell looked at, where
        # counting the blanks of every row would touch all of them (list.count runs in C, but
        # a million cells scattered in memory cost their cache misses)
        probe = min(mapped.values(), default=0)
        keep = [i for i, r in enumerate(body)
                if (probe < len(r) and r[probe] != "") or r.count("") < len(r)]
    first = top + h + 2
    if len(keep) == len(body):
        sheet_rows = list(range(first, first + len(body)))
    else:
        sheet_rows = [first + i for i in keep]
        body = [body[i] for i in keep]
    width, size = len(header), len(body)
    transposed = list(zip(*body)) if body else [()] * width
    if consume:
        body.clear()
        rows.clear()
    return _typed_frame(sheet_title, columns, mapped, extras, size, sheet_rows,
                        lambda c: transposed[c] if c < len(transposed) else ("",) * size,
                        coercer, issues, errors, top=top, left=left, h=h, only=only)


def _typed_frame(sheet_title: str, columns: Sequence[Column], mapped: dict[str, int],
                 extras: list[tuple[str, int]], size: int, sheet_rows: list[int],
                 column_cells: Callable[[int], Sequence[Any]], coercer: _Coercer,
                 issues: list[Issue], errors: dict[tuple[int, int], str], *, top: int,
                 left: int, h: int, only: Collection[str] | None) -> _SheetRead:
    """Type the records' columns (``column_cells(c)``: the cells of grid column ``c``)."""
    data: dict[str, Any] = {}
    for col in columns:
        if only is not None and col.key not in only:
            continue
        if col.key not in mapped:
            data[col.key] = _empty_column(col, size)
            continue
        c = mapped[col.key]
        raw: Sequence[Any] = column_cells(c)
        if errors:
            raw = list(raw)
            for i, r in enumerate(sheet_rows):
                err = errors.get((r - 1, left + c))
                if err:
                    raw[i] = ""
                    issues.append(Issue(sheet_title, f"{column_letter(left + c)}{r}", "warning",
                                        "error-cell", f"{col.header} is the error {err}; "
                                        "read as empty", r, left + c))
        data[col.key] = _coerce_column(col, raw, coercer, sheet_title, left + c, sheet_rows,
                                       issues)
    for text, c in extras if only is None else ():
        data[text] = pd.Series([None if v == "" else v for v in column_cells(c)], dtype=object)
    frame = pd.DataFrame(data)  # Series are positional here; the sheet rows become the index
    frame.index = pd.Index(sheet_rows, name="row")
    return _SheetRead(frame, {k: left + c for k, c in mapped.items()},
                      [(text, left + c) for text, c in extras], top + h + 1)


def _empty_column(col: Column, n: int) -> pd.Series:
    if col.type in ("date", "datetime"):
        return pd.Series([pd.NaT] * n, dtype="datetime64[ns]")
    if col.type in _NUMBER_TYPES:
        return pd.Series([float("nan")] * n, dtype="float64")
    if col.type == "flag":
        return pd.Series([pd.NA] * n, dtype="boolean")
    return pd.Series([None] * n, dtype=object)


def _fast_column(ctype: str, raw: Sequence[Any], kinds: set[type]) -> pd.Series | None:
    """Convert a column that holds just what its type wants (and blanks) in bulk; None when
    some cell needs a closer look."""
    if ctype in _TEXT_TYPES:
        return pd.Series([v.strip() or None for v in raw], dtype=object) if kinds <= {str} \
            else None
    temporal = ctype in ("date", "datetime")
    if not (temporal and kinds <= {dt.datetime, dt.date, str}) and \
            not (ctype in _NUMBER_TYPES and kinds <= {float, str}):
        return None
    if str in kinds and any(type(v) is str and v for v in raw):
        return None  # text among the values: parse cell by cell
    if not temporal:
        return pd.Series([v if v != "" else np.nan for v in raw] if str in kinds else raw,
                         dtype="float64")
    try:
        stamps = pd.DatetimeIndex(raw)  # "" is NaT; dates and datetimes convert in C
    except (ValueError, TypeError, OverflowError):  # out of pandas' range: check each cell
        return None
    years = stamps.year[~stamps.isna()]
    if len(years) and (years.min() < _PLAUSIBLE[0] or years.max() >= _PLAUSIBLE[1]):
        return None
    stamps = stamps.as_unit("ns")
    return pd.Series(stamps.normalize() if ctype == "date" else stamps)


def _fast_text(raw: Sequence[Any]) -> pd.Series | None:
    """Tidy a column of texts (and blanks) in one pass over its cells; None when some cell
    is a number, a date or a flag (only texts have ``strip``)."""
    try:
        values = np.fromiter((v.strip() or None for v in raw), dtype=object, count=len(raw))
    except AttributeError:
        return None
    return pd.Series(values, dtype=object, copy=False)


def _coerce_column(col: Column, raw: Sequence[Any], coercer: _Coercer, sheet: str, c: int,
                   sheet_rows: list[int], issues: list[Issue]) -> pd.Series:
    ctype = col.type
    if ctype in _TEXT_TYPES:  # the most common columns: no separate look at the cells' types
        text = _fast_text(raw)
        if text is not None:
            return text
    kinds = set(map(type, raw))
    fast = _fast_column(ctype, raw, kinds)
    if fast is not None:
        return fast
    convert: Callable[[Any], tuple[Any, str | None]]
    if ctype in _TEXT_TYPES:
        convert = coercer.text
    elif ctype in _NUMBER_TYPES:
        convert = (lambda v: coercer.number(v, percent=True)) if ctype == "percent" \
            else coercer.number
    elif ctype in ("date", "datetime"):
        convert = coercer.date if ctype == "date" else coercer.datetime
    elif ctype == "time":
        convert = coercer.time
    else:
        convert = coercer.flag
    values = []
    memo: dict[str, tuple[Any, str | None]] = {}  # the same text in many rows ("Yes", "No")
    for v, r in zip(raw, sheet_rows):
        if type(v) is str:
            if v not in memo:
                memo[v] = convert(v)
            value, problem = memo[v]
        else:
            value, problem = convert(v)
        if problem:
            shown = v if isinstance(v, str) else str(v)
            hint = {"is not a date": "use a date cell or YYYY-MM-DD",
                    "is not a number": "type digits only, such as 1250.50",
                    "is not a time": "use a time such as 14:30",
                    "is not yes or no": "use Yes or No"}.get(problem, "")
            issues.append(Issue(sheet, f"{column_letter(c)}{r}", "error",
                                "bad-" + ctype, f'{col.header.lower()} "{shown}" {problem}'
                                + (f"; {hint}" if hint else ""), r, c))
        values.append(value)
    if ctype in ("date", "datetime"):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)),
                         dtype="datetime64[ns]")
    if ctype in _NUMBER_TYPES:
        return pd.Series([v if v is not None else float("nan") for v in values],
                         dtype="float64")
    if ctype == "flag":
        return pd.Series(values, dtype="boolean")
    return pd.Series(values, dtype=object)


# ----- Settings ------------------------------------------------------------------------------
def _read_settings(grid: list[list[Any]], spans: dict[str, _TableSpan], schema: Schema,
                   sheet_name: str | None, coercer_for: Callable[[str], _Coercer],
                   issues: list[Issue]) -> Settings:
    tables = set(spans) if sheet_name else set()
    title = sheet_name or schema.settings_sheet.name

    def block(table: str, titles: set[str]) -> tuple[list[list[Any]], int, int] | None:
        """The cells of one Settings table: its Excel table, else the block under its title."""
        if table in tables:
            sheet, start, end = spans[table]
            if sheet == sheet_name and start and end:
                (r0, c0), (r1, c1) = start, end
                r0 -= 1  # calamine's table starts below its header row
                return [row[c0:c1 + 1] for row in grid[r0:r1 + 1]], r0, c0
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if isinstance(v, str) and normalize_header(v) in titles:
                    width = 1
                    while c + width < len(row) and r + 1 < len(grid) and \
                            grid[r + 1][c + width] != "":
                        width += 1
                    return [g[c:c + width] for g in grid[r + 1:]], r + 1, c
        return None

    # Options: key -> value, typed by the option's kind
    options = {o.key: o.value for o in schema.options}
    options["locale"] = schema.locale.code
    opt_titles = {normalize_header(load_locale(loc).sections.get("text", {}).get(
        "options_title", "Options")) for loc in available_locales()}
    found = block("Options", opt_titles) if sheet_name else None
    raw_options: dict[str, tuple[Any, int, int]] = {}
    if found:
        cells, top, left = found
        for r, row in enumerate(cells[1:], top + 2):
            if row and isinstance(row[0], str) and row[0].strip():
                raw_options[row[0].strip()] = (row[2] if len(row) > 2 else "", r, left + 2)
    date_order = str(raw_options.get("date_order", (options["date_order"], 0, 0))[0] or
                     options["date_order"]).strip().upper()
    coercer = coercer_for(date_order if date_order in ("DMY", "MDY", "YMD") else "DMY")
    for opt in schema.options:
        if opt.key not in raw_options:
            continue
        value, r, c = raw_options[opt.key]
        if value == "":
            if opt.type == "date":
                options[opt.key] = None
            continue
        where = f"{column_letter(c)}{r}"
        if opt.type == "date":
            parsed, problem = coercer.date(value)
        elif opt.type == "integer":
            parsed, problem = coercer.number(value)
            parsed = int(parsed) if parsed is not None else None
        elif opt.type == "weekday":
            parsed, problem = _weekday(value), None
            if parsed is None:
                problem = "is not a day of the week"
        else:
            parsed, problem = str(value).strip(), None
        if problem:
            issues.append(Issue(title, where, "error", "bad-option",
                                f'{opt.label} "{value}" {problem}', r, c))
        else:
            options[opt.key] = parsed.date() if isinstance(parsed, dt.datetime) else parsed

    lists: dict[str, pd.DataFrame] = {}
    for lst in schema.lists:
        found = block(lst.table, {normalize_header(load_schema(schema.preset, loc)
                                                   .settings_list(lst.key).title)
                                  for loc in available_locales()}) if sheet_name else None
        if found is None:
            if sheet_name:
                issues.append(Issue(title, "", "warning", "missing-list",
                                    f'the "{lst.title}" table is missing; using xlcrm\'s defaults'))
            lists[lst.key] = pd.DataFrame([list(r) for r in lst.rows],
                                          columns=[c.key for c in lst.columns])
            continue
        cells, top, left = found
        read = _read_grid(title, cells, lst.columns,
                          _list_header_names(schema.preset, lst.key), coercer, issues, [], {},
                          top=top, left=left, stop_at_blank=lst.table not in tables)
        lists[lst.key] = read.frame if read else pd.DataFrame(columns=[c.key for c in lst.columns])
        if read and lst.key == "stages":
            _check_probabilities(read, title, issues)
    milestones = _read_milestones(schema, block if sheet_name else None, issues, title)
    return Settings(options, lists, milestones)


def _check_probabilities(read: _SheetRead, title: str, issues: list[Issue]) -> None:
    c = read.columns.get("probability")
    if c is None:
        return
    for r, p in read.frame["probability"].items():
        if pd.notna(p) and not 0 <= p <= 1:
            issues.append(Issue(title, f"{column_letter(c)}{r}", "error", "bad-probability",
                                f"win probability {p:g} is outside 0-100 %; "
                                f"type it as a percentage such as {min(max(p, 0), 100):g}%",
                                int(str(r)), c))


def _weekday(value: Any) -> str | None:
    if isinstance(value, (int, float)) and 1 <= value <= 7:
        return WEEKDAYS[int(value) - 1]
    text = normalize_header(str(value))
    for loc in available_locales():
        for key, name in zip(WEEKDAYS, load_locale(loc).weekdays):
            if text in (normalize_header(name), key) or (len(text) >= 3 and
                                                         normalize_header(name).startswith(text)):
                return key
    return None


def _read_milestones(schema: Schema,
                     block: Callable[[str, set[str]], tuple[list[list[Any]], int, int] | None]
                     | None, issues: list[Issue], title: str) -> list[Milestone]:
    defaults = list(schema.milestones)
    if block is None:
        return defaults
    titles = {normalize_header(load_locale(loc).sections.get("text", {}).get(
        "milestones_title", "Milestones")) for loc in available_locales()}
    found = block("Milestones", titles)
    if not found:
        return defaults
    cells, top, _ = found
    by_key = {m.key: m for m in defaults}
    sheet_keys = _sheet_names(schema.preset)
    out = []
    for r, row in enumerate(cells[1:], top + 2):
        if not row or not isinstance(row[0], str) or row[0].strip() not in by_key:
            continue
        default = by_key.pop(row[0].strip())
        label = str(row[1]).strip() if len(row) > 1 and row[1] != "" else default.label
        sheet_key = sheet_keys.get(normalize_header(str(row[2]))) if len(row) > 2 else None
        column_key = None
        if sheet_key and len(row) > 3:
            column_key = _sheet_header_names(schema.preset, sheet_key).get(
                normalize_header(str(row[3]))) if sheet_key in {
                s.key for s in schema.data_sheets} else None
        if not (sheet_key and column_key):
            issues.append(Issue(title, f"A{r}", "warning", "bad-milestone",
                                f'milestone "{label}" names an unknown sheet or column; '
                                f"using {schema.sheet(default.sheet).name} / "
                                f"{schema.sheet(default.sheet).column(default.column).header}",
                                r, 0))
            sheet_key, column_key = default.sheet, default.column
        out.append(Milestone(default.key, label, sheet_key, column_key))
    return out + list(by_key.values())


# ----- the workbook --------------------------------------------------------------------------
def _fuzzy(word: str, choices: Iterable[str]) -> str | None:
    pool = {normalize_header(c): c for c in choices if c}
    close = difflib.get_close_matches(normalize_header(word), list(pool), n=1, cutoff=0.6)
    return pool[close[0]] if close else None


def load(path: str | Path, *, preset: str | None = None, locale: str | None = None,
         owned: Collection[str] = (),
         columns: Columns | None = None) -> Crm:
    """Read a CRM workbook into typed tables, collecting every problem as an issue.

    Args:
        path: an .xlsx or .xlsm CRM workbook.
        preset: the preset to read it as; by default the one recorded in the workbook, else
            the one whose sheets it has.
        locale: the language of its labels; by default the recorded one, else detected.
        owned: keys of owned sheets (``"stage_history"``, ``"baseline"``) whose cells the
            caller reads back; they are parsed alongside the data sheets, as they are (not
            typed), into :attr:`Crm.owned_cells`. A sheet the workbook lacks is left out.
        columns: for the data sheets named here, the keys of the only columns to type; the
            others are checked (a missing required column is still reported) but left out of
            the frames, and so are the sheet's extra columns. A caller that needs a few
            columns of a big workbook (the weekly run needs no names, notes or subjects)
            skips the work of typing the rest. Sheets not named are read whole. When the
            choice depends on Settings (which columns mark the milestones), pass a function
            of the schema and the Settings as read, returning that mapping.

    Returns:
        A :class:`Crm` with one DataFrame per data sheet, the parsed Settings and the issues.

    Raises:
        UnreadableWorkbookError: the file is not a workbook that can be read safely.
    """
    with bulk_work():
        return _load(path, preset=preset, locale=locale, owned=owned, columns=columns or {})


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Pause the cyclic garbage collector around work on whole sheets.

    Reading and tallying make millions of small objects and no reference cycles: the
    collector would only rescan them again and again (a third of the time on 100k rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def workbook_reader() -> tuple[Any, tuple[type[BaseException], ...]]:
    """The workbook reader and the errors it raises: python-calamine, imported here rather than
    at the top so the metrics import without it, or, where it can't be installed (xlwings Lite
    runs in the browser), the slower pure-Python stand-in built on openpyxl."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError:
        from zipfile import BadZipFile

        from .xlsx.openpyxl_book import OpenpyxlBook

        return OpenpyxlBook, (BadZipFile, KeyError, ValueError, OSError)
    return CalamineWorkbook, (CalamineError,)


class _InlineExecutor:
    """Runs each task at once: where threads can't start (xlwings Lite), sheets are parsed one
    after the other."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed back through the future
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Nothing is left running."""


def _executor() -> ThreadPoolExecutor | _InlineExecutor:
    if sys.platform == "emscripten":  # Pyodide (xlwings Lite) starts no threads
        return _InlineExecutor()
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="xlcrm-read")


def _load(path: str | Path, *, preset: str | None, locale: str | None,
          owned: Collection[str], columns: Columns) -> Crm:
    CalamineError = workbook_reader()[1]  # noqa: N806 - the reader's errors
    target, issues = safe_open(path)
    package = _read_package(target)
    names = list(package.sheet_parts)  # the sheets, in order, as the reader will name them
    preset = preset or package.props.get("xlcrm_preset") or _detect_preset(names)
    locale = locale or package.props.get("xlcrm_locale") or _detect_locale(preset, names)
    if locale not in available_locales():
        locale = "en"
    schema = load_schema(preset, locale)
    by_key: dict[str, str] = {}
    for name in names:
        key = _sheet_names(preset).get(normalize_header(name))
        if key and key not in by_key:
            by_key[key] = name

    # Every sheet is parsed on one of two worker threads, each with its own workbook handle
    # (calamine releases the GIL while it parses, so on two cores one sheet is parsed while
    # this thread types the last one), each data sheet with its error cells, which calamine
    # reads as empty, found in its XML. The biggest sheet goes first: it ends last anyway,
    # so it had better start at once. Settings, small and needed before any typing, second.
    pool = _executor()
    data_sheets = sorted((s for s in schema.data_sheets if s.key in by_key),
                         key=lambda s: -package.sizes.get(
                             package.sheet_parts.get(by_key[s.key], ""), 0))
    read_back_keys = [key for key in owned if key in by_key]
    books = _Books(target, len(data_sheets) + len(read_back_keys) + 1)
    settings_name = by_key.get("settings")
    fetched: dict[str, Future[Any]] = {}
    plan = _Plan(preset, schema)
    if isinstance(pool, _InlineExecutor):
        plan.decide({})  # a sheet is parsed as it is asked for, before Settings: whole
    settings_tables = {"Options", "Milestones", *(lst.table for lst in schema.lists)}
    for i, sheet in enumerate(data_sheets):
        fetched[sheet.key] = pool.submit(_fetch_sheet, books, by_key[sheet.key],
                                         package.sheet_parts.get(by_key[sheet.key]),
                                         sheet.key, plan)
        if i == 0:
            fetched["settings"] = pool.submit(_fetch_settings, books, settings_name,
                                              settings_tables)
    if not data_sheets:
        fetched["settings"] = pool.submit(_fetch_settings, books, settings_name, settings_tables)
    # the owned sheets an update appends to are parsed on the same workers, after the data
    # sheets: this thread is still typing those when the workers get to them
    read_back = {key: pool.submit(_fetch_cells, books, by_key[key]) for key in read_back_keys}

    loc = schema.locale

    def coercer_for(order: str) -> _Coercer:
        return _Coercer(date_order=order, date1904=package.date1904, yes=loc.yes, no=loc.no)

    if settings_name is None:
        issues.append(Issue("", "", "error", "missing-sheet",
                            f'required sheet "{schema.settings_sheet.name}" is missing'
                            + _did_you_mean(schema.settings_sheet.name, names)
                            + "; using xlcrm's default lists"))
    try:
        grid, spans = fetched.pop("settings").result()
        settings = _read_settings(grid, spans, schema, settings_name, coercer_for, issues)
        coercer = coercer_for(str(settings.options.get("date_order", "DMY")))
        wanted = columns(schema, settings) if callable(columns) else columns
        plan.decide(wanted)  # the workers now take just these columns of the sheets named
        tables: dict[str, pd.DataFrame] = {}
        found_columns: dict[str, dict[str, int]] = {}
        extras: dict[str, list[str]] = {}
        for sheet in schema.data_sheets:
            found_name = by_key.get(sheet.key)
            read = None
            if found_name is None:
                kind = "optional" if sheet.optional else "required"
                issues.append(Issue("", "", "warning" if sheet.optional else "error",
                                    "missing-sheet", f'{kind} sheet "{sheet.name}" is missing'
                                    + _did_you_mean(sheet.name, names)))
            else:
                rows, merged, errors = fetched[sheet.key].result()
                read = _read_grid(found_name, rows, sheet.columns,
                                  _sheet_header_names(preset, sheet.key), coercer, issues,
                                  merged, errors, consume=True, only=wanted.get(sheet.key))
                del fetched[sheet.key], rows  # the grid is no longer needed: free it
                if read:
                    _report_missing_columns(sheet, read, found_name, issues)
            if read is None:
                frame = pd.DataFrame({c.key: _empty_column(c, 0) for c in sheet.columns},
                                     index=pd.Index([], name="row"))
                tables[sheet.key], found_columns[sheet.key], extras[sheet.key] = frame, {}, []
            else:
                tables[sheet.key], found_columns[sheet.key] = read.frame, read.columns
                extras[sheet.key] = [text for text, _ in read.extras]
            _canonical_choices(sheet, tables[sheet.key], settings)
        owned_cells = {key: future.result() for key, future in read_back.items()}
    except CalamineError as exc:
        raise UnreadableWorkbookError(f"{target.name}: can't be read: {exc}") from exc
    finally:
        plan.decide({})  # (reading failed before Settings: a worker waiting on it goes on)
        for future in fetched.values():
            future.cancel()
        for rest in read_back.values():
            rest.cancel()
        pool.shutdown(wait=True)
        books.close()
    return Crm(target, schema, settings, tables, sort_issues(issues, names), by_key,
               found_columns, extras, package.date1904, owned_cells)


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    guess = _fuzzy(name, candidates)
    return f' (did you mean "{guess}"?)' if guess else ""


def _report_missing_columns(sheet: Sheet, read: _SheetRead, name: str,
                            issues: list[Issue]) -> None:
    extras = dict(read.extras)
    for col in sheet.columns:
        if col.required and col.key not in read.columns:
            guess = _fuzzy(col.header, extras)
            hint = (f' (did you mean "{guess}" in column {column_letter(extras[guess])}?)'
                    if guess else "")
            issues.append(Issue(name, f"A{read.header_row}", "error", "missing-column",
                                f'required column "{col.header}" is missing{hint}',
                                read.header_row, -1))


def _canonical_choices(sheet: Sheet, frame: pd.DataFrame, settings: Settings) -> None:
    """Write list values the way Settings spells them (case, spacing, accents aside)."""
    for col in sheet.columns:
        if col.type != "choice" or not col.list or frame.empty or col.key not in frame:
            continue
        canon = {normalize_header(item): item for item in settings.items(col.list)}
        if not canon:
            continue
        # a few distinct values in many rows: each is looked at once
        codes, distinct = pd.factorize(frame[col.key].to_numpy(dtype=object))
        spelled = [canon.get(normalize_header(v), v) if isinstance(v, str) else v
                   for v in distinct]
        if all(a == b for a, b in zip(spelled, distinct)):
            continue  # already spelled as in Settings: the usual case
        table = np.empty(len(spelled) + 1, dtype=object)
        table[:] = [*spelled, None]  # code -1: an empty cell
        frame[col.key] = pd.Series(table[codes], index=frame.index, dtype=object)
