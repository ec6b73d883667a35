"""Import leads from CSV/XLSX files, or an xlcrm export, into a CRM workbook: ``import_leads``.

A lead file's columns are matched to the lead sheet's columns by header: the labels and aliases
of every shipped language first, then fuzzy matching (``rapidfuzz``) with a confidence; the
mapping is shown, saved beside the file (``NAME.xlcrm-map.json``) and reused next time. A
"Name" column with no first-name column is split into first and last name.

Records are **upserted**: a row that is the same person as an existing record, by the rule of
:mod:`xlcrm.metrics.identity` (the same id, mailbox key or E.164 phone), updates it instead of
adding a duplicate; a second import of the same file adds nothing. Cells get the stored form:
a trimmed, lower-case e-mail as typed, an E.164 phone (or the text as typed, with a warning).
The first touch is kept: an updated record keeps its created date and source; a new one is
stamped with the file's date (or the import time) and the source given.
A row that can't be taken is reported with its line in the file and the reason, and the others
go on. Everything is written in one save per sheet through the lossless writer, with a backup.

A folder written by ``xlcrm export`` (or its ``manifest.json``) is read back through the same
mapping, file by file in load order, into each file's sheet: the round trip.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rapidfuzz import fuzz, process

from ..errors import ImportFileError
from ..metrics.identity import email_key, phone_key, stored_email, stored_phone
from ..read import Crm, _Coercer, _sheet_header_names, load
from ..schema import Column, Sheet, item_labels, normalize_header
from ..xlsx.writer import patch_sheet
from .mapping import ColumnSpec, FileSpec, Mapping_, load_mapping
from .safety import unneutralize
from .sources import RawTable, detect_date_order, read_table

__all__ = ["ColumnMatch", "ImportResult", "ImportRow", "import_leads", "put_full_name"]

FUZZY_CUTOFF = 80  # rapidfuzz score (0-100) below which a header is left unmapped
_FULL_NAME = frozenset(normalize_header(h) for h in (
    "name", "full name", "fullname", "contact name", "contact", "nome", "nome e cognome",
    "nominativo", "nome completo", "customer", "cliente", "client name", "lead name"))
#: headers that mean a column only in a file of people to import, not in the workbook itself
#: (a bare "Date" on a lead list is when the lead came in)
_IMPORT_ALIASES = {normalize_header(h): key for h, key in (
    ("date", "created"), ("data", "created"), ("datum", "created"), ("fecha", "created"),
    ("comments", "notes"), ("commenti", "notes"), ("remarks", "notes"))}
_FIRST_TOUCH = frozenset({"id", "created", "source"})  # never overwritten by an update


@dataclass(frozen=True)
class ColumnMatch:
    """How one header of the file was matched to a column of the sheet."""

    header: str
    column: str | None
    confidence: float
    how: str  # label, fuzzy, saved, full name, export, unmapped

    def __str__(self) -> str:
        target = self.column or "(not imported)"
        return f'"{self.header}" -> {target} ({self.how}, {self.confidence:.0%})'


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
    _pending: list[Any] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        """One line: added, updated, skipped."""
        verb = "would add" if self.dry_run else "added"
        return f"{verb} {self.added}, updated {self.updated}, skipped {self.skipped}"


# ----- the upsert state of one sheet ---------------------------------------------------------
class _Sheet:
    """One data sheet being upserted: a working copy, its key indexes, the cells to write."""

    def __init__(self, crm: Crm, key: str, header_row: int) -> None:
        self.crm, self.key = crm, key
        self.schema: Sheet = crm.schema.sheet(key)
        self.name = crm.sheet_names.get(key, self.schema.name)
        self.frame = crm.tables[key]
        self.positions = crm.columns.get(key, {})
        self.region = str(crm.settings.options.get("phone_region") or "US")
        self.records: dict[int, dict[str, Any]] = {
            int(r): rec for r, rec in zip(self.frame.index, self.frame.to_dict("records"))}
        self.next_row = max(self.records, default=header_row) + 1
        self.cells: dict[tuple[int, int], Any] = {}
        self.by: dict[str, dict[str, int]] = {"id": {}, "email": {}, "phone": {}}
        for row, rec in self.records.items():
            self._index(row, rec)
        prefix = self.schema.id_prefix or "R"
        numbers = [int(str(i).rsplit("-", 1)[-1]) for i in self.by["id"]
                   if str(i).rsplit("-", 1)[-1].isdigit()]
        self.prefix, self.next_id = prefix, max(numbers, default=0) + 1

    def _index(self, row: int, rec: dict[str, Any]) -> None:
        if _filled(rec.get("id")):
            self.by["id"].setdefault(str(rec["id"]), row)
        e = email_key(rec.get("email")) if _filled(rec.get("email")) else None
        if e:
            self.by["email"].setdefault(e, row)
        p = phone_key(str(rec["phone"]), self.region) if _filled(rec.get("phone")) else None
        if p:
            self.by["phone"].setdefault(p, row)

    def find(self, values: dict[str, Any], by_id_only: bool = False) -> tuple[int | None, str]:
        if _filled(values.get("id")) and str(values["id"]) in self.by["id"]:
            return self.by["id"][str(values["id"])], "id"
        if by_id_only:
            return None, ""
        e = email_key(values.get("email")) if _filled(values.get("email")) else None
        if e and e in self.by["email"]:
            return self.by["email"][e], "e-mail"
        p = phone_key(str(values["phone"]), self.region) if _filled(values.get("phone")) else None
        if p and p in self.by["phone"]:
            return self.by["phone"][p], "phone"
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
        self.records.setdefault(row, {})[key] = value
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
            record = {k: v for k, v in {**stamp, **values}.items() if _filled(v)}
            record.setdefault("id", self.new_id())
            for key, value in record.items():
                self.set(row, key, value)
            self._index(row, self.records[row])
            return "added", row, ""
        current = self.records[row]
        changed = False
        for key, value in values.items():
            if not _filled(value) or key not in self.positions:
                continue
            if (key in _FIRST_TOUCH or row in keep) and _filled(current.get(key)):
                continue
            if not _same(current.get(key), value, self.region):
                changed = self.set(row, key, value) or changed
        if changed:
            self._index(row, self.records[row])
        return ("updated" if changed else "unchanged"), row, how


def _filled(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _same(a: Any, b: Any, region: str) -> bool:
    if not _filled(a):
        return not _filled(b)
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


# ----- the public function ---------------------------------------------------------------------
def import_leads(path: str | Path, file: str | Path, *, mapping: str | Path | None = None,
                 source: str | None = None, dry_run: bool = False,
                 now: dt.datetime | None = None, force: bool = False,
                 backups: int = 5) -> ImportResult:
    """Append or update records of ``path`` from a lead file or an xlcrm export folder.

    Args:
        path: the CRM workbook.
        file: a CSV/TXT/XLSX lead file, or a folder (or ``manifest.json``) of ``xlcrm export``.
        mapping: a saved column mapping (``*.xlcrm-map.json``) to use instead of matching.
        source: the lead source to stamp on new records that have none (a Settings source).
        dry_run: report what would happen and write nothing (the mapping is still saved).
        now: the import time stamped as created date when a row has none.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions of the workbook to keep.

    Raises:
        ImportFileError: the file can't be read or has no column the sheet knows.
    """
    file = Path(file)
    if not file.exists():
        raise ImportFileError(f"{file}: no such file")
    crm = load(path)
    now = now or dt.datetime.now().replace(microsecond=0)
    manifest = file / "manifest.json" if file.is_dir() else file
    beside = file.parent / "manifest.json"
    if manifest.name == "manifest.json" and manifest.exists():
        result = _import_export(crm, manifest, now=now)
    elif mapping is None and beside.exists() and file.name in _exported_files(beside):
        result = _import_export(crm, beside, now=now, only=file.name)  # one file of an export
    else:
        result = _import_file(crm, file, mapping=mapping, source=source, now=now,
                              dry_run=dry_run)
    result.dry_run = dry_run
    if not dry_run:
        for state in result._pending:
            if state.cells:
                saved = patch_sheet(crm.path, state.name, state.cells, force=force,
                                    backups=backups)
                if saved.backup:
                    result.backups.append(saved.backup)
    return result


def _header_row(crm: Crm, key: str) -> int:
    """The 1-based sheet row of a data sheet's header (new records go below it)."""
    from python_calamine import CalamineWorkbook

    names = _sheet_header_names(crm.schema.preset, key)
    book = CalamineWorkbook.from_path(str(crm.path))
    try:
        grid = book.get_sheet_by_name(crm.sheet_names[key]).to_python(skip_empty_area=False)
    finally:
        book.close()
    for r, row in enumerate(grid[:20]):
        if sum(isinstance(v, str) and normalize_header(v) in names for v in row) >= 2:
            return r + 1
    return 1


def _coercer(crm: Crm, order: str) -> _Coercer:
    loc = crm.schema.locale
    return _Coercer(date_order=order, date1904=crm.date1904, yes=loc.yes, no=loc.no)


def _coerce(col: Column, raw: Any, coercer: _Coercer, crm: Crm, region: str
            ) -> tuple[Any, str | None]:
    if isinstance(raw, str):  # a line break inside a cell is a bare LF in Excel
        raw = unneutralize(raw.strip()).replace("\r\n", "\n").replace("\r", "\n")
    if col.type in ("date",):
        value, problem = coercer.date(raw)
    elif col.type == "datetime":
        value, problem = coercer.datetime(raw)
    elif col.type in ("money", "number", "integer", "percent"):
        value, problem = coercer.number(raw, percent=col.type == "percent")
    elif col.type == "flag":
        value, problem = coercer.flag(raw)
    elif col.type == "time":
        value, problem = coercer.time(raw)
    else:
        value, problem = coercer.text(raw)
    if problem or value is None:
        return value, problem
    if col.type == "email":
        value = stored_email(value)
    elif col.type == "phone":
        value = stored_phone(value, region)
    elif col.type == "choice" and col.list:
        value = _choice(crm, col.list, str(value))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value, None


def _choice(crm: Crm, list_key: str, value: str) -> str:
    """Spell a list value as Settings does, when it is one of its items (any language)."""
    wanted = normalize_header(value)
    items = crm.settings.items(list_key)
    for item in items:
        if normalize_header(item) == wanted:
            return item
    for key in crm.schema.settings_list(list_key).item_keys:
        if wanted in {normalize_header(label) for label in item_labels(list_key, key)} | {
                normalize_header(key)}:
            label = crm.schema.locale.value(list_key, key)
            return next((i for i in items if normalize_header(i) == normalize_header(label)),
                        label)
    return value


# ----- a lead file -----------------------------------------------------------------------------
def match_columns(header: Iterable[str], sheet: Sheet, names: dict[str, str],
                  saved: dict[str, str | None] | None = None) -> list[ColumnMatch]:
    """Propose the column of the sheet for each header of a file, with a confidence."""
    keys = {c.key for c in sheet.columns}
    matches: list[ColumnMatch] = []
    taken: set[str] = set()
    header = list(header)
    for h in header:
        n = normalize_header(h)
        if saved is not None and h in saved:
            key = saved[h]
            matches.append(ColumnMatch(h, key if key in keys or key == "full_name" else None,
                                       1.0, "saved"))
        elif n in names and names[n] in keys and names[n] not in taken:
            matches.append(ColumnMatch(h, names[n], 1.0, "label"))
        elif _IMPORT_ALIASES.get(n) in keys and _IMPORT_ALIASES[n] not in taken:
            matches.append(ColumnMatch(h, _IMPORT_ALIASES[n], 1.0, "label"))
        else:
            matches.append(ColumnMatch(h, None, 0.0, "unmapped"))
        if matches[-1].column:
            taken.add(matches[-1].column)
    has_first = "first_name" in taken
    out: list[ColumnMatch] = []
    for m in matches:
        n = normalize_header(m.header)
        full = (m.how != "saved" and not has_first and n in _FULL_NAME
                and m.column in (None, "last_name"))
        if full and not any(x.column == "last_name" and x is not m for x in matches):
            m = ColumnMatch(m.header, "full_name", 1.0, "full name")
        if m.column is None and m.how == "unmapped" and n:
            pool = {k: v for k, v in names.items() if v in keys and v not in taken}
            found = process.extractOne(n, list(pool), scorer=fuzz.ratio,
                                       score_cutoff=FUZZY_CUTOFF)
            if found is not None:
                m = ColumnMatch(m.header, pool[found[0]], round(found[1] / 100, 2), "fuzzy")
                taken.add(pool[found[0]])
        out.append(m)
    return out


def _split_name(text: str) -> tuple[str | None, str | None]:
    """Split "Mario Rossi" / "Rossi, Mario" into (first, last)."""
    text = " ".join(text.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip() or None, last.strip() or None
    parts = text.split(" ")
    if len(parts) == 1:
        return None, parts[0] or None
    return " ".join(parts[:-1]), parts[-1]


def put_full_name(values: dict[str, Any], raw: object) -> None:
    """Fill a record's first and last name from one "full name" cell, unless its own first
    or last name columns already did (the import and the adoption of a sheet share this)."""
    first, last = _split_name(str(raw))
    values.setdefault("first_name", first)
    values.setdefault("last_name", last)


def _import_file(crm: Crm, file: Path, *, mapping: str | Path | None, source: str | None,
                 now: dt.datetime, dry_run: bool) -> ImportResult:
    key = crm.schema.lead_sheet
    sheet = crm.schema.sheet(key)
    names = _sheet_header_names(crm.schema.preset, key)
    try:
        table = read_table(file, names)
    except (OSError, ValueError) as exc:
        raise ImportFileError(f"{file.name}: can't be read ({exc})") from None
    saved_path = Path(mapping) if mapping else file.with_name(file.stem + ".xlcrm-map.json")
    saved = None
    if mapping or saved_path.exists():
        try:
            saved = json.loads(saved_path.read_text(encoding="utf-8"))["columns"]
        except (OSError, ValueError, KeyError) as exc:
            raise ImportFileError(f"{saved_path}: not a saved xlcrm mapping ({exc})") from None
    matches = match_columns(table.header, sheet, names, saved)
    if not any(m.column for m in matches):
        raise ImportFileError(f"{file.name}: no column matches the {sheet.name} sheet (headers: "
                           + ", ".join(table.header[:8]) + "); pass --map with a mapping file")
    saved_path.write_text(json.dumps({
        "sheet": key, "columns": {m.header: m.column for m in matches},
        "confidence": {m.header: m.confidence for m in matches}}, indent=2,
        ensure_ascii=False) + "\n", encoding="utf-8")
    result = ImportResult(crm.path, [file], mapping=matches, mapping_file=saved_path,
                          encoding=table.encoding, delimiter=table.delimiter)
    date_cols = [i for i, m in enumerate(matches) if m.column and m.column in
                 {c.key for c in sheet.columns if c.type in ("date", "datetime")}]
    order = detect_date_order([r[i] for _, r in table.rows for i in date_cols if i < len(r)],
                              str(crm.settings.options.get("date_order") or "DMY"))
    result.date_order = order
    coercer = _coercer(crm, order)
    state = _Sheet(crm, key, _header_row(crm, key))
    region = state.region
    stamp_source = _choice(crm, "sources", source) if source else None
    if stamp_source and stamp_source not in crm.settings.items("sources"):
        result.rows.append(ImportRow(file.name, table.header_line, "warning",
                                     f'source "{source}" is not in Settings > Sources; add it '
                                     "there so the tally counts these leads by source"))
    first_stage = None
    if sheet.has_column("stage") and sheet.column("stage").list:
        first_stage = next(iter(crm.settings.items(str(sheet.column("stage").list))), None)
    seen: dict[str, int] = {}
    claimed: set[int] = set()  # records an earlier line of this file matched
    for line, cells in table.rows:
        values: dict[str, Any] = {}
        problems: list[str] = []
        for m, raw in zip(matches, cells):
            if not m.column or raw in (None, ""):
                continue
            if m.column == "full_name":
                put_full_name(values, raw)
                continue
            value, problem = _coerce(sheet.column(m.column), raw, coercer, crm, region)
            if problem:
                problems.append(f'{m.header} "{raw}" {problem}')
            elif value is not None:
                values[m.column] = value
        if _filled(values.get("email")) and not email_key(values["email"]):
            problems.append(f'e-mail "{values.pop("email")}" is not an e-mail address')
        for p in problems:
            result.rows.append(ImportRow(file.name, line, "warning", p + "; left empty"))
        if _filled(values.get("phone")) and not phone_key(values["phone"], region):
            result.rows.append(ImportRow(file.name, line, "warning",
                                         f'phone "{values["phone"]}" is not a phone number '
                                         f"of {region} or with a country code; kept as typed"))
        if not any(_filled(values.get(k)) for k in ("last_name", "email", "phone")):
            result.skipped += 1
            result.rows.append(ImportRow(file.name, line, "skipped",
                                         "no last name, e-mail or phone: nothing to keep"))
            continue
        if not _filled(values.get("last_name")):
            values["last_name"] = _name_from_email(values.get("email")) or str(
                values.get("phone"))
        keys = [k for k in (email_key(values.get("email")),
                            phone_key(values.get("phone"), region)) if k]
        dup = next((seen[k] for k in keys if k in seen), None)
        for k in keys:
            seen.setdefault(k, line)
        stamp = {"created": now, "source": stamp_source or _default_source(crm, file),
                 "stage": first_stage}
        outcome, row, how = state.upsert(values, stamp=stamp, keep=claimed)
        claimed.add(row)
        if outcome == "added":
            result.added += 1
        elif outcome == "updated":
            result.updated += 1
            if dup is not None:
                result.rows.append(ImportRow(file.name, line, "merged",
                                             f"same person as line {dup}: merged into "
                                             f"{state.name} row {row}"))
        else:
            result.skipped += 1
            reason = (f"duplicate of line {dup} (same {how})" if dup is not None else
                      f"already in {state.name} row {row} (same {how}), nothing new")
            result.rows.append(ImportRow(file.name, line, "skipped", reason))
    result._pending = [state]
    return result


def _name_from_email(email: Any) -> str | None:
    if not _filled(email):
        return None
    local = str(email).split("@", 1)[0]
    return local.replace(".", " ").replace("_", " ").title() or None


def _default_source(crm: Crm, file: Path) -> str:
    """A file with no source column: the file's name says where its leads came from."""
    return _choice(crm, "sources", file.stem.replace("_", " ").replace("-", " "))


# ----- an xlcrm export, back -------------------------------------------------------------------
def _reverse(spec: Mapping_, col: ColumnSpec, text: str, crm: Crm,
             sheet: Sheet) -> Any:
    text = unneutralize(text)
    if not text:
        return None
    if col.map == "reps":
        frame = crm.settings.lists.get("reps")
        if frame is not None and "email" in frame:
            for rep, email in zip(frame.iloc[:, 0], frame["email"]):
                if _filled(email) and str(email).lower() == text.lower():
                    return str(rep)
        return text
    if col.map:
        table = spec.values.get(col.values_table, {})
        for item in crm.settings.items(col.map):
            for key, target in table.items():
                if target == text and normalize_header(item) in {
                        normalize_header(x) for x in [key, *item_labels(col.map, key)]}:
                    return item
        found = next((k for k, v in table.items() if v == text), None)
        return crm.schema.locale.value(col.map, found) if found else text
    column = sheet.column(str(col.value))
    kind = col.kind or column.type
    if kind in ("date", "datetime"):
        fmt = spec.date_format if kind == "date" or col.kind == "date" else spec.datetime_format
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            return pd.Timestamp(text).to_pydatetime()
    if column.type in ("money", "number", "integer", "percent"):
        return float(text)
    if column.type == "flag":
        return text.lower() == spec.true.lower()
    return text


def _reverse_item(spec: Mapping_, given: list[tuple[ColumnSpec, str]], crm: Crm) -> Any:
    """The workbook list item (a stage) whose every mapped target value matches the file's.

    A stage can go out in several columns (Pipedrive's stage and status): the item that gives
    all of them back is the one meant; the first in Settings order wins a tie.
    """
    texts = [(col, unneutralize(text)) for col, text in given if unneutralize(text)]
    if not texts:
        return None
    list_key = str(texts[0][0].map)
    keys = list(crm.schema.settings_list(list_key).item_keys)
    for col, _ in texts:
        keys += [k for k in spec.values.get(col.values_table, {}) if k not in keys]
    for item in [*crm.settings.items(list_key), *keys]:
        wanted = normalize_header(item)
        key = next((k for k in keys if wanted in {
            normalize_header(x) for x in [k, *item_labels(list_key, k)]}), None)
        if key is not None and all(spec.values.get(col.values_table, {}).get(key) == text
                                   for col, text in texts):
            return item if item not in keys else crm.schema.locale.value(list_key, item)
    return _reverse(spec, texts[0][0], texts[0][1], crm, crm.schema.sheet(
        next(f.sheet for f in spec.files if texts[0][0] in f.columns)))


def _plain(col: ColumnSpec) -> bool:
    """Tell whether a column carries one workbook value back unchanged (not a name lookup)."""
    return (col.const is None and bool(col.value) and " " not in str(col.value)
            and "." not in str(col.value) and col.fallback is None and col.kind != "domain")


def _exported_files(manifest_path: Path) -> set[str]:
    try:
        return {f["file"] for f in json.loads(manifest_path.read_text(encoding="utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _import_export(crm: Crm, manifest_path: Path, *, now: dt.datetime,
                   only: str | None = None) -> ImportResult:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    spec = load_mapping(manifest["target"])
    folder = manifest_path.parent
    if manifest["preset"] != crm.schema.preset:
        raise ImportFileError(f"{manifest_path}: an export of a {manifest['preset']} workbook; "
                           f"import it into a {manifest['preset']} workbook")
    result = ImportResult(crm.path, [], encoding=manifest["encoding"], delimiter=",")
    states: dict[str, _Sheet] = {}
    files: dict[str, FileSpec] = {f.object: f for f in spec.files_for(crm.schema.preset)}
    for entry in sorted(manifest["files"], key=lambda f: (f["load_order"], f["part"])):
        if only is not None and entry["file"] != only:
            continue
        fs = files[entry["object"]]
        sheet = crm.schema.sheet(fs.sheet)
        if fs.sheet not in states:
            states[fs.sheet] = _Sheet(crm, fs.sheet, _header_row(crm, fs.sheet))
        state = states[fs.sheet]
        path = folder / entry["file"]
        result.files.append(path)
        table: RawTable = read_table(path)
        by_header = {c.header: c for c in fs.columns}
        carried = {h for h, c in by_header.items() if _plain(c)}
        for line, cells in table.rows:
            values: dict[str, Any] = {}
            listed: dict[str, list[tuple[ColumnSpec, str]]] = {}
            for h, text in zip(table.header, cells):
                col = by_header.get(h)
                if col is not None and h in carried and col.map not in (None, "reps"):
                    listed.setdefault(str(col.value), []).append((col, text))
                    continue
                if col is None or h not in carried or str(col.value) in values:
                    continue
                try:
                    values[str(col.value)] = _reverse(spec, col, text, crm, sheet)
                except ValueError as exc:
                    result.rows.append(ImportRow(path.name, line, "warning",
                                                 f'{h} "{text}" can\'t be read ({exc})'))
            for key, given in listed.items():
                values[key] = _reverse_item(spec, given, crm)
            outcome, row, how = state.upsert(values, stamp={"created": now},
                                             by_id_only=_filled(values.get("id")))
            if outcome == "added":
                result.added += 1
            elif outcome == "updated":
                result.updated += 1
            else:
                result.skipped += 1
                result.rows.append(ImportRow(path.name, line, "skipped",
                                             f"already in {state.name} row {row} (same {how}), "
                                             "nothing new"))
    result._pending = list(states.values())
    return result
