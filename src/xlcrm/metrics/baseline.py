"""Baseline, then compare: the team's rates over a reference period, and each week against it."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from .tally import RATES, STEPS, rates

__all__ = ["PLAN_RATES", "against_baseline", "baseline", "baseline_weeks", "plan_effects",
           "rate_interval", "two_proportion_test"]

#: the rates a plan is judged on
PLAN_RATES = ("contact_rate", "appointment_rate", "sales_per_lead")


def baseline_weeks(weeks: pd.DataFrame, start: dt.date | None, end: dt.date | None, *,
                   before: pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """The weeks of the baseline: those that start between ``start`` and ``end`` (inclusive),
    the first four when no period is set; only full weeks, those starting before ``before``
    (the current week's first day)."""
    index = weeks.index if before is None else weeks.index[weeks.index < before]
    if start is None or end is None:
        return pd.DatetimeIndex(index[:4])
    return pd.DatetimeIndex(index[(index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end))])


def baseline(weeks: pd.DataFrame, start: dt.date | None, end: dt.date | None,
             cohorts: pd.DataFrame | None = None, *,
             before: pd.Timestamp | None = None) -> pd.Series:
    """The baseline: the sum of the weekly counts over the baseline weeks
    (:func:`baseline_weeks`) and the rates of the sums of those weeks' cohorts (``cohorts``;
    of ``weeks`` itself when None), so each rate is a share. ``weeks`` in the result says how
    many weeks it spans; ``cohort_<step>`` holds the cohort sums the rates divide."""
    if weeks.empty:
        return pd.Series({step: 0 for step in STEPS} | {r: math.nan for r in RATES}
                         | {f"cohort_{s}": 0 for s in STEPS} | {"weeks": 0})
    chosen = baseline_weeks(weeks, start, end, before=before)
    totals = weeks.loc[chosen, list(STEPS)].sum()
    source = weeks if cohorts is None else cohorts
    cohort_totals = source.reindex(chosen)[list(STEPS)].fillna(0).sum().to_frame().T
    out = rates(cohort_totals).iloc[0]
    for step in STEPS:
        out[f"cohort_{step}"] = out[step]
        out[step] = totals[step]
    out["weeks"] = len(chosen)
    return out


def rate_interval(hits: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson interval of a share (hits out of n): where the true rate likely lies;
    NaN for nothing counted."""
    if not n:
        return math.nan, math.nan
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def against_baseline(weeks: pd.DataFrame, base: pd.Series) -> pd.DataFrame:
    """Each week's rates minus the baseline's, in percentage points (0.05 = 5 points better)."""
    out = pd.DataFrame(index=weeks.index)
    for name in RATES:
        out[name] = weeks[name] - base[name]
    return out


def two_proportion_test(hits_a: int, n_a: int, hits_b: int, n_b: int) -> tuple[float, float]:
    """Compare two rates (hits out of n): return the difference b - a and its two-sided p-value.

    A p-value under 0.05 means a difference this large would rarely come from chance alone
    with these counts; NaN when either group is empty.
    """
    if n_a == 0 or n_b == 0:
        return math.nan, math.nan
    p_a, p_b = hits_a / n_a, hits_b / n_b
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return p_b - p_a, 1.0 if p_a == p_b else 0.0
    z = (p_b - p_a) / spread
    return p_b - p_a, math.erfc(abs(z) / math.sqrt(2))


def plan_effects(weeks: pd.DataFrame, base: pd.Series, plans: pd.DataFrame, *,
                 today: dt.date, alpha: float = 0.05) -> pd.DataFrame:
    """Each plan's rates during its weeks (``weeks``: the cohorts, whose counts nest, so each
    rate is a share) against the baseline, and whether the difference is
    larger than noise: a two-proportion test at ``alpha`` (5 %) on the counts behind each rate.

    A plan covers the weeks that start on or after its start and on or before its end (or
    today's week when it has no end). Columns: plan, start, end, weeks, then for each rate the
    rate during the plan, the baseline rate, the difference and its p-value, and ``verdict``
    for the contact rate: "better", "worse" or "within noise".
    """
    rows = []
    cohort = {s: base.get(f"cohort_{s}", base[s]) for s in STEPS}
    for plan in plans.itertuples(index=False):
        start = getattr(plan, "start", None)
        if start is None or pd.isna(start):
            continue
        end = getattr(plan, "end", None)
        end = pd.Timestamp(today) if end is None or pd.isna(end) else pd.Timestamp(end)
        chosen = weeks[(weeks.index >= pd.Timestamp(start) - pd.Timedelta(days=6))
                       & (weeks.index <= end)]
        totals = chosen[list(STEPS)].sum()
        row: dict[str, object] = {"plan": getattr(plan, "name", ""), "start": start,
                                  "end": getattr(plan, "end", None), "weeks": len(chosen)}
        for name in PLAN_RATES:
            num, den = RATES[name]
            diff, p = two_proportion_test(int(cohort[num]), int(cohort[den]), int(totals[num]),
                                          int(totals[den]))
            row[name] = totals[num] / totals[den] if totals[den] else math.nan
            row[f"{name}_baseline"] = base[name]
            row[f"{name}_change"] = diff
            row[f"{name}_p"] = p
        diff, p = two_proportion_test(int(cohort["contacts"]), int(cohort["leads"]),
                                      int(totals["contacts"]), int(totals["leads"]))
        row["verdict"] = ("within noise" if math.isnan(p) or p >= alpha
                          else "better" if diff > 0 else "worse")
        rows.append(row)
    return pd.DataFrame(rows)
