"""The weekly run: the library twin of ``xlcrm update``.

It reads the workbook, computes the tally (both views, by source and by rep), the baseline and
each week against it, and writes xlcrm's owned sheets (Tally, Baseline, Dashboard) through the
lossless writer. Counts that Excel can express are live COUNTIFS formulas over the data tables,
with the values computed here stored as their cached values, so the numbers stay right while
people edit between runs and readers without a calculation engine still see them. Two-way
contacts are the one count Excel can't express (the earlier of an inbound activity and the
hand-filled date), so they are values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..errors import ArgumentError
from ..metrics.baseline import PLAN_RATES, against_baseline, baseline, plan_effects
from ..metrics.funnel import FunnelResult, StageRule, funnel, stage_rules
from ..metrics.history import (
    HISTORY_COLUMNS,
    advance_history,
    entered_dates,
    lost_from,
    moved_dates,
)
from ..metrics.records import outcome_labels, rep_column, stage_sheet
from ..metrics.tally import (
    RATES,
    STEPS,
    TallyInput,
    activity_weeks,
    by_dimension,
    cohort_weeks,
    contact_dates,
)
from ..read import Crm, Settings, bulk_work, load
from ..schema import WEEKDAYS, Schema, Sheet, item_labels
from ..sheets.style import Formats, banner, cell_value
from ..sheets.workbook import structured_ref
from ..xlsx.save import SaveResult
from ..xlsx.transplant import RowRenderer
from ..xlsx.writer import CellChange, SheetBuilder, preview_owned_sheets, write_owned_sheets

__all__ = ["STEPS_OF_UPDATE", "UpdateResult", "columns_used", "set_baseline", "tally_input",
           "update"]

_STEP_MILESTONE = dict(zip(("lead", "contact", "appointment", "show", "sale"), STEPS))


@dataclass
class UpdateResult:
    """What the weekly run computed (and wrote, unless it was a dry run)."""

    path: Path
    weeks: pd.DataFrame
    cohorts: pd.DataFrame
    baseline: pd.Series
    by_source: pd.DataFrame
    by_rep: pd.DataFrame
    this_week: pd.Timestamp | None
    funnel: FunnelResult | None = None
    history: pd.DataFrame | None = None
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    baselines: pd.DataFrame = field(default_factory=pd.DataFrame)
    source_rows: int = 0  # where the Tally's by-source table starts (for the dashboard)
    stage_changes: int = 0  # rows this run adds to the Stage history
    history_sheet: str | None = None  # the Stage history's name in this workbook
    sheets: list[str] = field(default_factory=list)
    saved: SaveResult | None = None
    #: a dry run's preview: every owned-sheet cell the run would change (the stage history's
    #: appended rows are :meth:`new_history`)
    changes: list[CellChange] = field(default_factory=list)

    def new_history(self) -> pd.DataFrame:
        """The stage changes this run adds to the Stage history (record, from, to, day)."""
        if self.history is None or not self.stage_changes:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        return self.history.iloc[len(self.history) - self.stage_changes:]

    def summary(self) -> list[tuple[str, Any, Any, Any]]:
        """(measure, this week, last week, baseline) for the one-screen summary."""
        rows: list[tuple[str, Any, Any, Any]] = []
        if self.this_week is None or self.weeks.empty:
            return rows
        now = self.weeks.loc[self.this_week]
        before = self.weeks.loc[self.this_week - pd.Timedelta(days=7)] \
            if self.this_week - pd.Timedelta(days=7) in self.weeks.index else None
        weeks = max(float(self.baseline.get("weeks", 1) or 1), 1.0)
        for name in (*STEPS, *RATES):
            base = self.baseline[name] / weeks if name in STEPS else self.baseline[name]
            rows.append((name, now[name], None if before is None else before[name], base))
        return rows


def tally_input(crm: Crm) -> TallyInput:
    """Collect, from a loaded workbook, the date each lead reached each milestone.

    The milestones and the columns that mark them come from Settings; the two-way contact is
    reconciled with the inbound activities (see :func:`xlcrm.metrics.tally.contact_dates`).
    """
    milestones = {m.key: m for m in crm.settings.milestones}
    lead_key = milestones["lead"].sheet
    leads = crm.tables.get(lead_key, pd.DataFrame())
    sheet = crm.schema.sheet(lead_key)
    steps = pd.DataFrame(index=leads.index)
    for key in ("lead", "contact", "appointment", "show", "sale"):
        m = milestones[key]
        column = crm.tables[m.sheet][m.column] if m.sheet == lead_key and \
            m.column in crm.tables[m.sheet] else pd.Series(pd.NaT, index=leads.index)
        steps[key] = pd.to_datetime(column).astype("datetime64[ns]")
    activities = crm.tables.get("activities", pd.DataFrame())
    link = next((c.key for c in crm.schema.sheet("activities").columns
                 if c.type == "link" and lead_key in c.ref), None) \
        if "activities" in crm.tables else None
    if link and "id" in leads:
        steps["contact"] = contact_dates(steps["contact"], leads["id"], activities,
                                         link_col=link,
                                         inbound=item_labels("directions", "inbound"))
    steps["source"] = leads.get("source")
    rep = rep_column(sheet)
    steps["rep"] = leads[rep] if rep else None
    steps["id"] = leads.get("id")
    steps = steps[steps["lead"].notna()]
    return TallyInput(steps, str(crm.settings.options.get("week_start", "monday")))


# ----- writing the owned sheets ------------------------------------------------------------
_LABELS = {
    "week": "Week starting", "leads": "Leads", "contacts": "Two-way contacts",
    "appointments": "Appointments set", "shows": "Appointments shown", "sales": "Sold",
    "contact_rate": "Contact rate", "appointment_rate": "Appointment rate",
    "show_rate": "Show rate", "close_rate": "Close rate", "sales_per_lead": "Sales per lead",
}


def _labels(crm: Crm) -> dict[str, str]:
    """Column labels: the milestone names from Settings (so b2b reads 'Meeting booked')."""
    labels = dict(_LABELS)
    for m in crm.settings.milestones:
        step = _STEP_MILESTONE[m.key]
        labels[step] = m.label if step != "leads" else labels["leads"]
    return labels


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


def _write_weeks(ws: Worksheet, top: int, weeks: pd.DataFrame, vs: pd.DataFrame | None,
                 crm: Crm, f: Formats, refs: _Refs | None, *, cohort: bool) -> int:
    """Write one weekly table at ``top``; return the row after it."""
    labels = _labels(crm)
    header = ["week", *STEPS, *RATES]
    ws.write_row(top, 0, [labels[h] for h in header], f.head)
    if vs is not None:
        ws.write_row(top, len(header), [f"{labels[r]} vs baseline" for r in RATES], f.head)
    created = refs.columns.get("leads") if refs else None
    for i, (week, row) in enumerate(weeks.iterrows()):
        r = top + 1 + i
        ws.write_datetime(r, 0, week.to_pydatetime(), f.date)
        cell = xlsxwriter.utility.xl_rowcol_to_cell(r, 0, col_abs=True)
        for c, step in enumerate(STEPS, 1):
            ref = refs.columns.get(step) if refs else None
            value = int(row[step])
            if ref and created and (not cohort or step == "leads"):
                ws.write_formula(r, c, f'=COUNTIFS({ref},">="&{cell},{ref},"<"&{cell}+7)',
                                 f.int, value)
            elif ref and created and cohort:
                ws.write_formula(r, c, f'=COUNTIFS({created},">="&{cell},{created},"<"&{cell}+7,'
                                       f'{ref},"<>")', f.int, value)
            else:
                ws.write_number(r, c, value, f.int)
        for c, (name, (num, den)) in enumerate(RATES.items(), 1 + len(STEPS)):
            _rate_formula(ws, r, c, 1 + STEPS.index(num), 1 + STEPS.index(den), row[name], f.pct)
        if vs is not None:
            for c, name in enumerate(RATES, len(header)):
                value = vs.loc[week, name]
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
                continue
            fmt = f.pct if name == "return_on_spend" else f.money if money else f.int
            ws.write_number(r, c, float(value), fmt)
    return top + 3 + len(frame)


def _tally_builder(crm: Crm, result: UpdateResult, refs: _Refs | None, today: dt.date
                   ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        labels = _labels(crm)
        banner(ws, crm.schema, f, "Weekly tally",
               f"By activity week: what happened each week. Updated {today:%Y-%m-%d}. "
               "A contact counts when the prospect answered (an inbound activity or the "
               "two-way contact date).")
        ws.write_string(3, 0, "Each rate divides counts of the same week, so a show or close "
                        "rate passes 100% when earlier appointments show up; the cohort table "
                        "below follows each week's own leads.", f.note)
        ws.set_column(0, 0, 14)
        ws.set_column(1, 5, 11)
        ws.set_column(6, 15, 11)
        ws.set_column(16, 24, 13)  # cost, revenue and return by source
        ws.set_row(4, 32)
        vs = against_baseline(result.weeks, result.baseline)
        row = _write_weeks(ws, 4, result.weeks, vs, crm, f, refs, cohort=False)
        ws.write_string(row, 0, "By lead cohort: what became, so far, of the leads that "
                                "arrived each week", f.title)
        row = _write_weeks(ws, row + 1, result.cohorts, None, crm, f, refs, cohort=True)
        result.source_rows = row + 3  # the first source's row, counted from 1, for charts
        row = _write_totals(ws, row, "By source (all leads so far)", result.by_source, f,
                            labels | {"source": "Source"}, money=True)
        _write_totals(ws, row, "By rep (all leads so far)", result.by_rep, f,
                      labels | {"rep": "Rep"})
        ws.freeze_panes(5, 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(4)
    return build


_BASELINES_HEADER = ("Baseline set on", "From", "To", "Weeks", "Leads", "Contact rate",
                     "Appointment rate", "Show rate", "Close rate", "Sales per lead")


def _read_baselines(rows: list[list[Any]]) -> pd.DataFrame:
    """The history of baselines kept on the Baseline sheet (empty before the first update)."""
    columns = ["set_on", "from", "to", "weeks", "leads", *RATES]
    start = next((i for i, r in enumerate(rows) if r and r[0] == _BASELINES_HEADER[0]), None)
    if start is None:
        return pd.DataFrame(columns=columns)
    data = []
    for r in rows[start + 1:]:
        if not r or r[0] in ("", None):
            break
        data.append([None if v == "" else v for v in r[:len(columns)]])
    return pd.DataFrame(data, columns=columns)


def _advance_baselines(history: pd.DataFrame, base: pd.Series, start: Any, end: Any,
                       today: dt.date) -> pd.DataFrame:
    """Append the current baseline when its period differs from the last one recorded."""
    def day(v: Any) -> dt.date | None:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) \
            else pd.Timestamp(v).date()
    if not history.empty and (day(history.iloc[-1]["from"]), day(history.iloc[-1]["to"])) == (
            day(start), day(end)):
        return history
    row = {"set_on": pd.Timestamp(today), "from": start, "to": end, "weeks": base["weeks"],
           "leads": base["leads"], **{r: base[r] for r in RATES}}
    added = pd.DataFrame([row], columns=history.columns)
    return added if history.empty else pd.concat([history, added], ignore_index=True)


def _baseline_builder(crm: Crm, result: UpdateResult, today: dt.date
                      ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        labels = _labels(crm)
        start = crm.settings.options.get("baseline_from")
        end = crm.settings.options.get("baseline_to")
        period = (f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start and end
                  else "the first four weeks (set Baseline from/to in Settings)")
        banner(ws, crm.schema, f, "Baseline", f"The team's rates over {period}; every week is "
               "compared with them. Updated " f"{today:%Y-%m-%d}.")
        ws.set_column(0, 0, 30)
        verdict = 4 + 4 * len(PLAN_RATES)  # the plans' last column
        ws.set_column(1, verdict - 1, 13)
        ws.set_column(verdict, verdict, 16)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        for i, name in enumerate((*STEPS, *RATES)):
            ws.write_string(4 + i, 0, labels[name], f.head)
            value = cell_value(result.baseline[name])
            if value == "":
                continue
            ws.write_number(4 + i, 1, float(value), f.pct if name in RATES else f.int)
        row = 6 + len(STEPS) + len(RATES)
        ws.write_string(row, 0, "Plans against the baseline", f.title)
        ws.write_string(row + 1, 0, "A difference is larger than noise when a two-proportion "
                        "test on the counts gives p < 0.05.", f.note)
        header = ["Plan", "Start", "End", "Weeks"]
        for name in PLAN_RATES:
            header += [f"{labels[name]} during", "Baseline", "Change", "p-value"]
        header.append("Contact rate verdict")
        ws.write_row(row + 2, 0, header, f.head)
        ws.set_row(row + 2, 30)
        for i, plan in enumerate(result.plans.to_dict("records"), row + 3):
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
            ws.write_string(i, 4 + 4 * len(PLAN_RATES), str(plan["verdict"]))
        row += 5 + len(result.plans)
        ws.write_string(row, 0, "Baseline history", f.title)
        ws.write_row(row + 1, 0, list(_BASELINES_HEADER), f.head)
        for i, rec in enumerate(result.baselines.to_dict("records"), row + 2):
            for c, key in enumerate(("set_on", "from", "to")):
                if rec[key] is not None and not pd.isna(rec[key]):
                    ws.write_datetime(i, c, pd.Timestamp(rec[key]).to_pydatetime(), f.date)
            for c, key in enumerate(("weeks", "leads", *RATES), 3):
                value = cell_value(rec[key])
                if value != "":
                    ws.write_number(i, c, float(value), f.pct if key in RATES else f.int)
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


def _dashboard_builder(crm: Crm, result: UpdateResult, tally_name: str, today: dt.date
                       ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        labels = _labels(crm)
        week = result.this_week
        banner(ws, crm.schema, f, "Dashboard",
               f"Last full week ({week:%Y-%m-%d}) against the week before and the baseline. "
               f"Updated {today:%Y-%m-%d}." if week is not None else "No leads yet.")
        ws.set_column(0, 0, 24)
        ws.set_column(1, 4, 14)
        ws.set_landscape()
        ws.fit_to_pages(1, 1)  # the dashboard prints on one page
        ws.write_row(4, 0, ["", "This week", "Last week", "Baseline (per week)",
                            "Change vs baseline"], f.head)
        for i, (name, now, before, base) in enumerate(result.summary()):
            r = 5 + i
            is_rate = name in RATES
            ws.write_string(r, 0, labels[name])
            for c, v in enumerate((now, before, base), 1):
                value = cell_value(v)
                if value != "":
                    ws.write_number(r, c, float(value), f.big_pct if is_rate and c == 1
                                    else f.pct if is_rate else f.big if c == 1 else f.int)
            if is_rate and pd.notna(now) and pd.notna(base):
                ws.write_number(r, 4, (float(now) - float(base)) * 100, f.pts)
        if week is not None:
            quoted = tally_name.replace("'", "''")
            # up to the last full week: the current one has barely begun
            first, last = 6, 6 + int(result.weeks.index.get_loc(week))
            trend = book.add_chart({"type": "line"})
            # the rates over the week's leads: a show or close rate over the same week's
            # appointments swings past 100% whenever last week's appointments show up
            for name in ("contact_rate", "appointment_rate", "sales_per_lead"):
                col = 1 + len(STEPS) + list(RATES).index(name)
                trend.add_series({
                    "name": labels[name], "smooth": False,
                    "categories": f"='{quoted}'!$A${first}:$A${last}",
                    "values": f"='{quoted}'!${xlsxwriter.utility.xl_col_to_name(col)}${first}:"
                              f"${xlsxwriter.utility.xl_col_to_name(col)}${last}",
                })
            trend.set_title({"name": "Rates by week, per lead"})
            trend.set_y_axis({"num_format": "0%"})
            trend.set_x_axis({"date_axis": True, "num_format": "d mmm", "num_font": {
                "rotation": -45}})
            trend.set_legend({"position": "bottom"})
            trend.set_size({"width": 620, "height": 300})
            ws.insert_chart("G5", trend)
            ws.insert_chart("G21", _bar_chart(
                book, "Where leads are lost (last full week)", "Last full week",
                f"='{ws.name}'!$A$6:$A$10", f"='{ws.name}'!$B$6:$B$10"))
            sources = len(result.by_source)
            if sources and result.source_rows:
                top, bottom = result.source_rows, result.source_rows + sources - 1
                ws.insert_chart("A21", _bar_chart(
                    book, "Leads by source (all so far)", labels["leads"],
                    f"='{quoted}'!$A${top}:$A${bottom}", f"='{quoted}'!$B${top}:$B${bottom}"))
    return build


# ----- funnel and stage history ----------------------------------------------------------
def _read_history(rows: list[list[Any]]) -> pd.DataFrame:
    """The Stage history xlcrm wrote last time (empty on the first run)."""
    empty = pd.DataFrame(columns=HISTORY_COLUMNS)
    start = next((i for i, r in enumerate(rows[:10]) if r and r[0] == _HISTORY_HEADER[0]), None)
    if start is None:
        return empty
    data = [r for r in rows[start + 1:] if r and r[0] not in ("", None)]
    # column by column: a frame built from 100k short rows infers each cell's type again
    frame = pd.DataFrame({name: pd.Series([r[c] for r in data], dtype=object)
                          for c, name in enumerate(HISTORY_COLUMNS)})
    frame["changed_on"] = pd.to_datetime(frame["changed_on"], errors="coerce")
    return frame


_HISTORY_HEADER = ("Record", "From stage", "To stage", "Changed on")


def _funnel(crm: Crm, history: pd.DataFrame, today: dt.date,
            period: tuple[dt.date, dt.date]) -> FunnelResult | None:
    sheet = stage_sheet(crm)
    if sheet is None or "stages" not in crm.settings.lists:
        return None
    records = crm.tables[sheet.key]
    rules = stage_rules(crm.settings.lists["stages"], outcome_labels())
    tasks = crm.tables.get("tasks", pd.DataFrame())
    open_tasks: set[str] = set()
    if not tasks.empty and "record" in tasks:
        undone = tasks["done"].fillna(False) == False  # noqa: E712 - nullable booleans
        open_tasks = {str(r) for r in tasks.loc[undone.to_numpy(), "record"].dropna()}
    close = "close_date"
    if not sheet.has_column("close_date"):  # the dealer's leads: no close date column
        records = records.assign(close_date=_closed_on(crm, sheet, records, rules,
                                                       moved_dates(history)))
    return funnel(records, rules, today=today, period=period, open_tasks=open_tasks,
                  stage_entered=entered_dates(history), lost_from=lost_from(history),
                  close_col=close)


def _closed_on(crm: Crm, sheet: Sheet, records: pd.DataFrame, rules: list[StageRule],
               moved: pd.Series) -> pd.Series:
    """When a record without a close date column was closed.

    Won: its sale date. Otherwise the day the stage history saw it move into its won or lost
    stage (``moved``, by id: at most one run late, where the last interaction would place a
    lead left to die for a month, then marked lost, a month back, outside every recent
    period). Failing both (closed before the history began), the last time anyone worked it:
    its latest activity or milestone."""
    outcome = {r.name.casefold().strip(): r.outcome for r in rules}
    # a few stages in 100k rows: each is looked up once
    codes, stages = pd.factorize(records["stage"].to_numpy(dtype=object))
    status = pd.Series(np.array([outcome.get(v.casefold().strip(), "open")
                                 if isinstance(v, str) else "open" for v in stages]
                                + ["open"], dtype=object)[codes], index=records.index)
    dated = [c.key for c in sheet.columns if c.type in ("date", "datetime") and c.past
             and c.key in records]
    last = records[dated].max(axis=1) if dated else pd.Series(pd.NaT, index=records.index)
    acts = crm.tables.get("activities", pd.DataFrame())
    link = next((c.key for c in crm.schema.sheet("activities").columns
                 if c.type == "link" and sheet.key in c.ref), None) if not acts.empty else None
    if link and "id" in records:
        latest = pd.to_datetime(records["id"].map(acts.groupby(link)["date"].max()))
        last = pd.concat([last, latest.astype("datetime64[ns]")], axis=1).max(axis=1)
    if not moved.empty and "id" in records:
        seen = pd.to_datetime(records["id"].astype(str).map(moved)).astype("datetime64[ns]")
        last = seen.where(seen.notna(), last)
    sold = records["sold"] if "sold" in records else pd.Series(pd.NaT, index=records.index)
    won = sold.where(sold.notna(), last)
    return won.where(status == "won", last.where(status == "lost"))


def _funnel_builder(crm: Crm, result: UpdateResult, today: dt.date
                    ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        fun = result.funnel
        assert fun is not None
        week = result.this_week
        start = (week - pd.Timedelta(weeks=3)) if week is not None else None
        banner(ws, crm.schema, f, "Funnel", "Records in each stage of Settings, their value and "
               "the value weighted by the stage's win probability; won and lost over the last "
               f"four full weeks{f' (from {start:%Y-%m-%d})' if start is not None else ''}. "
               f"Updated {today:%Y-%m-%d}.")
        ws.set_column(0, 0, 24)
        ws.set_column(1, 11, 12)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        headers = {"stage": "Stage", "outcome": "Outcome", "probability": "Win probability",
                   "count": "Records", "value": "Value", "weighted": "Weighted value",
                   "avg_age_days": "Average days in stage",
                   "oldest_age_days": "Oldest (days)", "without_next_task":
                   "Open without a next task", "reached": "Reached", "conversion":
                   "Conversion to next stage", "month": "Expected close", "reason":
                   "Lost reason", "competitor": "Competitor", "share": "Share of losses"}
        money = {"value", "weighted"}
        pct = {"probability", "conversion", "share"}
        row = 4
        for title, frame in (("By stage", fun.stages), ("Forecast by close month",
                                                        fun.forecast),
                             ("Won and lost in the last four weeks", fun.won_lost),
                             ("Lost reasons", fun.lost_reasons),
                             ("Who we lose to", fun.competitors)):
            ws.write_string(row, 0, title, f.title)
            ws.write_row(row + 1, 0, [headers.get(c, c.replace("_", " ").capitalize())
                                      for c in frame.columns], f.head)
            ws.set_row(row + 1, 30)
            for i, rec in enumerate(frame.itertuples(index=False), row + 2):
                for c, (name, v) in enumerate(zip(frame.columns, rec)):
                    value = cell_value(v)
                    if value == "":
                        continue
                    if isinstance(value, (int, float)):
                        fmt = f.money if name in money else f.pct if name in pct else f.int
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


def _xml_texts(texts: list[str]) -> list[str]:
    """Texts escaped for XML; 100k ids in one call when none holds a NUL (which XML can't)."""
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1:
        return xml_escape(joined).split("\x00")
    return [xml_escape(t) for t in texts]


def _xml_stages(stages: pd.Series) -> list[str]:
    """Stages escaped for XML ("" where there is none), each distinct one escaped once."""
    codes, distinct = pd.factorize(stages.to_numpy(dtype=object))
    escaped = np.array([xml_escape(v) if isinstance(v, str) else "" for v in distinct] + [""],
                       dtype=object)
    texts: list[str] = escaped[codes].tolist()
    return texts


def _history_builder(crm: Crm, result: UpdateResult) -> SheetBuilder:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer:
        f = Formats(book, crm.schema)
        history = result.history
        assert history is not None
        banner(ws, crm.schema, f, "Stage history",
               "Every stage change xlcrm has seen, appended at each update (the first update "
               "records each record's stage on the day it was created). Append-only.")
        ws.write_row(3, 0, list(_HISTORY_HEADER), f.head)
        ws.set_column(0, 2, 20)
        ws.set_column(3, 3, 14)
        # the long table is rendered as XML directly: 100k rows in a fraction of a second
        ws.write_blank(2, 10, None, f.date)  # makes the date format part of the scratch book
        serial = ((pd.to_datetime(history["changed_on"]) - pd.Timestamp(1899, 12, 30))
                  / pd.Timedelta(days=1)).tolist()
        records = _xml_texts(history["record"].astype(str).tolist())
        befores, afters = _xml_stages(history["from_stage"]), _xml_stages(history["to_stage"])

        def rows(xf: Callable[[int], int]) -> bytes:
            date_style = xf(f.date._get_xf_index())  # known once the scratch book is closed
            parts = []
            for i, (record, before, after, day) in enumerate(
                    zip(records, befores, afters, serial), 5):
                cells = [f'<c r="A{i}" t="inlineStr"><is><t>{record}</t></is></c>']
                if before:
                    cells.append(f'<c r="B{i}" t="inlineStr"><is><t>{before}</t></is></c>')
                if after:
                    cells.append(f'<c r="C{i}" t="inlineStr"><is><t>{after}</t></is></c>')
                if day == day:  # not NaN
                    cells.append(f'<c r="D{i}" s="{date_style}"><v>{day!r}</v></c>')
                parts.append(f'<row r="{i}">{"".join(cells)}</row>')
            return "".join(parts).encode("utf-8")

        ws.freeze_panes(4, 0)
        return rows
    return build


#: What :func:`update` does, in order; it tells its ``progress`` callback as each one starts
#: (a run does the last or the one before it: a dry run compares, a run writes).
STEPS_OF_UPDATE = ("Reading the workbook", "Counting the weeks, sources and reps",
                   "Stage history, baseline and funnel", "Comparing with the workbook",
                   "Writing the owned sheets")


def update(path: str | Path, *, today: dt.date | None = None, force: bool = False,
           dry_run: bool = False, backups: int = 5, preview: bool = True,
           progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Run the weekly update: compute the tally and baseline, rewrite the owned sheets.

    Args:
        path: the CRM workbook.
        today: the day of the run (default: today); its week is not full yet, so the
            dashboard shows the week before.
        force: write even though Excel or LibreOffice has the workbook open.
        dry_run: compute and return everything, write nothing; the result lists every
            owned-sheet cell the run would change (:attr:`UpdateResult.changes`) and the
            stage changes it would add (:meth:`UpdateResult.new_history`).
        backups: how many earlier versions to keep beside the workbook.
        preview: with ``dry_run``, compare with the workbook cell by cell (the report, which
            only wants the numbers, skips it).
        progress: called with each step of :data:`STEPS_OF_UPDATE` as it starts.
    """
    with bulk_work():
        return _update(path, today=today or dt.date.today(), force=force, dry_run=dry_run,
                       backups=backups, preview=preview, progress=progress)


def columns_used(schema: Schema, settings: Settings) -> dict[str, set[str]]:
    """The columns the weekly run reads, by data sheet: the only ones it has ``load`` type.

    The tally needs the milestone dates, source, rep and id of the leads and, to find two-way
    contacts, the date, direction and link of the activities; the funnel and the stage history
    need the staged records' id, stage, amount, dates, lost reason and competitor, and the
    tasks' record and done flag. Names, e-mails, phones, notes and subjects are never read:
    at 100k leads typing them would be a third of the run. Sheets the run doesn't read at all
    (accounts, campaigns) get no column typed; the plans are read whole.
    """
    wanted: dict[str, set[str]] = {s.key: set() for s in schema.data_sheets if s.key != "plans"}
    for m in settings.milestones:
        wanted.setdefault(m.sheet, set()).add(m.column)
    leads = schema.sheet(settings.milestones[0].sheet) if settings.milestones else None
    if leads is not None:
        wanted[leads.key] |= {"id", "source", "amount", rep_column(leads) or "rep"}
    staged = stage_sheet(schema)
    if staged is not None:
        wanted[staged.key] |= {"id", "stage", "amount", "created", "close_date", "sold",
                               "lost_reason", "competitor"}
        wanted[staged.key] |= {c.key for c in staged.columns
                               if c.type in ("date", "datetime") and c.past}
    if "activities" in wanted:
        wanted["activities"] |= {"date", "direction"} | {
            c.key for c in schema.sheet("activities").columns if c.type == "link"}
    if "tasks" in wanted:
        wanted["tasks"] |= {"record", "done"}
    return wanted


def _update(path: str | Path, *, today: dt.date, force: bool, dry_run: bool,
            backups: int, preview: bool, progress: Callable[[str], None] | None
            ) -> UpdateResult:
    step = progress or (lambda _: None)
    step(STEPS_OF_UPDATE[0])
    # the owned sheets it appends to are read back; of the data sheets, only what it counts
    crm = load(path, owned=("stage_history", "baseline"), columns=columns_used)
    step(STEPS_OF_UPDATE[1])
    data = tally_input(crm)
    weeks = activity_weeks(data, today=today)
    cohorts = cohort_weeks(data, today=today)
    base = baseline(weeks, crm.settings.options.get("baseline_from"),
                    crm.settings.options.get("baseline_to"))
    costs = _costs(crm)
    lead_sheet = crm.schema.sheet(crm.settings.milestones[0].sheet)
    lead_table = crm.tables.get(lead_sheet.key, pd.DataFrame())
    revenue = lead_table.get("amount")
    source = by_dimension(data, "source", costs=costs, revenue=revenue)
    rep = by_dimension(data, "rep")
    back = (today.weekday() - WEEKDAYS.index(data.week_start)) % 7
    current = pd.Timestamp(today) - pd.Timedelta(days=back)  # this (partial) week
    last_full = current - pd.Timedelta(days=7)
    result = UpdateResult(Path(path), weeks, cohorts, base, source, rep,
                          last_full if last_full in weeks.index else None)
    names = {s.key: crm.sheet_names.get(s.key, s.name) for s in crm.schema.owned_sheets}
    staged = stage_sheet(crm)
    grids = crm.owned_cells
    step(STEPS_OF_UPDATE[2])
    if staged is not None and "stage_history" in names:
        before = _read_history(grids.pop("stage_history", []))  # its cells freed once read
        result.history = advance_history(before, crm.tables[staged.key], today=today)
        result.stage_changes = len(result.history) - len(before)
    plans = crm.tables.get("plans")
    if plans is not None and not plans.empty:
        result.plans = plan_effects(weeks, base, plans, today=today)
    if "baseline" in names:
        result.baselines = _advance_baselines(
            _read_baselines(grids.get("baseline", [])), base,
            crm.settings.options.get("baseline_from"), crm.settings.options.get("baseline_to"),
            today)
    # won and lost, lost reasons and competitors: over the last four full weeks, enough
    # closed records for the shares to mean something
    period = ((last_full - pd.Timedelta(weeks=3)).date(), (last_full + pd.Timedelta(days=6)).date())
    result.funnel = _funnel(crm, result.history if result.history is not None
                            else pd.DataFrame(columns=HISTORY_COLUMNS), today, period)
    builders: dict[str, SheetBuilder] = {}
    refs = _refs(crm)
    if "tally" in names:
        builders[names["tally"]] = _tally_builder(crm, result, refs, today)
    if "baseline" in names:
        builders[names["baseline"]] = _baseline_builder(crm, result, today)
    if "funnel" in names and result.funnel is not None:
        builders[names["funnel"]] = _funnel_builder(crm, result, today)
    if "dashboard" in names and "tally" in names:
        builders[names["dashboard"]] = _dashboard_builder(crm, result, names["tally"], today)
    if "stage_history" in names and result.history is not None:
        builders[names["stage_history"]] = _history_builder(crm, result)
        result.history_sheet = names["stage_history"]
    result.sheets = list(builders)
    step(STEPS_OF_UPDATE[3] if dry_run else STEPS_OF_UPDATE[4])
    if dry_run and preview and builders:
        result.changes = preview_owned_sheets(path, builders)
    elif not dry_run and builders:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups)
    return result


def _costs(crm: Crm) -> dict[str, float]:
    frame = crm.settings.lists.get("sources")
    if frame is None or "cost_per_lead" not in frame:
        return {}
    return {str(s): float(c) for s, c in zip(frame["source"], frame["cost_per_lead"])
            if isinstance(s, str) and pd.notna(c)}


def set_baseline(path: str | Path, start: dt.date, end: dt.date, *,
                 today: dt.date | None = None, force: bool = False,
                 backups: int = 5) -> UpdateResult:
    """Re-baseline: set the baseline period in Settings, then run the update, which adds the
    new baseline to the history kept on the Baseline sheet.

    Raises:
        ArgumentError: ``start`` is after ``end``.
        TransplantError: the workbook's Settings have no Options table with the baseline rows.
    """
    from python_calamine import CalamineWorkbook

    from ..errors import TransplantError
    from ..xlsx.writer import patch_sheet

    if start > end:
        raise ArgumentError(f"the baseline can't start ({start}) after it ends ({end})")
    crm = load(path)
    name = crm.sheet_names.get("settings")
    book = CalamineWorkbook.from_path(str(path))
    try:
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False) if name else []
    finally:
        book.close()
    cells: dict[tuple[int, int], Any] = {}
    for r, row in enumerate(grid):
        for c, value in enumerate(row[:-2] if len(row) > 2 else []):
            if value in ("baseline_from", "baseline_to"):
                cells[(r, c + 2)] = start if value == "baseline_from" else end
    if len(cells) != 2 or name is None:
        raise TransplantError(f"{Path(path).name}: Settings has no Options rows baseline_from "
                              "and baseline_to; add them (key, setting, value) and try again")
    patch_sheet(path, name, cells, force=force, backups=backups)
    return update(path, today=today, force=force, backups=backups)
