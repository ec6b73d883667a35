"""One person's rows, on every sheet: what an access or an erasure request is about.

A person is found on the lead sheet (Leads, or Contacts for b2b) by the one identity rule
(:mod:`.identity`): the same id, the same mailbox key or the same phone key. Every record so
found is the person (a duplicate not yet merged is the same person too). From them:

- **linked rows**: every row of a data sheet whose link column names one of the person's
  records, and, in turn, every row linking to those (a contact's deal, that deal's documents
  and activities); links are followed downwards only, so the person's company is not theirs;
- **rows that refer to them**: any row of any other sheet (the owned sheets: stage history,
  merge log, data quality, agenda, scores) with a cell holding one of those ids;
- **mentions**: any other cell whose text holds their e-mail, phone or full name.

Each row found says which of its cells hold personal data: on the person's own records the
names, e-mail, phone, job title, notes and any column xlcrm does not know; on linked rows
their free text (subjects, notes, results, the deal's name and next step); elsewhere the cells
that mention the person. Ids, dates, sources, stages, reps and amounts are never personal
here, so a tally counts the same rows after they are erased.

Pure: cells in, findings out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..crm import Crm
from ..schema import Sheet
from .identity import email_key, fold_text, phone_key

__all__ = ["ERASED", "PERSONAL_KEYS", "Finding", "PersonRows", "erased_ids", "find_person",
           "without_consent"]

#: what a required cell of an erased person reads (an empty one would be an error for check)
ERASED = "[erased]"

#: columns of the person's own record that are personal whatever their type
PERSONAL_KEYS = frozenset({"first_name", "last_name", "title", "email", "phone", "notes",
                           "address", "street", "city", "postcode", "zip", "birthday"})
#: free text of a row linked to the person: what was said or written about them
_FREE_TEXT_TYPES = frozenset({"longtext", "email", "phone"})
_FREE_TEXT_KEYS = frozenset({"subject", "notes", "result", "next_step", "name"})
_PHONE_RUN = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")


@dataclass
class Finding:
    """One row that refers to the person.

    Attributes:
        sheet: the sheet's name.
        row: the sheet row number (1-based).
        why: ``record`` (the person's own), ``linked`` (links to one of their records),
            ``refers`` (holds one of their ids) or ``mentions`` (a cell names them).
        record: the row's own id, when it has one.
        values: header -> value of the row's non-empty cells, as read.
        personal: the row's personal cells: 0-based column -> header.
        required: of those, the columns a record must not leave empty.
    """

    sheet: str
    row: int
    why: str
    record: str | None
    values: dict[str, Any]
    personal: dict[int, str] = field(default_factory=dict)
    required: set[int] = field(default_factory=set)


@dataclass
class PersonRows:
    """Every row of every sheet that refers to one person."""

    records: list[str]  # the person's own records' ids
    ids: list[str]  # those and every record linked to them
    findings: list[Finding]
    emails: list[str]
    phones: list[str]
    names: list[str]  # full names, as written

    def sheets(self) -> list[str]:
        """The sheets with at least one row found, in the order found."""
        return list(dict.fromkeys(f.sheet for f in self.findings))

    def cells(self) -> list[tuple[str, int, int]]:
        """Every personal cell: (sheet, 0-based row, 0-based column)."""
        return [(f.sheet, f.row - 1, c) for f in self.findings for c in sorted(f.personal)]


def _text(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_map(sheet: Sheet, columns: Mapping[str, int]) -> dict[int, str]:
    by_key = {c.key: c for c in sheet.columns}
    return {col: by_key[key].header for key, col in columns.items() if key in by_key}


def find_person(crm: Crm, grids: Mapping[str, Sequence[Sequence[Any]]], *,
                email: str | None = None, phone: str | None = None,
                record_id: str | None = None) -> PersonRows:
    """Find every row of every sheet that refers to one person.

    Args:
        crm: the workbook as typed tables (which sheet is which, which column is which).
        grids: the cells of every sheet, as read (sheet name -> rows of values).
        email: the person's e-mail (matched by mailbox key).
        phone: the person's phone (matched by E.164 key in the workbook's phone region).
        record_id: the id of one of the person's records.

    Returns:
        The person's record ids and every row found, in sheet order then row order; no
        ids when nobody matches.
    """
    region = str(crm.settings.options.get("phone_region") or "US")
    want_email = email_key(email) if email else None
    want_phone = phone_key(phone, region) if phone else None
    want_id = record_id.strip().upper() if record_id else None
    lead_key = crm.schema.lead_sheet
    sheets = {s.key: s for s in crm.schema.data_sheets}
    findings: list[Finding] = []
    ids: list[str] = []
    emails: set[str] = set()
    phones: set[str] = set()
    names: set[str] = set()
    lead = crm.tables.get(lead_key)
    lead_name = crm.sheet_names.get(lead_key)
    if lead is not None and lead_name is not None and not lead.empty:
        for row, rec in lead.iterrows():
            rid = _text(rec.get("id")).upper()
            hit = (want_id is not None and rid == want_id) or \
                (want_email is not None and email_key(_text(rec.get("email"))) == want_email) \
                or (want_phone is not None
                    and phone_key(_text(rec.get("phone")), region) == want_phone)
            if not hit:
                continue
            if rid:
                ids.append(rid)
            if _text(rec.get("email")):
                emails.add(_text(rec.get("email")))
            if _text(rec.get("phone")):
                phones.add(_text(rec.get("phone")))
            full = " ".join(p for p in (_text(rec.get("first_name")),
                                        _text(rec.get("last_name"))) if p)
            if full:
                names.add(full)
            findings.append(_row_finding(crm, grids, sheets[lead_key], int(str(row)),
                                         "record", rid, own=True))
    if email:
        emails.add(email.strip())
    if phone:
        phones.add(phone.strip())
    if not ids:
        return PersonRows([], [], [], sorted(emails), sorted(phones), sorted(names))

    # rows linking to the person's records, then to those rows' records, and so on down
    known = set(ids)
    seen = {(f.sheet, f.row) for f in findings}
    grew = True
    while grew:
        grew = False
        for sheet in crm.schema.data_sheets:
            frame, name = crm.tables.get(sheet.key), crm.sheet_names.get(sheet.key)
            links = [c.key for c in sheet.columns if c.type == "link"
                     and sheet.key != lead_key]
            if frame is None or name is None or frame.empty or not links:
                continue
            for row, rec in frame.iterrows():
                r = int(str(row))
                if (name, r) in seen:
                    continue
                if any(_text(rec.get(k)).upper() in known for k in links if k in frame):
                    linked = _text(rec.get("id")).upper()
                    findings.append(_row_finding(crm, grids, sheet, r, "linked",
                                                 linked or None, own=False))
                    seen.add((name, r))
                    if linked:
                        known.add(linked)
                        grew = True

    # any other row holding an id; any other cell naming them
    id_pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(i) for i in sorted(known))
                            + r")(?![\w-])", re.IGNORECASE)
    email_folds = {e.casefold() for e in emails if e}
    phone_keys = {k for k in (phone_key(p, region) for p in phones) if k}
    name_folds = {fold_text(n) for n in names if " " in n}
    for name, rows in grids.items():
        header: dict[int, str] = {}
        for i, cells in enumerate(rows):
            r = i + 1
            if (name, r) in seen:
                continue
            mentions: dict[int, str] = {}
            refers = False
            for c, value in enumerate(cells):
                text = _text(value)
                if not text or isinstance(value, (int, float)) and not isinstance(value, bool):
                    continue
                if id_pattern.search(text):
                    refers = True
                if _mentions(text, email_folds, phone_keys, name_folds, region):
                    mentions[c] = header.get(c, "")
            if not header and sum(1 for v in cells if _text(v)) >= 3:
                header = {c: _text(v) for c, v in enumerate(cells)}  # a guess, for the labels
            if refers or mentions:
                values = {header.get(c) or f"column {c + 1}": v for c, v in enumerate(cells)
                          if _text(v)}
                findings.append(Finding(name, r, "refers" if refers else "mentions",
                                        None, values, mentions))
                seen.add((name, r))
    order = {n: i for i, n in enumerate(grids)}
    findings.sort(key=lambda f: (order.get(f.sheet, len(order)), f.row))
    return PersonRows(sorted(set(ids)), sorted(known), findings, sorted(emails),
                      sorted(phones), sorted(names))


def _mentions(text: str, emails: set[str], phones: set[str], names: set[str],
              region: str) -> bool:
    folded = text.casefold()
    if any(e in folded for e in emails):
        return True
    if phones and any(phone_key(m.group(0), region) in phones
                      for m in _PHONE_RUN.finditer(text)):
        return True
    return bool(names) and any(n in fold_text(text) for n in names)


def _row_finding(crm: Crm, grids: Mapping[str, Sequence[Sequence[Any]]], sheet: Sheet,
                 row: int, why: str, rid: str | None, *, own: bool) -> Finding:
    name = crm.sheet_names[sheet.key]
    columns = crm.columns.get(sheet.key, {})
    headers = _header_map(sheet, columns)
    grid = grids.get(name, [])
    cells = list(grid[row - 1]) if 0 < row <= len(grid) else []
    by_key = {c.key: c for c in sheet.columns}
    known_cols = {col: key for key, col in columns.items()}
    header_row = _header_row(grid, headers)
    personal: dict[int, str] = {}
    required: set[int] = set()
    for c, value in enumerate(cells):
        if not _text(value):
            continue
        key = known_cols.get(c)
        if key is None:
            if own and header_row is not None:  # a column xlcrm does not know: kept private
                personal[c] = _text(grid[header_row][c]) if c < len(grid[header_row]) else ""
            continue
        column = by_key[key]
        if own:
            mine = key in PERSONAL_KEYS or column.type in ("email", "phone", "longtext")
        else:
            mine = column.type in _FREE_TEXT_TYPES or (column.type == "text"
                                                       and key in _FREE_TEXT_KEYS)
        if mine:
            personal[c] = column.header
            if column.required:
                required.add(c)
    values = {headers.get(c) or f"column {c + 1}": v for c, v in enumerate(cells) if _text(v)}
    return Finding(name, row, why, rid, values, personal, required)


def _header_row(grid: Sequence[Sequence[Any]], headers: Mapping[int, str]) -> int | None:
    """The index of the row holding the sheet's headers (the first naming most of them)."""
    wanted = {fold_text(h) for h in headers.values()}
    for i, cells in enumerate(grid[:30]):
        if sum(1 for v in cells if fold_text(_text(v)) in wanted) >= max(1, len(wanted) // 2):
            return i
    return None


def erased_ids(people: pd.DataFrame) -> set[str]:
    """The ids of the people ``xlcrm forget`` erased (their last name reads ``[erased]``)."""
    if people.empty or "last_name" not in people or "id" not in people:
        return set()
    gone = people["last_name"].astype("object") == ERASED
    return {str(i) for i in people.loc[gone, "id"]}


def without_consent(people: pd.DataFrame) -> set[str]:
    """The ids of the people who never agreed to marketing (no consent date), or who were
    erased; empty when the table has no consent column (an older workbook)."""
    if people.empty or "marketing_consent" not in people or "id" not in people:
        return erased_ids(people)
    missing = people["marketing_consent"].isna()
    return {str(i) for i in people.loc[missing, "id"]} | erased_ids(people)
