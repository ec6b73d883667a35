"""The week, computed once: everything the weekly run knows about a workbook on one day.

:func:`compute_week` turns a loaded workbook into a :class:`WeekResult`: the tally by activity
week and by lead cohort, the totals by source and by rep, the baseline, the plans against it,
the stage history advanced to today and the funnel. ``xlcrm update`` lays it out on the owned
sheets, ``xlcrm report`` makes the weekly report of it and the Excel buttons go through both,
so every output shows the same numbers, computed by the same code from one reading.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .crm import Crm, Settings
from .issues import TEXT_DATE
from .metrics.baseline import against_baseline, baseline, baseline_weeks, plan_effects
from .metrics.expected import expected_close, expected_values
from .metrics.funnel import FunnelResult, StageRule, funnel, stage_rules
from .metrics.history import (
    HISTORY_COLUMNS,
    advance_history,
    entered_dates,
    lost_from,
    moved_dates,
    stages_seen,
)
from .metrics.records import outcome_labels, rep_column, stage_sheet
from .metrics.tally import (
    RATES,
    STEPS,
    TallyInput,
    activity_weeks,
    by_dimension,
    cohort_weeks,
    contact_dates,
    maturity_days,
    week_start,
)
from .schema import Schema, Sheet, item_labels

__all__ = ["BASELINES_HEADER", "HISTORY_HEADER", "OWNED_READ", "STEPS_OF_WEEK", "WeekResult",
           "columns_used", "compute_week", "source_money", "tally_input", "text_date_cells",
           "text_date_rows"]

#: What :func:`compute_week` does, in order; it tells its ``progress`` callback as each starts.
STEPS_OF_WEEK = ("Counting the weeks, sources and reps", "Stage history, baseline and funnel")

#: the owned sheets whose cells the week reads back (pass to :func:`xlcrm.read.load`): the
#: Stage history and the Baseline's history are appended to, run after run
OWNED_READ = ("stage_history", "baseline")
#: the Stage history's header row, as written and as read back
HISTORY_HEADER = ("Record", "From stage", "To stage", "Changed on")
#: the header of the Baseline sheet's history of baselines, as written and as read back
BASELINES_HEADER = ("Baseline set on", "From", "To", "Weeks", "Leads", "Contact rate",
                    "Appointment rate", "Show rate", "Close rate", "Sales per lead")


@dataclass(frozen=True)
class WeekResult:
    """What the weekly run computes from a workbook on one day, for every output to lay out.

    Attributes:
        today: the day of the run; its week is not over, so the dashboard shows the week before.
        first_day: the weekday the team's weeks start on (Settings ``week_start``).
        current_week: the first day of the (partial) week holding ``today``.
        last_full_week: the first day of the week before it.
        this_week: ``last_full_week`` when the tally has that week, else None (no leads yet).
        period: the first and last day of the last four full weeks: the funnel's won and lost,
            lost reasons and competitors are counted over it.
        tally: the day each lead reached each milestone, with its source and rep.
        weeks: the tally by activity week (:func:`~xlcrm.metrics.tally.activity_weeks`).
        cohorts: the tally by lead cohort (:func:`~xlcrm.metrics.tally.cohort_weeks`).
        baseline: the baseline's counts and rates (:func:`~xlcrm.metrics.baseline.baseline`).
        baseline_period: the Settings' ``baseline_from`` and ``baseline_to`` (None when unset).
        versus_baseline: each cohort's rates minus the baseline's (meaningful once the cohort
            is grown: see :meth:`is_young`).
        by_source: totals of all leads by source, with costs and return where Settings has
            them.
        by_rep: totals of all leads by rep.
        plans: each plan of Settings against the baseline (empty without plans).
        baselines: the history of baselines, with today's added when its period changed
            (empty when the workbook has no Baseline sheet).
        history: the stage history advanced to today (None without staged records or a Stage
            history sheet).
        stage_changes: how many rows ``history`` gained today.
        funnel: the funnel of the staged records (None without stages).
        mature_days: days after its week ended by which a cohort is grown
            (:func:`~xlcrm.metrics.tally.maturity_days`); younger cohorts are marked.
        text_dates: the milestone cells left out of the tally because they hold a date typed
            as text (``Leads!F12``), which Excel's own formulas would not count either.
    """

    today: dt.date
    first_day: str
    current_week: pd.Timestamp
    last_full_week: pd.Timestamp
    this_week: pd.Timestamp | None
    period: tuple[dt.date, dt.date]
    tally: TallyInput
    weeks: pd.DataFrame
    cohorts: pd.DataFrame
    baseline: pd.Series
    baseline_period: tuple[Any, Any]
    versus_baseline: pd.DataFrame
    by_source: pd.DataFrame
    by_rep: pd.DataFrame
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    baselines: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame | None = None
    stage_changes: int = 0
    funnel: FunnelResult | None = None
    mature_days: int = 28
    text_dates: list[str] = field(default_factory=list)
    #: the cohorts counted at an age, by age: the summary, the dashboard and the report ask
    _at_age: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def cohorts_at_age(self, age: int) -> pd.DataFrame:
        """The cohorts as they stood ``age`` days after each one's week ended
        (:func:`~xlcrm.metrics.tally.cohort_weeks` with ``age_days``), counted once."""
        if age not in self._at_age:
            self._at_age[age] = cohort_weeks(self.tally, today=self.today, age_days=age)
        return self._at_age[age]

    def age(self, week: pd.Timestamp) -> int:
        """Days since ``week`` ended on ``today`` (negative for the current week, so far)."""
        return int((pd.Timestamp(self.today) - (week + pd.Timedelta(days=7))).days)

    def is_young(self, week: pd.Timestamp) -> bool:
        """Whether the cohort of ``week`` is still growing: fewer than :attr:`mature_days`
        days since its week ended."""
        return self.age(week) < self.mature_days

    def new_history(self) -> pd.DataFrame:
        """The stage changes this run adds to the Stage history (record, from, to, day)."""
        if self.history is None or not self.stage_changes:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        return self.history.iloc[len(self.history) - self.stage_changes:]

    def summary(self) -> list[tuple[str, Any, Any, Any]]:
        """(measure, this week, last week, baseline) for the one-screen summary of the last
        full week (see :meth:`summary_of`)."""
        return self.summary_of(self.this_week)

    def rate_counts(self, shown: pd.Timestamp) -> dict[str, tuple[int, int]]:
        """Each rate of the week starting ``shown`` as :meth:`summary_of` gives it, as the
        counts it divides: (successes, out of)."""
        same_age = self.cohorts_at_age(max(self.age(shown), 0))
        if shown not in same_age.index:
            return {}
        row = same_age.loc[shown]
        return {name: (int(row[num]), int(row[den])) for name, (num, den) in RATES.items()}

    def summary_of(self, shown: pd.Timestamp | None) -> list[tuple[str, Any, Any, Any]]:
        """(measure, the week, the week before, baseline) for the week starting ``shown``.

        Counts are what happened in the week; the baseline's are per week. Rates are those of
        the week's new leads as they stood by the day the summary is made, and those of the
        week before and of the baseline's weeks by the same number of days after their week
        ended, so a young week is never compared with grown ones.
        """
        rows: list[tuple[str, Any, Any, Any]] = []
        if shown is None or shown not in self.weeks.index:
            return rows
        age = max(self.age(shown), 0)
        same_age = self.cohorts_at_age(age)
        prior = shown - pd.Timedelta(days=7)
        chosen = baseline_weeks(self.weeks, *self.baseline_period, before=self.current_week)
        base_cohort = same_age.reindex(chosen)[list(STEPS)].fillna(0).sum()
        weeks = max(float(self.baseline.get("weeks", 1) or 1), 1.0)
        for name in STEPS:
            rows.append((name, self.weeks.at[shown, name],
                         self.weeks.at[prior, name] if prior in self.weeks.index else None,
                         self.baseline[name] / weeks if self.baseline.get("weeks") else None))
        for name, (num, den) in RATES.items():
            def share(hits: Any, n: Any) -> float:
                return float(hits) / float(n) if n else math.nan
            now = share(same_age.at[shown, num], same_age.at[shown, den]) \
                if shown in same_age.index else math.nan
            before = share(same_age.at[prior, num], same_age.at[prior, den]) \
                if prior in same_age.index else None
            rows.append((name, now, before, share(base_cohort[num], base_cohort[den])))
        return rows


def compute_week(crm: Crm, *, today: dt.date,
                 progress: Callable[[str], None] | None = None) -> WeekResult:
    """Compute the week of a loaded workbook as it stands on ``today``.

    Reads nothing: ``crm`` holds the data sheets and, when loaded with
    ``owned=OWNED_READ``, the Stage history and Baseline cells the run appends to (without
    them the history starts afresh, as on a first run).

    Args:
        crm: the loaded workbook.
        today: the day of the run; its week is not full yet.
        progress: called with each step of :data:`STEPS_OF_WEEK` as it starts.
    """
    step = progress or (lambda _: None)
    step(STEPS_OF_WEEK[0])
    data = tally_input(crm)
    weeks = activity_weeks(data, today=today)
    cohorts = cohort_weeks(data, today=today)
    start, end = crm.settings.options.get("baseline_from"), crm.settings.options.get(
        "baseline_to")
    current = pd.Timestamp(week_start(today, data.week_start))  # this (partial) week
    base = baseline(weeks, start, end, cohorts, before=current)
    lead_table = crm.tables.get(crm.schema.sheet(crm.settings.milestones[0].sheet).key,
                                pd.DataFrame())
    source = by_dimension(data, "source", **source_money(crm, lead_table))
    rep = by_dimension(data, "rep")
    last_full = current - pd.Timedelta(days=7)
    owned = {s.key for s in crm.schema.owned_sheets}
    step(STEPS_OF_WEEK[1])
    staged = stage_sheet(crm)
    history: pd.DataFrame | None = None
    changes = 0
    if staged is not None and "stage_history" in owned:
        before = _read_history(crm.owned_cells.get("stage_history", []),
                               _own_word(crm, "history_record", HISTORY_HEADER[0]))
        history = advance_history(before, crm.tables[staged.key], today=today)
        changes = len(history) - len(before)
    plans = crm.tables.get("plans")
    effects = plan_effects(cohorts, base, plans, today=today) \
        if plans is not None and not plans.empty else pd.DataFrame()
    baselines = _advance_baselines(_read_baselines(crm.owned_cells.get(
        "baseline", []), _own_word(crm, "baselines_set_on", BASELINES_HEADER[0])), base,
                                   start, end, today) if "baseline" in owned else pd.DataFrame()
    # won and lost, lost reasons and competitors: over the last four full weeks, enough
    # closed records for the shares to mean something
    period = ((last_full - pd.Timedelta(weeks=3)).date(),
              (last_full + pd.Timedelta(days=6)).date())
    fun = _funnel(crm, history if history is not None
                  else pd.DataFrame(columns=HISTORY_COLUMNS), today, period)
    return WeekResult(
        today=today, first_day=data.week_start, current_week=current,
        last_full_week=last_full, this_week=last_full if last_full in weeks.index else None,
        period=period, tally=data, weeks=weeks, cohorts=cohorts, baseline=base,
        baseline_period=(start, end), versus_baseline=against_baseline(cohorts, base),
        by_source=source, by_rep=rep, plans=effects, baselines=baselines, history=history,
        stage_changes=changes, funnel=fun, mature_days=maturity_days(data),
        text_dates=text_date_cells(crm))


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
    typed_as_text = text_date_rows(crm, lead_key)
    for key in ("lead", "contact", "appointment", "show", "sale"):
        m = milestones[key]
        column = crm.tables[m.sheet][m.column] if m.sheet == lead_key and \
            m.column in crm.tables[m.sheet] else pd.Series(pd.NaT, index=leads.index)
        column = pd.to_datetime(column).astype("datetime64[ns]")
        # Excel's COUNTIFS can't see a date typed as text: left out here too, so the cached
        # value is what Excel recalculates (the Dashboard names these cells)
        text_rows = typed_as_text.get(m.column, [])
        if text_rows:
            column = column.mask(column.index.isin(text_rows))
        steps[key] = column
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


def text_date_rows(crm: Crm, key: str) -> dict[str, list[int]]:
    """The rows of each column of data sheet ``key`` holding a date typed as text (the
    reader's ``text-date`` warnings), by column key."""
    name = crm.sheet_names.get(key)
    where = {c: k for k, c in crm.columns.get(key, {}).items()}
    out: dict[str, list[int]] = {}
    for issue in crm.issues:
        if issue.code == TEXT_DATE and issue.sheet == name and issue.column in where:
            out.setdefault(where[issue.column], []).append(issue.row)
    return out


def text_date_cells(crm: Crm) -> list[str]:
    """The tally's milestone cells left out because they hold a date typed as text, as
    ``Sheet!F12``, in sheet order."""
    columns = {m.column for m in crm.settings.milestones}
    lead_key = crm.settings.milestones[0].sheet if crm.settings.milestones else ""
    found = [i for i in crm.issues if i.code == TEXT_DATE
             and i.sheet == crm.sheet_names.get(lead_key)
             and {k for k, c in crm.columns.get(lead_key, {}).items() if c == i.column}
             & columns]
    return [str(i.where) for i in sorted(found, key=lambda i: (i.row, i.column))]


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
                               "lost_reason", "competitor", "source", "vehicle", "contact",
                               "vehicle_condition"}
        wanted[staged.key] |= {c.key for c in staged.columns
                               if c.type in ("date", "datetime") and c.past}
    if "activities" in wanted:
        wanted["activities"] |= {"date", "direction"} | {
            c.key for c in schema.sheet("activities").columns if c.type == "link"}
    if "tasks" in wanted:
        wanted["tasks"] |= {"record", "done"}
    return wanted


def source_money(crm: Crm, leads: pd.DataFrame) -> dict[str, Any]:
    """What :func:`~xlcrm.metrics.tally.by_dimension` needs to put money on the sources, from
    Settings: the cost per lead of each source that has one set (a blank cost is no cost set,
    not a free source), the sold leads' amounts, and the gross profit per sale or, failing it,
    the margin share (``margin_percent``) the return on spend is computed from. Leads
    without an amount column (b2b contacts) are worth the won deals they are the contact of."""
    frame = crm.settings.lists.get("sources")
    costs: dict[str, float] = {}
    if frame is not None and "cost_per_lead" in frame:
        costs = {str(s): float(c) for s, c in zip(frame["source"], frame["cost_per_lead"])
                 if isinstance(s, str) and pd.notna(c) and c != ""}
    options = crm.settings.options

    def number(key: str) -> float | None:
        value = options.get(key)
        try:
            out = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return None if math.isnan(out) else out
    margin = number("margin_percent")
    revenue = leads.get("amount")
    deals = crm.tables.get("deals")
    if revenue is None and deals is not None and {"contact", "amount", "stage"} <= set(deals) \
            and "id" in leads and "stages" in crm.settings.lists:
        # b2b: a contact's sale is worth the won deals it is the contact of
        won = {r.name.casefold().strip() for r in stage_rules(
            crm.settings.lists["stages"], outcome_labels()) if r.outcome == "won"}
        is_won = deals["stage"].map(lambda v: isinstance(v, str) and v.casefold().strip() in won)
        amounts = pd.to_numeric(deals["amount"], errors="coerce")[is_won.to_numpy(dtype=bool)]
        by_contact = amounts.groupby(deals["contact"][is_won.to_numpy(dtype=bool)]).sum()
        revenue = leads["id"].map(by_contact).astype(float)
    return {"costs": costs, "revenue": revenue,
            "profit_per_sale": number("gross_profit_per_sale"),
            "margin": None if margin is None else margin / 100}


# ----- what earlier runs wrote, read back ------------------------------------------------------
def _own_word(crm: Crm, key: str, english: str) -> str:
    """A header the owned sheets write in the workbook's language (its ``[owned]`` section),
    so what an earlier run wrote is found again; English when the language has none."""
    return str(crm.schema.locale.sections.get("owned", {}).get(key, english))


def _read_history(rows: list[list[Any]], own: str = HISTORY_HEADER[0]) -> pd.DataFrame:
    """The Stage history xlcrm wrote last time (empty on the first run); its header starts
    with the English word or ``own`` (the workbook's language's)."""
    empty = pd.DataFrame(columns=HISTORY_COLUMNS)
    start = next((i for i, r in enumerate(rows[:10]) if r and r[0] in (HISTORY_HEADER[0], own)),
                 None)
    if start is None:
        return empty
    data = [r for r in rows[start + 1:] if r and r[0] not in ("", None)]
    # column by column: a frame built from 100k short rows infers each cell's type again
    frame = pd.DataFrame({name: pd.Series([r[c] for r in data], dtype=object)
                          for c, name in enumerate(HISTORY_COLUMNS)})
    frame["changed_on"] = pd.to_datetime(frame["changed_on"], errors="coerce")
    return frame


def _read_baselines(rows: list[list[Any]], own: str = BASELINES_HEADER[0]) -> pd.DataFrame:
    """The history of baselines kept on the Baseline sheet (empty before the first update);
    its header starts with the English words or ``own`` (the workbook's language's)."""
    columns = ["set_on", "from", "to", "weeks", "leads", *RATES]
    start = next((i for i, r in enumerate(rows) if r and r[0] in (BASELINES_HEADER[0], own)),
                 None)
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


# ----- the funnel ------------------------------------------------------------------------------
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
        closed = _closed_on(crm, sheet, records, rules, moved_dates(history))
        expected = _expected_close(crm, sheet, records, today)
        records = records.assign(
            close_date=closed.where(closed.notna() | expected.isna(), expected),
            amount=expected_values(records, price_list(crm)))
    return funnel(records, rules, today=today, period=period, open_tasks=open_tasks,
                  stage_entered=entered_dates(history), lost_from=lost_from(history),
                  ever_in=_ever_in(crm, sheet, records, history), close_col=close)


#: the stage (a Settings stages item) each tally milestone shows a record reached, where the
#: staged records carry the milestones (the dealer's leads)
MILESTONE_STAGES = {"contact": "contacted", "appointment": "appointment_set", "show": "shown",
                    "sale": "sold"}


def _ever_in(crm: Crm, sheet: Sheet, records: pd.DataFrame,
             history: pd.DataFrame) -> pd.Series:
    """The stages each record is known to have reached: every stage the history saw it in,
    and the stage each of its milestone dates implies (an appointment date means it reached
    "Appointment set", even when it was lost later)."""
    parts = [stages_seen(history)]
    if "id" in records:
        ids = records["id"].astype(str)
        for m in crm.settings.milestones:
            stage = MILESTONE_STAGES.get(m.key)
            if stage is None or m.sheet != sheet.key or m.column not in records:
                continue
            hit = ids[records[m.column].notna().to_numpy()]
            for label in dict.fromkeys(item_labels("stages", stage)):
                parts.append(pd.Series(label, index=hit.to_numpy(), dtype=object))
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def price_list(crm: Crm) -> dict[str, float]:
    """The Settings price list, item (a model's words, or a condition: new, used) -> price;
    empty when the workbook has none."""
    frame = crm.settings.lists.get("price_list")
    if frame is None or "item" not in frame or "price" not in frame:
        return {}
    return {str(i): float(p) for i, p in zip(frame["item"], pd.to_numeric(
        frame["price"], errors="coerce")) if isinstance(i, str) and pd.notna(p)}


def _expected_close(crm: Crm, sheet: Sheet, records: pd.DataFrame,
                    today: dt.date) -> pd.Series:
    """When each open lead without a close date column is expected to close: from its
    furthest milestone and the workbook's measured days from there to a sale
    (:func:`~xlcrm.metrics.expected.expected_close`)."""
    dated = []
    sale = pd.Series(pd.NaT, index=records.index, dtype="datetime64[ns]")
    for m in crm.settings.milestones:
        if m.sheet != sheet.key or m.column not in records:
            continue
        dates = pd.to_datetime(records[m.column], errors="coerce").astype("datetime64[ns]")
        if m.key == "sale":
            sale = dates
        else:
            dated.append((m.key, dates))
    return expected_close(dated, sale, today=today) if dated else sale


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
        latest = pd.to_datetime(records["id"].map(acts.groupby(link, sort=False)["date"].max()))
        last = pd.concat([last, latest.astype("datetime64[ns]")], axis=1).max(axis=1)
    if not moved.empty and "id" in records:
        seen = pd.to_datetime(records["id"].astype(str).map(moved)).astype("datetime64[ns]")
        last = seen.where(seen.notna(), last)
    sold = records["sold"] if "sold" in records else pd.Series(pd.NaT, index=records.index)
    won = sold.where(sold.notna(), last)
    return won.where(status == "won", last.where(status == "lost"))
