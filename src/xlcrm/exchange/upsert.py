"""Upsert records into a data sheet: match by id, e-mail or phone, add or fill in, never twice.

A row that is the same person as an existing record, by the rule of :mod:`xlcrm.metrics.identity`
(the same id, mailbox key or E.164 phone), updates it instead of adding a duplicate, so a second
import of the same file adds nothing. The first touch is kept: an updated record keeps its id,
created date and source. The cells to write are collected per sheet and written in one save by
the caller. The records of what an import did (:class:`ImportResult`, :class:`ImportRow`) live
here too, shared by the import of a lead file and of an export folder.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..metrics.identity import company_key, email_key, name_key, phone_key, stored_email
from ..read import Crm, sheet_header_names
from ..schema import Sheet, normalize_header
from .matching import ColumnMatch

__all__ = ["ImportResult", "ImportRow", "SheetUpsert", "filled", "header_row"]

_FIRST_TOUCH = frozenset({"id", "created", "source"})  # never overwritten by an update
#: what tells apart two records of the same name when neither has an e-mail or a phone
_NAME_EVIDENCE = ("created", "company", "account", "city")


@dataclass(frozen=True)
class ImportRow:
    """A row of the file that was skipped or needs a look: file, line and reason."""

    file: str
    line: int
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ImportResult:
    """What an import did: counts, the column mapping used, and every row it explains."""

    workbook: Path
    files: list[Path]
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rows: list[ImportRow] = field(default_factory=list)
    mapping: list[ColumnMatch] = field(default_factory=list)
    mapping_file: Path | None = None
    backups: list[Path] = field(default_factory=list)
    dry_run: bool = False
    encoding: str = ""
    delimiter: str = ""
    date_order: str = ""
    #: the cell edits of each sheet, written by :func:`~xlcrm.exchange.importer.import_leads`
    #: unless it is a dry run
    pending: list[SheetUpsert] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        """One line: added, updated, skipped."""
        verb = "would add" if self.dry_run else "added"
        return f"{verb} {self.added}, updated {self.updated}, skipped {self.skipped}"


# ----- the upsert state of one sheet ---------------------------------------------------------
class SheetUpsert:
    """One data sheet being upserted: a working copy, its key indexes, the cells to write."""

    def __init__(self, crm: Crm, key: str, header: int | None = None) -> None:
        """Index the sheet's records; ``header``: the sheet row of its header (found in the
        workbook when the sheet has no record to put new ones below)."""
        self.crm, self.key = crm, key
        self.schema: Sheet = crm.schema.sheet(key)
        self.name = crm.sheet_names.get(key, self.schema.name)
        self.frame = crm.tables[key]
        self.positions = crm.columns.get(key, {})
        self.region = str(crm.settings.options.get("phone_region") or "US")
        # a record becomes a dict when it is first looked at: at 100k leads, making them all
        # up front took longer than the rest of the import of a few thousand rows
        self.records = _Records(self.frame)
        if len(self.frame):
            self.next_row = max(self.records.rows) + 1
        else:
            self.next_row = (header if header is not None else header_row(crm, key)) + 1
        self.cells: dict[tuple[int, int], Any] = {}
        self.by: dict[str, dict[str, int]] = {"id": {}, "email": {}, "phone": {}}
        column = self.records.column
        ids, emails, phones = column("id"), column("email"), column("phone")
        # the phones of the records as they were: each first row by key (self.by["phone"]
        # holds the later ones, of records added or changed since, which never win over it)
        self._phone_first: dict[str, int] = {}
        self._phone_later: dict[str, list[tuple[int, str]]] = {}
        for i, row in enumerate(self.records.rows):
            self._index_keys(row, ids[i], emails[i], None)
            self._index_first_phone(row, phones[i])
        # the index by name serves rows with no e-mail nor phone: made when one comes, from
        # the records as they were, then the later changes in the order they came
        self._by_name: dict[str, list[int]] | None = None
        self._named_later: list[tuple[int, str | None]] = []
        prefix = self.schema.id_prefix or "R"
        numbers = [int(str(i).rsplit("-", 1)[-1]) for i in self.by["id"]
                   if str(i).rsplit("-", 1)[-1].isdigit()]
        self.prefix, self.next_id = prefix, max(numbers, default=0) + 1

    @property
    def by_name(self) -> dict[str, list[int]]:
        """Sheet rows by name key, in the order the records were indexed."""
        if self._by_name is None:
            self._by_name = {}
            firsts, lasts = self.records.column("first_name"), self.records.column("last_name")
            for row, first, last in zip(self.records.rows, firsts, lasts):
                self._add_name(row, _name({"first_name": first, "last_name": last}))
            for row, n in self._named_later:
                self._add_name(row, n)
        return self._by_name

    def _add_name(self, row: int, n: str | None) -> None:
        assert self._by_name is not None
        if n and row not in self._by_name.get(n, []):
            self._by_name.setdefault(n, []).append(row)

    def _index(self, row: int, rec: dict[str, Any]) -> None:
        self._index_keys(row, rec.get("id"), rec.get("email"), rec.get("phone"))
        if self._by_name is None:
            self._named_later.append((row, _name(rec)))
        else:
            self._add_name(row, _name(rec))

    def _index_keys(self, row: int, ident: Any, email: Any, phone: Any) -> None:
        if filled(ident):
            self.by["id"].setdefault(str(ident), row)
        e = email_key(email) if filled(email) else None
        if e:
            self.by["email"].setdefault(e, row)
        p = phone_key(str(phone), self.region) if filled(phone) else None
        if p:
            self.by["phone"].setdefault(p, row)

    def _index_first_phone(self, row: int, phone: Any) -> None:
        """Index a phone of the records as they were. A number typed as digits (a "+" and
        spaces at most) keeps its last six digits in its E.164 key (what parsing changes is its
        start: a country code, a trunk prefix), so it waits, filed by them, until a phone
        with those last six digits is looked for: at 100k leads parsing every phone up front
        took seconds, and an import looks up a few thousand."""
        if not filled(phone):
            return
        text = str(phone)
        typed = text.strip()
        digits = typed.removeprefix("+").replace(" ", "")
        if len(digits) >= 10 and digits.isascii() and digits.isdigit():
            self._phone_later.setdefault(digits[-6:], []).append((row, text))
            return
        p = phone_key(text, self.region)
        if p:
            self._phone_first.setdefault(p, row)

    def _phone_row(self, key: str) -> int | None:
        """The row of the record with phone ``key`` (the first of the records as they were,
        else the first added or changed since)."""
        for row, text in self._phone_later.pop(key[-6:], []):
            p = phone_key(text, self.region)
            if p and row < self._phone_first.get(p, row + 1):
                self._phone_first[p] = row
        found = self._phone_first.get(key)
        return found if found is not None else self.by["phone"].get(key)

    def find(self, values: dict[str, Any], by_id_only: bool = False) -> tuple[int | None, str]:
        if filled(values.get("id")) and str(values["id"]) in self.by["id"]:
            return self.by["id"][str(values["id"])], "id"
        if by_id_only:
            return None, ""
        e = email_key(values.get("email")) if filled(values.get("email")) else None
        if e and e in self.by["email"]:
            return self.by["email"][e], "e-mail"
        p = phone_key(str(values["phone"]), self.region) if filled(values.get("phone")) else None
        found = self._phone_row(p) if p else None
        if found is not None:
            return found, "phone"
        if e or p:
            return None, ""
        # no e-mail, no phone: the same name, and nothing else that says otherwise (the same
        # created day, company, city where both have one), is the same record: a second
        # import of a list without contact data then adds nothing
        for row in self.by_name.get(_name(values) or "", []):
            if all(_agrees(self.records[row].get(k), values.get(k)) for k in _NAME_EVIDENCE):
                return row, "name"
        return None, ""

    def new_id(self) -> str:
        while True:
            ident = f"{self.prefix}-{self.next_id:06d}"
            self.next_id += 1
            if ident not in self.by["id"]:
                return ident

    def set(self, row: int, key: str, value: Any) -> bool:
        col = self.positions.get(key)
        if col is None:
            return False
        self.cells[(row - 1, col)] = value
        self.records.setdefault(row, {})[key] = value  # a new row's, or one looked at
        return True

    def upsert(self, values: dict[str, Any], *, stamp: dict[str, Any],
               by_id_only: bool = False, keep: Container[int] = ()
               ) -> tuple[str, int, str]:
        """Add or update one record; return (added/updated/unchanged, sheet row, matched by).

        Records are the same when their ids are, or else (unless ``by_id_only``: an export's
        records are told apart by id alone) their e-mails or phones. A record in ``keep`` (one
        an earlier line of the same file matched) only has its empty cells filled: the first line
        of a file wins over its duplicates, so importing the file again changes nothing.
        """
        row, how = self.find(values, by_id_only)
        if row is None:
            row = self.next_row
            self.next_row += 1
            record = {k: v for k, v in {**stamp, **values}.items() if filled(v)}
            record.setdefault("id", self.new_id())
            for key, value in record.items():
                self.set(row, key, value)
            self._index(row, self.records[row])
            return "added", row, ""
        current = self.records[row]
        changed = False
        for key, value in values.items():
            if not filled(value) or key not in self.positions:
                continue
            if (key in _FIRST_TOUCH or row in keep) and filled(current.get(key)):
                continue
            if not _same(current.get(key), value, self.region):
                changed = self.set(row, key, value) or changed
        if changed:
            self._index(row, self.records[row])
        return ("updated" if changed else "unchanged"), row, how


class _Records(dict[int, dict[str, Any]]):
    """A sheet's records by sheet row, each made a dict (as ``DataFrame.to_dict``) when first
    asked for; a row the frame lacks (a new record) is an ordinary entry."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__()
        self.rows = [int(r) for r in frame.index]
        self._at = {row: i for i, row in enumerate(self.rows)}
        self._columns = {str(c): frame[c].tolist() for c in frame.columns}

    def column(self, key: str) -> list[Any]:
        """A column's values in row order (None throughout when the sheet lacks it)."""
        values = self._columns.get(key)
        return values if values is not None else [None] * len(self.rows)

    def __missing__(self, row: int) -> dict[str, Any]:
        i = self._at[row]  # KeyError: no such record
        record = self[row] = {k: values[i] for k, values in self._columns.items()}
        return record

    def setdefault(self, row: int, default: Any = None) -> dict[str, Any]:
        """The record of ``row``, made from the frame when it has one, else ``default``."""
        if row in self or row in self._at:
            return self[row]
        return super().setdefault(row, default)


def filled(v: Any) -> bool:
    """Tell whether a cell value holds something: not None, NaN, NaT or blank text."""
    if v is None or v is pd.NaT:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _name(rec: dict[str, Any]) -> str | None:
    parts = [rec.get(k) for k in ("first_name", "last_name")]
    key = name_key(*(p for p in parts if isinstance(p, str)))
    return key or None


def _agrees(a: Any, b: Any) -> bool:
    """Two values of a record that do not tell it apart: either empty, or the same (a date by
    its day, a company without its legal form)."""
    if not filled(a) or not filled(b):
        return True
    if isinstance(a, (dt.date, pd.Timestamp)) and isinstance(b, (dt.date, pd.Timestamp)):
        return bool(pd.Timestamp(a).normalize() == pd.Timestamp(b).normalize())
    return company_key(str(a)) == company_key(str(b))


def _same(a: Any, b: Any, region: str) -> bool:
    if not filled(a):
        return not filled(b)
    if isinstance(a, (dt.datetime, dt.date, pd.Timestamp)) and isinstance(
            b, (dt.datetime, dt.date, pd.Timestamp)):
        return bool(pd.Timestamp(a) == pd.Timestamp(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    if isinstance(a, str) and isinstance(b, str):
        if "@" in a and "@" in b:  # the same mailbox is no change, however it is spelled
            ka, kb = email_key(a), email_key(b)
            return ka == kb if ka and kb else stored_email(a) == stored_email(b)
        pa, pb = phone_key(a, region), phone_key(b, region)
        if pa and pb and len(a) > 6 and not any(c.isalpha() for c in a + b):
            return pa == pb
        return normalize_header(a) == normalize_header(b) and a.strip() == b.strip()
    return bool(a == b)


def header_row(crm: Crm, key: str) -> int:
    """The 1-based sheet row of a data sheet's header (new records go below it)."""
    from ..xlsx.bounds import bounded_reader

    names = sheet_header_names(crm.schema.preset, key)
    with bounded_reader(crm.path) as book:  # a stray far cell must not cost a huge grid
        grid = book.get_sheet_by_name(crm.sheet_names[key]).to_python(skip_empty_area=False,
                                                                       nrows=20)
    for r, row in enumerate(grid[:20]):
        if sum(isinstance(v, str) and normalize_header(v) in names for v in row) >= 2:
            return r + 1
    return 1
