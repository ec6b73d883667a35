"""A rep's agenda for one day: what is due, what is late, what nobody is following up.

Pure functions: tables (or a loaded workbook) in, one flat agenda table out, so the terminal,
the HTML page and the Agenda sheet all show the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..crm import Crm
from .person import erased_ids, without_consent
from .records import last_touches, lead_sheet, outcomes, record_names, rep_column, stage_sheet

__all__ = ["AGENDA_COLUMNS", "SECTIONS", "SECTION_TITLES", "agenda_items", "build_agenda"]

#: the agenda's sections, in the order a rep works through them
SECTIONS = ("due", "overdue", "no_next_task", "not_contacted")
#: how each agenda section is titled wherever it is shown
SECTION_TITLES = {
    "due": "Due", "overdue": "Overdue", "no_next_task": "No next task",
    "not_contacted": "Waiting for first contact",
}
#: what an agenda row says, in English; the workbook's language replaces them (``[owned]``)
_PHRASES = {
    "agenda_task": "Task", "agenda_late_one": "{subject} ({late} day late)",
    "agenda_late_other": "{subject} ({late} days late)", "agenda_plan": "{stage}: plan a next step",
    "agenda_no_consent": "(their request only: no marketing consent)",
    "agenda_hours": "{n} hours", "agenda_days": "{n} days",
    "agenda_waiting": "no two-way contact yet, waiting {wait}",
}
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
                 threshold_hours: float, rep: str | None = None,
                 no_marketing: Collection[str] = (),
                 words: Mapping[str, str] | None = None) -> pd.DataFrame:
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
        no_marketing: ids of people who gave no marketing consent: a next step planned for
            them is about their own request only, and the agenda says so.

    Returns:
        A table with :data:`AGENDA_COLUMNS`, sorted by rep, section, then time.
    """
    phrases = {**_PHRASES, **(words or {})}

    def say(key: str, **values: Any) -> str:
        return phrases[key].format(**values)

    day_ts = pd.Timestamp(day)
    rows: list[dict[str, object]] = []

    # looked up in plain dicts: a .loc per agenda line took seconds at 100k records
    # by position: only the records on the agenda have their last date made a timestamp
    touches = dict(zip(last_touch.index.tolist(), range(len(last_touch))))
    dates = last_touch["date"]
    timed = isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"
    touch_dates = dates.to_numpy() if timed else dates.tolist()
    touch_whats = last_touch["what"].tolist()

    def client(record: object) -> tuple[object, object, object]:
        key = record if type(record) is str else \
            str(record) if record is not None and not pd.isna(record) else ""
        name = names.get(key, "") if key else ""
        if key and key in touches:
            at = touches[key]
            return (name, pd.Timestamp(touch_dates[at]) if timed else touch_dates[at],
                    touch_whats[at])
        return name, pd.NaT, ""

    todo = tasks[~_is_done(tasks["done"])] if not tasks.empty else tasks
    if not todo.empty:
        due = pd.to_datetime(todo["due_date"]).dt.normalize()
        reps = _rep_key(todo["rep"])
        # each column read once as a list: a .at per cell took seconds at 100k tasks
        def picked(mask: pd.Series) -> Iterator[tuple[Any, ...]]:
            part = todo[mask]
            return zip(reps[mask].tolist(), due[mask].tolist(), part["record"].tolist(),
                       part["due_time"].tolist(), part["subject"].tolist())

        for rep_name, _, record, due_time, subject in picked(due == day_ts):
            name, last, what = client(record)
            rows.append({"rep": rep_name, "section": "due",
                         "when": _at(day_ts, due_time),
                         "record": record, "client": name,
                         "what": subject, "last_date": last, "last_what": what,
                         "_order": 0 if isinstance(due_time, dt.time) else 1})
        for rep_name, due_day, record, _, subject in picked(due < day_ts):
            name, last, what = client(record)
            late = (day_ts - due_day).days
            rows.append({"rep": rep_name, "section": "overdue", "when": due_day,
                         "record": record, "client": name,
                         "what": say("agenda_late_one" if late == 1 else "agenda_late_other",
                                     subject=subject or say("agenda_task"), late=late),
                         "last_date": last, "last_what": what, "_order": 0})
    planned = set(todo["record"].dropna().astype(str).tolist()) if not todo.empty else set()
    if not open_records.empty:
        stalled = open_records[~open_records["id"].astype(str).isin(planned)]
        for rep_name, record, stage in zip(_rep_key(stalled["rep"]).tolist(),
                                           stalled["id"].tolist(), stalled["stage"].tolist()):
            name, last, what = client(record)
            rows.append({"rep": rep_name, "section": "no_next_task", "when": last,
                         "record": record, "client": name,
                         "what": say("agenda_plan", stage=stage) + (
                             " " + say("agenda_no_consent")
                             if str(record) in no_marketing else ""),
                         "last_date": last, "last_what": what, "_order": 0})
    if not leads.empty:
        limit = pd.Timestamp(now) - pd.Timedelta(hours=float(threshold_hours))
        created = pd.to_datetime(leads["created"])
        waiting = leads[leads["open"].astype(bool) & leads["contacted"].isna()
                        & (created <= limit)]
        for rep_name, record, since in zip(_rep_key(waiting["rep"]).tolist(),
                                           waiting["id"].tolist(),
                                           created[waiting.index].tolist()):
            name, last, what = client(record)
            hours = (pd.Timestamp(now) - since).total_seconds() / 3600
            wait = say("agenda_hours", n=f"{hours:.0f}") if hours < 48 \
                else say("agenda_days", n=f"{hours / 24:.0f}")
            rows.append({"rep": rep_name, "section": "not_contacted", "when": since,
                         "record": record, "client": name,
                         "what": say("agenda_waiting", wait=wait),
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


def build_agenda(crm: Crm, *, day: dt.date, now: dt.datetime, steps: pd.DataFrame,
                 rep: str | None = None) -> pd.DataFrame:
    """Collect the agenda of a loaded workbook for ``day`` (see :func:`agenda_items` for what
    each section holds).

    Args:
        crm: the loaded workbook.
        day: the day the agenda is for.
        now: the moment waiting times are measured to.
        steps: the date each lead reached each milestone, indexed by the lead sheet's rows
            (columns ``lead`` and ``contact`` are read), as the weekly tally collects them.
        rep: only this rep's agenda (any case); None for everybody's.
    """
    tasks = crm.tables.get("tasks", pd.DataFrame())
    owner = rep_column(crm.schema.sheet("tasks")) if "tasks" in crm.tables else None
    if tasks.empty or owner is None:
        tasks = pd.DataFrame(columns=["id", "due_date", "due_time", "rep", "record", "subject",
                                      "done"])
    else:
        tasks = tasks.rename(columns={owner: "rep"})
        for column in ("due_time", "record", "subject", "done"):
            if column not in tasks:
                tasks[column] = None
    open_records = pd.DataFrame(columns=["id", "rep", "stage"])
    sheet = stage_sheet(crm)
    if sheet is not None and sheet.key in crm.tables:
        records = crm.tables[sheet.key]
        owner = rep_column(sheet)
        is_open = outcomes(crm, records) == "open"
        open_records = pd.DataFrame({
            "id": records["id"], "stage": records["stage"],
            "rep": records[owner] if owner else None})[is_open]
    lsheet = lead_sheet(crm)
    leads_table = crm.tables.get(lsheet.key, pd.DataFrame())
    leads = pd.DataFrame(columns=["id", "rep", "created", "contacted", "open"])
    if not leads_table.empty:
        lead_owner = rep_column(lsheet)
        status = outcomes(crm, leads_table, "stage") if "stage" in leads_table else \
            pd.Series("open", index=leads_table.index)
        leads = pd.DataFrame({
            "id": leads_table["id"], "rep": leads_table[lead_owner] if lead_owner else None,
            "created": steps["lead"].reindex(leads_table.index),
            "contacted": steps["contact"].reindex(leads_table.index),
            "open": (status == "open") & leads_table["sold"].isna()
            if "sold" in leads_table else status == "open"})
        leads = leads[leads["created"].notna()]
    # b2b: a deal is worked through its contact, whose consent and erasure the deal carries
    deals = crm.tables.get(sheet.key, pd.DataFrame()) if sheet is not None and \
        sheet.key != lsheet.key else pd.DataFrame()

    def through_deals(people: set[str]) -> set[str]:
        if "contact" not in deals or not people:
            return people
        return people | {str(i) for i, c in zip(deals["id"], deals["contact"])
                         if str(c) in people}

    # a person erased by `xlcrm forget` is never suggested for contact again, nor their deals
    gone = through_deals(erased_ids(leads_table))
    if gone:
        tasks = tasks[~tasks["record"].astype(str).isin(gone)]
        open_records = open_records[~open_records["id"].astype(str).isin(gone)]
        leads = leads[~leads["id"].astype(str).isin(gone)]
    threshold = crm.settings.options.get("uncontacted_hours", 24)
    try:
        hours = float(threshold)
    except (TypeError, ValueError):
        hours = 24.0
    no_marketing = through_deals(without_consent(leads_table))
    return agenda_items(tasks, day=day, now=now, open_records=open_records, leads=leads,
                        last_touch=last_touches(crm), names=record_names(crm),
                        threshold_hours=hours, rep=rep, no_marketing=no_marketing,
                        words=crm.schema.locale.sections.get("owned", {}))
