"""Stage history: people change a record's stage by hand, so xlcrm compares each run with the
last one and appends what moved. The history is append-only: a row, once written, stays."""

from __future__ import annotations

import datetime as dt

import numpy as np
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
    keep = _is_text(ids)
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
    changed = before.isna() | (_stage_keys(before.fillna(""))
                               != _stage_keys(current["to_stage"]))
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


def entered_dates(history: pd.DataFrame) -> pd.Series:
    """The day each record entered its current stage (its last dated history row), as a
    Series of days indexed by record id."""
    if history.empty:
        return pd.Series(dtype="datetime64[ns]")
    when = pd.to_datetime(history["changed_on"], errors="coerce")
    dated = when.notna().to_numpy()
    last = when[dated].groupby(history["record"].astype(str)[dated], sort=False).last()
    return last.dt.normalize()


def moved_dates(history: pd.DataFrame) -> pd.Series:
    """The day each record was seen moving into its current stage: the day of its last history
    row when that row is a move (it has a "from" stage), not the row that seeded the history
    with the stage the record had when the history began. A Series of days indexed by record
    id; records never seen moving are left out."""
    if history.empty:
        return pd.Series(dtype="datetime64[ns]")
    record = history["record"].astype(str)
    last = ~record.duplicated(keep="last").to_numpy()  # each record's last row
    moved = last & _is_text(history["from_stage"])
    when = pd.to_datetime(history["changed_on"][moved], errors="coerce")
    return pd.Series(when.dt.normalize().to_numpy(), index=record[moved].to_numpy()).dropna()


def lost_from(history: pd.DataFrame) -> pd.Series:
    """For each record, the stage it was in before its last change (where a lost deal was
    lost from), as a Series of stages indexed by record id."""
    if history.empty:
        return pd.Series(dtype=object)
    moved = _is_text(history["from_stage"])
    before = history["from_stage"][moved]
    return before.groupby(history["record"].astype(str)[moved], sort=False).last()


def stages_seen(history: pd.DataFrame) -> pd.Series:
    """Every stage the history saw each record in (moved from or into), as a Series of stage
    names indexed by record id, one row per sighting: what the funnel's "reached" counts."""
    if history.empty:
        return pd.Series(dtype=object)
    record = history["record"].astype(str)
    both = pd.concat([pd.Series(history["from_stage"].to_numpy(dtype=object),
                                index=record.to_numpy()),
                      pd.Series(history["to_stage"].to_numpy(dtype=object),
                                index=record.to_numpy())])
    return both[_is_text(both)]


def _is_text(values: pd.Series) -> np.ndarray:
    """Where the values are texts that aren't empty (each distinct value looked at once)."""
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    text = np.array([isinstance(v, str) and v != "" for v in distinct] + [False], dtype=bool)
    found: np.ndarray = text[codes]
    return found


def _stage_keys(values: pd.Series) -> np.ndarray:
    """Stages as they compare: without regard to case or outer spaces (few distinct ones)."""
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    keys = np.empty(len(distinct) + 1, dtype=object)
    keys[:] = [str(v).strip().casefold() for v in distinct] + [""]
    found: np.ndarray = keys[codes]
    return found
