"""Data hygiene: the records a team can't work with as they are.

Each function takes a sheet's records (the index is the sheet row, as :func:`xlcrm.load` gives
it) and returns *findings*: one row per problem with the record's ``row``, ``record`` id, the
``column`` key where a person fixes it, a ``check`` code, a ``severity`` and a ``message``.
The messages are in English unless ``words`` (the ``quality_message_*`` words of the
workbook's locale file, passed in by the caller: metrics read no files) say them otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .identity import email_key, is_email, phone_key

__all__ = [
    "FINDING_COLUMNS",
    "contact_problems",
    "dead_records",
    "findings_frame",
    "hierarchy_problems",
    "last_touch",
    "owner_problems",
    "parent_loops",
    "say",
]

FINDING_COLUMNS = ["row", "record", "column", "check", "severity", "message"]
Finding = tuple[Any, Any, str, str, str, str]
#: each message in English, by its key in the locale files' ``[owned]`` section
MESSAGES = {
    "quality_message_no_contact_data": "no e-mail and no phone: nobody can reach this record",
    "quality_message_bad_email": 'e-mail "{value}" is not an address; write it as '
                                 "name@company.com",
    "quality_message_unusable_email": 'e-mail "{value}" is not usable',
    "quality_message_bad_phone": 'phone "{value}" can\'t be a number (wrong length or no '
                                 "digits); write it with its country code, such as +39 347 "
                                 "123 4567",
    "quality_message_dead": "{what} untouched since {date} ({days} days): no activity, task or "
                            "deal; revive it or close it",
    "quality_message_orphan": 'parent account "{parent}" does not exist; fix the id or clear it',
    "quality_message_territory_mismatch": "territory {territory} differs from its parent "
                                          "{parent}'s ({parent_territory})",
    "quality_message_cycle": "parent chain loops: {chain}",
    "quality_message_no_owner": "no owner: nobody follows this record up; run `xlcrm assign`",
    "quality_message_unknown_owner": 'owner "{name}" is not a rep in Settings',
    "quality_message_inactive_owner": "owner {name} is no longer active; hand the record over",
}


def say(words: Mapping[str, str] | None, key: str, **values: Any) -> str:
    """The message ``key`` in the words given (English when they lack it), filled in."""
    return ((words or {}).get(key) or MESSAGES.get(key) or key).format(**values)


def findings_frame(rows: Iterable[Finding]) -> pd.DataFrame:
    """Return findings as a DataFrame with :data:`FINDING_COLUMNS`."""
    return pd.DataFrame(list(rows), columns=FINDING_COLUMNS)


def _text(v: Any) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def contact_problems(records: pd.DataFrame, *, region: str = "US",
                     words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Records nobody can reach: no e-mail and no phone, a malformed e-mail, an impossible phone.

    A phone is impossible when no country's numbering plan allows its length (``12345``,
    ``347-12``); it is read as a number of ``region`` unless it starts with ``+`` or ``00``.
    """
    out: list[Finding] = []
    has_email, has_phone = "email" in records, "phone" in records
    if not (has_email or has_phone):
        return findings_frame(out)
    emails = records["email"] if has_email else pd.Series(None, index=records.index)
    phones = records["phone"] if has_phone else pd.Series(None, index=records.index)
    ids = records["id"] if "id" in records else pd.Series(None, index=records.index)
    # the columns as lists, each text trimmed inline: 100k rows at a few calls each
    for row, rid, email, phone in zip(records.index, ids.tolist(), emails.tolist(),
                                      phones.tolist()):
        e = (email.strip() or None) if isinstance(email, str) else None
        p = (phone.strip() or None) if isinstance(phone, str) else None
        if has_email and has_phone and e is None and p is None:
            out.append((row, rid, "email", "no-contact-data", "warning",
                        say(words, "quality_message_no_contact_data")))
            continue
        if e is not None and not is_email(e):
            out.append((row, rid, "email", "bad-email", "warning",
                        say(words, "quality_message_bad_email", value=e)))
        elif e is not None and email_key(e) is None:
            out.append((row, rid, "email", "bad-email", "warning",
                        say(words, "quality_message_unusable_email", value=e)))
        if p is not None and phone_key(p, region) is None:
            out.append((row, rid, "phone", "bad-phone", "warning",
                        say(words, "quality_message_bad_phone", value=p)))
    return findings_frame(out)


def last_touch(ids: pd.Series, events: Iterable[tuple[pd.Series, pd.Series]]) -> pd.Series:
    """Return, per record id, the latest date among ``events`` (pairs of linked ids, dates).

    Args:
        ids: the records' ids.
        events: for each source of activity (activities, tasks, deals...), the column that
            links to the record and the column of when it happened.

    Returns:
        The latest date per record, aligned with ``ids`` (NaT when nothing ever happened).
    """
    parts = []
    for link, when in events:
        frame = pd.DataFrame({"id": link.to_numpy(), "when": pd.to_datetime(when).to_numpy()})
        parts.append(frame.dropna())
    if not parts:
        return pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns]")
    latest = pd.concat(parts).groupby("id", sort=False)["when"].max()
    return pd.Series(pd.to_datetime(ids.map(latest)), index=ids.index).astype("datetime64[ns]")


def dead_records(records: pd.DataFrame, touched: pd.Series, *, today: dt.date,
                 days: int, what: str = "record",
                 words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Records untouched for more than ``days`` days: no activity, task or deal since.

    A record counts as touched on the day it was created (a new contact is not dead), and on
    the latest date of any activity, task or deal linked to it (``touched``).
    """
    created = pd.to_datetime(records["created"]) if "created" in records else \
        pd.Series(pd.NaT, index=records.index)
    last = pd.concat([created.astype("datetime64[ns]"), touched.astype("datetime64[ns]")],
                     axis=1).max(axis=1)
    limit = pd.Timestamp(today) - pd.Timedelta(days=days)
    dead = records.index[(last < limit).to_numpy()]
    out: list[Finding] = []
    ids = records["id"] if "id" in records else pd.Series(None, index=records.index)
    for row in dead:
        idle = (pd.Timestamp(today) - last[row]).days
        out.append((row, ids[row], "id", "dead", "warning",
                    say(words, "quality_message_dead", what=what, date=f"{last[row]:%Y-%m-%d}",
                        days=idle)))
    return findings_frame(out)


def parent_loops(parent: Mapping[str, str], row_of: Mapping[str, Any]) -> list[list[str]]:
    """Each chain of parent accounts that comes back to where it started, once, written from
    its record highest in the sheet (``row_of``: id -> sheet row)."""
    loops: list[list[str]] = []
    reported: set[str] = set()
    for start in parent:
        chain, node = [start], parent.get(start)
        while node is not None and node not in chain and node in parent:
            chain.append(node)
            node = parent.get(node)
        if node is not None and node in chain:
            loop = chain[chain.index(node):]
            if reported & set(loop):
                continue
            reported |= set(loop)
            first = min(loop, key=lambda i: row_of[i])
            loops.append(loop[loop.index(first):] + loop[:loop.index(first)])
    return loops


def hierarchy_problems(accounts: pd.DataFrame,
                       words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Problems in the parent/child tree of accounts.

    - an *orphan* names a parent account that doesn't exist;
    - a *cycle* is a chain of parents that comes back to where it started;
    - a child *in another territory* than its parent splits one customer between two teams.
    """
    out: list[Finding] = []
    if "parent" not in accounts or accounts.empty:
        return findings_frame(out)
    ids = accounts["id"]
    row_of = {i: r for r, i in ids.items() if isinstance(i, str)}
    parent = {i: p.strip() for i, p in zip(ids, accounts["parent"])
              if isinstance(i, str) and isinstance(p, str) and p.strip()}
    territory = dict(zip(ids, accounts["territory"])) if "territory" in accounts else {}
    for child, par in parent.items():
        row = row_of[child]
        if par not in row_of:
            out.append((row, child, "parent", "orphan", "warning",
                        say(words, "quality_message_orphan", parent=par)))
        elif par != child:
            t_child, t_parent = territory.get(child), territory.get(par)
            if isinstance(t_child, str) and isinstance(t_parent, str) and t_child != t_parent:
                out.append((row, child, "territory", "territory-mismatch", "warning",
                            say(words, "quality_message_territory_mismatch",
                                territory=t_child, parent=par, parent_territory=t_parent)))
    for loop in parent_loops(parent, row_of):
        out.append((row_of[loop[0]], loop[0], "parent", "cycle", "error",
                    say(words, "quality_message_cycle", chain=" → ".join(loop + [loop[0]]))))
    return findings_frame(out)


def owner_problems(owners: pd.Series, ids: pd.Series, reps: Mapping[str, bool], *,
                   column: str = "owner",
                   words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Records without an owner, with an owner Settings doesn't list, or an inactive one.

    Args:
        owners: the owner (rep) of each record.
        ids: the records' ids, same index.
        reps: each rep named in Settings, with whether they are active.
        column: the key of the owner column (``owner``, or ``rep`` for the dealer's leads).
    """
    known = {name.strip().casefold(): (name, active) for name, active in reps.items()}
    out: list[Finding] = []
    for row, owner, rid in zip(owners.index, owners, ids):
        name = _text(owner)
        if name is None:
            out.append((row, rid, column, "no-owner", "warning",
                        say(words, "quality_message_no_owner")))
        elif name.casefold() not in known:
            out.append((row, rid, column, "unknown-owner", "warning",
                        say(words, "quality_message_unknown_owner", name=name)))
        elif not known[name.casefold()][1]:
            out.append((row, rid, column, "inactive-owner", "warning",
                        say(words, "quality_message_inactive_owner", name=name)))
    return findings_frame(out)
