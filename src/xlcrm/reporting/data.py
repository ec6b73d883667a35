"""The numbers of one week's report, computed once for the workbook, the HTML page and the mail.

Everything comes from the week ``xlcrm update`` lays out (:class:`~xlcrm.week.WeekResult`:
the tally, the baseline, the funnel), so the report and the workbook's own sheets never
disagree; what the checks found is handed in (:class:`QualityInput`), gathered by the command.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from ..crm import Crm
from ..errors import ReportError
from ..issues import Issue
from ..metrics.funnel import FunnelResult, columns
from ..metrics.person import erased_ids
from ..metrics.records import lead_sheet, record_names, rep_column
from ..metrics.tally import RATES, STEPS, TallyInput, by_dimension
from ..metrics.tally import week_start as start_of_week
from ..sheets.words import OwnedText
from ..week import WeekResult, source_money
from .words import report_text

__all__ = ["MEASURE_LABELS", "CleanProblem", "DuplicateSet", "QualityInput", "QualityRow",
           "RepRow", "SourceRow", "SummaryRow", "WeeklyReport", "WorstRow", "parse_week",
           "report_week", "weekly_report"]

#: how each measure is named in an English report (milestone names from Settings replace the
#: steps'; other languages take ``measure_<key>`` from the locale file's ``[report]`` section)
MEASURE_LABELS = {
    "leads": "Leads", "contacts": "Two-way contacts", "appointments": "Appointments set",
    "shows": "Appointments shown", "sales": "Sold", "contact_rate": "Contact rate",
    "appointment_rate": "Appointment rate", "show_rate": "Show rate", "close_rate": "Close rate",
    "sales_per_lead": "Sales per lead",
}
_TREND_WEEKS = 12
_PERIOD_WEEKS = 4
_WORST = 10
#: how the clean-up's checks are named in the report (in English; the report takes each name
#: from the locale file's ``[report]`` section, ``clean_<check>``)
_CLEAN_KINDS = {
    "no-contact-data": "No e-mail and no phone", "bad-email": "E-mail or phone not valid",
    "bad-phone": "E-mail or phone not valid", "dead": "No activity, task or deal for long",
    "orphan": "Parent account missing", "cycle": "Account hierarchy loops",
    "territory-mismatch": "Child account in another territory", "no-owner": "No owner",
    "unknown-owner": "Owner not in Settings", "inactive-owner": "Owner no longer active",
}


@dataclass(frozen=True)
class SummaryRow:
    """A row of :attr:`WeeklyReport.summary`: one measure, the steps then the rates."""

    #: ``leads``, ``contacts``, ``appointments``, ``shows``, ``sales``, ``contact_rate``,
    #: ``appointment_rate``, ``show_rate``, ``close_rate``, ``sales_per_lead`` (also the index)
    key: str
    #: the name the report shows
    label: str
    #: ``count`` or ``rate``
    kind: str
    this_week: float
    last_week: float
    #: a count per week, or the rate
    baseline: float
    #: counts: relative to last week; rates: against the baseline (both as a fraction)
    change: float


@dataclass(frozen=True)
class SourceRow:
    """A row of :attr:`WeeklyReport.sources`, indexed by ``source``: the leads of the last four
    weeks from one source and what has become of them so far."""

    leads: int
    contacts: int
    appointments: int
    shows: int
    sales: int
    contact_rate: float
    appointment_rate: float
    show_rate: float
    close_rate: float
    sales_per_lead: float
    #: the cost columns are NaN where Settings gives the source no cost per lead
    cost: float
    cost_per_lead: float
    cost_per_contact: float
    cost_per_appointment: float
    cost_per_sale: float
    #: the sold leads' amounts
    revenue: float
    #: Settings' gross profit per sale times the sales, or its margin share of the revenue
    gross_profit: float
    #: (gross profit - cost) / cost
    return_on_spend: float


#: the columns of a source that Settings gives a cost per lead
_COST_COLUMNS = tuple(columns(SourceRow)[len(STEPS) + len(RATES):])


@dataclass(frozen=True)
class RepRow:
    """A row of :attr:`WeeklyReport.reps`, indexed by ``rep``: one salesperson's week."""

    #: activities logged in the week, and how many went out or came in
    activities: int
    outbound: int
    inbound: int
    #: tasks done in the week
    tasks_done: int
    #: tasks due before the week ended and not done by then
    overdue: int
    #: the rep's leads of the last four weeks, their contact rate and sales so far
    leads: int
    contact_rate: float
    sales: int


@dataclass(frozen=True)
class QualityRow:
    """A row of :attr:`WeeklyReport.quality`: how many problems of one kind the checks found."""

    #: ``Error`` or ``Warning`` (what ``xlcrm check`` finds), ``To clean up`` (what ``xlcrm
    #: clean`` finds, duplicates included)
    check: str
    #: the problem
    kind: str
    count: int


@dataclass(frozen=True)
class WorstRow:
    """A row of :attr:`WeeklyReport.worst`: one of the records with the most problems."""

    #: ``Leads!328``
    where: str
    #: its id
    record: str
    name: str
    #: its problems, ``; ``-separated
    problems: str
    count: int


@dataclass
class WeeklyReport:
    """One week's report, as plain tables that templates and the workbook writer read; each
    table's columns are the fields of its row class.

    Attributes:
        title: "Weekly report, week 47 2026".
        workbook: the CRM workbook's file name.
        week_label: the ISO week, ``2026-W47``.
        week_start, week_end: the first and last day of the team's week.
        period_start: the first day of the last four weeks (sources, reps, lost reasons).
        generated: the day the report was made.
        currency: the ISO code of amounts.
        labels: measure key -> the name the report shows (in the workbook's language).
        notes: sentences the report shows first (a sheet with no records yet, a week not
            over yet).
    """

    title: str
    workbook: str
    week_label: str
    week_start: dt.date
    week_end: dt.date
    period_start: dt.date
    generated: dt.date
    currency: str
    labels: dict[str, str]
    summary: pd.DataFrame  #: rows of :class:`SummaryRow`, indexed by ``key``
    #: the funnel's :class:`~xlcrm.metrics.funnel.FunnelTotals` (empty without stages)
    pipeline: dict[str, float]
    #: the last twelve weeks of the tally by activity week: the steps and rates
    trend: pd.DataFrame
    stages: pd.DataFrame  #: rows of :class:`~xlcrm.metrics.funnel.StageRow`
    forecast: pd.DataFrame  #: rows of :class:`~xlcrm.metrics.funnel.ForecastRow`
    won_lost: pd.DataFrame  #: rows of :class:`~xlcrm.metrics.funnel.WonLostRow`
    sources: pd.DataFrame  #: rows of :class:`SourceRow`
    reps: pd.DataFrame  #: rows of :class:`RepRow`
    #: rows of :class:`~xlcrm.metrics.funnel.LostReasonRow` (the last four weeks)
    lost_reasons: pd.DataFrame
    #: rows of :class:`~xlcrm.metrics.funnel.CompetitorRow` (the last four weeks)
    competitors: pd.DataFrame
    #: each plan against the baseline (:func:`xlcrm.metrics.baseline.plan_effects`)
    plans: pd.DataFrame
    quality: pd.DataFrame  #: rows of :class:`QualityRow`
    worst: pd.DataFrame  #: rows of :class:`WorstRow`
    notes: list[str] = field(default_factory=list)
    #: the workbook's language (its locale code): the report is written in it
    locale: str = "en"

    @property
    def file_stem(self) -> str:
        """The name the report's files take: ``<workbook>-report-2026-W47``."""
        stem = re.sub(r"[^\w.-]+", "-", Path(self.workbook).stem).strip("-") or "crm"
        return f"{stem}-report-{self.week_label}"


class CleanProblem(Protocol):
    """A problem ``xlcrm clean`` finds in one record (what the report reads of it)."""

    @property
    def check(self) -> str:
        """The kind of check (``bad-email``, ``dead`` ...)."""

    @property
    def sheet(self) -> str:
        """The sheet's name in the workbook."""

    @property
    def cell(self) -> str:
        """The cell to fix, ``F12`` (its digits give the row)."""

    @property
    def message(self) -> str:
        """What is wrong and how to fix it."""


class DuplicateSet(Protocol):
    """Records of one sheet that look like one person or company (what the report reads)."""

    @property
    def sheet(self) -> str:
        """The sheet's key."""

    @property
    def ids(self) -> Sequence[str]:
        """The records' ids, the one a merge keeps first."""

    @property
    def kept(self) -> str:
        """The id a merge keeps."""

    @property
    def reasons(self) -> Mapping[str, str]:
        """Id -> why that record matches the one kept."""


@dataclass(frozen=True)
class QualityInput:
    """What the checks found in the workbook, for the report's data-quality section.

    Attributes:
        issues: what ``xlcrm check`` finds.
        problems: what ``xlcrm clean`` finds, duplicates aside.
        duplicates: the probable duplicates ``xlcrm clean`` finds.
    """

    issues: Sequence[Issue] = ()
    problems: Sequence[CleanProblem] = ()
    duplicates: Sequence[DuplicateSet] = ()


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(text: str, week_start: str = "monday") -> dt.date:
    """The first day of the team's week that holds the Monday of ISO week ``text``.

    Raises:
        ReportError: ``text`` is not of the form ``YYYY-Www``, or the week does not exist.
    """
    match = _WEEK.match(text.strip())
    if not match:
        raise ReportError(f'week "{text}" is not of the form YYYY-Www (for example 2026-W47)')
    try:
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ReportError(f'week "{text}" does not exist; {match[1]} has weeks 1 to '
                          f"{dt.date(int(match[1]), 12, 28).isocalendar()[1]}") from None
    return start_of_week(monday, week_start)


def report_week(start: dt.date) -> str:
    """The ISO week label of a team's week: that of the Monday it holds."""
    monday = start + dt.timedelta(days=(0 - start.weekday()) % 7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _labels(crm: Crm) -> dict[str, str]:
    step_of = dict(zip(("lead", "contact", "appointment", "show", "sale"), STEPS))
    text = report_text(crm.schema.locale.code)
    labels = {key: text.get(f"measure_{key}") for key in MEASURE_LABELS}
    for m in crm.settings.milestones:
        if m.key != "lead":
            labels[step_of[m.key]] = m.label
    return labels


def _summary(result: WeekResult, start: pd.Timestamp, labels: dict[str, str], *,
             partial: bool = False) -> pd.DataFrame:
    """The week's summary, from the same figures as the Dashboard and the terminal
    (:meth:`~xlcrm.week.WeekResult.summary_of`): counts of the week, rates of its new leads
    with the week before and the baseline at the same age."""
    rows = []
    figures = {name: (now, last, ref) for name, now, last, ref in result.summary_of(start)}
    for key in (*STEPS, *RATES):
        now, last, ref = (float(np.nan if v is None else v) for v in
                          figures.get(key, (np.nan, np.nan, np.nan)))
        if partial:  # a week not over yet is shown so far, beside nothing
            last = ref = np.nan
        # counts change against last week, rates against the baseline at the same age
        change = ((now - last) / last if last == last and last else np.nan) \
            if key in STEPS else now - ref
        rows.append(SummaryRow(key=key, label=labels[key],
                               kind="count" if key in STEPS else "rate", this_week=now,
                               last_week=last, baseline=ref, change=change))
    return pd.DataFrame([asdict(r) for r in rows]).set_index("key", drop=False)


def _period_input(data: TallyInput, start: pd.Timestamp, end: pd.Timestamp) -> TallyInput:
    steps = data.steps
    return TallyInput(steps[(steps["lead"] >= start) & (steps["lead"] < end)], data.week_start)


def _reps(crm: Crm, data: TallyInput, start: pd.Timestamp, end: pd.Timestamp,
          period: TallyInput) -> pd.DataFrame:
    rows: dict[str, dict[str, float]] = {}

    def row(name: object) -> dict[str, float]:
        key = str(name).strip() if isinstance(name, str) and name.strip() else "(none)"
        return rows.setdefault(key, {"activities": 0, "outbound": 0, "inbound": 0,
                                     "tasks_done": 0, "overdue": 0})

    reps = crm.settings.lists.get("reps")
    if reps is not None and "rep" in reps:
        for name in reps["rep"].dropna():
            row(name)
    acts = crm.tables.get("activities", pd.DataFrame())
    owner = rep_column(crm.schema.sheet("activities")) if "activities" in crm.tables else None
    if not acts.empty and owner and "date" in acts:
        week = acts[(acts["date"] >= start) & (acts["date"] < end)]
        inbound = week["direction"].astype(str).str.casefold().isin(
            {"inbound", "in entrata"}) if "direction" in week else False
        for name, is_in in zip(week[owner], inbound if not isinstance(inbound, bool)
                               else [False] * len(week)):
            r = row(name)
            r["activities"] += 1
            r["inbound" if is_in else "outbound"] += 1
    tasks = crm.tables.get("tasks", pd.DataFrame())
    owner = rep_column(crm.schema.sheet("tasks")) if "tasks" in crm.tables else None
    if not tasks.empty and owner:
        done = tasks["done"].fillna(False).astype(bool) if "done" in tasks else \
            pd.Series(False, index=tasks.index)
        done_on = pd.to_datetime(tasks.get("done_date", pd.Series(pd.NaT, index=tasks.index)))
        due = pd.to_datetime(tasks["due_date"])
        finished = done & (done_on >= start) & (done_on < end)
        # overdue when the week ended: due before its end and not done by then
        late = (due < end) & ~(done & (done_on.isna() | (done_on < end)))
        for name, is_done, is_late in zip(tasks[owner], finished, late):
            r = row(name)
            r["tasks_done"] += int(is_done)
            r["overdue"] += int(is_late)
    counts = ["activities", "outbound", "inbound", "tasks_done", "overdue"]
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=counts, fill_value=0)
    frame.index.name = "rep"
    lead_stats = by_dimension(period, "rep") if not period.steps.empty else pd.DataFrame(
        columns=["leads", "contact_rate", "sales"])
    frame["leads"] = lead_stats["leads"].reindex(frame.index).fillna(0)
    frame["contact_rate"] = lead_stats["contact_rate"].reindex(frame.index)
    frame["sales"] = lead_stats["sales"].reindex(frame.index).fillna(0)
    frame = frame.astype({c: "int64" for c in ("activities", "outbound", "inbound",
                                               "tasks_done", "overdue", "leads", "sales")})
    if "(none)" in frame.index and not frame.loc["(none)"].drop("contact_rate").any():
        frame = frame.drop(index="(none)")
    return frame


def _quality(crm: Crm, checked: QualityInput) -> tuple[pd.DataFrame, pd.DataFrame]:
    found: list[tuple[str, str, int, str, str]] = []  # check, kind, row, sheet, detail
    text = report_text(crm.schema.locale.code)
    clean = text["check_clean"]
    for issue in checked.issues:
        found.append((text["check_error"] if issue.severity == "error" else
                      text["check_warning"],
                      issue.message.split(";")[0] if issue.row else issue.message,
                      issue.row, issue.sheet, issue.message))
    # what `xlcrm clean` finds: duplicates, unreachable, dead and unowned records
    for finding in checked.problems:
        row = int(re.sub(r"\D", "", finding.cell) or 0)
        kind = text.get(f"clean_{finding.check}") if finding.check in _CLEAN_KINDS \
            else finding.check
        found.append((clean, kind, row, finding.sheet, finding.message))
    row_of: dict[str, dict[str, int]] = {}  # sheet -> id -> row, made once per sheet
    grouped: dict[str, set[str]] = {}  # sheet -> the ids in its groups: the only rows asked
    for group in checked.duplicates:
        grouped.setdefault(group.sheet, set()).update(group.ids)
    for group in checked.duplicates:
        if group.sheet not in row_of:
            table, asked = crm.tables[group.sheet], grouped[group.sheet]
            row_of[group.sheet] = {key: int(r) for r, key in zip(
                table.index, map(str, table["id"].tolist())) if key in asked}
        rows = row_of[group.sheet]
        sheet_name = crm.sheet_names.get(group.sheet, group.sheet)
        for record in group.ids[1:]:
            found.append((clean, text["clean_duplicate"],
                          rows.get(record, 0), sheet_name,
                          text.get("duplicate_of", id=group.kept,
                                   reasons=group.reasons.get(record, ""))))
    kinds = pd.DataFrame(found, columns=["check", "kind", "row", "sheet", "detail"])
    if kinds.empty:
        return (pd.DataFrame(columns=columns(QualityRow)),
                pd.DataFrame(columns=columns(WorstRow)))
    counts = (kinds.groupby(["check", "kind"], sort=False).size().rename("count")
              .reset_index().sort_values("count", ascending=False, kind="stable"))
    per_record = kinds[kinds["row"] > 0]
    ids = {}
    for s in crm.schema.data_sheets:
        table = crm.tables.get(s.key)
        if table is not None and "id" in table:
            ids[crm.sheet_names.get(s.key, s.name)] = table["id"]
    # each record's findings, in the order first found (a plain dict: 100k records with a
    # finding each would cost a pandas group apiece)
    by_place: dict[tuple[str, int], list[str]] = {}
    people = crm.tables.get(crm.schema.lead_sheet, pd.DataFrame())
    gone = erased_ids(people)  # a person xlcrm forget erased is never "to fix" (re-collected)
    erased = {(crm.sheet_names.get(crm.schema.lead_sheet, ""), int(r))
              for r, i in people["id"].items() if str(i) in gone} if gone else set()
    for sheet_name, row, detail in zip(per_record["sheet"], per_record["row"],
                                       per_record["detail"]):
        if (sheet_name, int(row)) not in erased:
            by_place.setdefault((sheet_name, int(row)), []).append(detail)
    picked = []
    for (sheet_name, row), details in sorted(by_place.items(), key=lambda kv: -len(kv[1])
                                             )[:_WORST]:  # stable: ties keep their order
        record = ids.get(sheet_name, pd.Series(dtype=object)).get(row)
        picked.append((sheet_name, row, str(record) if isinstance(record, str) else "",
                       details))
    names = record_names(crm, only={record for _, _, record, _ in picked})
    worst = [asdict(WorstRow(where=f"{sheet_name}!{row}", record=record,
                             name=names.get(record, ""),
                             problems="; ".join(dict.fromkeys(details)), count=len(details)))
             for sheet_name, row, record, details in picked]
    frame = pd.DataFrame(worst, columns=columns(WorstRow))
    return counts.reset_index(drop=True), frame.reset_index(drop=True)


def weekly_report(crm: Crm, result: WeekResult, *, week: dt.date, generated: dt.date,
                  checked: QualityInput) -> WeeklyReport:
    """Assemble the report of the team's week starting ``week`` from a loaded workbook, its
    week computed as of the day after that week (:func:`xlcrm.week.compute_week`) and what
    the checks found in it on ``generated``."""
    data = result.tally
    labels = _labels(crm)
    start = pd.Timestamp(week)
    end = start + pd.Timedelta(days=7)
    period_start = end - pd.Timedelta(weeks=_PERIOD_WEEKS)
    period = _period_input(data, period_start, end)
    leads = crm.tables.get(lead_sheet(crm).key, pd.DataFrame())
    sources = by_dimension(period, "source", **source_money(crm, leads)) \
        if not period.steps.empty else pd.DataFrame()
    if not sources.empty:  # every column always there, empty where Settings has no costs
        sources = sources.reindex(columns=[*sources.columns, *(
            c for c in _COST_COLUMNS if c not in sources.columns)])
    trend = result.weeks[result.weeks.index <= start].tail(_TREND_WEEKS)
    fun: FunnelResult | None = result.funnel
    empty = pd.DataFrame()
    quality, worst = _quality(crm, checked)
    iso = report_week(week)
    year, number = iso.split("-W")
    code = crm.schema.locale.code
    text = report_text(code)
    notes = crm.missing_records(("lead", "activities", "deals"))  # why a figure is empty
    partial = generated < (end - pd.Timedelta(days=1)).date()
    if partial:
        notes.append(text.get("week_not_over", start=text.date(week, "d MMM"),
                              today=text.date(generated)))
    return WeeklyReport(
        title=text.get("title", number=int(number), year=year), locale=code,
        workbook=Path(crm.path).name, week_label=iso, week_start=week,
        week_end=(end - pd.Timedelta(days=1)).date(), period_start=period_start.date(),
        generated=generated, currency=str(crm.settings.options.get("currency", "EUR")),
        labels=labels, summary=_summary(result, start, labels, partial=partial),
        pipeline=dict(cast("Mapping[str, float]", fun.totals)) if fun is not None else {},
        trend=trend, stages=fun.stages if fun is not None else empty,
        forecast=fun.forecast if fun is not None else empty,
        won_lost=fun.won_lost if fun is not None else empty, sources=sources,
        reps=_reps(crm, data, start, end, period),
        lost_reasons=fun.lost_reasons if fun is not None else empty,
        competitors=fun.competitors if fun is not None else empty,
        plans=_verdicts_in(result.plans, code), quality=quality, worst=worst, notes=notes)


def _verdicts_in(plans: pd.DataFrame, code: str) -> pd.DataFrame:
    """The plans with each verdict ("within noise", "better", "worse") in the language, as
    the Baseline sheet words them."""
    if plans.empty or "verdict" not in plans:
        return plans
    words = OwnedText(code).words
    return plans.assign(verdict=plans["verdict"].map(
        lambda v: words.get("verdict_" + str(v).replace(" ", "_"), v)))


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as dicts with plain Python values (None for missing), for templates."""
    out = []
    keep = frame.index.name and frame.index.name not in frame.columns
    for rec in (frame.reset_index() if keep else frame).to_dict("records"):
        out.append({k: (None if (isinstance(v, float) and np.isnan(v)) or v is pd.NaT else v)
                    for k, v in rec.items()})
    return out
