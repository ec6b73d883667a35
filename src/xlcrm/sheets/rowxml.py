"""Long tables of owned sheets written as row XML at once, not cell by cell.

An owned sheet with a row per lead (Lead scores, the Agenda) has 100,000 rows at 100,000
leads: through XlsxWriter each cell costs a call, a tuple and a shared string the transplant
then writes inline again. :func:`row_renderer` renders the same rows straight to the sheet XML
the cell-by-cell path ends up as after the transplant (:mod:`xlcrm.xlsx.transplant`): the same
cells, styles, inline strings, spans and dimension, byte for byte. Values it cannot render
exactly the same way (texts XlsxWriter would escape or truncate, numbers it refuses) make it
return ``None``, and the caller writes the table cell by cell as before.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeAlias
from xml.sax.saxutils import escape as xml_escape

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from ..xlsx.transplant import RowRenderer
from .style import cell_value

__all__ = ["CellStyle", "row_renderer"]

#: A column's format: one for every cell, none, or one chosen by the cell's value.
CellStyle: TypeAlias = Format | None | Callable[[Any], Format | None]

# Texts XlsxWriter's shared strings keep in another form (control characters and "_xHHHH_" as
# escapes, "<r>...</r>" as rich text, over 16,383 characters possibly truncated): a table
# holding one is written through XlsxWriter.
_CONTROL = re.compile("[\x01-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile("_x[0-9a-fA-F]{4}_")
_LONG = 16_383


def row_renderer(ws: Worksheet, columns: Sequence[Sequence[Any]], first: int,
                 styles: Sequence[CellStyle], date_format: Format | None = None,
                 texts: Collection[int] = ()) -> RowRenderer | None:
    """The table ``columns`` (from sheet row ``first``, 0-based, column A on) as the row XML
    that writing each of its rows with :func:`xlcrm.sheets.style.write_cells` would end up as.

    Call it once everything else of the sheet is written (its column formats count): every
    cell of the sheet written through XlsxWriter must be above ``first``.

    Args:
        ws: the scratch worksheet (its date system, column formats and cells above).
        columns: each column's values, one per row, as
            :func:`~xlcrm.sheets.style.write_cells` takes them (nothing is written for None,
            NaN or "").
        first: the sheet row of the first row.
        styles: each column's format (a callable picks it by the cell's value); a date
            without one takes ``date_format``.
        date_format: the format of dates whose column gives none.
        texts: the columns written with ``write_string`` instead: each value a text, an
            empty one an empty text cell.

    Returns:
        The renderer to hand the transplant, or None when a value would come out otherwise
        than through XlsxWriter (write those rows cell by cell instead).
    """
    if any(r >= first for r in ws.table if ws.table[r]) or any(r >= first for r in ws.row_info):
        return None
    n = len(columns[0]) if columns else 0
    if n == 0:
        return None
    # formats are written as tokens replaced by the workbook's style numbers at the end
    marks: dict[int, str] = {}
    used: dict[int, tuple[int, int, Format]] = {}  # each format's first cell, row by row

    def mark(fmt: Format | None, at: tuple[int, int]) -> str:
        if fmt is None:
            return ""
        key = id(fmt)
        if key not in marks:
            fmt._get_xf_index()  # part of the scratch book, though no cell of it uses it
            marks[key] = f' s="\x00{len(marks)}\x00"'
            used[key] = (*at, fmt)
        elif at < used[key][:2]:
            used[key] = (*at, fmt)
        return marks[key]

    try:
        cells = [_column(ws, list(values), c, first, style, date_format, c in texts, mark)
                 for c, (values, style) in enumerate(zip(columns, styles, strict=True))]
    except _Refused:
        return None
    if not any(any(column) for column in cells):
        return None
    # each block of 16 rows has one span, the first to last column of its cells: those
    # XlsxWriter wrote above count for the block they share
    spans: dict[int, tuple[int, int]] = {}
    for r, written in ws.table.items():
        if written and r // 16 == first // 16:
            _widen(spans, r // 16, min(written), max(written))
    every = range(first // 16, (first + n - 1) // 16 + 1)
    for c, column in enumerate(cells):
        blocks = every if all(column) else {(i + first) // 16 for i, cell in enumerate(column)
                                            if cell}
        for block in blocks:
            _widen(spans, block, c, c)
    # the sheet's dimension covers the rendered columns (the transplant sets its last row)
    lowest = min(c for c, column in enumerate(cells) if any(column))
    highest = max(c for c, column in enumerate(cells) if any(column))
    if ws.dim_colmin is None or ws.dim_colmax is None:
        ws._check_dimensions(first, lowest)
    ws.dim_colmin = min(ws.dim_colmin, lowest)
    ws.dim_colmax = max(ws.dim_colmax, highest)
    span_text = {b: f"{low + 1}:{high + 1}" for b, (low, high) in spans.items()}
    body = "".join(f'<row r="{r + 1}" spans="{span_text[r // 16]}">{row}</row>'
                   for r, row in enumerate(map("".join, zip(*cells)), first) if row)
    del cells

    def render(xf: Callable[[int], int]) -> bytes:
        text = body
        # the workbook's styles take the formats in the order the cells first use them
        for _, _, fmt in sorted(used.values(), key=lambda u: u[:2]):
            text = text.replace(marks[id(fmt)][4:-1], str(xf(fmt._get_xf_index())))
        return text.encode("utf-8")
    return render


class _Refused(Exception):
    """A value the fast path would write otherwise than XlsxWriter does."""


def _widen(spans: dict[int, tuple[int, int]], block: int, low: int, high: int) -> None:
    was = spans.get(block, (low, high))
    spans[block] = (min(was[0], low), max(was[1], high))


_NONE = type(None)


def _column(ws: Worksheet, values: list[Any], c: int, first: int, style: CellStyle,
            date_format: Format | None, as_text: bool,
            mark: Callable[[Format | None, tuple[int, int]], str]) -> list[str]:
    """One column's cells as XML ("" where there is none); a column of texts or of numbers
    at once, any other value by value."""
    info = ws.col_info.get(c)
    own = info.column_format if info is not None else None  # a cell without one takes it
    letter = xl_col_to_name(c)
    pick = None if style is None or isinstance(style, Format) else style
    fixed = style if isinstance(style, Format) else None
    kinds = set(map(type, values))

    def marks_of(present: list[int]) -> list[str]:
        """Each present cell's format as its token (found once per format)."""
        if not present:
            return []
        if pick is None:
            return [mark(fixed or own, (present[0], c))] * len(present)
        chosen = [pick(values[i]) or own for i in present]
        firsts: dict[Any, int] = {}
        for i, fmt in zip(present, chosen):
            firsts.setdefault(fmt, i)
        tokens = {fmt: mark(fmt, (i, c)) for fmt, i in firsts.items()}
        return [tokens[fmt] for fmt in chosen]

    if kinds <= {str, _NONE, float} and not (as_text and kinds != {str}) and not any(
            v == v for v in values if isinstance(v, float)):
        present = [i for i, v in enumerate(values) if v.__class__ is str and (as_text or v)]
        return _texts(values, present, first, letter, marks_of(present))
    if kinds <= {int, float} and all(math.isfinite(v) for v in values if v == v):
        present = [i for i, v in enumerate(values) if v == v]
        out = [""] * len(values)
        for i, m in zip(present, marks_of(present)):
            out[i] = f'<c r="{letter}{i + first + 1}"{m}><v>{values[i]:.16G}</v></c>'
        return out
    out = []
    for i, raw in enumerate(values):
        if as_text:
            if not isinstance(raw, str):
                raise _Refused
            value: Any = raw
        else:
            value = cell_value(raw)
            if value == "" or value is None:
                out.append("")
                continue
        ref = f"{letter}{i + first + 1}"
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        if isinstance(value, dt.datetime):
            chosen = (pick(raw) if pick is not None else fixed) or date_format or own
            out.append(f'<c r="{ref}"{mark(chosen, (i, c))}><v>'
                       f"{ws._convert_date_time(value):.16G}</v></c>")
        elif isinstance(value, bool):  # yes or no, in no format of its own
            out.append(f'<c r="{ref}"{mark(own, (i, c))} t="inlineStr"><is><t>'
                       f'{"yes" if value else "no"}</t></is></c>')
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise _Refused
            m = mark((pick(raw) if pick is not None else fixed) or own, (i, c))
            out.append(f'<c r="{ref}"{m}><v>{value:.16G}</v></c>')
        else:
            m = mark((pick(raw) if pick is not None else fixed) or own, (i, c))
            out.append(_texts([str(value)], [0], first + i, letter, [m])[0])
    return out


def _texts(values: list[Any], present: list[int], first: int, letter: str,
           marks: list[str]) -> list[str]:
    """The texts at ``present`` of a column as inline strings, escaped all at once."""
    out = [""] * len(values)
    if not present:
        return out
    texts = [values[i] for i in present]
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1 or ("_x" in joined and _ESCAPE_LIKE.search(
            joined)) or _CONTROL.search(joined) or max(map(len, texts)) > _LONG or (
            "<r>" in joined and any(t.startswith("<r>") and t.endswith("</r>") for t in texts)):
        raise _Refused
    escaped = xml_escape(joined).split("\x00")
    spaced = [' xml:space="preserve"' if t != t.strip() else "" for t in texts]
    cells = [f'<c r="{letter}{i + first + 1}"{m} t="inlineStr"><is><t{space}>{text}</t></is></c>'
             for i, text, m, space in zip(present, escaped, marks, spaced)]
    if len(cells) == len(values):
        return cells
    for i, cell in zip(present, cells):
        out[i] = cell
    return out
