"""The Baseline sheet: the team's rates over the baseline period, each plan against them, and
the history of baselines (which the weekly run reads back and appends to)."""

from __future__ import annotations

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.baseline import PLAN_RATES, rate_interval
from ..metrics.tally import RATES, STEPS
from ..week import WeekResult
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value, measure_headers
from .words import owned_text

__all__ = ["SMALL_BASELINE_WIDTH", "baseline_sheet"]

#: a baseline whose contact rate, appointment rate or sales per lead is uncertain over a range
#: wider than this (20 points: about 100 leads at a 50 % rate) says it is small
SMALL_BASELINE_WIDTH = 0.20


def baseline_sheet(week: WeekResult, crm: Crm) -> SheetBuilder:
    """Lay out the Baseline sheet of ``week``; ``crm`` gives the labels and formats."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        labels = measure_headers(crm.settings, crm.schema)
        start, end = week.baseline_period
        period = (text.get("baseline_period", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")
                  if start and end else text["baseline_period_default"])
        banner(ws, crm.schema, f, text["baseline_title"],
               text.get("baseline_note", period=period, today=f"{week.today:%Y-%m-%d}"))
        ws.set_column(0, 0, 30)
        verdict = 4 + 4 * len(PLAN_RATES)  # the plans' last column
        ws.set_column(1, verdict - 1, 13)
        ws.set_column(verdict, verdict, 16)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        base = week.baseline
        n_weeks = int(base.get("weeks", 0) or 0)
        ws.write_row(3, 0, ["", text.get("over_weeks", n=n_weeks,
                                         weeks=text.plural("word_week", n_weeks)),
                            text["per_week"], text["likely_from"], text["likely_to"],
                            text["of_new_leads_so_far"]], f.head)
        ws.set_row(3, 30)
        ws.set_column(5, 5, 16)
        widest = 0.0
        for i, name in enumerate((*STEPS, *RATES)):
            ws.write_string(4 + i, 0, labels[name], f.head)
            value = cell_value(base[name])
            if value == "":
                continue
            if name in STEPS:
                ws.write_number(4 + i, 1, float(value), f.int)
                # the counts the rates divide: what became of the baseline weeks' leads
                ws.write_number(4 + i, 5, float(base[f"cohort_{name}"]), f.int)
                if n_weeks:
                    ws.write_number(4 + i, 2, float(value) / n_weeks, f.per_week)
                continue
            ws.write_number(4 + i, 1, float(value), f.pct)
            num, den = RATES[name]
            low, high = rate_interval(float(base[f"cohort_{num}"]), float(base[f"cohort_{den}"]))
            if low == low:  # not NaN
                ws.write_number(4 + i, 3, low, f.pct)
                ws.write_number(4 + i, 4, high, f.pct)
                if name in PLAN_RATES:
                    widest = max(widest, high - low)
        if widest > SMALL_BASELINE_WIDTH:
            ws.write_string(4 + len(STEPS) + len(RATES), 0,
                            text.get("small_baseline", leads=f"{int(base['cohort_leads']):,}",
                                     width=f"{widest * 100:.0f}"), f.note)
        row = 6 + len(STEPS) + len(RATES)
        ws.write_string(row, 0, text["plans_title"], f.title)
        ws.write_string(row + 1, 0, text["plans_note"], f.note)
        header = [text["plan"], text["plan_start"], text["plan_end"], text["plan_weeks"]]
        for name in PLAN_RATES:
            header += [text.get("rate_during", rate=labels[name]), text["baseline_title"],
                       text["change"], text["p_value"]]
        header.append(text["contact_rate_verdict"])
        ws.write_row(row + 2, 0, header, f.head)
        ws.set_row(row + 2, 30)
        for i, plan in enumerate(week.plans.to_dict("records"), row + 3):
            ws.write_string(i, 0, str(plan["plan"]))
            for c, key in ((1, "start"), (2, "end")):
                if plan[key] is not None and not pd.isna(plan[key]):
                    ws.write_datetime(i, c, pd.Timestamp(plan[key]).to_pydatetime(), f.date)
            ws.write_number(i, 3, plan["weeks"], f.int)
            for k, name in enumerate(PLAN_RATES):
                c = 4 + 4 * k
                for offset, key, fmt in ((0, name, f.pct), (1, f"{name}_baseline", f.pct),
                                         (2, f"{name}_change", f.pts), (3, f"{name}_p", f.p)):
                    value = cell_value(plan[key])
                    if value != "":
                        ws.write_number(i, c + offset, float(value) * (100 if offset == 2
                                                                       else 1), fmt)
            ws.write_string(i, 4 + 4 * len(PLAN_RATES), text.words.get(
                "verdict_" + str(plan["verdict"]).replace(" ", "_"), str(plan["verdict"])))
        row += 5 + len(week.plans)
        ws.write_string(row, 0, text["baseline_history"], f.title)
        # the first word is how the weekly run finds this table again
        ws.write_row(row + 1, 0, [text["baselines_set_on"], text["baselines_from"],
                                  text["baselines_to"], text["plan_weeks"],
                                  *(text[f"measure_{key}"] for key in ("leads", *RATES))],
                     f.head)
        for i, rec in enumerate(week.baselines.to_dict("records"), row + 2):
            for c, key in enumerate(("set_on", "from", "to")):
                if rec[key] is not None and not pd.isna(rec[key]):
                    ws.write_datetime(i, c, pd.Timestamp(rec[key]).to_pydatetime(), f.date)
            for c, key in enumerate(("weeks", "leads", *RATES), 3):
                value = cell_value(rec[key])
                if value != "":
                    ws.write_number(i, c, float(value), f.pct if key in RATES else f.int)
    return build
