"""RFM: who buys recently, often and for much, in five steps each, and the segments.

*Recency* is the days since a customer's last purchase (or, when Settings says so, their last
activity of any kind); *frequency* the number of purchases; *monetary* their total value. Each
is scored 1-5 by quintile among the customers: a customer's score is ``ceil(5 * rank / n)``
where the rank counts from the worst (the longest ago, the fewest, the least; tied values
share the lowest rank of their group, so the many who bought once score 1 on frequency, not
an average 3), so the best fifth scores 5. A measure on which every customer is the same
(every one bought once) is not scored: quintiles of equal values would call them all average.

A customer who bought once gets a one-time segment, by recency alone, since once says nothing
of how often or how much they will buy:

========================  ===========================
segment                   R
========================  ===========================
new_customer              R = 5 (the most recent fifth)
one_time_recent           R = 3 or 4
one_time_lapsed           R ≤ 2
========================  ===========================

A repeat customer's segment follows from recency and the mean of frequency and monetary
(FM, rounded half up; the one of them that is scored when the other is not, 3 when neither):

========================  ===========================
segment                   R and FM
========================  ===========================
champions                 R ≥ 4 and FM ≥ 4
loyal                     R ≥ 3 and FM ≥ 3
promising                 R ≥ 4 (and FM ≤ 2)
cant_lose                 R = 1 and FM ≥ 4
at_risk                   R ≤ 2 and FM ≥ 3
need_attention            R = 3 (and FM ≤ 2)
hibernating               R = 2 (and FM ≤ 2)
lost                      R = 1 (and FM ≤ 2)
========================  ===========================
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

__all__ = ["SEGMENTS", "quintile_scores", "rfm", "segment"]

SEGMENTS = ("champions", "loyal", "promising", "cant_lose", "at_risk", "need_attention",
            "hibernating", "lost", "new_customer", "one_time_recent", "one_time_lapsed")


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Score values 1-5 by quintile: ``ceil(5 * rank / n)``, rank 1 the worst, tied values at
    the lowest rank of their group; None for every value when they are all equal (nothing to
    tell apart)."""
    if values.empty:
        return pd.Series(dtype=object)
    if values.nunique(dropna=True) < 2:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    ranks = values.rank(method="min", ascending=higher_is_better)
    n = len(values)
    return ranks.map(lambda r: max(1, min(5, math.ceil(5 * r / n - 1e-9)))).astype(object)


def segment(r: int | None, f: int | None, m: int | None, *, purchases: int = 2) -> str:
    """The segment of an R, F, M score triple (see the module docstring); None for a measure
    not scored. ``purchases`` 1 gives a one-time segment."""
    if purchases <= 1:
        return "new_customer" if r == 5 else "one_time_recent" if (r or 3) >= 3 \
            else "one_time_lapsed"
    scored = [x for x in (f, m) if x is not None]
    fm = math.floor(sum(scored) / len(scored) + 0.5) if scored else 3
    r = 3 if r is None else r
    if r >= 4 and fm >= 4:
        return "champions"
    if r >= 3 and fm >= 3:
        return "loyal"
    if r >= 4:
        return "promising"
    if r == 1 and fm >= 4:
        return "cant_lose"
    if fm >= 3:
        return "at_risk"
    return {3: "need_attention", 2: "hibernating"}.get(r, "lost")


def rfm(purchases: pd.DataFrame, *, today: dt.date,
        last_touch: pd.Series | None = None) -> pd.DataFrame:
    """Recency, frequency, monetary value, their quintile scores and the segment per customer.

    Args:
        purchases: one row per purchase: ``customer`` (an id), ``date`` and ``amount``.
        today: the day recency is counted to.
        last_touch: per customer id, their latest activity of any kind; when given, recency
            counts from the later of it and the last purchase.

    Returns:
        One row per customer (index: the id), columns ``last``, ``recency_days``,
        ``frequency``, ``monetary``, ``r``, ``f``, ``m`` (None where not scored), ``rfm``
        (such as ``"545"``, ``"5-3"``) and ``segment``; sorted by segment order, then
        monetary value, largest first.
    """
    columns = ["last", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm",
               "segment"]
    bought = purchases.dropna(subset=["customer", "date"])
    if bought.empty:
        return pd.DataFrame(columns=columns)
    by = bought.assign(date=pd.to_datetime(bought["date"]),
                       amount=bought["amount"].fillna(0.0)).groupby("customer")
    out = pd.DataFrame({"last": by["date"].max(), "frequency": by.size(),
                        "monetary": by["amount"].sum()})
    if last_touch is not None:
        touched = pd.to_datetime(last_touch.reindex(out.index))
        out["last"] = pd.concat([out["last"], touched], axis=1).max(axis=1)
    out["recency_days"] = (pd.Timestamp(today) - out["last"]).dt.days
    out["r"] = quintile_scores(out["recency_days"], higher_is_better=False)
    out["f"] = quintile_scores(out["frequency"].astype(float))
    out["m"] = quintile_scores(out["monetary"].astype(float))
    out["rfm"] = ["".join("-" if x is None else str(x) for x in (r, f, m))
                  for r, f, m in zip(out["r"], out["f"], out["m"])]
    out["segment"] = [segment(r, f, m, purchases=n) for r, f, m, n in
                      zip(out["r"], out["f"], out["m"], out["frequency"])]
    order = {s: i for i, s in enumerate(SEGMENTS)}
    out = out.assign(_o=out["segment"].map(order)).sort_values(
        ["_o", "monetary"], ascending=[True, False], kind="stable").drop(columns="_o")
    return out[columns]
