"""The checks across records of a loaded workbook: what ``xlcrm check`` adds to reading.

Reading problems (a header missing, a date that isn't one) come from :func:`xlcrm.load`; these
checks look across records: required values, values outside the Settings lists, dates in the
future where that can't be, duplicate ids, links to records that don't exist, loops in the
account hierarchy, and a two-way contact logged but not marked (or marked later). Pure: a loaded
workbook in, issues out; the command and the report both call :func:`validate`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from typing import Any

import pandas as pd

from ..crm import Crm
from ..issues import Issue, column_letter
from ..schema import Sheet, item_labels, normalize_header
from .hygiene import parent_loops
from .identity import phone_key
from .tally import first_replies

__all__ = ["validate"]

#: what a phone number looks like as people type it: digits, spaces, + ( ) . - /, a tel: prefix
_PHONE_SHAPE = r"(?i:tel:)?\s*\+?[\d\s().\-/]+"
# lists whose unknown values break the numbers (the funnel needs each stage's probability)
_STRICT_LISTS = frozenset({"stages"})


def validate(crm: Crm, *, today: dt.date | None = None) -> list[Issue]:
    """Return the problems across records of a loaded workbook (see the module docstring)."""
    today = today or dt.date.today()
    issues: list[Issue] = []
    already = {(i.sheet, i.cell) for i in crm.issues if i.cell}  # unreadable cells, reported
    ids: dict[str, set[str]] = {}
    for sheet, _, _ in crm.present_sheets():
        ids[sheet.key] = _check_ids(crm, sheet, issues)
    for sheet, frame, name in crm.present_sheets():
        for col in sheet.columns:
            if col.key not in crm.columns[sheet.key] or frame.empty:
                continue
            c = crm.columns[sheet.key][col.key]
            values = frame[col.key]
            if col.required and col.type != "id":
                for row in values.index[values.isna()]:
                    if (name, f"{column_letter(c)}{row}") in already:
                        continue
                    issues.append(Issue(name, f"{column_letter(c)}{row}", "error", "required",
                                        f"{col.header.lower()} is empty; it is required",
                                        int(row), c))
            if col.type == "choice" and col.list:
                _check_choices(crm, name, col.header, col.list, values, c, issues)
            elif col.type == "phone":
                _check_phones(crm, name, col.header, values, c, issues)
            elif col.type == "link":
                known = set().union(*(ids.get(ref, set()) for ref in col.ref))
                targets = " or ".join(crm.sheet_names.get(r, crm.schema.sheet(r).name)
                                      for r in col.ref)
                dangling = values[values.notna() & ~values.isin(known)]
                for row, value in dangling.items():
                    if isinstance(value, str):
                        issues.append(Issue(name, f"{column_letter(c)}{row}", "error",
                                            "dangling-link", f'{col.header.lower()} "{value}" '
                                            f"does not exist in {targets}", int(str(row)), c))
            elif col.past and col.type in ("date", "datetime"):
                limit = pd.Timestamp(today) + pd.Timedelta(days=1)
                for row, value in values[values >= limit].items():
                    issues.append(Issue(name, f"{column_letter(c)}{row}", col.past,  # type: ignore[arg-type]
                                        "future-date", f"{col.header.lower()} "
                                        f"{value:%Y-%m-%d} is in the future", int(str(row)), c))
    if "accounts" in crm.sheet_names and crm.schema.sheet("accounts").has_column("parent"):
        _check_parent_cycles(crm, issues)
    _check_contacts(crm, issues)
    return issues


def _check_phones(crm: Crm, name: str, header: str, values: pd.Series, c: int,
                  issues: list[Issue]) -> None:
    """A phone that can't be one (``abc``, ``=1+2``, ``12345``, ``0000000000``): nobody can
    call it and no CRM takes it. Its shape decides, for every row at once (letters, too few or
    too many digits, one digit repeated); each suspect is then read as a number of Settings'
    phone region (unless it has ``+``) before it is reported. Whether a well-shaped number's
    length suits its country is ``xlcrm clean``'s finer check."""
    region = str(crm.settings.options.get("phone_region") or "US")
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    digits = text.str.replace(r"\D", "", regex=True)
    count = digits.str.len()
    suspect = ~text.str.fullmatch(_PHONE_SHAPE) | (count < 6) | (count > 15) | \
        digits.str.fullmatch(r"(\d)\1*")
    for row, value in text[suspect].items():
        if phone_key(value, region) is None:
            issues.append(Issue(name, f"{column_letter(c)}{row}", "warning", "bad-phone",
                                f'{header.lower()} "{value}" is not a phone number of {region} '
                                "or with a country code; write it as +39 347 123 4567",
                                int(str(row)), c))


def _check_contacts(crm: Crm, issues: list[Issue]) -> None:
    """The two sources of truth for a two-way contact must agree: a logged inbound activity
    and the contact date filled in by hand (either alone is fine, a contradiction is not)."""
    milestone = next((m for m in crm.settings.milestones if m.key == "contact"), None)
    if milestone is None or "activities" not in crm.sheet_names or \
            milestone.sheet not in crm.sheet_names:
        return
    leads, acts = crm.tables[milestone.sheet], crm.tables["activities"]
    link = next((c.key for c in crm.schema.sheet("activities").columns
                 if c.type == "link" and milestone.sheet in c.ref), None)
    c = crm.columns[milestone.sheet].get(milestone.column)
    if link is None or c is None or acts.empty or leads.empty or "id" not in leads:
        return
    first = first_replies(acts, link_col=link, inbound=item_labels("directions", "inbound"))
    name = crm.sheet_names[milestone.sheet]
    header = crm.schema.sheet(milestone.sheet).column(milestone.column).header.lower()
    logged = leads["id"].map(first)
    marked = leads[milestone.column]
    for row in leads.index[logged.notna() & marked.isna()]:
        issues.append(Issue(name, f"{column_letter(c)}{row}", "warning", "contact-not-marked",
                            f"the lead answered (inbound activity on "
                            f"{pd.Timestamp(logged[row]):%Y-%m-%d}) but {header} is empty; "
                            "the tally counts the activity", int(str(row)), c))
    late = logged.notna() & marked.notna() & (
        marked - pd.to_datetime(logged) > pd.Timedelta(days=1))
    for row in leads.index[late]:
        issues.append(Issue(name, f"{column_letter(c)}{row}", "warning", "contact-disagrees",
                            f"the {header} date {marked[row]:%Y-%m-%d} is after the first inbound "
                            f"activity ({pd.Timestamp(logged[row]):%Y-%m-%d}); "
                            "the tally counts the earlier one", int(str(row)), c))


def _check_ids(crm: Crm, sheet: Sheet, issues: list[Issue]) -> set[str]:
    frame, name = crm.tables[sheet.key], crm.sheet_names[sheet.key]
    c = crm.columns[sheet.key].get("id")
    if c is None or frame.empty:
        return set()
    ids = frame["id"]
    if ids.notna().all() and ids.is_unique:  # the usual case, checked in bulk
        return set(ids)
    first: dict[str, int] = {}
    for row, value in ids.items():
        where = f"{column_letter(c)}{row}"
        if not isinstance(value, str):
            issues.append(Issue(name, where, "warning", "missing-id",
                                "the record has no id; give it one such as "
                                f"{sheet.id_prefix or 'X'}-{int(str(row)):06d} so others can "
                                "link to it", int(str(row)), c))
        elif value in first:
            issues.append(Issue(name, where, "error", "duplicate-id",
                                f'id "{value}" is used again (first in row {first[value]})',
                                int(str(row)), c))
        else:
            first[value] = int(str(row))
    return set(first)


def _check_choices(crm: Crm, name: str, header: str, list_key: str, values: pd.Series,
                   c: int, issues: list[Issue]) -> None:
    """Values outside a Settings list: one issue per unknown value, at its first cell."""
    items = crm.settings.items(list_key)
    if not items:
        return
    known = {normalize_header(i) for i in items}
    strange = {v for v in set(values.dropna()) if isinstance(v, str)
               and normalize_header(v) not in known}  # few distinct values, many rows
    unknown: dict[str, list[Any]] = defaultdict(list)
    if strange:
        for row, value in values[values.isin(strange)].items():
            unknown[value].append(row)
    title = crm.schema.settings_list(list_key).title
    severity = "error" if list_key in _STRICT_LISTS else "warning"
    for value, rows in unknown.items():
        close = difflib.get_close_matches(value, items, n=1, cutoff=0.6)
        more = f" (and {len(rows) - 1:,} more rows)" if len(rows) > 1 else ""
        hint = f'; did you mean "{close[0]}"?' if close else f"; add it to {title} or fix it"
        issues.append(Issue(name, f"{column_letter(c)}{rows[0]}", severity,  # type: ignore[arg-type]
                            "not-in-list", f'{header.lower()} "{value}" is not in Settings > '
                            f"{title}{more}{hint}", int(str(rows[0])), c))


def _check_parent_cycles(crm: Crm, issues: list[Issue]) -> None:
    frame = crm.tables["accounts"]
    c = crm.columns["accounts"].get("parent")
    if c is None or frame.empty:
        return
    parent = {i: p for i, p in zip(frame["id"], frame["parent"])
              if isinstance(i, str) and isinstance(p, str)}
    row_of = {i: r for r, i in frame["id"].items() if isinstance(i, str)}
    for loop in parent_loops(parent, row_of):
        path = " → ".join(loop + [loop[0]])
        row = int(str(row_of[loop[0]]))
        issues.append(Issue(crm.sheet_names["accounts"], f"{column_letter(c)}{row}", "error",
                            "parent-cycle", f"parent account chain loops: {path}", row, c))
