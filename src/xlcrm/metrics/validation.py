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
import re
from collections import defaultdict
from collections.abc import Mapping
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


#: each message in English, by its key in the locale files' ``[owned]`` section
MESSAGES = {
    "validation_required": "{column} is empty; it is required",
    "validation_dangling": '{column} "{value}" does not exist in {targets}',
    "validation_or": "or",
    "validation_future": "{column} {date} is in the future",
    "validation_bad_phone": '{column} "{value}" is not a phone number of {region} or with a '
                            "country code; write it as +39 347 123 4567",
    "validation_contact_not_marked": "the lead answered (inbound activity on {date}) but "
                                     "{column} is empty; the tally counts the activity",
    "validation_contact_disagrees": "the {column} date {marked} is after the first inbound "
                                    "activity ({date}); the tally counts the earlier one",
    "validation_missing_id": "the record has no id; give it one such as {example} so others "
                             "can link to it",
    "validation_duplicate_id": 'id "{value}" is used again (first in row {row})',
    "validation_not_in_list": '{column} "{value}" is not in Settings > {title}',
    "validation_more_rows": "(and {count} more rows)",
    "validation_did_you_mean": 'did you mean "{close}"?',
    "validation_add_it": "add it to {title} or fix it",
    "validation_parent_cycle": "parent account chain loops: {chain}",
}


def _say(words: Mapping[str, str] | None, key: str, **values: Any) -> str:
    return ((words or {}).get(key) or MESSAGES[key]).format(**values)


def validate(crm: Crm, *, today: dt.date | None = None,
             words: Mapping[str, str] | None = None) -> list[Issue]:
    """Return the problems across records of a loaded workbook (see the module docstring),
    each message in ``words`` (the workbook language's ``[owned]`` words; English when
    None: metrics read no files)."""
    today = today or dt.date.today()
    issues: list[Issue] = []
    already = {(i.sheet, i.cell) for i in crm.issues if i.cell}  # unreadable cells, reported
    ids: dict[str, set[str]] = {}
    for sheet, _, _ in crm.present_sheets():
        ids[sheet.key] = _check_ids(crm, sheet, issues, words)
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
                                        _say(words, "validation_required",
                                             column=col.header.lower()), int(row), c))
            if col.type == "choice" and col.list:
                _check_choices(crm, name, col.header, col.list, values, c, issues, words)
            elif col.type == "phone":
                _check_phones(crm, name, col.header, values, c, issues, words)
            elif col.type == "link":
                known = set().union(*(ids.get(ref, set()) for ref in col.ref))
                targets = f" {_say(words, 'validation_or')} ".join(
                    crm.sheet_names.get(r, crm.schema.sheet(r).name) for r in col.ref)
                dangling = values[values.notna() & ~values.isin(known)]
                for row, value in dangling.items():
                    if isinstance(value, str):
                        issues.append(Issue(name, f"{column_letter(c)}{row}", "error",
                                            "dangling-link", _say(
                                                words, "validation_dangling",
                                                column=col.header.lower(), value=value,
                                                targets=targets), int(str(row)), c))
            elif col.past and col.type in ("date", "datetime"):
                limit = pd.Timestamp(today) + pd.Timedelta(days=1)
                for row, value in values[values >= limit].items():
                    issues.append(Issue(name, f"{column_letter(c)}{row}", col.past,  # type: ignore[arg-type]
                                        "future-date", _say(
                                            words, "validation_future",
                                            column=col.header.lower(),
                                            date=f"{value:%Y-%m-%d}"), int(str(row)), c))
    if "accounts" in crm.sheet_names and crm.schema.sheet("accounts").has_column("parent"):
        _check_parent_cycles(crm, issues, words)
    _check_contacts(crm, issues, words)
    return issues


def _check_phones(crm: Crm, name: str, header: str, values: pd.Series, c: int,
                  issues: list[Issue], words: Mapping[str, str] | None = None) -> None:
    """A phone that can't be one (``abc``, ``=1+2``, ``12345``, ``0000000000``): nobody can
    call it and no CRM takes it. Its shape decides, for every row at once (letters, too few or
    too many digits, one digit repeated); each suspect is then read as a number of Settings'
    phone region (unless it has ``+``) before it is reported. Whether a well-shaped number's
    length suits its country is ``xlcrm clean``'s finer check."""
    region = str(crm.settings.options.get("phone_region") or "US")
    for row, value in _suspect_phones(values):
        if phone_key(value, region) is None:
            issues.append(Issue(name, f"{column_letter(c)}{row}", "warning", "bad-phone",
                                _say(words, "validation_bad_phone", column=header.lower(),
                                     value=value, region=region),
                                int(str(row)), c))


_SHAPE = re.compile(_PHONE_SHAPE)
_NOT_DIGIT = re.compile(r"\D")
_ONE_DIGIT = re.compile(r"(\d)\1*")


def _suspect_phones(values: pd.Series) -> list[tuple[Any, str]]:
    """The rows and trimmed texts of the phones whose shape is suspect (letters, too few or
    too many digits, one digit repeated), in sheet order."""
    cells = values.tolist()
    if not all(pd.isna(v) for v in cells if v is not None and type(v) is not str):
        # numbers among the texts: pandas writes them as text its own way
        text = values.dropna().astype(str).str.strip()
        text = text[text != ""]
        digits = text.str.replace(_NOT_DIGIT, "", regex=True)
        count = digits.str.len()
        suspect = ~text.str.fullmatch(_PHONE_SHAPE) | (count < 6) | (count > 15) | \
            digits.str.fullmatch(_ONE_DIGIT)
        return list(text[suspect].items())
    # texts only (the usual case): one pass in plain Python, as fast as pandas' four
    found = []
    for row, cell in zip(values.index, cells):
        if not isinstance(cell, str):
            continue
        value = cell.strip()
        if not value:
            continue
        digits = _NOT_DIGIT.sub("", value)
        if not 6 <= len(digits) <= 15 or _SHAPE.fullmatch(value) is None or \
                _ONE_DIGIT.fullmatch(digits) is not None:
            found.append((row, value))
    return found


def _check_contacts(crm: Crm, issues: list[Issue],
                    words: Mapping[str, str] | None = None) -> None:
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
                            _say(words, "validation_contact_not_marked", column=header,
                                 date=f"{pd.Timestamp(logged[row]):%Y-%m-%d}"),
                            int(str(row)), c))
    late = logged.notna() & marked.notna() & (
        marked - pd.to_datetime(logged) > pd.Timedelta(days=1))
    for row in leads.index[late]:
        issues.append(Issue(name, f"{column_letter(c)}{row}", "warning", "contact-disagrees",
                            _say(words, "validation_contact_disagrees", column=header,
                                 marked=f"{marked[row]:%Y-%m-%d}",
                                 date=f"{pd.Timestamp(logged[row]):%Y-%m-%d}"),
                            int(str(row)), c))


def _check_ids(crm: Crm, sheet: Sheet, issues: list[Issue],
               words: Mapping[str, str] | None = None) -> set[str]:
    frame, name = crm.tables[sheet.key], crm.sheet_names[sheet.key]
    c = crm.columns[sheet.key].get("id")
    if c is None or frame.empty:
        return set()
    ids = frame["id"]
    if ids.notna().all():  # the usual case, checked in bulk: no blank and no ID twice
        distinct = set(ids.to_numpy(dtype=object))
        if len(distinct) == len(ids):
            return distinct
    first: dict[str, int] = {}
    for row, value in ids.items():
        where = f"{column_letter(c)}{row}"
        if not isinstance(value, str):
            issues.append(Issue(name, where, "warning", "missing-id",
                                _say(words, "validation_missing_id",
                                     example=f"{sheet.id_prefix or 'X'}-{int(str(row)):06d}"),
                                int(str(row)), c))
        elif value in first:
            issues.append(Issue(name, where, "error", "duplicate-id",
                                _say(words, "validation_duplicate_id", value=value,
                                     row=first[value]),
                                int(str(row)), c))
        else:
            first[value] = int(str(row))
    return set(first)


def _check_choices(crm: Crm, name: str, header: str, list_key: str, values: pd.Series,
                   c: int, issues: list[Issue], words: Mapping[str, str] | None = None
                   ) -> None:
    """Values outside a Settings list: one issue per unknown value, at its first cell."""
    items = crm.settings.items(list_key)
    if not items:
        return
    known = {normalize_header(i) for i in items}
    # few distinct values, many rows: the distinct ones found by pandas' hash table
    strange = {v for v in pd.unique(values.to_numpy(dtype=object)) if isinstance(v, str)
               and normalize_header(v) not in known}
    unknown: dict[str, list[Any]] = defaultdict(list)
    if strange:
        for row, value in values[values.isin(strange)].items():
            unknown[value].append(row)
    title = crm.schema.settings_list(list_key).title
    severity = "error" if list_key in _STRICT_LISTS else "warning"
    for value, rows in unknown.items():
        close = difflib.get_close_matches(value, items, n=1, cutoff=0.6)
        more = " " + _say(words, "validation_more_rows", count=f"{len(rows) - 1:,}") \
            if len(rows) > 1 else ""
        hint = _say(words, "validation_did_you_mean", close=close[0]) if close else \
            _say(words, "validation_add_it", title=title)
        said = _say(words, "validation_not_in_list", column=header.lower(), value=value,
                    title=title)
        issues.append(Issue(name, f"{column_letter(c)}{rows[0]}", severity,  # type: ignore[arg-type]
                            "not-in-list", f"{said}{more}; {hint}", int(str(rows[0])), c))


def _check_parent_cycles(crm: Crm, issues: list[Issue],
                         words: Mapping[str, str] | None = None) -> None:
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
                            "parent-cycle", _say(words, "validation_parent_cycle", chain=path),
                            row, c))
