"""How xlcrm's owned sheets look: one set of cell formats, the banner that says a sheet is
xlcrm's, and cell values as XlsxWriter takes them. The weekly run, the clean-up and the scores
build their sheets with these, so every owned sheet reads alike."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Settings
from ..schema import Schema
from .words import owned_text

__all__ = ["BIG_ROW", "GREEN", "GREY", "MEASURE_HEADERS", "PER_WEEK_FORMAT", "RATE_FORMAT",
           "Formats", "banner", "cell_value", "figure_text", "fit_header", "measure_headers",
           "owned_banner", "record_name", "write_cells"]

GREEN, GREY = "#548235", "#595959"

#: how every output shows a count per week (a baseline's), a rate and a change in points: the
#: sheets' number formats and :func:`figure_text` agree, so the Dashboard, the report and the
#: terminal round alike
PER_WEEK_FORMAT, RATE_FORMAT = "#,##0.0", "0.0%"


def figure_text(value: Any, kind: str, missing: str = "-") -> str:
    """A figure as every text output writes it, rounded half away from zero as Excel's
    number formats round (5.25 per week reads 5.3 on the Dashboard and here alike):
    ``kind`` "count" (12), "per_week" (16.5), "rate" (23.4%) or "pts" (+5.2 pts);
    ``missing`` for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    v = float(value)
    if kind == "rate":
        return f"{_excel_round(v * 100, 1):.1f}%"
    if kind == "pts":
        return f"{_excel_round(v * 100, 1):+.1f} pts"
    digits = 1 if kind == "per_week" else 0
    return f"{_excel_round(v, digits):,.{digits}f}"


def _excel_round(value: float, digits: int) -> float:
    """Round as Excel shows a number: to 15 significant digits first, then half away from
    zero on the decimal digits shown (Python's own formatting sees 0.5625 * 100 as a little
    under 56.25 and rounds to even)."""
    from decimal import ROUND_HALF_UP, Decimal

    exact = Decimal(format(value, ".15g")).quantize(Decimal(1).scaleb(-digits),
                                                    rounding=ROUND_HALF_UP)
    return float(exact)


#: the column headers of the tally's measures (the milestones' names in Settings replace the
#: steps' in :func:`measure_headers`)
MEASURE_HEADERS = {
    "week": "Week starting", "leads": "Leads", "contacts": "Two-way contacts",
    "appointments": "Appointments set", "shows": "Appointments shown", "sales": "Sold",
    "contact_rate": "Contact rate", "appointment_rate": "Appointment rate",
    "show_rate": "Show rate", "close_rate": "Close rate", "sales_per_lead": "Sales per lead",
}
_STEP_OF_MILESTONE = {"lead": "leads", "contact": "contacts", "appointment": "appointments",
                      "show": "shows", "sale": "sales"}


def measure_headers(settings: Settings, schema: Schema | None = None) -> dict[str, str]:
    """Measure key -> header: the milestone names from Settings (so b2b reads 'Meeting
    booked'), except the leads, always 'Leads'; the other headers in ``schema``'s language
    (English without one)."""
    labels = dict(MEASURE_HEADERS)
    if schema is not None:
        text = owned_text(schema)
        labels = {key: text[f"measure_{key}"] for key in MEASURE_HEADERS}
    for m in settings.milestones:
        if m.key != "lead":
            labels[_STEP_OF_MILESTONE[m.key]] = m.label
    return labels


#: the height (points) of a row holding a big (16 pt) figure, so the figure stays in its row
BIG_ROW = 21.0
#: a bold header character's width in column-width units (one unit is a "0" of the body font),
#: and the points one wrapped line of an 11 pt header takes
_CHAR, _LINE = 1.15, 15.0


def fit_header(ws: Worksheet, row: int, headers: list[str], widths: dict[int, float],
               height: float = 30.0) -> None:
    """Fit header row ``row`` to its words in whatever language they are: a column narrower
    than its header's longest word is widened to it (so no word breaks in the middle), and the
    row is made tall enough for the lines the headers wrap to (at least ``height``).

    Args:
        ws: the sheet.
        row: the header row (0-based).
        headers: the header texts from column A.
        widths: every column's width so far, by 0-based column; updated with the widened ones.
        height: the row's least height in points.
    """
    lines = 1
    for c, text in enumerate(headers):
        words = str(text).split()
        if not words:
            continue
        width = widths.get(c, 8.43)
        longest = max(len(w) for w in words) * _CHAR + 1
        if longest > width:
            width = widths[c] = round(longest, 1)
            ws.set_column(c, c, width)
        room, used, count = (width - 1) / _CHAR, -1.0, 1
        for w in words:  # greedy wrapping, as Excel and LibreOffice wrap at spaces
            if used + 1 + len(w) > room and used >= 0:
                count, used = count + 1, float(len(w))
            else:
                used += 1 + len(w)
        lines = max(lines, count)
    ws.set_row(row, max(height, lines * _LINE))


class Formats:
    """The formats of an owned sheet, added to its scratch workbook."""

    def __init__(self, book: xlsxwriter.Workbook, schema: Schema) -> None:
        loc = schema.locale
        self.banner = book.add_format({"italic": True, "bold": True, "font_color": "#FFFFFF",
                                       "bg_color": GREEN})
        self.title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        self.note = book.add_format({"italic": True, "font_color": GREY})
        self.head = book.add_format({"bold": True, "bg_color": "#E2EFDA", "text_wrap": True,
                                     "valign": "vcenter", "border": 1,
                                     "border_color": "#A9D08E"})
        self.date = book.add_format({"num_format": loc.formats["date"]})
        self.int = book.add_format({"num_format": "#,##0"})
        self.per_week = book.add_format({"num_format": PER_WEEK_FORMAT})
        # a return on spend is no share (it passes 100 %): shown as a multiple of the cost
        self.times = book.add_format({"num_format": '+0.00"x";-0.00"x"'})
        self.pct = book.add_format({"num_format": RATE_FORMAT})
        pts = owned_text(schema)["pts"]
        self.pts = book.add_format({"num_format": f'+0.0" {pts}";-0.0" {pts}";0.0" {pts}"',
                                    "font_color": GREY})
        self.money = book.add_format({"num_format": loc.money_format("EUR")})
        self.p = book.add_format({"num_format": "0.000"})
        self.big = book.add_format({"bold": True, "font_size": 16, "num_format": "#,##0"})
        self.big_pct = book.add_format({"bold": True, "font_size": 16, "num_format": "0.0%"})
        self.text = book.add_format({})


def owned_banner(schema: Schema, key: str = "") -> str:
    """The banner of owned sheet ``key``: it names the command that really rewrites it
    (``xlcrm update`` unless the locale says another for that sheet)."""
    text = schema.locale.sections.get("text", {})
    return str(text.get(f"owned_banner_{key}", text.get("owned_banner", "Owned by xlcrm")))


def banner(ws: Worksheet, schema: Schema, f: Formats, title: str, note: str,
           key: str = "") -> None:
    """Write the owned-sheet banner (row 1), the sheet's title and its note (rows 2 and 3);
    ``key`` is the sheet's, whose banner names the command that rewrites it."""
    ws.write_string(0, 0, owned_banner(schema, key), f.banner)
    for c in range(1, 12):
        ws.write_blank(0, c, None, f.banner)
    ws.write_string(1, 0, title, f.title)
    ws.write_string(2, 0, note, f.note)


def wrapped_note(book: xlsxwriter.Workbook, ws: Worksheet, row: int, note: str,
                 widths: dict[int, float], last_col: int, *, first_col: int = 0,
                 least: float = 0.0) -> None:
    """Write a long note across columns ``first_col`` (A) to ``last_col``, wrapped at word
    boundaries, its row as tall as its lines (at least ``least`` points): left to run on, it
    widens the printed page (LibreOffice prints what a text overflows into) and every table
    shrinks with it."""
    fmt = book.add_format({"italic": True, "font_color": GREY, "text_wrap": True,
                           "valign": "top"})
    room = sum(widths.get(c, 8.43) for c in range(first_col, last_col + 1)) - 1
    lines, used = 1, -1.0
    for word in note.split():  # greedy wrapping, as Excel and LibreOffice wrap at spaces
        if used + 1 + len(word) > room / 1.05 and used >= 0:
            lines, used = lines + 1, float(len(word))
        else:
            used += 1 + len(word)
    ws.merge_range(row, first_col, row, last_col, note, fmt)
    ws.set_row(row, max(least, lines * _LINE))


def cell_value(v: Any) -> Any:
    """A value as a cell takes it: "" for nothing (None, NaN), plain Python for numpy and
    pandas values."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def record_names(frame: pd.DataFrame) -> list[str]:
    """:func:`record_name` of each row of ``frame``, column by column (a dict per row costs
    more than the name)."""
    def column(key: str) -> list[Any]:
        return frame[key].tolist() if key in frame else [None] * len(frame)

    names: list[str] = []
    add = names.append
    for name, first, last in zip(column("name"), column("first_name"), column("last_name")):
        if isinstance(name, str):  # (branches, not a join of a generator: 100k rows a call)
            add(name)
        elif isinstance(first, str):
            add(f"{first} {last}" if isinstance(last, str) else first)
        else:
            add(last if isinstance(last, str) else "")
    return names


def record_name(rec: Mapping[str, Any]) -> str:
    """The name a person reads for a record: its name, or its first and last names."""
    if "name" in rec and isinstance(rec["name"], str):
        return rec["name"]
    return " ".join(str(rec[c]) for c in ("first_name", "last_name")
                    if c in rec and isinstance(rec[c], str))


def write_cells(ws: Worksheet, row: int, values: list[Any], f: Formats,
                formats: dict[int, Any]) -> None:
    """Write one row of values from column A, each as its type (dates as dates, booleans as
    yes or no); ``formats`` gives a column's format by its 0-based number."""
    for c, v in enumerate(values):
        value = cell_value(v)
        fmt = formats.get(c)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())  # a day is a date cell, not text
        if isinstance(value, dt.datetime):
            ws.write_datetime(row, c, value, fmt or f.date)
        elif isinstance(value, bool):
            ws.write_string(row, c, "yes" if value else "no")
        elif isinstance(value, (int, float)):
            ws.write_number(row, c, value, fmt)
        elif value != "":
            ws.write_string(row, c, str(value), fmt)
