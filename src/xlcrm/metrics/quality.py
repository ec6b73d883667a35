"""What makes a CRM untrustworthy, found in a loaded workbook: the logic of ``xlcrm clean``.

- duplicate people (leads, contacts) and companies (accounts), in groups, each with a score
  and the reason (see :mod:`xlcrm.metrics.duplicates`);
- records nobody can reach (no e-mail and no phone, a malformed e-mail, an impossible phone);
- dead accounts, contacts and leads: no activity, task or deal for the days Settings says;
- account hierarchy problems: orphans, cycles, a child in another territory than its parent;
- records with no owner, or an owner Settings doesn't list.

Pure: a loaded workbook in, groups and findings out. The clean command writes them to the Data
quality sheet; the weekly report counts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from ..crm import Crm
from ..schema import Sheet
from .duplicates import find_duplicates, group_pairs
from .hygiene import (
    contact_problems,
    dead_records,
    hierarchy_problems,
    last_touch,
    owner_problems,
)

__all__ = ["CHECK_NAMES", "DUPLICATE_SHEETS", "DuplicateGroup", "Finding", "count_findings",
           "find_groups", "find_problems"]

#: the sheets searched for duplicates, and whether their records are people or companies
DUPLICATE_SHEETS: dict[str, Literal["person", "company"]] = {
    "leads": "person", "contacts": "person", "accounts": "company"}
#: what each check is called wherever its findings are shown or counted
CHECK_NAMES = {
    "no-contact-data": "No way to reach", "bad-email": "Malformed e-mail",
    "bad-phone": "Impossible phone", "dead": "Dead record", "orphan": "Orphan account",
    "cycle": "Hierarchy loop", "territory-mismatch": "Child in another territory",
    "no-owner": "No owner", "unknown-owner": "Owner not in Settings",
    "inactive-owner": "Inactive owner",
}


@dataclass
class DuplicateGroup:
    """Records of one sheet that look like one person (or company), oldest first."""

    sheet: str
    ids: list[str]
    score: float
    reasons: dict[str, str]  # id -> why it matches the group (the oldest: empty)
    marked: list[str] = field(default_factory=list)

    @property
    def kept(self) -> str:
        """The id a merge keeps: the oldest record's."""
        return self.ids[0]

    def to_dict(self) -> dict[str, Any]:
        """The group as plain data (for ``--format json``)."""
        return {"sheet": self.sheet, "ids": self.ids, "kept": self.kept, "score": self.score,
                "reasons": self.reasons, "marked": self.marked}


@dataclass(frozen=True)
class Finding:
    """One problem with one record, pointing at the cell where a person fixes it."""

    check: str
    severity: str
    sheet: str
    cell: str
    record: str
    message: str

    @property
    def where(self) -> str:
        """``Sheet!F12``."""
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    def __str__(self) -> str:
        return f"{self.where} ({self.record}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain data (for ``--format json``)."""
        return {**asdict(self), "where": self.where}


def count_findings(groups: list[DuplicateGroup], findings: list[Finding]) -> dict[str, int]:
    """How many findings of each check (by its :data:`CHECK_NAMES` name), duplicates first."""
    out = {"duplicate groups": len(groups)}
    for f in findings:
        name = CHECK_NAMES.get(f.check, f.check)
        out[name] = out.get(name, 0) + 1
    return out


def _owner_column(sheet: Sheet) -> str | None:
    for key in ("owner", "rep"):
        if sheet.has_column(key):
            return key
    return None


def _search_frame(crm: Crm, key: str) -> pd.DataFrame:
    frame = crm.tables[key]
    if key == "contacts" and "account" in frame and "accounts" in crm.tables:
        accounts = crm.tables["accounts"]
        names = dict(zip(accounts["id"], accounts["name"]))
        frame = frame.assign(company=frame["account"].map(names))
    order = pd.to_datetime(frame["created"]) if "created" in frame else None
    if order is not None:  # oldest first, undated last, then sheet order
        frame = frame.assign(_order=order).sort_values("_order", kind="stable",
                                                       na_position="last")
    return frame


def find_groups(crm: Crm, words: Mapping[str, str] | None = None
                ) -> tuple[list[DuplicateGroup], dict[str, int]]:
    """Search each people and company sheet for duplicates; return the groups, oldest first,
    each reason in ``words`` (the workbook language's ``[owned]`` words; English when None)."""
    region = str(crm.settings.options.get("phone_region") or "US")
    groups: list[DuplicateGroup] = []
    compared: dict[str, int] = {}
    for key, kind in DUPLICATE_SHEETS.items():
        if key not in crm.sheet_names or crm.tables[key].empty:
            continue
        frame = _search_frame(crm, key)
        frame = frame[frame["id"].notna()]
        search = find_duplicates(frame, kind=kind, region=region, words=words)
        compared[key] = search.compared
        order = [str(i) for i in frame["id"]]
        best: dict[str, tuple[float, str]] = {}
        for a, b, score, reason in search.pairs.itertuples(index=False):
            for one in (a, b):
                if score > best.get(one, (0.0, ""))[0]:
                    best[one] = (score, reason)
        for ids in group_pairs(search.pairs, order):
            reasons = {i: best[i][1] for i in ids[1:]}
            groups.append(DuplicateGroup(key, ids, max(best[i][0] for i in ids), reasons))
    return groups, compared


def find_problems(crm: Crm, *, today: dt.date,
                  words: Mapping[str, str] | None = None) -> list[Finding]:
    """Every finding but duplicates (see the module docstring), sorted by sheet and row, each
    message in ``words`` (the workbook language's ``[owned]`` words; English when None)."""
    region = str(crm.settings.options.get("phone_region") or "US")
    days = int(crm.settings.options.get("dead_after_days") or 365)
    reps_frame = crm.settings.lists.get("reps")
    reps: dict[str, bool] = {}
    if reps_frame is not None and not reps_frame.empty:
        active = reps_frame["active"] if "active" in reps_frame else pd.Series(True,
                                                                             index=reps_frame.index)
        reps = {str(n).strip(): bool(a) if pd.notna(a) else True  # blank: active
                for n, a in zip(reps_frame.iloc[:, 0], active) if isinstance(n, str) and n.strip()}
    out: list[Finding] = []

    def add(key: str, frame: pd.DataFrame) -> None:
        name = crm.sheet_names[key]
        for row, record, column, check, severity, message in frame.itertuples(index=False):
            out.append(Finding(check, severity, name, crm.cell(key, column, int(row)),
                               str(record) if isinstance(record, str) else "", message))

    touches = _touches(crm)
    for sheet in crm.schema.data_sheets:
        key = sheet.key
        if key not in crm.sheet_names or key not in DUPLICATE_SHEETS:
            continue
        records = crm.tables[key]
        if records.empty:
            continue
        if key != "accounts":
            add(key, contact_problems(records, region=region, words=words))
        else:
            add(key, contact_problems(records[["id", "phone"]], region=region, words=words)
                if "phone" in records else contact_problems(records.iloc[:, :0]))
            add(key, hierarchy_problems(records, words))
        noun = {"leads": "lead", "contacts": "contact", "accounts": "account"}[key]
        what = (words or {}).get(f"quality_what_{noun}", noun)
        add(key, dead_records(records, last_touch(records["id"], touches.get(key, [])),
                              today=today, days=days, what=what, words=words))
        owner = _owner_column(sheet)
        if owner and reps:
            add(key, owner_problems(records[owner], records["id"], reps, column=owner,
                                    words=words))
    order = {name: i for i, name in enumerate(crm.sheet_names.values())}
    return sorted(out, key=lambda f: (order.get(f.sheet, 99), _row_of(f.cell), f.check))


def _row_of(cell: str) -> int:
    digits = "".join(ch for ch in cell if ch.isdigit())
    return int(digits) if digits else 0


def _touches(crm: Crm) -> dict[str, list[tuple[pd.Series, pd.Series]]]:
    """Per people/company sheet, (link, date) pairs of everything that happened to a record:
    its activities, tasks and deals (and, for an account, those of its contacts)."""
    out: dict[str, list[tuple[pd.Series, pd.Series]]] = {}
    dates = {"activities": ["date"], "tasks": ["due_date", "done_date"],
             "deals": ["created", "close_date"], "tickets": ["date", "closed"]}
    for sheet in crm.schema.data_sheets:
        frame = crm.tables.get(sheet.key)
        if sheet.key not in dates or frame is None or frame.empty:
            continue
        for col in sheet.columns:
            if col.type != "link":
                continue
            for target in col.ref:
                if target not in DUPLICATE_SHEETS:
                    continue
                for when in dates[sheet.key]:
                    if when in frame:
                        out.setdefault(target, []).append((frame[col.key], frame[when]))
                        if target == "contacts" and "contacts" in crm.tables:
                            # what happens to a contact happens to its account
                            account = frame[col.key].map(dict(zip(
                                crm.tables["contacts"]["id"],
                                crm.tables["contacts"].get("account", pd.Series(dtype=object)))))
                            out.setdefault("accounts", []).append((account, frame[when]))
    if "contacts" in crm.tables and "account" in crm.tables["contacts"]:
        contacts = crm.tables["contacts"]
        out.setdefault("accounts", []).append((contacts["account"], contacts["created"]))
    return out
