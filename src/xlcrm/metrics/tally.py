"""The weekly tally: leads, two-way contacts, appointments set, appointments shown, sales.

Two views, both per week:

- **activity week**: what happened that week (a contact made on Tuesday counts in Tuesday's
  week, whenever the lead arrived);
- **lead cohort**: what became, so far, of the leads that arrived that week (it matures as the
  weeks pass).

Every rate is a share of the leads that arrived in a week: its numerator counts only records
that are also in its denominator, so no rate passes 100 %. Contact, appointment rate and sales
per lead divide by the week's leads; the show rate divides the week's leads that showed by
those of them that booked; the close rate divides those that bought by those that showed. The
cohort counts nest to allow it: a show counts only when its appointment is recorded, a sale
only when its show is. Counts by activity week stay as they happened; their rates are the
cohort's rates of the same week, never counts of one week divided by counts of another.

A lead is *contacted* when the prospect answered: an inbound activity from the lead, or the
two-way contact date filled in by hand, whichever came first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd

from ..schema import WEEKDAYS

__all__ = [
    "NESTED",
    "RATES",
    "RATE_DEFINITIONS",
    "STEPS",
    "TallyInput",
    "by_dimension",
    "contact_dates",
    "first_replies",
    "cohort_weeks",
    "maturity_days",
    "rates",
    "activity_weeks",
    "week_start",
]

#: what each rate is a share of, in a sentence (the README and the sheets quote these)
RATE_DEFINITIONS = {
    "contact_rate": "of the week's new leads, the share contacted so far",
    "appointment_rate": "of the week's new leads, the share that booked an appointment",
    "show_rate": "of the week's new leads that booked, the share that showed",
    "close_rate": "of the week's new leads that showed, the share that bought",
    "sales_per_lead": "of the week's new leads, the share that bought after a show",
}
#: the chain each cohort count requires: a step counts only when the steps listed were reached
NESTED = {"contacts": ("contact",), "appointments": ("appointment",),
          "shows": ("show", "appointment"), "sales": ("sale", "show", "appointment")}

#: the funnel steps, in order, as columns of every tally table
STEPS = ("leads", "contacts", "appointments", "shows", "sales")
#: rate name -> (numerator, denominator)
RATES: dict[str, tuple[str, str]] = {
    "contact_rate": ("contacts", "leads"),
    "appointment_rate": ("appointments", "leads"),
    "show_rate": ("shows", "appointments"),
    "close_rate": ("sales", "shows"),
    "sales_per_lead": ("sales", "leads"),
}


@dataclass(frozen=True)
class TallyInput:
    """The dates each lead reached each step (NaT when not, or not yet), with its source and rep.

    Columns of ``steps``: ``lead`` (created), ``contact``, ``appointment``, ``show``, ``sale``,
    plus ``source`` and ``rep``; one row per lead.
    """

    steps: pd.DataFrame
    week_start: str = "monday"


@overload
def week_start(dates: dt.date, first_day: str = "monday") -> dt.date: ...
@overload
def week_start(dates: pd.Series, first_day: str = "monday") -> pd.Series: ...
def week_start(dates: pd.Series | dt.date, first_day: str = "monday") -> pd.Series | dt.date:
    """Return the first day of the week of a day, or of each date (weeks start on
    ``first_day``).

    The one place xlcrm finds where a week starts: the tally, the weekly run, the report and
    its ``--week`` option all ask here, so they always agree on the team's weeks.
    """
    offset = WEEKDAYS.index(first_day.lower())
    if not isinstance(dates, pd.Series):
        return dates - dt.timedelta(days=(dates.weekday() - offset) % 7)
    days = dates.dt.normalize()
    back = (days.dt.day_of_week - offset) % 7
    return days - pd.to_timedelta(back, unit="D")


def first_replies(activities: pd.DataFrame, *, link_col: str, date_col: str = "date",
                  direction_col: str = "direction",
                  inbound: Sequence[str] = ("inbound",)) -> pd.Series:
    """Each lead's first inbound activity (the prospect reached out), by lead id.

    Args:
        activities: the activities table.
        link_col: the activities column that names the lead.
        inbound: the direction labels that mean the prospect reached out (any case).
    """
    if activities.empty or link_col not in activities:
        return pd.Series(dtype="datetime64[ns]")
    inbound_set = {s.casefold() for s in inbound}
    codes, labels = pd.factorize(activities[direction_col])  # two labels, 300k rows
    answered = np.array([str(v).strip().casefold() in inbound_set for v in labels] + [False])
    replies = activities[answered[codes]]
    return replies.groupby(link_col, sort=False)[date_col].min()


def contact_dates(milestone: pd.Series, lead_ids: pd.Series, activities: pd.DataFrame, *,
                  link_col: str, date_col: str = "date", direction_col: str = "direction",
                  inbound: Sequence[str] = ("inbound",)) -> pd.Series:
    """Return each lead's first two-way contact: its first inbound activity or the two-way
    contact date filled in by hand, whichever is earlier (NaT when neither).

    Args:
        milestone: the hand-filled two-way contact dates, aligned with ``lead_ids``.
        lead_ids: the leads' ids.
        activities, link_col, date_col, direction_col, inbound: as :func:`first_replies`.
    """
    first_reply = first_replies(activities, link_col=link_col, date_col=date_col,
                                direction_col=direction_col, inbound=inbound)
    if first_reply.empty:  # nobody has answered yet: only the hand-filled dates count
        return milestone.astype("datetime64[ns]")
    logged = pd.to_datetime(lead_ids.map(first_reply)).astype("datetime64[ns]")
    both = pd.concat([milestone.reset_index(drop=True), logged.reset_index(drop=True)], axis=1)
    earliest = both.min(axis=1, skipna=True)
    earliest.index = milestone.index
    return earliest.astype("datetime64[ns]")


def _count_by_week(steps: pd.DataFrame, first_day: str, weeks: pd.DatetimeIndex) -> pd.DataFrame:
    out = {}
    for step, column in zip(STEPS, ("lead", "contact", "appointment", "show", "sale")):
        dates = steps[column].dropna()
        counted = week_start(dates, first_day).value_counts()
        out[step] = counted.reindex(weeks, fill_value=0).astype("int64")
    frame = pd.DataFrame(out, index=weeks)
    frame.index.name = "week"
    return frame


def _weeks(steps: pd.DataFrame, first_day: str, today: dt.date | None) -> pd.DatetimeIndex:
    every = pd.concat([steps[c] for c in ("lead", "contact", "appointment", "show", "sale")])
    every = every.dropna()
    if every.empty:
        return pd.DatetimeIndex([], name="week")
    first = week_start(pd.Series([every.min()]), first_day).iloc[0]
    last_day = pd.Timestamp(today) if today else every.max()
    last = week_start(pd.Series([last_day]), first_day).iloc[0]
    return pd.date_range(first, last, freq="7D", name="week")


def rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add the rates to a table of step counts: contact, appointment, show and close rates and
    sales per lead; NaN where the denominator is zero."""
    out = counts.copy()
    for name, (num, den) in RATES.items():
        denominator = out[den].astype("float64").replace(0, np.nan)
        out[name] = out[num].astype("float64") / denominator
    return out


def activity_weeks(data: TallyInput, *, today: dt.date | None = None) -> pd.DataFrame:
    """Per week, how many leads arrived, were contacted, booked, showed and bought that week;
    the rates are those of the week's cohort (see :func:`cohort_weeks`), so each stays a
    share."""
    weeks = _weeks(data.steps, data.week_start, today)
    counts = _count_by_week(data.steps, data.week_start, weeks)
    cohort = cohort_weeks(data, today=today)
    for name in RATES:
        counts[name] = cohort[name].reindex(counts.index)
    return counts


def _reached(steps: pd.DataFrame, step: str, until: pd.Series | None) -> pd.Series:
    """Whether each lead reached ``step`` and every step it nests in (before ``until``)."""
    hit = pd.Series(True, index=steps.index)
    for column in NESTED[step]:
        dates = steps[column]
        hit &= dates.notna() if until is None else (dates < until)
    return hit


def cohort_weeks(data: TallyInput, *, today: dt.date | None = None,
                 age_days: int | None = None) -> pd.DataFrame:
    """Per week of arrival, how many of those leads have so far been contacted, booked, shown
    (with their appointment recorded) and sold (with their show recorded), and the rates of
    these nested counts, each a share.

    Args:
        data: the tally input.
        today: the day of the run (the last week is the one holding it).
        age_days: count only the steps reached before this many days after each week ended,
            so cohorts of different ages compare at the same age (None: whenever reached).
    """
    steps = data.steps
    weeks = _weeks(steps, data.week_start, today)
    cohort = week_start(steps["lead"], data.week_start)
    until = None if age_days is None else cohort + pd.Timedelta(days=7 + age_days)
    out = {"leads": cohort.value_counts()}
    for step in STEPS[1:]:
        out[step] = cohort[_reached(steps, step, until)].value_counts()
    frame = pd.DataFrame({k: v.reindex(weeks, fill_value=0).astype("int64")
                          for k, v in out.items()}, index=weeks)
    frame.index.name = "week"
    return rates(frame)


def maturity_days(data: TallyInput, *, share: float = 0.9, floor: int = 7) -> int:
    """How many days after its week ended a cohort is grown: by then ``share`` (nine in ten)
    of the sales measured in the workbook had come, counted from the lead's arrival; at least
    ``floor`` days, and four weeks when nothing was sold yet."""
    steps = data.steps
    sold = steps[_reached(steps, "sales", None)]
    if sold.empty:
        return 28
    days = (sold["sale"] - sold["lead"]).dt.days.clip(lower=0)
    return max(int(math.ceil(float(days.quantile(share)))), floor)


def by_dimension(data: TallyInput, dimension: str, *,
                 since: dt.date | None = None, costs: Mapping[str, float] | None = None,
                 revenue: pd.Series | None = None, profit_per_sale: float | None = None,
                 margin: float | None = None) -> pd.DataFrame:
    """Totals per source (or rep) of the leads that arrived since ``since`` (all when None):
    steps reached so far (nested as in :func:`cohort_weeks`) and their rates.

    With ``costs`` (cost per lead by source; a source missing from it has no cost set and
    gets NaN, never 0): the cost and the cost per lead, contact, appointment and sale; the
    revenue (the sold leads' amounts, when ``revenue`` is given); the gross profit, from
    ``profit_per_sale`` (Settings' gross profit per sale) or else ``margin`` (the share of
    the revenue kept); and the return on spend, (gross profit - cost) / cost, NaN without a
    profit figure or a cost above zero.
    """
    steps = data.steps
    if since is not None:
        steps = steps[steps["lead"] >= pd.Timestamp(since)]
    key = steps[dimension].fillna("(none)").astype(str)
    grouped = {"leads": key.value_counts()}
    for step in STEPS[1:]:
        grouped[step] = key[_reached(steps, step, None)].value_counts()
    frame = pd.DataFrame(grouped).fillna(0).astype("int64")
    frame.index.name = dimension
    frame = rates(frame.sort_values(["leads"], ascending=False, kind="stable"))
    if costs is None:
        return frame
    per_lead = frame.index.map(lambda s: costs.get(s, np.nan)).astype("float64")
    frame["cost"] = frame["leads"] * per_lead
    for step in ("leads", "contacts", "appointments", "sales"):
        frame[f"cost_per_{step[:-1]}"] = frame["cost"] / frame[step].replace(0, np.nan)
    sold = steps["sale"].notna()
    if revenue is not None:
        amounts = revenue.loc[steps.index][sold].groupby(key[sold]).sum()
        frame["revenue"] = amounts.reindex(frame.index).fillna(0.0)
    else:
        frame["revenue"] = np.nan
    sales = key[sold].value_counts().reindex(frame.index).fillna(0)
    if profit_per_sale is not None:
        frame["gross_profit"] = sales.astype("float64") * profit_per_sale
    elif margin is not None:
        frame["gross_profit"] = frame["revenue"] * margin
    else:
        frame["gross_profit"] = np.nan
    frame["return_on_spend"] = (frame["gross_profit"] - frame["cost"]) / frame["cost"].where(
        frame["cost"] > 0)
    return frame
