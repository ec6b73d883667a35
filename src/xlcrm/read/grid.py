"""Read one table of records from a grid of cells: a data sheet, or a block of Settings.

The header row is found by its names (:mod:`.headers`), each column by its header wherever it
stands; a row is a record when it holds anything but formula cells; each wanted column is
typed (:mod:`.columns`) into a DataFrame indexed by sheet row, so every issue names its cell.
A worker can take just the wanted columns of a big sheet while it parses it
(:func:`project`), so the rest of each row is dropped at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pandas as pd

from ..issues import Issue, column_letter
from ..schema import Column, Schema, normalize_header
from .cells import Coercer
from .columns import coerce_column, empty_column
from .headers import HEADER_SCAN_ROWS, Merged, find_header, sheet_header_names

__all__ = ["Plan", "Projected", "SheetRead", "project", "read_grid"]

@dataclass
class SheetRead:
    """One table as read: its typed records, and where its columns and header are."""

    frame: pd.DataFrame
    columns: dict[str, int]  # column key -> 0-based sheet column
    extras: list[tuple[str, int]]  # extra header -> 0-based sheet column
    header_row: int  # 1-based sheet row of the header


@dataclass
class Projected:
    """A data sheet as a worker took it in: the header, and of the records only the cells of
    the columns asked for (each row's other cells were dropped as it was parsed)."""

    header_row: int  # index of the header row in the sheet (0-based)
    header: list[str]
    sheet_rows: list[int]  # 1-based sheet rows of the records
    columns: dict[int, Sequence[Any]]  # 0-based sheet column -> its records' cells


class Plan:
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


def project(sheet: Any, key: str, plan: Plan, merged: Merged) -> Projected | None:
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
    names = sheet_header_names(plan.preset, key)
    rows = sheet.iter_rows()  # from row 1: the area before the first cell is blank rows
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    h, header = find_header(head, names, merged)
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
    # the same rule as read_grid: a row holding only formula cells is not a record; else a
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
    return Projected(h, header, sheet_rows, columns_taken)


def read_grid(sheet_title: str, rows: list[list[Any]] | Projected, columns: Sequence[Column],
              names: dict[str, str], coercer: Coercer, issues: list[Issue], merged: Merged,
              errors: dict[tuple[int, int], str], *, top: int = 0, left: int = 0,
              stop_at_blank: bool = False, consume: bool = False,
              only: Collection[str] | None = None) -> SheetRead | None:
    """Read one table of records from a grid of cells (a whole sheet, or a Settings block).

    With ``consume`` the grid is emptied once its columns are taken out, so the lists of its
    rows are freed before the columns are typed (the peak memory of a big sheet). With
    ``only``, just those columns are typed into the frame; the others, and the extra columns,
    are still found (their headers are checked) but left out of it.
    """
    if isinstance(rows, Projected):
        h, header = rows.header_row, rows.header
    else:
        h, header = find_header(rows, names, merged)
    if h < 0:
        wanted = ", ".join(f'"{c.header}"' for c in columns[:4])
        issues.append(Issue(sheet_title, "A1", "error", "no-header",
                            f"no header row found in the first {HEADER_SCAN_ROWS} rows "
                            f"(expected headers such as {wanted})", top + 1, left))
        return None
    projected = rows if isinstance(rows, Projected) else None
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
                 column_cells: Callable[[int], Sequence[Any]], coercer: Coercer,
                 issues: list[Issue], errors: dict[tuple[int, int], str], *, top: int,
                 left: int, h: int, only: Collection[str] | None) -> SheetRead:
    """Type the records' columns (``column_cells(c)``: the cells of grid column ``c``)."""
    data: dict[str, Any] = {}
    for col in columns:
        if only is not None and col.key not in only:
            continue
        if col.key not in mapped:
            data[col.key] = empty_column(col, size)
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
        data[col.key] = coerce_column(col, raw, coercer, sheet_title, left + c, sheet_rows,
                                      issues)
    for text, c in extras if only is None else ():
        data[text] = pd.Series([None if v == "" else v for v in column_cells(c)], dtype=object)
    frame = pd.DataFrame(data)  # Series are positional here; the sheet rows become the index
    frame.index = pd.Index(sheet_rows, name="row")
    return SheetRead(frame, {k: left + c for k, c in mapped.items()},
                     [(text, left + c) for text, c in extras], top + h + 1)
