"""The owned *Agenda* sheet: tomorrow's agenda of every rep as one table to filter.

Layout only: the rows come from :mod:`xlcrm.metrics.agenda`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

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
        nobody = text["agenda_unassigned"]
        # column by column: a row tuple per agenda line took a second at 100k leads
        table: list[list[Any]] = [
            [nobody if v == UNASSIGNED else v for v in _listed(items["rep"])],
            [sections[v] for v in _listed(items["section"])],
            _moments(items["when"]), _listed(items["record"]), _listed(items["client"]),
            _listed(items["what"]), _moments(items["last_date"]), _listed(items["last_what"])]
        widths = [18, 24, 17, 11, 22, 44, 17, 44]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        top = 4
        renderer: RowRenderer | None = None
        if len(items):
            ws.add_table(top, 0, top + len(items), len(headers) - 1, {
                "name": "xlcrm_Agenda", "style": "Table Style Light 9",
                "columns": [{"header": h} for h in headers]})
            # tens of thousands of rows at 100k leads: rendered as XML at once (see .rowxml)
            renderer = row_renderer(ws, table, top + 1,
                                    [None, None, lambda v: day_fmt if _is_day(v) else when,
                                     None, None, None, when, None])
        if renderer is None:
            for r, row in enumerate(zip(*table), top + 1):
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
        if not len(items):
            ws.write_string(top, 0, text["agenda_nothing"])
        ws.freeze_panes(top + 1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        return renderer
    return build


def _listed(values: pd.Series) -> list[Any]:
    """A column's cells as Python objects, as iterating its rows gives them."""
    return list(values.tolist())


def _moments(values: pd.Series) -> list[dt.datetime | None]:
    """A column of moments as Python datetimes, None where empty."""
    if values.dtype.kind == "M" and values.dt.tz is None:  # converted at once
        moments = values.array.to_pydatetime().tolist()
        return [None if empty else v for v, empty in zip(moments, values.isna().tolist())]
    return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in _listed(values)]


def _is_day(value: dt.datetime) -> bool:
    """True when a timestamp carries no time of day (a due date without a time)."""
    return value.hour == 0 and value.minute == 0 and value.second == 0
