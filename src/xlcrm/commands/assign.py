"""Owners for records nobody owns: the library twin of ``xlcrm assign``.

Accounts first, then contacts (which follow their account's owner when it has one), then the
dealer's leads: each record without an owner gets a territory (its own, its account's, or the
first Settings > Territory rules row that holds) and an active rep of that territory, round
robin (see :mod:`xlcrm.metrics.territories`). Without ``apply`` nothing is written; with it,
the owner cells (and empty territory cells) are set through the lossless writer, with a backup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..metrics.scoring import Rule, condition_names
from ..metrics.territories import Rep, TerritoryRule, assign_owners, territory_for
from ..read import Crm, bulk_work, load
from ..schema import available_locales, load_schema, normalize_header
from ..sheets.words import owned_text
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.save import SaveResult
from ..xlsx.writer import write_changes

__all__ = ["AssignResult", "assign"]

_ORDER = ("accounts", "contacts", "leads")
_COLUMNS = ["sheet", "row", "record", "cell", "owner", "territory", "reason"]


@dataclass
class AssignResult:
    """The owners proposed (and written, with ``apply``)."""

    path: Path
    proposals: pd.DataFrame
    unknown_rules: list[str] = field(default_factory=list)
    applied: bool = False
    saved: SaveResult | None = None
    #: the workbook's language (its locale code), for what is printed about the run
    locale: str = "en"

    def to_json(self) -> str:
        """The proposals as JSON: sheet, record, cell, owner, territory and reason each."""
        return json.dumps({"file": str(self.path), "applied": self.applied,
                           "unknown_rules": self.unknown_rules,
                           "proposals": self.proposals.to_dict("records")},
                          ensure_ascii=False, indent=2, default=str)


def _owner_column(crm: Crm, key: str) -> str | None:
    sheet = crm.schema.sheet(key)
    return next((c for c in ("owner", "rep") if sheet.has_column(c)), None)


def _field_names(crm: Crm, key: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in available_locales():
        schema = load_schema(crm.schema.preset, code)
        for col in schema.sheet(key).columns:
            names.setdefault(normalize_header(col.header), col.key)
            names.setdefault(normalize_header(col.key), col.key)
        if key == "contacts":
            for col in schema.sheet("accounts").columns:
                names.setdefault(normalize_header(col.header), "account." + col.key)
    for extra in crm.extras.get(key, []):
        names.setdefault(normalize_header(extra), extra)
    return names


def _rules(crm: Crm, key: str, unknown: list[str]) -> list[TerritoryRule]:
    frame = crm.settings.lists.get("territory_rules")
    if frame is None or frame.empty:
        return []
    names = _field_names(crm, key)
    conditions = condition_names()
    out = []
    for territory, fld, cond, value in zip(frame["territory"], frame["field"],
                                           frame["condition"], frame["value"]):
        if not isinstance(territory, str) or not territory.strip():
            continue
        if not isinstance(fld, str) or not fld.strip():
            out.append(TerritoryRule(territory.strip(), None))
            continue
        f = names.get(normalize_header(fld))
        c = conditions.get(normalize_header(str(cond)))
        if f is None or c is None:
            if f"{fld} {cond}" not in unknown and key == _present_sheets(crm)[-1]:
                unknown.append(f"{fld} {cond}")
            continue
        out.append(TerritoryRule(territory.strip(), Rule(f, c, "" if value is None else value,
                                                         0, fld)))
    return out


def _present_sheets(crm: Crm) -> list[str]:
    return [k for k in _ORDER if k in crm.sheet_names and _owner_column(crm, k)]


def _reps(crm: Crm) -> list[Rep]:
    frame = crm.settings.lists.get("reps")
    if frame is None or frame.empty:
        return []
    territory = frame["territory"] if "territory" in frame else pd.Series(None, index=frame.index)
    active = frame["active"] if "active" in frame else pd.Series(True, index=frame.index)
    return [Rep(str(n).strip(), t if isinstance(t, str) and t.strip() else None,
                bool(a) if pd.notna(a) else True)
            for n, t, a in zip(frame.iloc[:, 0], territory, active)
            if isinstance(n, str) and n.strip()]


def _blank(v: Any) -> bool:
    return not (isinstance(v, str) and v.strip())


@with_password
@locked_command(lambda kw: bool(kw.get("apply")))
def assign(path: str | Path, *, apply: bool = False, force: bool = False,
           backups: int = 5, password: str | None = None) -> AssignResult:
    """Propose an owner for every lead, contact and account without one; write with ``apply``.

    Args:
        path: the CRM workbook.
        apply: write the proposed owners (and empty territories) into the data sheets.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside the workbook.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    with bulk_work():
        crm = load(path)
        crm.require_xlcrm()
        words = owned_text(crm.schema).words  # the reasons in the workbook's language
        reps = _reps(crm)
        unknown: list[str] = []
        rows: list[tuple[Any, ...]] = []
        patches: dict[str, dict[tuple[int, int], Any]] = {}
        account_owner: dict[str, str] = {}
        account_territory: dict[str, str] = {}
        if "accounts" in crm.tables:
            accounts = crm.tables["accounts"]
            for i, o, t in zip(accounts["id"], accounts.get("owner", pd.Series(dtype=object)),
                               accounts.get("territory", pd.Series(dtype=object))):
                if isinstance(i, str) and not _blank(o):
                    account_owner[i] = str(o).strip()
                if isinstance(i, str) and not _blank(t):
                    account_territory[i] = str(t).strip()
        for key in _present_sheets(crm):
            owner_col = _owner_column(crm, key)
            assert owner_col is not None
            frame = crm.tables[key]
            if frame.empty:
                continue
            todo = frame[frame[owner_col].map(_blank).to_numpy() & frame["id"].notna().to_numpy()]
            if todo.empty:
                continue
            name = crm.sheet_names[key]
            fields = todo.copy()
            if "account" in fields and "accounts" in crm.tables:
                accounts = crm.tables["accounts"]
                for col in accounts.columns:
                    fields["account." + col] = fields["account"].map(
                        dict(zip(accounts["id"], accounts[col])))
            inherited = (fields["account"].map(account_owner) if "account" in fields
                         else pd.Series(None, index=fields.index, dtype=object))
            own = fields["territory"] if "territory" in fields else pd.Series(
                None, index=fields.index, dtype=object)
            territory = own.where(~own.map(_blank), None)
            if "account" in fields:
                territory = territory.fillna(fields["account"].map(account_territory))
            ruled = territory_for(fields, _rules(crm, key, unknown))
            territory = territory.where(territory.notna(), ruled)
            load_now = frame[owner_col].value_counts().to_dict()
            free = inherited.isna()
            picked = assign_owners(territory[free], reps, {str(k): int(v)
                                                          for k, v in load_now.items()},
                                   words=words)
            for row in fields.index:
                if not free[row]:
                    owner, reason = inherited[row], (words.get("assign_account_owner") or
                                                     "owner of account {account}").format(
                        account=fields.at[row, "account"])
                else:
                    owner, reason = picked.at[row, "owner"], picked.at[row, "reason"]
                if owner is None:
                    continue
                t = territory[row]
                rows.append((name, int(row), fields.at[row, "id"],
                             f"{name}!{crm.cell(key, owner_col, int(row))}", owner, t, reason))
                cells = patches.setdefault(name, {})
                cells[(int(row) - 1, crm.columns[key][owner_col])] = owner
                if key == "accounts":
                    account_owner[str(fields.at[row, "id"])] = str(owner)
                if "territory" in crm.columns[key] and _blank(own[row]) and isinstance(t, str):
                    cells[(int(row) - 1, crm.columns[key]["territory"])] = t
        result = AssignResult(Path(path), pd.DataFrame(rows, columns=_COLUMNS), unknown,
                              locale=crm.schema.locale.code)
        if apply and rows:
            result.saved = write_changes(path, {}, patches, force=force, backups=backups,
                                         identities=crm.sheet_names)
            result.applied = True
        return result
