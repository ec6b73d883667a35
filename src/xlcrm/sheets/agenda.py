"""The owned *Agenda* sheet: tomorrow's agenda of every rep as one table to filter.

Layout only: the rows come from :mod:`xlcrm.metrics.agenda`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.agenda import AGENDA_COLUMNS, SECTION_TITLES, UNASSIGNED
from ..xlsx.transplant import RowRenderer
from .rowxml import row_renderer
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
            # tens of thousands of rows at 100k leads: rendered as XML at once (see .rowxml)
            renderer = row_renderer(ws, [list(column) for column in zip(*rows)], top + 1,
                                    [None, None, lambda v: day_fmt if _is_day(v) else when,
                                     None, None, None, when, None])
        if renderer is None:
            for r, row in enumerate(rows, top + 1):
                for c, value in enumerate(row):
                    if value is None or value == "" or (isinstance(value, float)
                                                        and pd.isna(value)):
                        continue  # an empty text is no cell, as in the rendered rows
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


def _is_day(value: dt.datetime) -> bool:
    """True when a timestamp carries no time of day (a due date without a time)."""
    return value.hour == 0 and value.minute == 0 and value.second == 0
