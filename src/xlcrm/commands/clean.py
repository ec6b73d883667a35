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
tickets are re-pointed to it, the merged rows are removed (the rows below move up), and every
value of a merged record
goes to the *Merge log* sheet, so nothing typed is lost (see :mod:`xlcrm.metrics.merge`). The
workbook as it was before the
merge is kept beside it; ``clean(path, undo=True)`` puts it back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import WorkbookError
from ..forked import Beside
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
from ..sheets.merge_log import LOG_HEADER, log_starts, merge_log_builder
from ..sheets.quality import DUPLICATE_HEADER, duplicate_header, quality_builder
from ..sheets.words import owned_text
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.opening import safe_open
from ..xlsx.rows import RowShift
from ..xlsx.save import BACKUP_FOLDER, SaveResult, remove_durably, safe_save, write_durably
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
    #: the data sheets with no records yet, and what they would feed (one line each)
    missing: list[str] = field(default_factory=list)
    #: the workbook's language (its locale code), for what is printed about the run
    locale: str = "en"
    #: each sheet's name in this workbook, by key (the duplicates' sheets, Data quality)
    names: dict[str, str] = field(default_factory=dict)
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
    from ..xlsx.bounds import bounded_reader

    with bounded_reader(path, names) as book:
        return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                for n in names if n in book.sheet_names}


def _read_marks(rows: list[list[Any]], own: tuple[str, ...] = DUPLICATE_HEADER
                ) -> dict[tuple[str, str], str]:
    """(sheet name, record id) -> group number, for each record marked in the Merge column;
    the table's header is English or ``own`` (the workbook's language)."""
    marks: dict[tuple[str, str], str] = {}
    names = next(((i, h) for i, r in enumerate(rows) for h in (DUPLICATE_HEADER, own)
                  if r and r[0] == h[0] and h[-1] in r), None)
    if names is None:
        return marks
    start, words = names
    header = rows[start]
    c_group, c_sheet, c_record = 0, header.index(words[1]), header.index(words[2])
    c_merge = header.index(words[-1])
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
    start = next((i for i, r in enumerate(rows[:10]) if r and log_starts(r[0])), None)
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
    """Put the workbook back as it was before the last merge, or refuse (see :func:`clean`).

    The merge wrote, in this order, each step durable before the next: the copy of the
    workbook before the merge, a record naming its checksum, the merged workbook, then the
    merged workbook's checksum in the record. Whatever moment a crash stopped it at, the files
    say what happened, and nothing is restored that is not exactly the workbook before it.
    """
    target, _ = safe_open(path, for_writing=True, force=force)
    before, record = _undo_files(target)
    if not record.is_file():
        raise WorkbookError(f"{target.name}: there is no merge to undo (no "
                            f"{record.name} in {record.parent})")
    info = _read_record(target, record)
    merged_on = info.get("merged_on", "?")
    data = before.read_bytes() if before.is_file() else None
    if data is None or hashlib.sha256(data).hexdigest() != info.get("before_sha256"):
        raise WorkbookError(f"{target.name}: the copy from before the merge of {merged_on} "
                            f"({before}) is missing or damaged; nothing was undone. Earlier "
                            f"versions of the workbook are in {before.parent}")
    now = _sha256(target)
    if now == info["before_sha256"]:  # the merge never landed, or was undone already
        remove_durably(record, before)
        raise WorkbookError(f"{target.name}: is already as it was before the merge of "
                            f"{merged_on}; nothing to undo")
    if now != info.get("after_sha256") and not force:
        changed = ("changed since the merge" if info.get("after_sha256") else
                   "may have changed since the merge (the merge was interrupted before it "
                   "was recorded whole)")
        raise WorkbookError(f"{target.name}: {changed} of {merged_on}; undoing would lose "
                            f"those edits. The workbook as it was before the merge is {before};"
                            " use --force to restore it anyway")
    saved = safe_save(target, lambda tmp: tmp.write_bytes(data), force=force, backups=backups)
    remove_durably(record, before)
    return CleanResult(target, [], [], undone=True, saved=saved)


def _read_record(target: Path, record: Path) -> dict[str, Any]:
    """The merge record, or one line saying it is damaged."""
    try:
        info = json.loads(record.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("before_sha256"), str):
        raise WorkbookError(f"{target.name}: the merge record {record} is damaged; nothing was "
                            f"undone. Earlier versions of the workbook are in {record.parent}")
    return info


def _apply_merge(target: Path, write: Callable[[], SaveResult], today: dt.date) -> SaveResult:
    """Save a merge so that :func:`_undo` can always tell what to restore (see there)."""
    before, record = _undo_files(target)
    remove_durably(record)  # an older record must never point at the new copy
    data = target.read_bytes()
    info: dict[str, Any] = {"merged_on": today.isoformat(),
                            "before_sha256": hashlib.sha256(data).hexdigest()}
    write_durably(before, data)
    write_durably(record, json.dumps(info).encode("utf-8"))
    saved = write()
    info["after_sha256"] = _sha256(target)
    write_durably(record, json.dumps(info).encode("utf-8"))
    return saved


# ----- the command ---------------------------------------------------------------------------
@with_password
@locked_command(lambda kw: bool(kw.get("apply") or kw.get("undo"))
                and not kw.get("dry_run"))
def clean(path: str | Path, *, apply: bool = False, undo: bool = False,
          today: dt.date | None = None, dry_run: bool = False, force: bool = False,
          backups: int = 5, password: str | None = None) -> CleanResult:
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
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

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
    crm.require_xlcrm()
    dq_name, log_name = crm.claim_sheet("data_quality"), crm.claim_sheet("merge_log")
    grids = _sheet_grids(path, [dq_name, log_name])
    marks = _read_marks(grids.get(dq_name, []), duplicate_header(crm.schema))
    result = CleanResult(path, [], [], locale=crm.schema.locale.code,
                         names={**{s.key: s.name for s in crm.schema.sheets},
                                **crm.sheet_names})
    result.missing = crm.missing_records(("lead",))
    patches: Patches = {}
    log_rows = _read_log(grids.get(log_name, []))
    new_log: list[list[Any]] = []
    removed: dict[str, list[int]] = {}
    if apply:
        plan = plan_merge(crm, marks, today=today, grids=_marked_grids(crm, path, marks))
        patches, new_log, removed = plan.patches, plan.log, plan.emptied
        _renumber(crm, removed)  # the Data quality sheet points at rows as they will be
        result.merged, result.merged_groups, result.skipped = (plan.merged, plan.merged_groups,
                                                               plan.skipped)
        marks = {}
        result.dates_converted = _convert_text_dates(crm, patches, new_log, today)
    words = owned_text(crm.schema).words  # the findings in the workbook's language
    # the problems found on a second core while this one searches for duplicates
    with Beside(lambda: find_problems(crm, today=today, words=words)) as problems:
        result.groups, result.compared = find_groups(crm, words)
        result.findings = problems.result()
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
        result.saved = _apply_merge(target, lambda: write_changes(
            target, builders, patches, force=force, backups=backups, deletions=removed,
            identities=crm.sheet_names), today)
    else:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups,
                                          identities=crm.sheet_names)
    return result


def _renumber(crm: Crm, removed: dict[str, list[int]]) -> None:
    """Give the records of sheets losing rows the row numbers they will have (rows below a
    removed one move up)."""
    keys = {name: key for key, name in crm.sheet_names.items()}
    for name, rows in removed.items():
        key = keys.get(name)
        if key in crm.tables and rows:
            shift = RowShift([r + 1 for r in rows])
            frame = crm.tables[key]
            frame.index = pd.Index([shift.row(int(r)) or 0 for r in frame.index],
                                   name=frame.index.name)


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



def _marked_grids(crm: Crm, path: Path, marks: dict[tuple[str, str], str]
                  ) -> dict[str, list[list[Any]]]:
    """The cells of the data sheets holding marked records: a merge empties the merged rows."""
    known = {crm.sheet_names[k] for k in DUPLICATE_SHEETS if k in crm.sheet_names}
    names = sorted({name for name, _ in marks} & known)
    return _sheet_grids(path, names) if names else {}
