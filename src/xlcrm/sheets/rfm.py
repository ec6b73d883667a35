"""The owned *RFM* sheet: customers by recency, frequency and monetary value, and what to do
with each segment. Layout only: the scores come from :mod:`xlcrm.metrics.rfm`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.rfm import SEGMENTS
from ..xlsx.transplant import RowRenderer
from ..xlsx.writer import SheetBuilder
from .rowxml import row_renderer
from .style import Formats, banner, record_names, write_cells
from .words import owned_text

__all__ = ["rfm_builder"]

#: what to do with the customers of each segment
def rfm_builder(crm: Crm, customers: pd.DataFrame, key: str, today: dt.date) -> SheetBuilder:
    """Lay out the RFM sheet: the segments, then every customer (see
    :func:`xlcrm.metrics.rfm.rfm` for ``customers``); ``key`` is the customers' sheet."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer | None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["rfm_title"],
               text.get("rfm_note", today=f"{today:%Y-%m-%d}"), key="rfm")
        frame = customers
        center = book.add_format({"align": "center"})
        ws.write_string(4, 0, text["rfm_by_segment"], f.title)
        ws.write_row(5, 0, [text["rfm_segment"], text["rfm_customers"], text["rfm_value"],
                            text["rfm_share_of_value"], text["rfm_what_to_do"]], f.head)
        total = float(frame["monetary"].sum()) if len(frame) else 0.0
        row = 6
        for seg in SEGMENTS:
            part = frame[frame["segment"] == seg]
            if part.empty:
                continue
            ws.write_string(row, 0, crm.schema.locale.value("rfm_segments", seg))
            ws.write_number(row, 1, len(part), f.int)
            ws.write_number(row, 2, float(part["monetary"].sum()), f.money)
            ws.write_number(row, 3, float(part["monetary"].sum()) / total if total else 0.0,
                            f.pct)
            ws.write_string(row, 4, text[f"rfm_advice_{seg}"])
            row += 1
        row += 1
        ws.write_string(row, 0, text["rfm_customers"], f.title)
        header = [text["rfm_customer"], text["rfm_name"], text["rfm_last_purchase"],
                  text["rfm_days_since"], text["rfm_purchases"], text["rfm_value"], "R", "F",
                  "M", "RFM", text["rfm_segment"]]
        ws.write_row(row + 1, 0, header, f.head)
        table = crm.tables[key]
        name_of = dict(zip(table["id"], record_names(table))) if "id" in table else {}
        segment = {seg: crm.schema.locale.value("rfm_segments", seg)
                   for seg in frame["segment"].unique()} if not frame.empty else {}
        ids = frame.index.tolist()
        columns = [ids, [name_of.get(c, "") for c in ids],
                   *(frame[c].tolist() for c in ("last", "recency_days", "frequency",
                                                 "monetary", "r", "f", "m", "rfm")),
                   [segment[s] for s in frame["segment"].tolist()]]
        formats = {5: f.money, 3: f.int, 4: f.int, 6: center, 7: center, 8: center, 9: center}
        if frame.empty:
            ws.write_string(row + 2, 0, text["rfm_no_purchases"], f.note)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 3, 13)
        ws.set_column(4, 5, 12)
        ws.set_column(6, 9, 6)
        ws.set_column(10, 10, 18)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        if frame.empty:
            return None
        # a customer per row, tens of thousands at 100k leads: rendered as XML at once
        renderer = row_renderer(ws, columns, row + 2, [formats.get(c) for c in range(11)],
                                f.date)
        if renderer is None:
            for i, values in enumerate(zip(*columns), row + 2):
                write_cells(ws, i, list(values), f, formats)
        return renderer
    return build
