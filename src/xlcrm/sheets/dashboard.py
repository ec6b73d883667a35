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
from .style import BIG_ROW, Formats, banner, cell_value, fit_header, measure_headers
from .tally import cohort_rows, first_source_row, text_dates_note
from .words import owned_text

__all__ = ["dashboard_sheet"]


def dashboard_sheet(week: WeekResult, crm: Crm, *, tally_name: str) -> SheetBuilder:
    """Lay out the Dashboard of ``week``; its charts read the Tally sheet ``tally_name``."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        labels = measure_headers(crm.settings, crm.schema)
        shown = week.this_week
        banner(ws, crm.schema, f, text["dashboard_title"],
               text.get("dashboard_note", week=f"{shown:%Y-%m-%d}",
                        today=f"{week.today:%Y-%m-%d}") if shown is not None
               else text["dashboard_no_week"])
        age = max(week.age(shown), 0) if shown is not None else 0
        note = (text.get("dashboard_counts_note", age=age, days=text.plural("word_day", age))
                if shown is not None else "") + text_dates_note(week, text=text)
        if note:
            ws.write_string(3, 0, note.strip(), f.note)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 4, 14)
        ws.set_landscape()
        ws.fit_to_pages(1, 1)  # the dashboard prints on one page
        ws.set_column(5, 5, 14)
        widths = {0: 24.0, 1: 14.0, 2: 14.0, 3: 14.0, 4: 14.0, 5: 14.0}
        # the row labels are read beside big figures: column A fits the longest
        longest = max(len(labels[name]) for name in (*STEPS, *RATES)) + 2
        if longest > widths[0]:
            widths[0] = float(longest)
            ws.set_column(0, 0, widths[0])
        header = ["", text["this_week"], text["last_week"], text["baseline_per_week"],
                  text["change_vs_baseline"], text["this_week_counted"]]
        ws.write_row(4, 0, header, f.head)
        fit_header(ws, 4, header, widths)
        counted = week.rate_counts(shown) if shown is not None else {}
        for i, (name, now, before, base) in enumerate(week.summary()):
            is_rate = name in RATES
            r = 5 + i + is_rate  # a heading row between the counts and the rates
            if name == next(iter(RATES)):
                age = max(week.age(week.this_week), 0) if week.this_week is not None else 0
                heading = [text.get("shares_heading", age=age,
                                    days=text.plural("word_day", age)), "", "",
                           text["baseline_same_age"], "", ""]
                ws.write_row(r - 1, 0, heading, f.head)
                fit_header(ws, r - 1, heading, widths)
            if is_rate and name in counted:
                hits, of = counted[name]
                ws.write_string(r, 5, text.get("hits_of", hits=f"{hits:,}", of=f"{of:,}"),
                                f.note)
            ws.write_string(r, 0, labels[name])
            if cell_value(now) != "":
                ws.set_row(r, BIG_ROW)  # the week's figure is big: its row grows with it
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
            trend.set_title({"name": text["chart_rates_title"]})
            trend.set_y_axis({"num_format": "0%"})
            trend.set_x_axis({"date_axis": True, "num_format": text.excel_date_prefix() + "d mmm",
                              "num_font": {"rotation": -45}})
            trend.set_legend({"position": "bottom"})
            trend.set_size({"width": 620, "height": 300})
            ws.insert_chart("G5", trend)
            ws.insert_chart("G21", _bar_chart(
                book, text["chart_week_title"], text["chart_week_series"],
                f"='{ws.name}'!$A$6:$A$10", f"='{ws.name}'!$B$6:$B$10"))
            sources = len(week.by_source)
            if sources:
                top = first_source_row(week)
                bottom = top + sources - 1
                ws.insert_chart("A21", _bar_chart(
                    book, text["chart_sources_title"], labels["leads"],
                    f"='{quoted}'!$A${top}:$A${bottom}", f"='{quoted}'!$B${top}:$B${bottom}"))
            # the page ends where the lower charts do (row 21 + 300 px, column G + 620 px):
            # printed from the cells alone, LibreOffice cut the charts at the table's end
            ws.print_area(0, 0, 20 + 300 // 20 + 1, 6 + 620 // 64 + 1)
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
