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

This module reads a lead file and drives the import; the column matching lives in
:mod:`.matching`, the upsert of one sheet in :mod:`.upsert`, the export read back in
:mod:`.roundtrip`.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ImportFileError
from ..metrics.identity import email_key, phone_key, stored_email, stored_phone
from ..read import Coercer, Crm, load, sheet_header_names
from ..schema import Column, Schema, item_labels, normalize_header
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.writer import patch_sheet
from .matching import ColumnMatch, match_columns, put_full_name
from .oldsheets import YES, date_yes_marks, won_stage, yes_no_dates
from .roundtrip import exported_files, import_export_folder
from .safety import unneutralize
from .sources import detect_date_order, read_table
from .upsert import ImportResult, ImportRow, SheetUpsert, filled

__all__ = ["ColumnMatch", "ImportResult", "ImportRow", "import_leads", "put_full_name"]


# ----- the public function ---------------------------------------------------------------------
@with_password
@locked_command(lambda kw: not kw.get("dry_run"))
def import_leads(path: str | Path, file: str | Path, *, mapping: str | Path | None = None,
                 source: str | None = None, dry_run: bool = False,
                 now: dt.datetime | None = None, force: bool = False,
                 backups: int = 5, password: str | None = None) -> ImportResult:
    """Append or update records of ``path`` from a lead file or an xlcrm export folder.

    Args:
        path: the CRM workbook.
        file: a CSV/TXT/XLSX lead file, or a folder (or ``manifest.json``) of ``xlcrm export``.
        mapping: a saved column mapping (``*.xlcrm-map.json``) to use instead of matching.
        source: the lead source to stamp on new records that have none (a Settings source).
        dry_run: report what would happen and write nothing, not even the mapping file.
        now: the import time stamped as created date when a row has none.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions of the workbook to keep.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        ImportFileError: the file can't be read or has no column the sheet knows.
    """
    file = Path(file)
    if not file.exists():
        raise ImportFileError(f"{file}: no such file")
    manifest = file / "manifest.json" if file.is_dir() else file
    beside = file.parent / "manifest.json"
    whole = manifest.name == "manifest.json" and manifest.exists()
    one_of_export = mapping is None and beside.exists() and file.name in exported_files(beside)
    # a lead file goes into the lead sheet alone: the other data sheets are checked, not typed
    crm = load(path) if whole or one_of_export else load(path, columns=_lead_sheet_only)
    crm.require_xlcrm()
    if crm.schema.lead_sheet not in crm.sheet_names:
        lead_sheet = crm.schema.sheet(crm.schema.lead_sheet).name
        raise ImportFileError(f"{crm.path.name}: has no {lead_sheet} sheet to import into "
                              "(renamed or deleted?); nothing was imported")
    now = now or dt.datetime.now().replace(microsecond=0)
    if whole:
        result = import_export_folder(crm, manifest, now=now)
    elif one_of_export:
        result = import_export_folder(crm, beside, now=now, only=file.name)  # one file of an export
    else:
        result = _import_file(crm, file, mapping=mapping, source=source, now=now,
                              dry_run=dry_run)
    result.dry_run = dry_run
    if not dry_run:
        for state in result.pending:
            if state.cells:
                saved = patch_sheet(crm.path, state.name, state.cells, force=force,
                                    backups=backups, identities=crm.sheet_names)
                if saved.backup:
                    result.backups.append(saved.backup)
    return result


def _lead_sheet_only(schema: Schema, settings: Any) -> dict[str, list[str]]:
    """The columns a lead file's import types: every one of the lead sheet, none of the
    others (``load``'s ``columns``)."""
    return {s.key: [] for s in schema.data_sheets if s.key != schema.lead_sheet}


def _coercer(crm: Crm, order: str) -> Coercer:
    loc = crm.schema.locale
    return Coercer(date_order=order, date1904=crm.date1904, yes=loc.yes, no=loc.no)


def _coerce(col: Column, raw: Any, coercer: Coercer, crm: Crm, region: str
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


#: The workbook whose list spellings :func:`_choice` remembers, and what it found: a file's
#: rows repeat a few sources and statuses, each worked out once instead of once per row.
_spelled: list[Any] = [None, {}]


def _choice(crm: Crm, list_key: str, value: str) -> str:
    """Spell a list value as Settings does, when it is one of its items (any language)."""
    if _spelled[0] is None or _spelled[0]() is not crm:
        _spelled[:] = [weakref.ref(crm), {}]
    memo: dict[tuple[str, str], str] = _spelled[1]
    key = (list_key, value)
    if key not in memo:
        memo[key] = _spell(crm, list_key, value)
    return memo[key]


def _spell(crm: Crm, list_key: str, value: str) -> str:
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


def _import_file(crm: Crm, file: Path, *, mapping: str | Path | None, source: str | None,
                 now: dt.datetime, dry_run: bool) -> ImportResult:
    key = crm.schema.lead_sheet
    sheet = crm.schema.sheet(key)
    names = sheet_header_names(crm.schema.preset, key)
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
    if not dry_run:  # a dry run writes nothing, its mapping neither
        saved_path.write_text(json.dumps({
            "sheet": key, "columns": {m.header: m.column for m in matches},
            "confidence": {m.header: m.confidence for m in matches}}, indent=2,
            ensure_ascii=False) + "\n", encoding="utf-8")
    result = ImportResult(crm.path, [file], mapping=matches,
                          mapping_file=None if dry_run else saved_path,
                          encoding=table.encoding, delimiter=table.delimiter)
    date_cols = [i for i, m in enumerate(matches) if m.column and m.column in
                 {c.key for c in sheet.columns if c.type in ("date", "datetime")}]
    order = detect_date_order([r[i] for _, r in table.rows for i in date_cols if i < len(r)],
                              str(crm.settings.options.get("date_order") or "DMY"))
    result.date_order = order
    coercer = _coercer(crm, order)
    state = SheetUpsert(crm, key)
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
    yes_no = yes_no_dates(sheet, matches, table.rows, coercer)  # "Sold?" Y/N
    stages = crm.settings.lists.get("stages")
    won = won_stage(stages.itertuples(index=False)) if stages is not None else None
    for line, cells in table.rows:
        values: dict[str, Any] = {}
        problems: list[str] = []
        for i, (m, raw) in enumerate(zip(matches, cells)):
            if not m.column or raw in (None, ""):
                continue
            if m.column == "full_name":
                put_full_name(values, raw)
                continue
            if i in yes_no:  # the step happened, on no day the file gives
                if coercer.flag(raw)[0]:
                    values[m.column] = YES
                continue
            value, problem = _coerce(sheet.column(m.column), raw, coercer, crm, region)
            if problem:
                problems.append(f'{m.header} "{raw}" {problem}')
            elif value is not None:
                values[m.column] = value
        date_yes_marks(values, sheet, crm.schema, won, now)
        if filled(values.get("email")) and not email_key(values["email"]):
            problems.append(f'e-mail "{values.pop("email")}" is not an e-mail address')
        for p in problems:
            result.rows.append(ImportRow(file.name, line, "warning", p + "; left empty"))
        if filled(values.get("phone")) and not phone_key(values["phone"], region):
            result.rows.append(ImportRow(file.name, line, "warning",
                                         f'phone "{values["phone"]}" is not a phone number '
                                         f"of {region} or with a country code; kept as typed "
                                         "for you to fix (`xlcrm check` lists it)"))
        if not any(filled(values.get(k)) for k in ("last_name", "email", "phone")):
            result.skipped += 1
            result.rows.append(ImportRow(file.name, line, "skipped",
                                         "no last name, e-mail or phone: nothing to keep"))
            continue
        if not filled(values.get("last_name")):
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
    result.pending = [state]
    return result


def _name_from_email(email: Any) -> str | None:
    if not filled(email):
        return None
    local = str(email).split("@", 1)[0]
    return local.replace(".", " ").replace("_", " ").title() or None


def _default_source(crm: Crm, file: Path) -> str:
    """A file with no source column: the file's name says where its leads came from."""
    return _choice(crm, "sources", file.stem.replace("_", " ").replace("-", " "))
