"""Baseline, then compare: the team's rates over a reference period, and each week against it."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from .tally import RATES, STEPS, rates

__all__ = ["baseline", "against_baseline", "two_proportion_test"]


def baseline(weeks: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.Series:
    """The baseline is the sum of the weekly counts over the weeks that start between ``start``
    and ``end`` (inclusive), and the rates of those sums; the first four weeks when no period
    is set. ``weeks`` in the result says how many weeks it spans."""
    if weeks.empty:
        return pd.Series({step: 0 for step in STEPS} | {r: math.nan for r in RATES}
                         | {"weeks": 0})
    if start is None or end is None:
        chosen = weeks.iloc[:4]
    else:
        chosen = weeks[(weeks.index >= pd.Timestamp(start)) & (weeks.index <= pd.Timestamp(end))]
    totals = chosen[list(STEPS)].sum().to_frame().T
    out = rates(totals).iloc[0]
    out["weeks"] = len(chosen)
    return out


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
