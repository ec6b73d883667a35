"""The Funnel sheet: records in each stage, their value and weighted value, the forecast by
close month, and what was won and lost, why and to whom, over the last four full weeks."""

from __future__ import annotations

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.funnel import FunnelResult
from ..metrics.records import stage_sheet
from ..week import WeekResult
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value

__all__ = ["funnel_sheet"]

_HEADERS = {"stage": "Stage", "outcome": "Outcome", "probability": "Win probability",
            "count": "Records", "value": "Value", "weighted": "Weighted value",
            "avg_age_days": "Average days in stage", "oldest_age_days": "Oldest (days)",
            "without_next_task": "Open without a next task", "reached": "Reached",
            "conversion": "Conversion to next stage", "month": "Expected close",
            "reason": "Lost reason", "competitor": "Competitor", "share": "Share of losses"}
_MONEY = {"value", "weighted"}
_PCT = {"probability", "conversion", "share"}


def funnel_sheet(week: WeekResult, fun: FunnelResult, crm: Crm) -> SheetBuilder:
    """Lay out the Funnel sheet of ``week`` (whose funnel is ``fun``); ``crm`` gives the
    formats."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        shown = week.this_week
        start = (shown - pd.Timedelta(weeks=3)) if shown is not None else None
        banner(ws, crm.schema, f, "Funnel", "Records in each stage of Settings, their value and "
               "the value weighted by the stage's win probability; won and lost over the last "
               f"four full weeks{f' (from {start:%Y-%m-%d})' if start is not None else ''}. "
               f"Updated {week.today:%Y-%m-%d}.")
        staged = stage_sheet(crm)
        if staged is not None and not staged.has_column("close_date"):
            ws.write_string(3, 0, "Leads carry no amount until sold: an open or lost lead is "
                            "worth its vehicle's price in Settings > Price list (by model, else "
                            "new or used), else the average sale of its source. Expected close: "
                            "its last milestone plus the median days from there to a sale in "
                            "this workbook. Reached: every lead that ever got to the stage, "
                            "lost ones included.", f.note)
        else:
            ws.write_string(3, 0, "Reached: every record that ever got to the stage (its "
                            "stage now, or the stage history), lost ones included; conversion "
                            "is the share of those that got to the next.", f.note)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 11, 14)  # a lost pipeline's value runs to eight digits
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        row = 4
        for title, frame in (("By stage", fun.stages), ("Forecast by close month",
                                                        fun.forecast),
                             ("Won and lost in the last four weeks", fun.won_lost),
                             ("Lost reasons", fun.lost_reasons),
                             ("Who we lose to", fun.competitors)):
            ws.write_string(row, 0, title, f.title)
            ws.write_row(row + 1, 0, [_HEADERS.get(c, c.replace("_", " ").capitalize())
                                      for c in frame.columns], f.head)
            ws.set_row(row + 1, 30)
            for i, rec in enumerate(frame.itertuples(index=False), row + 2):
                for c, (name, v) in enumerate(zip(frame.columns, rec)):
                    value = cell_value(v)
                    if value == "":
                        continue
                    if isinstance(value, (int, float)):
                        fmt = f.money if name in _MONEY else f.pct if name in _PCT else f.int
                        ws.write_number(i, c, float(value), fmt)
                    else:
                        ws.write_string(i, c, str(value))
            row += 3 + max(len(frame), 1)
        totals = fun.totals
        ws.write_string(row, 0, "Pipeline", f.title)
        for i, (label, key, fmt) in enumerate((
                ("Open records", "open_count", f.int), ("Open value", "open_value", f.money),
                ("Weighted forecast", "weighted_value", f.money),
                ("Win rate in the period", "win_rate", f.pct))):
            ws.write_string(row + 1 + i, 0, label, f.head)
            value = cell_value(totals.get(key))
            if value != "":
                ws.write_number(row + 1 + i, 1, float(value), fmt)
    return build
