"""The owned *Agenda* sheet: tomorrow's agenda of every rep as one table to filter.

Layout only: the rows come from :mod:`xlcrm.metrics.agenda`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.agenda import AGENDA_COLUMNS, SECTION_TITLES, UNASSIGNED
from ..xlsx.transplant import RowRenderer
from .style import owned_banner
from .words import owned_text

__all__ = ["agenda_builder"]


def agenda_builder(crm: Crm, items: pd.DataFrame, *, day: dt.date, now: dt.datetime
                   ) -> Callable[[xlsxwriter.Workbook, Worksheet], RowRenderer | None]:
    """Lay out the Agenda sheet: ``items`` (see :func:`xlcrm.metrics.agenda.agenda_items`) as
    one filterable table, for ``day``, written at ``now``."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer | None:
        loc = crm.schema.locale
        banner = book.add_format({"italic": True, "bold": True, "font_color": "#FFFFFF",
                                  "bg_color": "#548235"})
        title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        note = book.add_format({"italic": True, "font_color": "#595959"})
        when = book.add_format({"num_format": loc.formats["date"] + " hh:mm",
                                "align": "left"})
        day_fmt = book.add_format({"num_format": loc.formats["date"], "align": "left"})
        ws.write_string(0, 0, owned_banner(crm.schema, "agenda"), banner)
        for c in range(1, len(AGENDA_COLUMNS)):
            ws.write_blank(0, c, None, banner)
        text = owned_text(crm.schema)
        sections = {key: text[f"agenda_section_{key}"] for key in SECTION_TITLES}
        ws.write_string(1, 0, text.get("agenda_title", day=text.long_date(day)), title)
        ws.write_string(2, 0, text.get("agenda_note", now=f"{now:%Y-%m-%d %H:%M}",
                                       **sections), note)
        headers = [text[f"agenda_{key}"] for key in ("salesperson", "section", "when",
                                                      "record", "client", "what",
                                                      "last_interaction", "last_was")]
        rows = []
        nobody = text["agenda_unassigned"]
        for rec in items.itertuples(index=False):
            rows.append([nobody if rec.rep == UNASSIGNED else rec.rep, sections[rec.section],
                         None if pd.isna(rec.when) else pd.Timestamp(rec.when).to_pydatetime(),
                         rec.record, rec.client, rec.what,
                         None if pd.isna(rec.last_date)
                         else pd.Timestamp(rec.last_date).to_pydatetime(), rec.last_what])
        widths = [18, 24, 17, 11, 22, 44, 17, 44]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        top = 4
        renderer: RowRenderer | None = None
        if rows:
            ws.add_table(top, 0, top + len(rows), len(headers) - 1, {
                "name": "xlcrm_Agenda", "style": "Table Style Light 9",
                "columns": [{"header": h} for h in headers]})
            if all(_plain(v) for row in rows for v in row):
                renderer = _renderer(ws, rows, top + 1, day_fmt, when)
        if renderer is None:
            for r, row in enumerate(rows, top + 1):
                for c, value in enumerate(row):
                    if value is None or (isinstance(value, float) and pd.isna(value)):
                        continue
                    if isinstance(value, dt.datetime):
                        fmt = day_fmt if (c == 2 and _is_day(value)) else when
                        ws.write_datetime(r, c, value, fmt)
                    elif isinstance(value, (int, float)) and not isinstance(value, bool):
                        ws.write_number(r, c, value)
                    else:  # a subject "=WEBSERVICE(...)" is text, never a formula
                        ws.write_string(r, c, str(value))
        if not rows:
            ws.write_string(top, 0, text["agenda_nothing"])
        ws.freeze_panes(top + 1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        return renderer
    return build


# Texts XlsxWriter's write() would turn into something else (a formula, a link), or keep
# in another form (control characters escaped, carriage returns): those tables are written
# through it, cell by cell, as before.
_NOT_PLAIN = re.compile(r"^(?:=|\{=|(?:ftp|http)s?://|mailto:|(?:in|ex)ternal:|file://)"
                        r"|[\x00-\x08\x0b-\x1f\r]")


def _plain(value: object) -> bool:
    if value is None or isinstance(value, dt.datetime):
        return True
    if isinstance(value, float):
        return value != value  # a blank; a number goes through XlsxWriter
    return isinstance(value, str) and len(value) < 16_000 and not _NOT_PLAIN.search(value)


def _renderer(ws: Worksheet, rows: list[list[Any]], first: int, day_fmt: Format,
              when: Format) -> RowRenderer:
    """The agenda's rows as the sheet XML the cell-by-cell path ends up as (strings inline,
    numbers and dates as XlsxWriter writes them, each 16-row block's span), written at once:
    at 100k leads the agenda has tens of thousands of rows."""
    # the date formats in the order the cells first use them: the order XlsxWriter numbers
    # them in the scratch book, and the order the workbook's styles take them in
    used: list[Format] = []
    for row in rows:
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                fmt = day_fmt if (c == 2 and _is_day(value)) else when
                if fmt not in used:
                    used.append(fmt)
                    fmt._get_xf_index()
        if len(used) == 2:
            break

    def render(xf: Callable[[int], int]) -> bytes:
        styles = {id(fmt): xf(fmt._get_xf_index()) for fmt in used}
        lines: list[tuple[int, list[str], int, int]] = []
        for r, row in enumerate(rows, first):
            cells, low, high = [], 7, 0
            for c, value in enumerate(row):
                if value is None or value == "" or isinstance(value, float):
                    continue
                ref = f"{_LETTERS[c]}{r + 1}"
                if isinstance(value, dt.datetime):
                    fmt = day_fmt if (c == 2 and _is_day(value)) else when
                    number = ws._convert_date_time(value)
                    cells.append(f'<c r="{ref}" s="{styles[id(fmt)]}"><v>{number:.16G}</v></c>')
                else:
                    space = ' xml:space="preserve"' if value != value.strip() else ""
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>'
                                 f"{xml_escape(value)}</t></is></c>")
                low, high = min(low, c), max(high, c)
            lines.append((r, cells, low, high))
        # each block of 16 rows has one span, its cells' first to last column; the banner's
        # eight cells are in the first block
        spans: dict[int, tuple[int, int]] = {0: (0, 7)}
        for r, cells, low, high in lines:
            if cells:
                was = spans.get(r // 16, (low, high))
                spans[r // 16] = (min(was[0], low), max(was[1], high))
        return "".join(
            f'<row r="{r + 1}" spans="{spans[r // 16][0] + 1}:{spans[r // 16][1] + 1}">'
            f'{"".join(cells)}</row>' for r, cells, _, _ in lines if cells).encode("utf-8")
    return render


_LETTERS = "ABCDEFGH"


def _is_day(value: dt.datetime) -> bool:
    """True when a timestamp carries no time of day (a due date without a time)."""
    return value.hour == 0 and value.minute == 0 and value.second == 0
