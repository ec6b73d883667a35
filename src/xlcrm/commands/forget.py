"""Erase one person: the twin of ``xlcrm forget`` (an erasure request).

The person's rows are found as ``xlcrm person`` finds them (:mod:`xlcrm.metrics.person`).
By default they are **anonymised**: every personal cell is emptied (a required one reads
``[erased]``), a cell of someone else's row that mentions the person loses the mention, and
ids, dates, sources, stages, reps and amounts stay, so every tally counts what it counted.
With ``delete`` the person's record and the rows linked to it are removed instead (the rows
below move up); rows of the owned sheets that refer to them are anonymised either way and
rewritten by the next run.

In the same save, shared strings no cell uses any more are blanked (the package keeps no
copy of an erased value) and a line goes to the owned *Erasure log* sheet: the day, the
records' ids, the sheets touched, no personal data. No backup of the version before is kept;
the backups that still hold the person are removed, and the result says which.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArgumentError, PasswordError
from ..issues import column_letter
from ..metrics.identity import phone_key
from ..metrics.person import ERASED, Finding, PersonRows, find_person
from ..read import load
from ..sheets.erasure_log import erasure_log_builder, read_erasure_log
from ..xlsx.crypto import OLE_MAGIC, decrypt_bytes, with_password
from ..xlsx.crypto import password as active_password
from ..xlsx.lock import locked_command
from ..xlsx.save import SaveResult, backups_of
from ..xlsx.writer import CellChange, write_changes
from .person import read_all_sheets, require_one_key

__all__ = ["ERASED", "ForgetResult", "forget"]

_PHONE_RUN = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")


@dataclass
class ForgetResult:
    """What ``forget`` changed (or, with ``dry_run``, would change).

    Attributes:
        path: the CRM workbook.
        records: the ids of the person's own records.
        changes: every cell changed, ``Sheet!A1: before -> after``.
        deleted: sheet -> the rows (1-based) removed, with ``delete``.
        backups_removed: the backups that held the person and were removed.
        sheets: the sheets touched.
        saved: the save, ``None`` for a dry run.
    """

    path: Path
    records: list[str]
    changes: list[CellChange] = field(default_factory=list)
    deleted: dict[str, list[int]] = field(default_factory=dict)
    backups_removed: list[Path] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    saved: SaveResult | None = None
    dry_run: bool = False


def _erase_mentions(text: str, found: PersonRows, region: str) -> str:
    """``text`` without the person's e-mails, phones and full names; all of it when a
    mention can't be cut out cleanly."""
    out = text
    for e in found.emails:
        out = re.sub(re.escape(e), ERASED, out, flags=re.IGNORECASE)
    keys = {phone_key(p, region) for p in found.phones} - {None}
    out = _PHONE_RUN.sub(lambda m: ERASED if phone_key(m.group(0), region) in keys
                         else m.group(0), out)
    for n in found.names:
        out = re.sub(r"\s+".join(re.escape(w) for w in n.split()), ERASED, out,
                     flags=re.IGNORECASE)
    return out if out != text else ERASED


def _plan(found: PersonRows, grids: dict[str, list[list[Any]]], region: str,
          delete: set[str]) -> tuple[dict[str, dict[tuple[int, int], Any]], list[CellChange],
                                     dict[str, list[int]]]:
    """The cells to set and the rows to remove; ``delete`` names the sheets whose own and
    linked rows go."""
    patches: dict[str, dict[tuple[int, int], Any]] = {}
    changes: list[CellChange] = []
    deleted: dict[str, list[int]] = {}
    for f in found.findings:
        if f.why in ("record", "linked") and f.sheet in delete:
            deleted.setdefault(f.sheet, []).append(f.row)
            continue
        row = grids.get(f.sheet, [])
        cells = row[f.row - 1] if f.row - 1 < len(row) else []
        for c in sorted(f.personal):
            before = cells[c] if c < len(cells) else ""
            after: Any = _new_value(f, c, before, found, region)
            if after == before:
                continue
            patches.setdefault(f.sheet, {})[(f.row - 1, c)] = after
            changes.append(CellChange(f.sheet, f"{column_letter(c)}{f.row}", before,
                                      "" if after is None else after))
    return patches, changes, deleted


def _new_value(f: Finding, c: int, before: Any, found: PersonRows, region: str) -> Any:
    if f.why in ("record", "linked"):
        return ERASED if c in f.required else None
    return _erase_mentions(str(before), found, region)


def _holds_person(data: bytes, found: PersonRows) -> bool:
    """Tell whether a workbook's bytes hold the person's e-mail, phone or name in any part."""
    needles = [s.casefold().encode() for s in (*found.emails, *found.phones, *found.names)
               if len(s) >= 4]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                text = zf.read(info).decode("utf-8", "replace").casefold().encode()
                if any(n in text for n in needles):
                    return True
    except zipfile.BadZipFile:
        return True  # can't be read, so can't be shown not to hold them
    return False


@with_password
@locked_command(lambda kw: not kw.get("dry_run"))
def forget(path: str | Path, *, email: str | None = None, phone: str | None = None,
           record_id: str | None = None, dry_run: bool = False, delete: bool = False,
           force: bool = False, today: dt.date | None = None,
           password: str | None = None) -> ForgetResult:
    """Erase one person from the workbook (anonymise, or ``delete`` their rows).

    Args:
        path: the CRM workbook.
        email: the person's e-mail (matched by mailbox).
        phone: the person's phone (matched in the workbook's phone region).
        record_id: the id of one of their records.
        dry_run: list every cell that would change; write nothing.
        delete: remove the person's record and the rows linked to it instead of emptying
            their personal cells.
        force: write even though Excel or LibreOffice has the workbook open.
        today: the day the erasure log records (default: today).
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        ArgumentError: not exactly one of e-mail, phone and id, or nobody matches.
        NotXlcrmWorkbookError: the workbook is not xlcrm's.
        UnreadableWorkbookError: the workbook can't be read.
    """
    asked = require_one_key(email, phone, record_id)
    crm = load(path)
    if not dry_run:
        crm.require_xlcrm()
    grids = read_all_sheets(crm)
    found = find_person(crm, grids, email=email, phone=phone, record_id=record_id)
    if not found.records:
        (how, value), = asked.items()
        raise ArgumentError(f"{crm.path.name}: no record matches --{how} {value}; "
                            "nothing was changed")
    region = str(crm.settings.options.get("phone_region") or "US")
    data_names = {name for key, name in crm.sheet_names.items()
                  if key in {s.key for s in crm.schema.data_sheets}}
    patches, changes, deleted = _plan(found, grids, region, data_names if delete else set())
    result = ForgetResult(crm.path, found.records, changes, deleted, dry_run=dry_run)
    result.sheets = list(dict.fromkeys([*patches, *deleted]))
    if dry_run:
        return result
    log_name = crm.sheet_names.get("erasure_log",
                                   crm.schema.locale.label("sheets", "erasure_log"))
    old_log = read_erasure_log(grids.get(log_name, []))
    held = [b for b in backups_of(crm.path) if _backup_holds(b, found)]
    line = [dt.datetime.combine(today or dt.date.today(), dt.time()),
            ", ".join(found.records), "deleted" if delete else "anonymised",
            ", ".join(result.sheets), len(changes), sum(len(r) for r in deleted.values()),
            len(held)]
    result.saved = write_changes(
        crm.path, {log_name: erasure_log_builder(crm, [*old_log, line])}, patches,
        force=force, backups=0, forget_strings=True,
        deletions={s: [r - 1 for r in rows] for s, rows in deleted.items()})
    for backup in held:
        backup.unlink(missing_ok=True)
        _drop_undo_record(crm.path, backup)
    result.backups_removed = held
    return result


def _backup_holds(backup: Path, found: PersonRows) -> bool:
    data = backup.read_bytes()
    if data.startswith(OLE_MAGIC):
        secret = active_password()
        if secret is None:
            return True  # an encrypted backup we can't look into: removed to be sure
        try:
            data = decrypt_bytes(data, secret, backup.name)
        except PasswordError:
            return True
    return _holds_person(data, found)


def _drop_undo_record(workbook: Path, backup: Path) -> None:
    """A removed copy from before a merge takes the merge's undo record with it."""
    if ".before-merge." in backup.name:
        (backup.parent / f"{workbook.name}.merge.json").unlink(missing_ok=True)
