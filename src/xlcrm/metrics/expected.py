"""What an open lead without a deal amount is expected to be worth, and when it should close.

The dealer's leads carry no amount until a car is sold, and no close date at all. So the
funnel can put money on its open leads and spread them over the months ahead:

- **expected value**: the price of the vehicle the lead asked about, from the Settings price
  list (a row whose item appears in the vehicle's description, the longest such item first,
  so "Compact SUV" beats "SUV"; else the row of its condition, new or used); failing both,
  the average sale of the lead's source in the workbook; failing that, the average sale of
  all. A lead already sold keeps its own amount.
- **expected close day**: the day the lead reached its furthest milestone plus the median
  number of days from that milestone to the sale, measured on the workbook's own sold leads;
  an overdue lead, if it closes at all, takes that usual time again from today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["expected_close", "expected_values", "median_days_to_sale"]


def expected_values(records: pd.DataFrame, prices: Mapping[str, float], *,
                    amount_col: str = "amount", vehicle_col: str = "vehicle",
                    condition_col: str = "vehicle_condition",
                    source_col: str = "source") -> pd.Series:
    """Each record's amount, or where it has none its expected value (see the module).

    Args:
        records: the leads.
        prices: the Settings price list, item (a model's words or a condition) -> price;
            items match case-insensitively.
        amount_col, vehicle_col, condition_col, source_col: the columns holding the sale
            amount, the vehicle of interest, its condition and the lead's source.

    Returns:
        A float Series aligned with ``records``; NaN only when nothing at all was ever sold
        and the price list has nothing to say.
    """
    index = records.index
    amount = pd.to_numeric(records[amount_col], errors="coerce") if amount_col in records \
        else pd.Series(np.nan, index=index)
    known = {str(k).casefold().strip(): float(v) for k, v in prices.items()
             if isinstance(k, str) and k.strip() and v == v}
    by_length = sorted(known, key=len, reverse=True)

    def listed(vehicle: object, condition: object) -> float:
        text = vehicle.casefold() if isinstance(vehicle, str) else ""
        for item in by_length:
            if item and item in text:
                return known[item]
        if isinstance(condition, str):
            return known.get(condition.casefold().strip(), np.nan)
        return np.nan

    size = len(index)
    vehicles = records[vehicle_col].to_numpy(dtype=object) if vehicle_col in records \
        else np.full(size, None, dtype=object)
    conditions = records[condition_col].to_numpy(dtype=object) if condition_col in records \
        else np.full(size, None, dtype=object)
    # a few hundred distinct vehicles and three conditions in 100k leads: each pair priced once
    v_codes, v_values = pd.factorize(vehicles, use_na_sentinel=True)
    c_codes, c_values = pd.factorize(conditions, use_na_sentinel=True)
    v_list, c_list = [*v_values.tolist(), None], [*c_values.tolist(), None]
    pair = v_codes.astype(np.int64) % len(v_list) * len(c_list) + c_codes % len(c_list)
    unique, back = np.unique(pair, return_inverse=True)
    prices_of = np.array([listed(v_list[p // len(c_list)], c_list[p % len(c_list)])
                          for p in unique.tolist()], dtype=float)
    expected = pd.Series(prices_of[back] if size else np.array([], dtype=float), index=index,
                         dtype=float)
    sold = amount.notna() & (amount > 0)
    if source_col in records:
        by_source = amount[sold].groupby(records.loc[sold, source_col]).mean()
        expected = expected.fillna(records[source_col].map(by_source).astype(float))
    if sold.any():
        expected = expected.fillna(float(amount[sold].mean()))
    return amount.where(sold, expected).astype(float)


def median_days_to_sale(milestones: Mapping[str, pd.Series], sale: pd.Series) -> dict[str, float]:
    """For each milestone, the median whole days from reaching it to the sale, over the
    records that reached both (NaN when none did)."""
    out = {}
    for key, dates in milestones.items():
        both = dates.notna() & sale.notna()
        days = (sale[both] - dates[both]).dt.days.clip(lower=0)
        out[key] = float(days.median()) if len(days) else np.nan
    return out


def expected_close(milestones: Sequence[tuple[str, pd.Series]], sale: pd.Series, *,
                   today: dt.date) -> pd.Series:
    """Each record's expected close day: the furthest milestone it reached plus the median
    days from that milestone to a sale (:func:`median_days_to_sale`); when that day has
    passed, today plus the same median.

    Args:
        milestones: (name, dates) in the order a lead reaches them, first the day it arrived.
        sale: the sale dates (the records already sold keep theirs).
        today: the day of the run.
    """
    medians = median_days_to_sale(dict(milestones), sale)
    index = sale.index
    close = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    wait = pd.Series(np.nan, index=index)
    for name, dates in milestones:  # a later milestone overrides an earlier one
        days = medians[name]
        if days != days:  # nobody sold after it yet
            continue
        reached = dates.notna()
        close = close.mask(reached, dates + pd.Timedelta(days=days))
        wait = wait.mask(reached, days)
    floor = pd.Timestamp(today)
    late = close.notna() & (close < floor)
    # overdue: if it closes at all, it takes the usual time again from now
    close = close.mask(late, floor + pd.to_timedelta(wait.where(late, 0), unit="D"))
    return pd.to_datetime(sale).astype("datetime64[ns]").combine_first(close)
