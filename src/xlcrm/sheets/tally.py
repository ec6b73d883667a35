"""The Tally sheet: the week's counts and rates, by activity week, by lead cohort, by source
and by rep.

Counts that Excel can express are live COUNTIFS formulas over the lead table, with the values
:func:`~xlcrm.week.compute_week` computed stored as their cached values, so the numbers stay
right while people edit between runs and readers without a calculation engine still see them.
Two-way contacts are the one count Excel can't express (the earlier of an inbound activity
and the hand-filled date), so they are values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.tally import NESTED, RATE_DEFINITIONS, RATES, STEPS
from ..week import WeekResult
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value, measure_headers
from .workbook import structured_ref

__all__ = ["cohort_rows", "first_source_row", "tally_sheet", "text_dates_note"]

_STEP_MILESTONE = dict(zip(("lead", "contact", "appointment", "show", "sale"), STEPS))
_TOP = 4  # the row of the first table's header


def first_source_row(week: WeekResult) -> int:
    """The row, counted from 1, of the first source in the Tally's by-source table (the
    dashboard charts the leads by source from there)."""
    cohorts_top = _TOP + 2 + len(week.weeks) + 1
    return cohorts_top + 2 + len(week.cohorts) + 3


def text_dates_note(week: WeekResult, shown: int = 5) -> str:
    """A sentence naming the milestone cells left out because they hold dates typed as text
    (empty when there are none)."""
    cells = week.text_dates
    if not cells:
        return ""
    more = f" and {len(cells) - shown} more" if len(cells) > shown else ""
    return (f" Left out: {len(cells)} date{'s' * (len(cells) != 1)} typed as text "
            f"({', '.join(cells[:shown])}{more}); `xlcrm clean --apply` converts them.")


def cohort_rows(week: WeekResult) -> int:
    """The row, counted from 1, of the first week in the Tally's cohort table (the dashboard
    charts the rates by week from there)."""
    return _TOP + 2 + len(week.weeks) + 3


def tally_sheet(week: WeekResult, crm: Crm) -> SheetBuilder:
    """Lay out the Tally sheet of ``week``; ``crm`` gives the labels, formats and the lead
    table the formulas count."""
    refs = _refs(crm)

    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        labels = measure_headers(crm.settings)
        banner(ws, crm.schema, f, "Weekly tally",
               f"By activity week: what happened each week. Updated {week.today:%Y-%m-%d}. "
               "A contact counts when the prospect answered (an inbound activity or the "
               "two-way contact date). The current week is counted so far.")
        ws.write_string(3, 0, "Rates are in the cohort table below: each is a share of the "
                        "leads that arrived in its week, so none passes 100%."
                        + text_dates_note(week), f.note)
        ws.set_column(0, 0, 14)
        ws.set_column(1, 5, 11)
        ws.set_column(6, 15, 11)
        ws.set_column(16, 24, 13)  # cost, revenue and return by source
        ws.set_row(_TOP, 32)
        row = _write_weeks(ws, _TOP, week, labels, f, refs, cohort=False)
        ws.write_string(row, 0, "By lead cohort: what became, so far, of the leads that "
                                "arrived each week", f.title)
        ws.write_string(row, 7, f"A cohort is young until {week.mature_days} days after its "
                        "week ended (9 in 10 sales came within that time of the lead): its "
                        "rates still grow and are not compared with the baseline. A show "
                        "counts when its appointment is recorded, a sale when its show is.",
                        f.note)
        row = _write_weeks(ws, row + 1, week, labels, f, refs, cohort=True)
        row = _write_totals(ws, row, "By source (all leads so far)", week.by_source, f,
                            labels | {"source": "Source"}, money=True)
        row = _write_totals(ws, row, "By rep (all leads so far)", week.by_rep, f,
                            labels | {"rep": "Rep"})
        ws.write_string(row, 0, "What each rate is a share of", f.title)
        for i, (name, text) in enumerate(RATE_DEFINITIONS.items(), row + 1):
            ws.write_string(i, 0, labels[name])
            ws.write_string(i, 1, text.capitalize() + ".")
        ws.write_string(row + 1 + len(RATE_DEFINITIONS), 0, "Return on spend (x cost)")
        ws.write_string(row + 1 + len(RATE_DEFINITIONS), 1,
                        "(Gross profit - cost) / cost: gross profit is Settings' gross profit "
                        "per sale times the sales, or its margin (%) of the sale amounts; "
                        "blank where a source has no cost set.")
        ws.freeze_panes(_TOP + 1, 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(_TOP)
    return build


def _rate_formula(ws: Worksheet, row: int, col: int, num_col: int, den_col: int, value: Any,
                  fmt: Any) -> None:
    num = xlsxwriter.utility.xl_rowcol_to_cell(row, num_col)
    den = xlsxwriter.utility.xl_rowcol_to_cell(row, den_col)
    ws.write_formula(row, col, f'=IF({den}=0,"",{num}/{den})', fmt, cell_value(value))


@dataclass
class _Refs:
    """Structured references to the lead table's milestone columns, for COUNTIFS."""

    table: str
    columns: dict[str, str]  # step -> structured ref


def _refs(crm: Crm) -> _Refs | None:
    milestones = {m.key: m for m in crm.settings.milestones}
    sheet = crm.schema.sheet(milestones["lead"].sheet)
    columns = {}
    for key, step in _STEP_MILESTONE.items():
        m = milestones[key]
        if key == "contact" or m.sheet != sheet.key or m.column not in crm.columns.get(
                sheet.key, {}):
            continue
        columns[step] = structured_ref(sheet.table, sheet.column(m.column).header)
    return _Refs(sheet.table, columns) if "leads" in columns else None


def _write_weeks(ws: Worksheet, top: int, week: WeekResult, labels: dict[str, str],
                 f: Formats, refs: _Refs | None, *, cohort: bool) -> int:
    """Write one weekly table at ``top`` (by activity week: counts only; by cohort: nested
    counts, rates, age and the comparison with the baseline); return the row after it."""
    weeks = week.cohorts if cohort else week.weeks
    rates = list(RATES) if cohort else []
    header = [labels[h] for h in ("week", *STEPS, *rates)]
    header += ["Days since week ended", "Cohort", *(f"{labels[r]} vs baseline" for r in RATES)] \
        if cohort else ["Note"]
    ws.write_row(top, 0, header, f.head)
    ws.set_row(top, 32)
    created = refs.columns.get("leads") if refs else None
    for i, (start, row) in enumerate(weeks.iterrows()):
        r = top + 1 + i
        ws.write_datetime(r, 0, start.to_pydatetime(), f.date)
        cell = xlsxwriter.utility.xl_rowcol_to_cell(r, 0, col_abs=True)
        for c, step in enumerate(STEPS, 1):
            value = int(row[step])
            ref = refs.columns.get(step) if refs else None
            needed = [refs.columns.get(_STEP_MILESTONE[m]) for m in NESTED.get(step, ())] \
                if refs and cohort else []
            if ref and created and (not cohort or step == "leads"):
                ws.write_formula(r, c, f'=COUNTIFS({ref},">="&{cell},{ref},"<"&{cell}+7)',
                                 f.int, value)
            elif created and cohort and needed and all(needed):
                # ">0", not "<>": a date typed as text is no number, so Excel leaves it out,
                # as the cached count does
                pairs = "".join(f',{n},">0"' for n in needed)
                ws.write_formula(r, c, f'=COUNTIFS({created},">="&{cell},{created},"<"&{cell}+7'
                                       f'{pairs})', f.int, value)
            else:
                ws.write_number(r, c, value, f.int)
        status = len(header) - (len(RATES) if cohort else 0) - 1
        age = week.age(start)
        if not cohort:
            if age < 0:
                ws.write_string(r, status, "so far")
            continue
        for c, (name, (num, den)) in enumerate(RATES.items(), 1 + len(STEPS)):
            _rate_formula(ws, r, c, 1 + STEPS.index(num), 1 + STEPS.index(den), row[name], f.pct)
        if age >= 0:
            ws.write_number(r, status - 1, age, f.int)
        young = week.is_young(start)
        ws.write_string(r, status, "so far" if age < 0 else "young" if young else "grown")
        if not young:
            for c, name in enumerate(RATES, status + 1):
                value = week.versus_baseline.loc[start, name]
                if pd.notna(value):
                    ws.write_number(r, c, float(value) * 100, f.pts)
    return top + 2 + len(weeks)


def _write_totals(ws: Worksheet, top: int, title: str, frame: pd.DataFrame, f: Formats,
                  labels: dict[str, str], money: bool = False) -> int:
    ws.write_string(top, 0, title, f.title)
    extra = [c for c in frame.columns if c not in STEPS and c not in RATES]
    header = [frame.index.name or "", *STEPS, *RATES, *extra]
    ws.write_row(top + 1, 0, [labels.get(h, h.replace("_", " ").capitalize()) for h in header],
                 f.head)
    for i, (key, row) in enumerate(frame.iterrows()):
        r = top + 2 + i
        ws.write_string(r, 0, str(key))
        for c, step in enumerate(STEPS, 1):
            ws.write_number(r, c, int(row[step]), f.int)
        for c, (name, (num, den)) in enumerate(RATES.items(), 1 + len(STEPS)):
            _rate_formula(ws, r, c, 1 + STEPS.index(num), 1 + STEPS.index(den), row[name], f.pct)
        for c, name in enumerate(extra, 1 + len(STEPS) + len(RATES)):
            value = cell_value(row[name])
            if value == "":
                if name == "cost":  # a blank cost per lead in Settings: unknown, not free
                    ws.write_string(r, c, "no cost set", f.note)
                continue
            fmt = f.times if name == "return_on_spend" else f.money if money else f.int
            ws.write_number(r, c, float(value), fmt)
    return top + 3 + len(frame)
