"""The Dashboard sheet: the last full week against the week before and the baseline, with
charts of the rates by week of arrival, what happened in the week and where leads come from."""

from __future__ import annotations

from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.tally import RATES, STEPS
from ..week import WeekResult
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value, measure_headers
from .tally import cohort_rows, first_source_row, text_dates_note

__all__ = ["dashboard_sheet"]


def dashboard_sheet(week: WeekResult, crm: Crm, *, tally_name: str) -> SheetBuilder:
    """Lay out the Dashboard of ``week``; its charts read the Tally sheet ``tally_name``."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        labels = measure_headers(crm.settings)
        shown = week.this_week
        banner(ws, crm.schema, f, "Dashboard",
               f"Last full week ({shown:%Y-%m-%d}) against the week before and the baseline. "
               f"Updated {week.today:%Y-%m-%d}; the current week is not over and is not "
               "compared." if shown is not None else "No full week yet.")
        age = max(week.age(shown), 0) if shown is not None else 0
        note = ("Counts: what happened in the week (the baseline's per week). Rates: shares "
                f"of the week's new leads, as they stood {age} day{'s' * (age != 1)} after the "
                "week ended; the week before and the baseline at the same age."
                if shown is not None else "") + text_dates_note(week)
        if note:
            ws.write_string(3, 0, note.strip(), f.note)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 4, 14)
        ws.set_landscape()
        ws.fit_to_pages(1, 1)  # the dashboard prints on one page
        ws.write_row(4, 0, ["", "This week", "Last week", "Baseline (per week)",
                            "Change vs baseline", "This week counted"], f.head)
        ws.set_row(4, 30)
        ws.set_column(5, 5, 14)
        counted = week.rate_counts(shown) if shown is not None else {}
        for i, (name, now, before, base) in enumerate(week.summary()):
            is_rate = name in RATES
            r = 5 + i + is_rate  # a heading row between the counts and the rates
            if name == next(iter(RATES)):
                age = max(week.age(week.this_week), 0) if week.this_week is not None else 0
                ws.write_row(r - 1, 0, [f"Shares of the week's new leads, {age} day"
                                        f"{'s' * (age != 1)} after the week ended", "", "",
                                        "Baseline (same age)", "", ""], f.head)
                ws.set_row(r - 1, 30)
            if is_rate and name in counted:
                hits, of = counted[name]
                ws.write_string(r, 5, f"{hits:,} of {of:,}", f.note)
            ws.write_string(r, 0, labels[name])
            for c, v in enumerate((now, before, base), 1):
                value = cell_value(v)
                if value != "":
                    ws.write_number(r, c, float(value), f.big_pct if is_rate and c == 1
                                    else f.pct if is_rate else f.big if c == 1
                                    else f.per_week if c == 3 else f.int)
            if is_rate and pd.notna(now) and pd.notna(base):
                ws.write_number(r, 4, (float(now) - float(base)) * 100, f.pts)
        if shown is not None:
            quoted = tally_name.replace("'", "''")
            # the cohorts up to the last full week: the current one has barely begun
            first = cohort_rows(week)
            last = first + int(week.cohorts.index.get_loc(shown))
            trend = book.add_chart({"type": "line"})
            for name in ("contact_rate", "appointment_rate", "sales_per_lead"):
                col = 1 + len(STEPS) + list(RATES).index(name)
                trend.add_series({
                    "name": labels[name], "smooth": False,
                    "categories": f"='{quoted}'!$A${first}:$A${last}",
                    "values": f"='{quoted}'!${xlsxwriter.utility.xl_col_to_name(col)}${first}:"
                              f"${xlsxwriter.utility.xl_col_to_name(col)}${last}",
                })
            trend.set_title({"name": "Rates by week of arrival (the last weeks still grow)"})
            trend.set_y_axis({"num_format": "0%"})
            trend.set_x_axis({"date_axis": True, "num_format": "d mmm", "num_font": {
                "rotation": -45}})
            trend.set_legend({"position": "bottom"})
            trend.set_size({"width": 620, "height": 300})
            ws.insert_chart("G5", trend)
            ws.insert_chart("G21", _bar_chart(
                book, "What happened in the last full week", "Last full week",
                f"='{ws.name}'!$A$6:$A$10", f"='{ws.name}'!$B$6:$B$10"))
            sources = len(week.by_source)
            if sources:
                top = first_source_row(week)
                bottom = top + sources - 1
                ws.insert_chart("A21", _bar_chart(
                    book, "Leads by source (all so far)", labels["leads"],
                    f"='{quoted}'!$A${top}:$A${bottom}", f"='{quoted}'!$B${top}:$B${bottom}"))
    return build


def _bar_chart(book: xlsxwriter.Workbook, title: str, name: str, categories: str,
               values: str) -> Any:
    """A horizontal bar chart with value labels, first category on top."""
    chart = book.add_chart({"type": "bar"})
    chart.add_series({"name": name, "categories": categories, "values": values,
                      "data_labels": {"value": True, "category": False, "series_name": False}})
    chart.set_title({"name": title})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"none": True})
    chart.set_size({"width": 620, "height": 300})
    return chart
