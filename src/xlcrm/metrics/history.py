"""Stage history: people change a record's stage by hand, so xlcrm compares each run with the
last one and appends what moved. The history is append-only: a row, once written, stays."""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["HISTORY_COLUMNS", "advance_history", "entered_dates", "lost_from"]

HISTORY_COLUMNS = ["record", "from_stage", "to_stage", "changed_on"]


def _latest(history: pd.DataFrame) -> dict[str, str]:
    """Each record's stage as of the last run: the ``to_stage`` of its last row."""
    if history.empty:
        return {}
    last = history.groupby(history["record"].astype(str), sort=False)["to_stage"].last()
    return {k: "" if pd.isna(v) else str(v) for k, v in last.items()}


def advance_history(history: pd.DataFrame, records: pd.DataFrame, *, today: dt.date,
                    id_col: str = "id", stage_col: str = "stage",
                    created_col: str = "created") -> pd.DataFrame:
    """Return the history with one new row per record whose stage changed since the last run.

    A record seen for the first time gets a row from "" to its stage; on the very first run
    (an empty history) that row is dated the day the record was created, later on the day of
    the run. A record whose stage did not change adds nothing, so running twice on the same
    day adds nothing the second time.
    """
    latest = _latest(history)
    seeding = history.empty
    rows = []
    for record, stage, created in zip(records[id_col], records[stage_col],
                                      records.get(created_col, pd.Series(pd.NaT,
                                                                         index=records.index))):
        if not isinstance(record, str) or not record:
            continue
        now = "" if pd.isna(stage) else str(stage)
        before = latest.get(record)
        if before is not None and before.casefold().strip() == now.casefold().strip():
            continue
        when = today
        if seeding and pd.notna(created):
            when = pd.Timestamp(created).date()
        rows.append({"record": record, "from_stage": before or "", "to_stage": now,
                     "changed_on": pd.Timestamp(when)})
        latest[record] = now
    if not rows:
        return history.reset_index(drop=True)
    added = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    if history.empty:
        return added
    return pd.concat([history, added], ignore_index=True)


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
