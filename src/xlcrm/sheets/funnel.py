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
from .style import Formats, banner, cell_value, fit_header, wrapped_note
from .words import owned_text

__all__ = ["funnel_sheet"]

#: the tables' columns with a header of their own in ``[owned]`` (``funnel_<column>``)
_HEADERS = ("stage", "outcome", "probability", "count", "value", "weighted", "avg_age_days",
            "oldest_age_days", "without_next_task", "reached", "conversion", "month", "reason",
            "competitor", "share")
#: the words the funnel's tables hold as values (outcomes, rows without a date or reason)
_VALUES = {("outcome", "open"): "outcome_open", ("outcome", "won"): "outcome_won",
           ("outcome", "lost"): "outcome_lost", ("month", "no close date"): "no_close_date",
           ("reason", "(none)"): "no_reason", ("stage", "(no stage)"): "no_stage",
           ("outcome", "unknown"): "unknown", ("competitor", "(none)"): "no_reason"}
_MONEY = {"value", "weighted"}
_PCT = {"probability", "conversion", "share"}


def funnel_sheet(week: WeekResult, fun: FunnelResult, crm: Crm) -> SheetBuilder:
    """Lay out the Funnel sheet of ``week`` (whose funnel is ``fun``); ``crm`` gives the
    formats."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        shown = week.this_week
        start = (shown - pd.Timedelta(weeks=3)) if shown is not None else None
        banner(ws, crm.schema, f, text["funnel_title"], text.get(
            "funnel_note", since=" " + text.get("funnel_since", start=f"{start:%Y-%m-%d}")
            if start is not None else "", today=f"{week.today:%Y-%m-%d}"))
        staged = stage_sheet(crm)
        tables = ((text["funnel_by_stage"], fun.stages),
                  (text["funnel_forecast"], fun.forecast),
                  (text["funnel_won_lost"], fun.won_lost),
                  (text["funnel_lost_reasons"], fun.lost_reasons),
                  (text["funnel_competitors"], fun.competitors))
        # column A fits the longest stage, reason, competitor or pipeline label (bold), so
        # none is cut nor wraps over its neighbour in any language
        firsts = [str(v) for _, frame in tables if len(frame.columns)
                  for v in frame.iloc[:, 0]] + [
            text[f"pipeline_{k}"] for k in ("open_count", "open_value", "weighted_value",
                                            "win_rate")]
        widths = {0: max(24.0, max(len(t) for t in firsts) * 1.1 + 1),
                  **{c: 14.0 for c in range(1, 12)}}
        ws.set_column(0, 0, widths[0])
        ws.set_column(1, 11, 14)  # a lost pipeline's value runs to eight digits
        last = max([len(frame.columns) for _, frame in tables] + [2]) - 1
        wrapped_note(book, ws, 2, text.get(
            "funnel_note", since=" " + text.get("funnel_since", start=f"{start:%Y-%m-%d}")
            if start is not None else "", today=f"{week.today:%Y-%m-%d}"), widths, last)
        wrapped_note(book, ws, 3, text["funnel_leads_note"]
                     if staged is not None and not staged.has_column("close_date")
                     else text["funnel_records_note"], widths, last)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        row = 4
        for title, frame in tables:
            ws.write_string(row, 0, title, f.title)
            header = [text[f"funnel_{c}"] if c in _HEADERS else c.replace("_", " ").capitalize()
                      for c in frame.columns]
            ws.write_row(row + 1, 0, header, f.head)
            fit_header(ws, row + 1, header, widths)  # every word whole, every line seen
            for i, rec in enumerate(frame.itertuples(index=False), row + 2):
                for c, (name, v) in enumerate(zip(frame.columns, rec)):
                    value = cell_value(v)
                    if value == "":
                        continue
                    if isinstance(value, (int, float)):
                        fmt = f.money if name in _MONEY else f.pct if name in _PCT else f.int
                        ws.write_number(i, c, float(value), fmt)
                    else:
                        word = _VALUES.get((name, str(value)))
                        ws.write_string(i, c, text[word] if word else str(value))
            row += 3 + max(len(frame), 1)
        totals = fun.totals
        ws.write_string(row, 0, text["pipeline"], f.title)
        for i, (key, fmt) in enumerate((("open_count", f.int), ("open_value", f.money),
                                        ("weighted_value", f.money), ("win_rate", f.pct))):
            ws.write_string(row + 1 + i, 0, text[f"pipeline_{key}"], f.head)
            value = cell_value(totals.get(key))
            if value != "":
                ws.write_number(row + 1 + i, 1, float(value), fmt)
    return build
