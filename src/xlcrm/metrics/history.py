"""Stage history: people change a record's stage by hand, so xlcrm compares each run with the
last one and appends what moved. The history is append-only: a row, once written, stays."""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["HISTORY_COLUMNS", "advance_history", "entered_dates", "lost_from"]

HISTORY_COLUMNS = ["record", "from_stage", "to_stage", "changed_on"]


def advance_history(history: pd.DataFrame, records: pd.DataFrame, *, today: dt.date,
                    id_col: str = "id", stage_col: str = "stage",
                    created_col: str = "created") -> pd.DataFrame:
    """Return the history with one new row per record whose stage changed since the last run.

    A record seen for the first time gets a row from "" to its stage; on the very first run
    (an empty history) that row is dated the day the record was created, later on the day of
    the run. A record whose stage did not change adds nothing, so running twice on the same
    day adds nothing the second time. Stages compare without regard to case or outer spaces.
    """
    ids = records[id_col]
    keep = ids.map(lambda v: isinstance(v, str) and bool(v)).astype(bool)
    current = pd.DataFrame({
        "record": ids[keep].astype(str),
        "to_stage": records.loc[keep, stage_col].fillna("").astype(str),
        "created": pd.to_datetime(records.loc[keep, created_col], errors="coerce")
        if created_col in records else pd.NaT,
    }).drop_duplicates("record", keep="first")
    if history.empty:
        before = pd.Series(pd.NA, index=current.index, dtype=object)
    else:
        last = history.groupby(history["record"].astype(str), sort=False)["to_stage"].last()
        before = current["record"].map(last.fillna(""))
    def norm(values: pd.Series) -> pd.Series:
        return values.astype("string").str.strip().str.casefold()
    changed = before.isna() | (norm(before.fillna("")) != norm(current["to_stage"])).fillna(
        True)
    added = current[changed.to_numpy(dtype=bool)].copy()
    if added.empty:
        return history.reset_index(drop=True)
    added["from_stage"] = before[changed.to_numpy(dtype=bool)].fillna("").astype(str)
    when = pd.Series(pd.Timestamp(today), index=added.index)
    if history.empty:
        when = added["created"].dt.normalize().fillna(pd.Timestamp(today))
    added["changed_on"] = when
    added = added[HISTORY_COLUMNS].reset_index(drop=True)
    return added if history.empty else pd.concat([history, added], ignore_index=True)


def entered_dates(history: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """The day each record entered its current stage (its last history row)."""
    if history.empty:
        return {}
    dated = history[pd.to_datetime(history["changed_on"]).notna()]
    last = dated.groupby(dated["record"].astype(str), sort=False)["changed_on"].last()
    return dict(zip(last.index, pd.to_datetime(last).dt.normalize()))


def lost_from(history: pd.DataFrame) -> dict[str, str]:
    """For each record, the stage it was in before its last change (where a lost deal was
    lost from)."""
    out: dict[str, str] = {}
    for record, before in zip(history["record"], history["from_stage"]):
        if isinstance(before, str) and before:
            out[str(record)] = before
    return out
