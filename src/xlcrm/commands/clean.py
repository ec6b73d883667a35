"""Clean data first: the library twin of ``xlcrm clean``.

:func:`clean` finds what makes a CRM untrustworthy and writes it to the owned *Data quality*
sheet (and returns it for the terminal and JSON):

- duplicate people (leads, contacts) and companies (accounts), in groups, each with a score
  and the reason (see :mod:`xlcrm.metrics.duplicates` and :mod:`xlcrm.metrics.quality`);
- records nobody can reach (no e-mail and no phone, a malformed e-mail, an impossible phone);
- dead accounts, contacts and leads: no activity, task or deal for the days Settings says;
- account hierarchy problems: orphans, cycles, a child in another territory than its parent;
- records with no owner, or an owner Settings doesn't list.

Merging is a person's decision: they put an ``x`` in the *Merge* column beside the records of
a group that are one, and ``clean(path, apply=True)`` merges them: the oldest record keeps its
id and takes the others' values where it had none, links from deals, activities, tasks and
tickets are re-pointed to it, the merged rows are emptied, and every value of a merged record
goes to the *Merge log* sheet, so nothing typed is lost (see :mod:`xlcrm.metrics.merge`). The
workbook as it was before the
merge is kept beside it; ``clean(path, undo=True)`` puts it back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import WorkbookError
from ..issues import TEXT_DATE
from ..metrics.merge import MergeRecord, Patches, plan_merge
from ..metrics.quality import (
    DUPLICATE_SHEETS,
    DuplicateGroup,
    Finding,
    count_findings,
    find_groups,
    find_problems,
)
from ..read import Crm, bulk_work, load
from ..sheets.merge_log import LOG_HEADER, merge_log_builder
from ..sheets.quality import DUPLICATE_HEADER, quality_builder
from ..xlsx.opening import safe_open
from ..xlsx.save import BACKUP_FOLDER, SaveResult, safe_save
from ..xlsx.writer import SheetBuilder, write_changes, write_owned_sheets

__all__ = ["CleanResult", "clean"]

#: what a Merge cell may hold and still mean "don't merge"
_NO = frozenset({"", "no", "n", "0", "false", "falso", "-", "nein", "non"})


@dataclass
class CleanResult:
    """What ``clean`` found (and merged, or restored)."""

    path: Path
    groups: list[DuplicateGroup]
    findings: list[Finding]
    compared: dict[str, int] = field(default_factory=dict)
    merged: list[MergeRecord] = field(default_factory=list)
    merged_groups: int = 0
    skipped: list[str] = field(default_factory=list)
    undone: bool = False
    sheets: list[str] = field(default_factory=list)
    saved: SaveResult | None = None
    #: the dates typed as text that ``apply`` made real dates, as ``Sheet!F12``
    dates_converted: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many findings of each check, duplicates first."""
        return count_findings(self.groups, self.findings)

    def to_json(self) -> str:
        """Everything found as JSON: duplicate groups with ids, score and reason, and every
        other finding with its record id and ``Sheet!Cell``."""
        return json.dumps({
            "file": str(self.path), "duplicate_groups": [g.to_dict() for g in self.groups],
            "findings": [f.to_dict() for f in self.findings], "counts": self.counts(),
            "compared_pairs": self.compared, "merged_groups": self.merged_groups,
            "merge_log": [asdict(m) for m in self.merged], "skipped": self.skipped,
            "undone": self.undone,
        }, ensure_ascii=False, indent=2, default=str)


# ----- reading back the owned sheets -------------------------------------------------------
def _sheet_grids(path: Path, names: list[str]) -> dict[str, list[list[Any]]]:
    """The cells of the named sheets that exist (one opening of the workbook)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                for n in names if n in book.sheet_names}
    finally:
        book.close()


def _read_marks(rows: list[list[Any]]) -> dict[tuple[str, str], str]:
    """(sheet name, record id) -> group number, for each record marked in the Merge column."""
    marks: dict[tuple[str, str], str] = {}
    start = next((i for i, r in enumerate(rows) if r and r[0] == DUPLICATE_HEADER[0]
                  and DUPLICATE_HEADER[-1] in r), None)
    if start is None:
        return marks
    header = rows[start]
    c_group, c_sheet, c_record = 0, header.index("Sheet"), header.index("Record")
    c_merge = header.index(DUPLICATE_HEADER[-1])
    for r in rows[start + 1:]:
        if not r or r[c_record] in ("", None):
            break
        mark = str(r[c_merge] if c_merge < len(r) else "").strip().casefold()
        if mark not in _NO:
            group = r[c_group]
            marks[(str(r[c_sheet]), str(r[c_record]))] = str(
                int(group) if isinstance(group, float) else group)
    return marks


def _read_log(rows: list[list[Any]]) -> list[list[Any]]:
    """The Merge log's lines already written, to keep them when it is written afresh."""
    start = next((i for i, r in enumerate(rows[:10]) if r and r[0] == LOG_HEADER[0]), None)
    if start is None:
        return []
    return [list(r[:len(LOG_HEADER)]) for r in rows[start + 1:] if r and r[0] not in ("", None)]


# ----- undo --------------------------------------------------------------------------------
def _undo_files(path: Path) -> tuple[Path, Path]:
    folder = path.parent / BACKUP_FOLDER
    return folder / f"{path.stem}.before-merge{path.suffix}", folder / f"{path.name}.merge.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _undo(path: Path, *, force: bool, backups: int) -> CleanResult:
    target, _ = safe_open(path, for_writing=True, force=force)
    before, record = _undo_files(target)
    if not (before.is_file() and record.is_file()):
        raise WorkbookError(f"{target.name}: there is no merge to undo (no "
                            f"{before.name} in {before.parent})")
    info = json.loads(record.read_text(encoding="utf-8"))
    if _sha256(target) != info.get("after_sha256") and not force:
        raise WorkbookError(f"{target.name}: changed since the merge of {info.get('merged_on')};"
                            " undoing would lose those edits. The workbook as it was before the"
                            f" merge is {before}; use --force to restore it anyway")
    data = before.read_bytes()
    saved = safe_save(target, lambda tmp: tmp.write_bytes(data), force=force, backups=backups)
    record.unlink()
    before.unlink()
    return CleanResult(target, [], [], undone=True, saved=saved)


# ----- the command ---------------------------------------------------------------------------
def clean(path: str | Path, *, apply: bool = False, undo: bool = False,
          today: dt.date | None = None, dry_run: bool = False, force: bool = False,
          backups: int = 5) -> CleanResult:
    """Find duplicates and other data problems; write them to the Data quality sheet.

    Args:
        path: the CRM workbook.
        apply: merge the duplicate records a person marked in the Data quality sheet's Merge
            column (see the module docstring), then write the sheet afresh.
        undo: put back the workbook as it was before the last ``apply`` (byte for byte).
        today: the day against which dead records are judged (default: today).
        dry_run: find (and plan the merges), write nothing.
        force: write even though Excel or LibreOffice has the workbook open; with ``undo``,
            restore even though the workbook changed since the merge.
        backups: how many earlier versions to keep beside the workbook.

    Raises:
        WorkbookError: ``undo`` without a merge to undo, or the workbook changed since.
        UnreadableWorkbookError: the file can't be read.
    """
    if undo:
        return _undo(Path(path), force=force, backups=backups)
    with bulk_work():
        return _clean(Path(path), apply=apply, today=today or dt.date.today(),
                      dry_run=dry_run, force=force, backups=backups)


def _clean(path: Path, *, apply: bool, today: dt.date, dry_run: bool, force: bool,
           backups: int) -> CleanResult:
    crm = load(path)
    if not dry_run:
        crm.require_xlcrm()
    dq_name = crm.sheet_names.get("data_quality", _sheet_label(crm, "data_quality"))
    log_name = crm.sheet_names.get("merge_log", _sheet_label(crm, "merge_log"))
    grids = _sheet_grids(path, [dq_name, log_name])
    marks = _read_marks(grids.get(dq_name, []))
    result = CleanResult(path, [], [])
    patches: Patches = {}
    log_rows = _read_log(grids.get(log_name, []))
    new_log: list[list[Any]] = []
    if apply:
        plan = plan_merge(crm, marks, today=today, grids=_marked_grids(crm, path, marks))
        patches, new_log = plan.patches, plan.log
        result.merged, result.merged_groups, result.skipped = (plan.merged, plan.merged_groups,
                                                               plan.skipped)
        marks = {}
        result.dates_converted = _convert_text_dates(crm, patches, new_log, today)
    result.groups, result.compared = find_groups(crm)
    result.findings = find_problems(crm, today=today)
    marked = set(marks)
    for group in result.groups:  # a person's marks survive a re-run
        name = crm.sheet_names[group.sheet]
        group.marked = [i for i in group.ids if (name, i) in marked]
    builders: dict[str, SheetBuilder] = {dq_name: quality_builder(
        crm, result.groups, result.findings, counts=result.counts(), today=today,
        marked=marked)}
    if new_log:
        builders[log_name] = merge_log_builder(crm, log_rows + new_log)
    result.sheets = list(builders)
    if dry_run:
        return result
    if apply and (result.merged_groups or result.dates_converted):
        target, _ = safe_open(path, for_writing=True, force=force)
        before_bytes = target.read_bytes()
        result.saved = write_changes(target, builders, patches, force=force, backups=backups)
        before, record = _undo_files(target)
        before.parent.mkdir(parents=True, exist_ok=True)
        before.write_bytes(before_bytes)
        record.write_text(json.dumps({"merged_on": today.isoformat(),
                                      "after_sha256": _sha256(target)}), encoding="utf-8")
    else:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups)
    return result


def _convert_text_dates(crm: Crm, patches: Patches, log: list[list[Any]],
                        today: dt.date) -> list[str]:
    """Add to ``patches`` every date typed as text the reader could read (its ``text-date``
    warnings), as the real date, and a Merge log line for each (the text it was); return the
    cells, as ``Sheet!F12``. A cell a merge already changes is left to the merge."""
    by_name = {name: key for key, name in crm.sheet_names.items()}
    done = []
    for issue in crm.issues:
        key = by_name.get(issue.sheet)
        if issue.code != TEXT_DATE or key is None or key not in crm.tables:
            continue
        column = next((k for k, c in crm.columns.get(key, {}).items() if c == issue.column),
                      None)
        table = crm.tables[key]
        if column is None or column not in table or issue.row not in table.index:
            continue
        value = table.at[issue.row, column]
        cells = patches.setdefault(issue.sheet, {})
        if pd.isna(value) or (issue.row - 1, issue.column) in cells:
            continue
        cells[(issue.row - 1, issue.column)] = pd.Timestamp(value).to_pydatetime()
        record = table.at[issue.row, "id"] if "id" in table else ""
        text = issue.message.split('"')[1] if '"' in issue.message else ""
        header = crm.schema.sheet(key).column(column).header
        log.append([dt.datetime.combine(today, dt.time()), issue.sheet, record, "", header,
                    text, f"date typed as text made a real date: {pd.Timestamp(value):%Y-%m-%d}"])
        done.append(str(issue.where))
    return done


def _sheet_label(crm: Crm, key: str) -> str:
    return crm.schema.locale.label("sheets", key)


def _marked_grids(crm: Crm, path: Path, marks: dict[tuple[str, str], str]
                  ) -> dict[str, list[list[Any]]]:
    """The cells of the data sheets holding marked records: a merge empties the merged rows."""
    known = {crm.sheet_names[k] for k in DUPLICATE_SHEETS if k in crm.sheet_names}
    names = sorted({name for name, _ in marks} & known)
    return _sheet_grids(path, names) if names else {}
