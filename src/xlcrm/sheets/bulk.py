"""The records of a new workbook's data sheets written as sheet XML, row by row, as XlsxWriter
assembles the sheet: what its cell-by-cell writes would end up as, without a cell object each.

XlsxWriter keeps every cell written in memory until the workbook is closed (a 100,000-lead
demo held 2 GiB), and its constant-memory mode gives up tables. Here the sheet keeps its table,
formats, dropdowns and frozen header, made by XlsxWriter as before; only the data rows are
rendered from the columns the caller already holds, a block of rows at a time, into the sheet's
XML when XlsxWriter writes its ``<sheetData>``. The XML is the one the cell-by-cell writes give:
the same shared strings in the same order (registered column by column, as those writes did),
the same cell styles, numbers, dates, formulas with their cached values, and row spans.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_range
from xlsxwriter.worksheet import Worksheet

__all__ = ["BulkColumn", "add_long_table", "write_rows_in_bulk"]

#: rows rendered at a time: a multiple of 16, XlsxWriter's span block
_BLOCK = 4096
#: texts longer than this might pass Excel's 32,767 UTF-16 units, which XlsxWriter truncates
#: with a warning: a sheet holding one is written cell by cell
_LONG = 16_000
_TEMPORAL = (dt.date, dt.time)


@dataclass(frozen=True)
class BulkColumn:
    """One column of a data sheet: how its values are written, and the values (row 1 on).

    ``kind`` is ``text`` (every value a string), ``flag`` (True/False as the locale's yes/no),
    ``number`` (numbers as numbers, anything else as text), ``temporal`` (dates and times as
    serial numbers, anything else as ``Worksheet.write`` would) or ``formula`` (``formula``
    in every row, ``values`` its cached results).
    """

    kind: str
    fmt: Format
    values: Sequence[Any]
    formula: str = ""
    yes: str = ""
    no: str = ""


def add_long_table(ws: Worksheet, last_row: int, last_col: int, options: dict[str, Any]) -> None:
    """``ws.add_table(0, 0, last_row, last_col, options)``, the same table, made in no time.

    XlsxWriter's ``add_table`` visits every cell of the range (to refuse overlaps, and to
    write column formulas) and keeps an entry for each: at 100k rows, seconds and hundreds
    of MiB. The table is made over its header and first row, then given its whole range;
    the rows below hold what the caller writes (a formula column too: ``write_formula``).
    """
    ws.add_table(0, 0, min(last_row, 1), last_col, options)
    if last_row > 1:
        table = ws.tables[-1]
        table["range"] = xl_range(0, 0, last_row, last_col)
        data_last = last_row - 1 if options.get("total_row") else last_row
        table["a_range"] = xl_range(0, 0, data_last, last_col)
        if table.get("autofilter"):
            table["autofilter"] = table["a_range"]


def _skip(v: Any) -> bool:
    return v is None or v == ""


def _flag_text(col: BulkColumn, v: Any) -> str:
    return (col.yes if v else col.no) if isinstance(v, bool) else str(v)


def _texts(col: BulkColumn) -> list[str]:
    """The texts of ``col``'s cells that hold one, in row order (what the cell-by-cell
    writes put in the shared strings)."""
    values = col.values
    if col.kind == "text":
        return [v if isinstance(v, str) else str(v) for v in values if v is not None and v != ""]
    if col.kind == "flag":
        return [_flag_text(col, v) for v in values if v is not None and v != ""]
    if col.kind == "number":
        return [str(v) for v in values
                if v is not None and v != "" and not isinstance(v, (int, float))]
    if col.kind == "temporal":
        return [v for v in values if isinstance(v, str) and v != ""]
    return []


def _fits(col: BulkColumn) -> bool:
    """Whether every value of ``col`` is one the bulk rows write as the cell writes would;
    anything else (a NaN number XlsxWriter refuses, an object ``write`` does not know, a
    text it may truncate) goes cell by cell, to meet the same checks."""
    kinds = set(map(type, col.values))
    if col.kind in ("number", "temporal") and any(issubclass(k, float) for k in kinds) and any(
            isinstance(v, float) and not math.isfinite(v) for v in col.values):
        return False
    if col.kind == "temporal" and not all(
            issubclass(k, (*_TEMPORAL, str, int, float, type(None))) for k in kinds):
        return False
    if col.kind == "formula" and not all(issubclass(k, (int, float, str)) for k in kinds):
        return False
    if kinds <= {str, type(None)}:  # the usual text column: its longest text, at C speed
        return max(map(len, filter(None, col.values)), default=0) <= _LONG
    return max((len(v) for v in col.values if isinstance(v, str)), default=0) <= _LONG


def write_rows_in_bulk(ws: Worksheet, columns: Sequence[BulkColumn]) -> bool:
    """Have ``ws`` write rows 1.. of ``columns`` (column 0 on) when it is assembled.

    The header row (row 0) and everything else of the sheet stay XlsxWriter's; rows below the
    header must not be written by other means (a cell written there is dropped). Shared
    strings are registered now, column by column, in the order the cell-by-cell writes would
    have registered them.

    Returns:
        False, having done nothing, when a value must go through XlsxWriter's own checks
        (the caller then writes the cells one by one).
    """
    n = max((len(c.values) for c in columns), default=0)
    if not n or not all(_fits(c) for c in columns):
        return False
    # what _get_shared_string_index does for each text, a column at a time: a new text
    # takes the next index, every use is counted
    table = ws.str_table
    strings: dict[str, int] = table.string_table
    for c in columns:
        texts = _texts(c)
        for text in dict.fromkeys(texts):
            if text not in strings:
                strings[text] = len(strings)
        table.count += len(texts)
    table.unique_count = len(strings)
    for r in [r for r in ws.table if r >= 1]:  # a formula cell add_table put there: ours now
        del ws.table[r]
    last = max(_last_row(c) for c in columns)
    if last:
        ws._check_dimensions(last, 0)
    header_rows = ws._write_rows
    # (strings: the table's own dict, which the workbook swaps for a list before sheets are
    # written)

    def write_rows() -> None:
        header_rows()
        starts = [1, *range(_BLOCK, last + 1, _BLOCK)]  # blocks of rows begin at 16 * k
        for start, stop in zip(starts, [*starts[1:], last + 1]):
            ws.fh.write(_render(ws, columns, strings, start, stop))

    ws._write_rows = write_rows
    return True


def _last_row(col: BulkColumn) -> int:
    """The last sheet row (0-based) ``col`` writes a cell in, 0 for none."""
    if col.kind == "formula":
        return len(col.values)
    for r in range(len(col.values), 0, -1):
        if not _skip(col.values[r - 1]):
            return r
    return 0


def _render(ws: Worksheet, columns: Sequence[BulkColumn], strings: dict[str, int], start: int,
            stop: int) -> str:
    """Rows ``start``..``stop - 1`` (0-based sheet rows) as sheet XML."""
    rows = range(start + 1, stop + 1)  # 1-based, as in the cell references
    cells = [_cells(ws, c, strings, xl_col_to_name(i), c.values[start - 1:stop - 1], rows)
             for i, c in enumerate(columns)]
    out = []
    spans = ""
    for k, row_cells in enumerate(zip(*cells)):
        r = start + k
        if k == 0 or r % 16 == 0:  # each block of 16 rows: the columns it has cells in
            lo, hi = _span(cells, r // 16 * 16 - start, r // 16 * 16 + 16 - start)
            spans = f"{lo + 1}:{hi + 1}"
        body = "".join(row_cells)
        if body:
            out.append(f'<row r="{r + 1}" spans="{spans}">{body}</row>')
    return "".join(out)


def _span(cells: list[list[str]], first: int, stop: int) -> tuple[int, int]:
    """The first and last column with a cell in rows ``first``..``stop - 1`` of a block
    (counted from the first row rendered; the header row's block has every column)."""
    if first < 0:
        return 0, len(cells) - 1
    present = [c for c, col in enumerate(cells) if any(col[first:stop])]
    return (present[0], present[-1]) if present else (0, 0)


def _cells(ws: Worksheet, col: BulkColumn, strings: dict[str, int], letter: str,
           values: Sequence[Any], rows: range) -> list[str]:
    """Each row's cell of one column, "" where the cell-by-cell writes wrote none."""
    head, style = f'<c r="{letter}', f'" s="{col.fmt._get_xf_index()}"'
    kinds = set(map(type, values))
    if col.kind == "text":
        return ["" if v is None or v == "" else f'{head}{r}{style} t="s"><v>'
                f'{strings[v if isinstance(v, str) else str(v)]}</v></c>'
                for r, v in zip(rows, values)]
    if col.kind == "flag":
        return ["" if v is None or v == "" else
                f'{head}{r}{style} t="s"><v>{strings[_flag_text(col, v)]}</v></c>'
                for r, v in zip(rows, values)]
    if col.kind == "formula":
        formula = ws._escape_data(col.formula)
        return [_formula_cell(f"{head}{r}{style}", formula, v) for r, v in zip(rows, values)]
    if col.kind == "temporal" and kinds <= {dt.datetime, dt.date, dt.time, type(None)}:
        # each distinct day or time worked out once
        slow = ws._convert_date_time
        serial = {v: f"{_serial(v, slow) if not ws.date_1904 else slow(v):.16G}"
                  for v in set(values) if v is not None}
        return ["" if v is None else f"{head}{r}{style}><v>{serial[v]}</v></c>"
                for r, v in zip(rows, values)]
    if col.kind == "number" and kinds <= {int, float, type(None)}:
        return ["" if v is None else f"{head}{r}{style}><v>{v:.16G}</v></c>"
                for r, v in zip(rows, values)]
    out = []
    for r, v in zip(rows, values):
        if _skip(v):
            out.append("")
        elif col.kind == "temporal" and isinstance(v, _TEMPORAL):
            out.append(f"{head}{r}{style}><v>{ws._convert_date_time(v):.16G}</v></c>")
        elif isinstance(v, bool) and col.kind == "temporal":  # write(): a boolean
            out.append(f'{head}{r}{style} t="b"><v>{int(v)}</v></c>')
        elif isinstance(v, (int, float)):
            out.append(f"{head}{r}{style}><v>{v:.16G}</v></c>")
        else:
            text = v if isinstance(v, str) else str(v)
            out.append(f'{head}{r}{style} t="s"><v>{strings[text]}</v></c>')
    return out


_EPOCH = dt.datetime(1899, 12, 31)  # XlsxWriter's, with Excel's day 60, 1900-02-29


def _serial(v: Any, slow: Callable[[Any], float]) -> float:
    """XlsxWriter's serial number of a date or time (1900 date system): its own arithmetic,
    without its checks, for the usual value (a naive datetime or a date after 1900), else
    ``slow`` (the worksheet's own conversion)."""
    if v.__class__ is dt.datetime and v.tzinfo is None and v.year > 1900:
        delta = v - _EPOCH
        return delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (
            60 * 60 * 24) + 1  # + 1: Excel's 29 February 1900
    if v.__class__ is dt.date and v.year > 1900:
        return float(v.toordinal() - _EPOCH.toordinal()) + 1
    return slow(v)


def _formula_cell(head: str, formula: str, value: Any) -> str:
    """A formula cell as XlsxWriter writes one with a cached value."""
    if isinstance(value, bool):
        return f"{head} t=\"b\"><f>{formula}</f><v>{int(value)}</v></c>"
    kind = ""
    if isinstance(value, str) and value:
        kind = ' t="e"' if value in _ERRORS else ' t="str"'
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{head}{kind}><f>{formula}</f><v>{value}</v></c>"


_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})
