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
from ..metrics.agenda import AGENDA_COLUMNS, SECTION_TITLES
from .style import owned_banner

__all__ = ["agenda_builder"]


def agenda_builder(crm: Crm, items: pd.DataFrame, *, day: dt.date, now: dt.datetime
                   ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    """Lay out the Agenda sheet: ``items`` (see :func:`xlcrm.metrics.agenda.agenda_items`) as
    one filterable table, for ``day``, written at ``now``."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
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
        ws.write_string(1, 0, f"Agenda for {day:%A %d %B %Y}", title)
        ws.write_string(2, 0, f"Written {now:%Y-%m-%d %H:%M}. Filter by salesperson; the "
                              "sections are Due, Overdue, No next task and Waiting for first "
                              "contact.", note)
        headers = ["Salesperson", "Section", "When", "Record", "Client", "What",
                   "Last interaction", "Last interaction was"]
        rows = []
        for rec in items.itertuples(index=False):
            rows.append([rec.rep, SECTION_TITLES[rec.section],
                         None if pd.isna(rec.when) else pd.Timestamp(rec.when).to_pydatetime(),
                         rec.record, rec.client, rec.what,
                         None if pd.isna(rec.last_date)
                         else pd.Timestamp(rec.last_date).to_pydatetime(), rec.last_what])
        widths = [18, 24, 17, 11, 22, 44, 17, 44]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        top = 4
        if rows:
            ws.add_table(top, 0, top + len(rows), len(headers) - 1, {
                "name": "xlcrm_Agenda", "style": "Table Style Light 9",
                "columns": [{"header": h} for h in headers]})
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
        else:
            ws.write_string(top, 0, "Nothing on the agenda.")
        ws.freeze_panes(top + 1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
    return build


def _is_day(value: dt.datetime) -> bool:
    """True when a timestamp carries no time of day (a due date without a time)."""
    return value.hour == 0 and value.minute == 0 and value.second == 0
