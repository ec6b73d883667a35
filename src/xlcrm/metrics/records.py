"""What the report and the agenda need to know about a workbook's records, whatever the preset.

Which sheet moves through the Settings stages (Deals, or the dealer's Leads), whether a record
is open, won or lost, the name a person reads for a record id, and each record's last
interaction. The schema says which columns link which sheets, so nothing here names a preset.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from ..crm import Crm
from ..schema import Schema, Sheet, item_labels
from .funnel import stage_rules

__all__ = ["last_touches", "lead_sheet", "outcome_labels", "outcomes", "rep_column",
           "record_names", "stage_sheet"]


def stage_sheet(crm: Crm | Schema) -> Sheet | None:
    """The sheet whose records move through the Settings stages (Deals, or the dealer's Leads)."""
    schema = crm.schema if isinstance(crm, Crm) else crm
    for sheet in schema.data_sheets:
        if sheet.has_column("stage") and sheet.column("stage").list == "stages":
            return sheet
    return None


def lead_sheet(crm: Crm) -> Sheet:
    """The sheet whose records are the tally's leads (Leads, or the b2b Contacts)."""
    return crm.schema.sheet(crm.settings.milestones[0].sheet)


def rep_column(sheet: Sheet) -> str | None:
    """The column naming the rep who owns a record (``rep`` or ``owner``), if the sheet has one."""
    for key in ("rep", "owner"):
        if sheet.has_column(key):
            return key
    return None


def outcome_labels() -> dict[str, str]:
    """Each outcome label of Settings, in every shipped language, -> open, won or lost."""
    return {label: key for key in ("open", "won", "lost")
            for label in item_labels("outcomes", key)}


def outcomes(crm: Crm, records: pd.DataFrame, column: str = "stage") -> pd.Series:
    """Each record's outcome from its stage: ``open``, ``won`` or ``lost``.

    A record whose stage is empty or not in Settings counts as open: it is still being worked
    until someone closes it.
    """
    frame = crm.settings.lists.get("stages")
    rules = stage_rules(frame, outcome_labels()) if frame is not None else []
    by_name = {r.name.casefold().strip(): r.outcome for r in rules}
    if column not in records:
        return pd.Series("open", index=records.index, dtype="object")
    # a few stages in 100k rows: each distinct value is looked up once
    codes, values = pd.factorize(records[column].to_numpy(dtype=object))
    found = [by_name.get(str(v).casefold().strip(), "open") if isinstance(v, str) else "open"
             for v in values]
    return pd.Series(np.array([*found, "open"], dtype=object)[codes], index=records.index,
                     dtype="object")


def record_names(crm: Crm, only: Collection[str] | None = None) -> dict[str, str]:
    """Record id -> the name a person reads: "Laura Díaz", "Acme Ltd", a deal's name.

    With ``only``, the names of those ids alone (the same names, without naming 100k records
    to look a few up)."""
    names: dict[str, str] = {}
    for sheet in crm.schema.data_sheets:
        table = crm.tables.get(sheet.key)
        if table is None or table.empty or "id" not in table:
            continue
        if only is not None:
            table = table[table["id"].astype(str).isin(set(only)).to_numpy()]
        if "last_name" in table:
            first = table["first_name"].fillna("").astype(str) if "first_name" in table else ""
            full = (first + " " + table["last_name"].fillna("").astype(str)).str.strip()
        elif "name" in table:
            full = table["name"].fillna("").astype(str)
        else:
            continue
        # as lists: iterating a text column cell by cell is slow
        names.update(zip(table["id"].astype(str).tolist(), full.tolist()))
    return names


def last_touches(crm: Crm) -> pd.DataFrame:
    """Each record's latest activity, indexed by the record id it links to.

    Columns ``date`` and ``what`` ("Call, outbound: Call, no answer"). An activity that links
    several records (a contact and a deal) counts for each of them.
    """
    acts = crm.tables.get("activities")
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"),
                          "what": pd.Series(dtype="object")})
    if acts is None or acts.empty or "date" not in acts:
        return empty
    links = [c.key for c in crm.schema.sheet("activities").columns
             if c.type == "link" and c.key in acts]
    frames = []
    for link in links:
        part = acts[acts[link].notna()]
        latest = part.sort_values("date", kind="stable").drop_duplicates(link, keep="last")
        frames.append(latest.set_index(latest[link].astype(str)))
    if not frames:
        return empty
    latest = pd.concat(frames).sort_values("date", kind="stable")
    latest = latest[~latest.index.duplicated(keep="last")]

    # column by column, not row by row: a row-wise apply took seconds at 100k activities
    def column(key: str) -> list[object]:
        return latest[key].tolist() if key in latest else [None] * len(latest)

    def describe(kind_of: object, direction: object, subject: object) -> str:
        kind = ", ".join(str(v).lower() if i else str(v)
                         for i, v in enumerate((kind_of, direction)) if isinstance(v, str))
        return f"{kind}: {subject}" if isinstance(subject, str) and subject else kind

    said: dict[tuple[str | None, str | None, str | None], str] = {}  # kinds, subjects repeat

    def described(kind_of: object, direction: object, subject: object) -> str:
        key = (kind_of if isinstance(kind_of, str) else None,
               direction if isinstance(direction, str) else None,
               subject if isinstance(subject, str) else None)
        if key not in said:
            said[key] = describe(*key)
        return said[key]

    what = [described(*values) for values in zip(column("type"), column("direction"),
                                                  column("subject"))]
    return pd.DataFrame({"date": pd.to_datetime(latest["date"]),
                         "what": pd.Series(what, index=latest.index, dtype="object")
                         if not latest.empty else pd.Series(dtype="object")},
                        index=latest.index)
