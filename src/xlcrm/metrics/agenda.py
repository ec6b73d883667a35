"""A rep's agenda for one day: what is due, what is late, what nobody is following up.

Pure functions: tables in, one flat agenda table out, so the terminal, the HTML page and the
Agenda sheet all show the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["AGENDA_COLUMNS", "SECTIONS", "agenda_items"]

#: the agenda's sections, in the order a rep works through them
SECTIONS = ("due", "overdue", "no_next_task", "not_contacted")
#: columns of the agenda table
AGENDA_COLUMNS = ["rep", "section", "when", "record", "client", "what", "last_date",
                  "last_what"]
UNASSIGNED = "(unassigned)"


def _rep_key(values: pd.Series) -> pd.Series:
    text = values.astype("object").where(values.notna(), None)
    return text.map(lambda v: str(v).strip() if v is not None and str(v).strip()
                    else UNASSIGNED)


def _is_done(values: pd.Series) -> pd.Series:
    return values.astype("object").map(lambda v: v is True or (
        isinstance(v, (int, float, np.bool_)) and not pd.isna(v) and bool(v)))


def _at(day: pd.Timestamp, time: object) -> pd.Timestamp:
    if isinstance(time, dt.time):
        return day + pd.Timedelta(hours=time.hour, minutes=time.minute, seconds=time.second)
    if isinstance(time, (pd.Timedelta, dt.timedelta)):
        return day + pd.Timedelta(time)
    return day


def agenda_items(tasks: pd.DataFrame, *, day: dt.date, now: dt.datetime,
                 open_records: pd.DataFrame, leads: pd.DataFrame,
                 last_touch: pd.DataFrame, names: Mapping[str, str],
                 threshold_hours: float, rep: str | None = None) -> pd.DataFrame:
    """Return the agenda for ``day``: one row per thing a rep should do, grouped by rep.

    The sections, in order:

    - ``due``: tasks not done that are due on ``day``, in time order (tasks without a time
      last);
    - ``overdue``: tasks not done that were due before ``day``, oldest first;
    - ``no_next_task``: records in an open stage with no open task at all, so nobody will
      call them back unless someone plans it;
    - ``not_contacted``: leads still open, never contacted (no two-way contact), that arrived
      more than ``threshold_hours`` before ``now``, newest first (a lead answers most
      readily in its first hours).

    Args:
        tasks: columns ``id``, ``due_date``, ``due_time`` (a time or empty), ``rep``,
            ``record`` (the linked record's id), ``subject``, ``done``.
        day: the day the agenda is for (usually tomorrow).
        now: the moment "waiting since" is measured to.
        open_records: the records in an open stage: ``id``, ``rep``, ``stage``.
        leads: ``id``, ``rep``, ``created``, ``contacted`` (date or NaT), ``open`` (bool).
        last_touch: each record's last activity, indexed by record id: ``date``, ``what``.
        names: record id -> the client's name as a person reads it.
        threshold_hours: how long a new lead may wait for its first contact.
        rep: only this rep's agenda (any case); None for everybody's.

    Returns:
        A table with :data:`AGENDA_COLUMNS`, sorted by rep, section, then time.
    """
    day_ts = pd.Timestamp(day)
    rows: list[dict[str, object]] = []

    def client(record: object) -> tuple[object, object, object]:
        key = str(record) if record is not None and not pd.isna(record) else ""
        name = names.get(key, "") if key else ""
        if key and key in last_touch.index:
            touch = last_touch.loc[key]
            return name, touch["date"], touch["what"]
        return name, pd.NaT, ""

    todo = tasks[~_is_done(tasks["done"])] if not tasks.empty else tasks
    if not todo.empty:
        due = pd.to_datetime(todo["due_date"]).dt.normalize()
        reps = _rep_key(todo["rep"])
        for i in todo.index[due == day_ts]:
            name, last, what = client(todo.at[i, "record"])
            rows.append({"rep": reps[i], "section": "due",
                         "when": _at(day_ts, todo.at[i, "due_time"]),
                         "record": todo.at[i, "record"], "client": name,
                         "what": todo.at[i, "subject"], "last_date": last, "last_what": what,
                         "_order": 0 if isinstance(todo.at[i, "due_time"], dt.time) else 1})
        for i in todo.index[due < day_ts]:
            name, last, what = client(todo.at[i, "record"])
            late = (day_ts - due[i]).days
            subject = todo.at[i, "subject"]
            rows.append({"rep": reps[i], "section": "overdue", "when": due[i],
                         "record": todo.at[i, "record"], "client": name,
                         "what": f"{subject or 'Task'} ({late} day{'s' * (late != 1)} late)",
                         "last_date": last, "last_what": what, "_order": 0})
    planned = set(todo["record"].dropna().astype(str)) if not todo.empty else set()
    if not open_records.empty:
        stalled = open_records[~open_records["id"].astype(str).isin(planned)]
        for rep_name, record, stage in zip(_rep_key(stalled["rep"]), stalled["id"],
                                           stalled["stage"]):
            name, last, what = client(record)
            rows.append({"rep": rep_name, "section": "no_next_task", "when": last,
                         "record": record, "client": name, "what": f"{stage}: plan a next step",
                         "last_date": last, "last_what": what, "_order": 0})
    if not leads.empty:
        limit = pd.Timestamp(now) - pd.Timedelta(hours=float(threshold_hours))
        created = pd.to_datetime(leads["created"])
        waiting = leads[leads["open"].astype(bool) & leads["contacted"].isna()
                        & (created <= limit)]
        for rep_name, record, since in zip(_rep_key(waiting["rep"]), waiting["id"],
                                           created[waiting.index]):
            name, last, what = client(record)
            hours = (pd.Timestamp(now) - since).total_seconds() / 3600
            wait = f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
            rows.append({"rep": rep_name, "section": "not_contacted", "when": since,
                         "record": record, "client": name,
                         "what": f"no two-way contact yet, waiting {wait}",
                         "last_date": last, "last_what": what, "_order": 0})
    frame = pd.DataFrame(rows, columns=[*AGENDA_COLUMNS, "_order"])
    if rep is not None:
        frame = frame[frame["rep"].str.casefold() == rep.strip().casefold()]
    frame["_section"] = frame["section"].map(SECTIONS.index)
    when = pd.to_datetime(frame["when"])
    # waiting leads newest first: a lead is most likely to answer in its first hours
    stamp = when.astype("int64").astype("float64").where(when.notna())
    frame["_when"] = stamp.where(frame["section"] != "not_contacted", -stamp)
    frame["_nobody"] = frame["rep"] == UNASSIGNED  # the unassigned come last
    frame = frame.sort_values(["_nobody", "rep", "_section", "_order", "_when", "record"],
                              kind="stable", na_position="last")
    return frame[AGENDA_COLUMNS].reset_index(drop=True)
