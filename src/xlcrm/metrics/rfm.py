"""RFM: who buys recently, often and for much, in five steps each, and the classic segments.

*Recency* is the days since a customer's last purchase (or, when Settings says so, their last
activity of any kind); *frequency* the number of purchases; *monetary* their total value. Each
is scored 1-5 by quintile among the customers: a customer's score is ``ceil(5 * rank / n)``
where the rank counts from the worst (the longest ago, the fewest, the least; ties share
their average rank), so the best fifth scores 5. The segment follows from recency and the mean
of frequency and monetary (FM, rounded half up):

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
            "hibernating", "lost")


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Score values 1-5 by quintile: ``ceil(5 * rank / n)``, rank 1 the worst, ties averaged."""
    if values.empty:
        return pd.Series(dtype="int64")
    ranks = values.rank(method="average", ascending=higher_is_better)
    n = len(values)
    return ranks.map(lambda r: max(1, min(5, math.ceil(5 * r / n - 1e-9)))).astype("int64")


def segment(r: int, f: int, m: int) -> str:
    """The classic segment of an R, F, M score triple (see the module docstring)."""
    fm = math.floor((f + m) / 2 + 0.5)
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
        ``frequency``, ``monetary``, ``r``, ``f``, ``m``, ``rfm`` (such as ``"545"``) and
        ``segment``; sorted by segment order, then monetary value, largest first.
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
    out["rfm"] = [f"{r}{f}{m}" for r, f, m in zip(out["r"], out["f"], out["m"])]
    out["segment"] = [segment(r, f, m) for r, f, m in zip(out["r"], out["f"], out["m"])]
    order = {s: i for i, s in enumerate(SEGMENTS)}
    out = out.assign(_o=out["segment"].map(order)).sort_values(
        ["_o", "monetary"], ascending=[True, False], kind="stable").drop(columns="_o")
    return out[columns]
