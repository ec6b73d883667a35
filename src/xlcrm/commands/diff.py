"""What changed between two versions of a CRM workbook: the library twin of ``xlcrm diff``.

Record by record on each data sheet (added, removed, changed with each field's old and new
value; see :mod:`xlcrm.metrics.compare` for how records are matched), and item by item in the
Settings lists. Owned sheets (Tally, Dashboard ...) and the team's own sheets are left out:
they are not records. ``since_backup=N`` compares the workbook with the N-th newest copy the
safe save kept in ``.xlcrm-backups`` beside it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..crm import Crm
from ..errors import ArgumentError, WorkbookError
from ..metrics.compare import (
    FieldChange,
    RecordChange,
    SettingsChange,
    compare_records,
    compare_settings,
)
from ..read import load
from ..xlsx.crypto import with_password
from ..xlsx.parts import read_outline
from ..xlsx.save import BACKUP_FOLDER

__all__ = ["DiffResult", "diff", "load_same_kind", "workbook_backups"]


@dataclass
class DiffResult:
    """What changed from OLD to NEW.

    Attributes:
        old: the older version compared (a backup, with ``since_backup``).
        new: the newer version.
        records: every record added, removed or changed, sheet by sheet.
        settings: every Settings list item added, removed or changed, and options changed.
    """

    old: Path
    new: Path
    records: list[RecordChange] = field(default_factory=list)
    settings: list[SettingsChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(self.records or self.settings)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per data sheet (and Settings): how many records were added, removed, changed."""
        out: dict[str, dict[str, int]] = {}
        kinds = [(c.sheet_name, c.kind) for c in self.records] + \
            [("Settings", s.kind) for s in self.settings]
        for where, kind in kinds:
            out.setdefault(where, {"added": 0, "removed": 0, "changed": 0})[kind] += 1
        return out

    def summary(self) -> str:
        """One line: the counts, or that nothing changed."""
        if not self.changed:
            return f"No differences between {self.old.name} and {self.new.name}"
        return "; ".join(f"{where}: " + ", ".join(f"{n} {kind}" for kind, n in by.items() if n)
                         for where, by in self.counts().items())

    def to_json(self) -> str:
        """Everything that changed, as JSON."""
        return json.dumps({"old": str(self.old), "new": str(self.new),
                           "counts": self.counts(),
                           "records": [c.to_dict() for c in self.records],
                           "settings": [c.to_dict() for c in self.settings]},
                          ensure_ascii=False, indent=2, default=str)

    def lines(self) -> list[str]:
        """Every change as a line of text (a changed record: one line, then one per field)."""
        out = []
        for c in self.records:
            row = c.new_row if c.kind != "removed" else c.old_row
            name = f": {c.name}" if c.name else ""
            out.append(f"{c.sheet_name} {c.record} {c.kind} (row {row}){name}")
            out += [f"    {_field_line(f)}" for f in c.fields]
        for s in self.settings:
            out.append(f"Settings {s.title}: {s.item} {s.kind}")
            out += [f"    {_field_line(f)}" for f in s.fields]
        return out

    def to_text(self) -> str:
        """The changes for a person, then the summary line."""
        return "\n".join([*self.lines(), self.summary()])

    def to_html(self) -> str:
        """A page listing the changes, one table per sheet (self-contained, no scripts)."""
        rows: dict[str, list[str]] = {}
        for c in self.records:
            detail = "<br>".join(html.escape(_field_line(f)) for f in c.fields)
            rows.setdefault(c.sheet_name, []).append(
                f'<tr class="{c.kind}"><td>{html.escape(c.record)}</td>'
                f"<td>{html.escape(c.name)}</td><td>{c.kind}</td><td>{detail}</td></tr>")
        for s in self.settings:
            detail = "<br>".join(html.escape(_field_line(f)) for f in s.fields)
            rows.setdefault("Settings", []).append(
                f'<tr class="{s.kind}"><td>{html.escape(s.title)}</td><td>'
                f"{html.escape(s.item)}</td><td>{s.kind}</td><td>{detail}</td></tr>")
        tables = "".join(
            f"<h2>{html.escape(where)}</h2><table><tr><th>Record</th><th>Name</th><th>Change</th>"
            f"<th>Fields (old &rarr; new)</th></tr>{''.join(body)}</table>"
            for where, body in rows.items())
        title = f"{html.escape(self.old.name)} &rarr; {html.escape(self.new.name)}"
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>What changed: "
                f"{title}</title><style>body{{font-family:sans-serif;margin:2em}}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
                "vertical-align:top;text-align:left}.added{background:#e2efda}"
                ".removed{background:#fbe2d5}.changed{background:#fff2cc}</style></head><body>"
                f"<h1>What changed: {title}</h1><p>{html.escape(self.summary())}</p>{tables}"
                "</body></html>")


def _field_line(f: FieldChange) -> str:
    return f"{f.header}: {_shown(f.old)} -> {_shown(f.new)}"


def _shown(v: Any) -> str:
    import datetime as dt

    if v is None:
        return "(empty)"
    if isinstance(v, dt.datetime):
        return f"{v:%Y-%m-%d}" if v.time() == dt.time() else f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def workbook_backups(path: Path) -> list[Path]:
    """The copies the safe save kept of ``path`` in ``.xlcrm-backups`` beside it, newest first."""
    pattern = re.compile(rf"{re.escape(path.stem)}\.[0-9]{{8}}-[0-9]{{6}}-[0-9]{{6}}"
                         rf"{re.escape(path.suffix)}")
    folder = path.parent / BACKUP_FOLDER
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if pattern.fullmatch(p.name)), reverse=True)


def _recorded(path: Path) -> tuple[str | None, str | None]:
    """The preset and schema version a workbook's properties record."""
    props = read_outline(path).properties
    return props.get("xlcrm_preset") or None, props.get("xlcrm_schema_version") or None


def load_same_kind(*paths: Path) -> list[Crm]:
    """Load workbooks that must be of one preset and schema version, or refuse.

    Raises:
        WorkbookError: two of them record different presets or schema versions.
    """
    crms = [load(p) for p in paths]
    for crm in crms:
        crm.require_xlcrm()  # two versions of a team's own workbook: attach or adopt it first
    kinds = [_recorded(c.path) for c in crms]
    for crm, (preset, version) in zip(crms, kinds):
        first, (p0, v0) = crms[0], kinds[0]
        if (preset or crm.schema.preset) != (p0 or first.schema.preset):
            raise WorkbookError(
                f"{crm.path.name} is a {preset or crm.schema.preset} workbook and "
                f"{first.path.name} a {p0 or first.schema.preset} one; only two versions of "
                "the same workbook can be compared or merged")
        if version and v0 and str(version) != str(v0):
            raise WorkbookError(
                f"{crm.path.name} has schema version {version} and {first.path.name} "
                f"{v0}; run `xlcrm update` on the older one with this xlcrm first so both "
                "have the same version")
    return crms


@with_password
def diff(old: str | Path, new: str | Path | None = None, *,
         since_backup: int | None = None, password: str | None = None) -> DiffResult:
    """Compare two versions of a CRM workbook record by record.

    Args:
        old: the older version; with ``since_backup``, the workbook itself.
        new: the newer version (not with ``since_backup``).
        since_backup: compare the workbook with its N-th newest backup (1: the newest).
        password: the password of encrypted versions (both, or one of them: a plain version
            is read as it is); they are decrypted in memory only.

    Returns:
        The records and Settings items added, removed and changed.

    Raises:
        ArgumentError: no NEW and no ``since_backup``, both, or no such backup.
        WorkbookError: the two are of different presets or schema versions.
        UnreadableWorkbookError: a file can't be read.
        PasswordError: a version is encrypted and no password, or a wrong one, was given.
    """
    old_path = Path(old)
    if since_backup is not None:
        if new is not None:
            raise ArgumentError("give either NEW or --since-backup, not both")
        if since_backup < 1:
            raise ArgumentError(f"--since-backup {since_backup}: count backups from 1 "
                                "(the newest)")
        backups = workbook_backups(old_path)
        if len(backups) < since_backup:
            raise ArgumentError(
                f"{old_path.name}: has {len(backups)} backup{'s' * (len(backups) != 1)} in "
                f"{old_path.parent / BACKUP_FOLDER}, not {since_backup}")
        old_path, new_path = backups[since_backup - 1], old_path
    elif new is None:
        raise ArgumentError("give the newer version NEW, or --since-backup N")
    else:
        new_path = Path(new)
    before, after = load_same_kind(old_path, new_path)
    return DiffResult(old_path, new_path, compare_records(before, after),
                      compare_settings(before, after))
