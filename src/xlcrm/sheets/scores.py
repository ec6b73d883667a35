"""The owned *Lead scores* sheet: every lead's score, grade and the rules that fired.

Open leads first, highest score first, then those already won; the people's own columns are
not touched. Layout only: the scores come from :mod:`xlcrm.metrics.scoring` and their order
from :func:`xlcrm.metrics.lead_fields.call_order`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..xlsx.transplant import RowRenderer
from ..xlsx.writer import SheetBuilder
from .rowxml import CellStyle, row_renderer
from .style import Formats, banner, record_names, write_cells
from .words import owned_text

__all__ = ["scores_builder"]


def scores_builder(crm: Crm, ranked: pd.DataFrame, *, thresholds: tuple[float, float],
                   counts: dict[str, int], unknown_fields: list[str],
                   today: dt.date) -> SheetBuilder:
    """Lay out the Lead scores sheet.

    Args:
        crm: the loaded workbook (the leads' ids, names and own columns).
        ranked: ``score``, ``grade`` and ``why`` per lead (indexed like the lead sheet's table),
            in the order to show them (see :func:`xlcrm.metrics.lead_fields.call_order`).
        thresholds: the MQL and SQL thresholds.
        counts: how many leads are SQL and MQL.
        unknown_fields: the Settings rules no field or condition was found for.
        today: the day the scores are for.
    """
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer | None:
        f = Formats(book, crm.schema)
        mql, sql = thresholds
        hot = book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#548235",
                               "align": "center"})
        warm = book.add_format({"bold": True, "bg_color": "#E2EFDA", "align": "center"})
        top = book.add_format({})
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["scores_title"],
               text.get("scores_note", today=f"{today:%Y-%m-%d}", sql=f"{sql:g}",
                        mql=f"{mql:g}"), key="lead_scores")
        ws.write_string(3, 0, text.get("scores_counts", open=f"{counts['open leads']:,}",
                                       sql=f"{counts['SQL']:,}", mql=f"{counts['MQL']:,}",
                                       closed=f"{len(ranked) - counts['open leads']:,}"),
                        f.title)
        if unknown_fields:
            ws.write_string(3, 4, text.get("scores_unknown_rules",
                                           rules="; ".join(unknown_fields)), f.note)
        lead_key = crm.schema.lead_sheet
        sheet = crm.schema.sheet(lead_key)
        extra = [c for c in ("account", "source", "owner", "rep", "stage") if sheet.has_column(c)]
        header = [text["scores_lead"], text["rfm_name"], *[sheet.column(c).header for c in extra],
                  text["scores_score"], text["scores_grade"], text["scores_why"]]
        ws.write_row(5, 0, header, f.head)
        leads = crm.tables[lead_key]
        # the leads' cells in the ranked order, column by column (a pandas row per lead would cost
        # more than writing it)
        picked = leads.reindex(ranked.index)
        names = record_names(picked)
        ids = picked["id"] if "id" in picked else pd.Series(None, index=picked.index)
        others = [picked[c] if c in picked else pd.Series(None, index=picked.index)
                  for c in extra]
        closed = text["scores_closed"]
        grades = ranked["grade"].tolist()
        columns = [ids.tolist(), names, *(o.tolist() for o in others), ranked["score"].tolist(),
                   [closed if g == "closed" else g for g in grades], ranked["why"].tolist()]
        n = len(header)

        def grade_format(g: str) -> Format:
            return hot if g == "SQL" else warm if g == "MQL" else top

        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 24)
        ws.set_column(2, n - 4, 16)
        ws.set_column(n - 3, n - 2, 8)
        ws.set_column(n - 1, n - 1, 100)
        ws.freeze_panes(6, 2)
        ws.autofilter(5, 0, 5 + len(ranked), n - 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        # at 100k leads the table is rendered as XML at once (see .rowxml); a table holding
        # a text XlsxWriter would keep otherwise goes cell by cell
        styles: list[CellStyle] = [None] * (n - 3)
        styles += [top, grade_format, None]
        renderer = row_renderer(ws, columns, 6, styles, f.date, texts=(n - 2, n - 1))
        if renderer is None:
            for i, (*values, g, why) in enumerate(zip(*columns), 6):
                write_cells(ws, i, values, f, {len(values) - 1: top})
                ws.write_string(i, len(values), g, grade_format(g))
                ws.write_string(i, len(values) + 1, why)
        return renderer
    return build
