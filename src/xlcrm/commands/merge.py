"""Merge two copies of a CRM workbook: the library twin of ``xlcrm merge``.

A shared drive's sync leaves ``crm (conflicted copy).xlsx`` beside ``crm.xlsx``; a salesperson
worked all week on Monday's copy. :func:`merge` takes both copies' work into one workbook:

- **The base** is the version both copies started from. Given with ``base``, or else found
  among the copies the safe save keeps in ``.xlcrm-backups`` beside either copy: the backup
  closest, by content, to both together (fewest records and fields changed to reach MINE
  plus to reach THEIRS). A backup one copy descends from and the other does not is as close
  as the true base, never closer, so of equally close backups the oldest is taken: that is
  the newest backup both descend from.
- **Records** are merged field by field (:mod:`xlcrm.metrics.threeway`): one side's changes
  are taken, conflicts settled by ``prefer`` and listed on the owned *Conflicts* sheet,
  records added on both sides kept with distinct ids, links following.
- **Everything else comes from MINE, byte for byte**: the merged workbook is MINE's package
  with data cells patched (:mod:`xlcrm.xlsx.patch`) and the Conflicts sheet written, through
  the lossless writer and the safe save; charts, pivot tables, formatting, macros, the team's
  own sheets and every owned sheet stay MINE's (``xlcrm update`` refreshes the owned ones).

A record deleted by THEIRS has its row emptied in the merged workbook (its cells, not the
row: the table keeps a blank row, which every reader skips), as ``xlcrm clean --apply`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..crm import Crm
from ..errors import ArgumentError, WorkbookError, WorkbookExistsError
from ..issues import column_index
from ..metrics.compare import Records, compare_records, compare_settings
from ..metrics.threeway import Conflict, MergeStep, Prefer, ThreeWayPlan, plan_three_way
from ..read import bulk_work, load
from ..sheets.conflicts import CONFLICTS_SHEET, conflicts_builder, is_owned_mark
from ..sheets.words import in_every_language, owned_text
from ..xlsx.cells import read_book
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.opening import safe_open
from ..xlsx.package import Package
from ..xlsx.save import BACKUP_FOLDER, SaveResult
from ..xlsx.writer import SheetBuilder, write_changes
from .diff import load_same_kind

__all__ = ["MergeResult", "find_base", "merge"]

_BACKUP_NAME = re.compile(r".+\.([0-9]{8}-[0-9]{6}-[0-9]{6})\.xls[xm]")
_PREFER = ("mine", "theirs", "newer")


@dataclass
class MergeResult:
    """What ``merge`` did (or, with ``dry_run``, would do).

    Attributes:
        mine: the copy the result is built on; theirs: the other copy.
        base: the version both started from (given, or found among the backups).
        out: the merged workbook.
        conflicts: fields both copies changed differently, and records deleted in one and
            edited in the other, with how each was settled.
        steps: every change made to MINE, in words (the plan a dry run prints).
        renumbered: data sheet name -> THEIRS's id -> the id it has in the merged workbook.
        dry_run: nothing was written.
        saved: the save, when written.
    """

    mine: Path
    theirs: Path
    base: Path
    out: Path
    conflicts: list[Conflict] = field(default_factory=list)
    steps: list[MergeStep] = field(default_factory=list)
    renumbered: dict[str, dict[str, str]] = field(default_factory=dict)
    dry_run: bool = False
    saved: SaveResult | None = None

    def summary(self) -> str:
        """One line: how many changes came from THEIRS, and the conflicts."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        done = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to take"
        verb = "Would merge" if self.dry_run else "Merged"
        where = f"{self.out}" + ("" if self.dry_run else " (conflicts on its Conflicts sheet)"
                                 if self.conflicts else "")
        return (f"{verb} {self.theirs.name} into {self.mine.name} from base {self.base.name}: "
                f"{done}; {len(self.conflicts)} conflict{'s' * (len(self.conflicts) != 1)}; "
                f"-> {where}")

    def to_json(self) -> str:
        """The merge as JSON: files, steps, conflicts, renumbered ids."""
        return json.dumps({"mine": str(self.mine), "theirs": str(self.theirs),
                           "base": str(self.base), "out": str(self.out),
                           "dry_run": self.dry_run,
                           "steps": [vars(s) for s in self.steps],
                           "conflicts": [c.to_dict() for c in self.conflicts],
                           "renumbered": self.renumbered},
                          ensure_ascii=False, indent=2, default=str)


# ----- the base -------------------------------------------------------------------------------
def _candidates(*copies: Path) -> list[Path]:
    """Every backup in ``.xlcrm-backups`` beside the copies, oldest first (by its time stamp)."""
    found: dict[Path, str] = {}
    for copy in copies:
        folder = copy.parent / BACKUP_FOLDER
        if folder.is_dir():
            for p in folder.iterdir():
                m = _BACKUP_NAME.fullmatch(p.name)
                if m and p.is_file():
                    found[p.resolve()] = m.group(1)
    return sorted(found, key=lambda p: (found[p], p.name))


def _distance(a: Crm, b: Crm, cache: dict[tuple[int, str], Records]) -> int:
    """How far apart two versions are: fields changed, records added or removed, Settings items."""
    records = sum(len(c.fields) or 1 for c in compare_records(a, b, cache=cache))
    return records + len(compare_settings(a, b))


def find_base(mine: Crm, theirs: Crm) -> Crm:
    """The newest backup both copies descend from, by content (see the module docstring).

    Raises:
        WorkbookError: no backup of the same preset beside either copy.
    """
    best: tuple[int, Crm] | None = None
    cache: dict[tuple[int, str], Records] = {}  # the copies' records, mapped once
    for path in _candidates(mine.path, theirs.path):
        try:
            crm = load(path)
        except WorkbookError:
            continue  # a damaged file: not a version of this workbook
        if crm.schema.preset != mine.schema.preset:
            continue
        score = _distance(crm, mine, cache) + _distance(crm, theirs, cache)
        for key in [k for k in cache if k[0] == id(crm)]:  # its id may be the next one's
            del cache[key]
        if best is None or score < best[0]:  # equal: the older one stays
            best = (score, crm)
    if best is None:
        raise WorkbookError(
            f"no backup in {mine.path.parent / BACKUP_FOLDER} or beside {theirs.path.name} "
            "that both copies can have started from; give the version they started from "
            "with --base")
    return best[1]


# ----- cells ----------------------------------------------------------------------------------
def _cell(v: Any) -> Any:
    """A merged value as the patch writes it: a time of day as Excel's fraction of a day."""
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, dt.time):
        return (v.hour * 3600 + v.minute * 60 + v.second) / 86400
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _record_patches(crm: Crm, plan: ThreeWayPlan
                    ) -> tuple[dict[str, dict[tuple[int, int], Any]], dict[str, list[int]]]:
    """The data cells to set in MINE (updates, appended records) and the rows to remove
    (deleted records; 0-based, removed after the cells are set, the rows below moving up)."""
    patches: dict[str, dict[tuple[int, int], Any]] = {}
    deletions: dict[str, list[int]] = {}
    for key, sheet_plan in plan.sheets.items():
        name, positions = crm.sheet_names[key], crm.columns.get(key, {})
        cells = patches.setdefault(name, {})
        for row, values in sheet_plan.updates.items():
            for col, value in values.items():
                if col in positions:
                    cells[(row - 1, positions[col])] = _cell(value)
        if sheet_plan.deletes:
            deletions[name] = sorted(row - 1 for row in sheet_plan.deletes)
        table = crm.tables[key]
        next_row = max((int(r) for r in table.index), default=1) + 1
        for values in sheet_plan.appends:
            for col, value in values.items():
                if col in positions and value is not None:
                    cells[(next_row - 1, positions[col])] = _cell(value)
            next_row += 1
    return patches, deletions


def _settings_patches(crm: Crm, plan: ThreeWayPlan, pkg: Package
                      ) -> dict[tuple[int, int], Any]:
    """The Settings cells of the items THEIRS added: below each list's Excel table."""
    cells: dict[tuple[int, int], Any] = {}
    name = crm.sheet_names.get("settings")
    if not plan.settings_added or name is None:
        return cells
    part = next((p for n, p, _ in pkg.sheets() if n == name), None)
    refs = {}
    for rel in pkg.rels(part or ""):
        if rel.type.endswith("/table"):
            table = pkg.peek(rel.target)
            refs[table.get("name", "")] = table.get("ref", "")
    for key, items in plan.settings_added.items():
        lst = crm.schema.settings_list(key)
        m = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", refs.get(lst.table, ""))
        if not m:
            raise WorkbookError(f'{crm.path.name}: the Settings sheet has no "{lst.table}" '
                                f"table to add {len(items)} item(s) to; add them by hand")
        left, bottom = column_index(m.group(1)), int(m.group(4))
        for i, values in enumerate(items):
            for c, col in enumerate(lst.columns):
                value = values.get(col.key)
                if value is not None:
                    cells[(bottom + i, left + c)] = _cell(value)
    return cells


def _conflicts_name(mine: Crm) -> str:
    """The Conflicts sheet's name, after checking that a sheet so named is xlcrm's own: the
    one already in the workbook (named in any language), else the workbook language's."""
    own = owned_text(mine.schema)["conflicts_sheet"]
    names = [own, *sorted(in_every_language("conflicts_sheet") - {own}), CONFLICTS_SHEET]
    book = read_book(mine.path)  # an encrypted copy: its plain bytes, in memory
    try:
        name = next((n for n in names if n in book.sheet_names), None)
        if name is not None:
            rows = book.get_sheet_by_name(name).to_python(nrows=1)
            first = str(rows[0][0]) if rows and rows[0] else ""
            if not is_owned_mark(first):
                raise WorkbookError(
                    f'{mine.path.name}: has its own sheet "{name}", where xlcrm '
                    "would list the merge's conflicts; rename that sheet and merge again")
    finally:
        book.close()
    return name or own


# ----- the command ----------------------------------------------------------------------------
@with_password
@locked_command(lambda kw: not kw.get("dry_run"))  # MINE read, then written or copied
def merge(mine: str | Path, theirs: str | Path, *, out: str | Path,
          base: str | Path | None = None, prefer: Prefer = "mine", dry_run: bool = False,
          force: bool = False, backups: int = 5, password: str | None = None) -> MergeResult:
    """Merge THEIRS into MINE, record by record, and write the result to ``out``.

    Args:
        mine: the copy whose package the result is built on (charts, pivots, macros,
            formatting and the team's own sheets come from it, byte for byte).
        theirs: the other copy; only its records and Settings list items are taken.
        out: the merged workbook to write; it may be MINE itself (a backup is kept).
        base: the version both copies started from; by default found in ``.xlcrm-backups``.
        prefer: who wins a field both changed differently: ``mine``, ``theirs``, or
            ``newer`` (the side with the later activity for that record).
        dry_run: plan the merge and return it; write nothing.
        force: write even though Excel or LibreOffice has OUT open, or overwrite an OUT that
            exists and is not MINE.
        backups: how many earlier versions of OUT to keep when it is replaced.
        password: the password of encrypted copies: MINE, THEIRS and the base are decrypted
            with it in memory only (a plain one is read as it is), and OUT and its backups
            are written encrypted with it.

    Returns:
        The steps taken, the conflicts and how each was settled, the ids renumbered.

    Raises:
        ArgumentError: an unknown ``prefer``, or OUT is THEIRS.
        WorkbookExistsError: OUT exists, is not MINE, and ``force`` is false.
        WorkbookError: different presets or schema versions, no base found, a sheet named
            Conflicts that is the team's own.
        NotXlcrmWorkbookError: MINE is not an xlcrm workbook.
        PasswordError: a copy is encrypted and no password, or a wrong one, was given.
    """
    if prefer not in _PREFER:
        raise ArgumentError(f"--prefer {prefer}: use mine, theirs or newer")
    mine_path, theirs_path, out_path = Path(mine), Path(theirs), Path(out).expanduser()
    same_as_mine = out_path.exists() and out_path.resolve() == mine_path.resolve()
    if out_path.exists() and out_path.resolve() == theirs_path.resolve():
        raise ArgumentError(f"--out {out_path.name} is THEIRS; merge into MINE or a new file")
    if out_path.exists() and not same_as_mine and not force and not dry_run:
        raise WorkbookExistsError(f"{out_path} already exists; nothing was written. Choose "
                                  "another name, or overwrite it with --force")
    if out_path.suffix.lower() != mine_path.suffix.lower():
        raise ArgumentError(f"--out {out_path.name}: the merged workbook is MINE's kind of "
                            f"file; name it {out_path.with_suffix(mine_path.suffix).name}")
    with bulk_work():
        crm_mine, crm_theirs = load_same_kind(mine_path, theirs_path)
        if not dry_run:
            crm_mine.require_xlcrm()
        crm_base = load_same_kind(mine_path, Path(base))[1] if base is not None else \
            find_base(crm_mine, crm_theirs)
        plan = plan_three_way(crm_base, crm_mine, crm_theirs, prefer=prefer)
    result = MergeResult(mine_path, theirs_path, crm_base.path, out_path, plan.conflicts,
                         plan.steps, {crm_mine.sheet_names[k]: v
                                      for k, v in plan.renumbered.items()}, dry_run)
    if dry_run:
        return result
    with Package(safe_open(mine_path)[0]) as pkg:
        patches, deletions = _record_patches(crm_mine, plan)
        settings_cells = _settings_patches(crm_mine, plan, pkg)
    if settings_cells:
        patches[crm_mine.sheet_names["settings"]] = settings_cells
    builders: dict[str, SheetBuilder] = {_conflicts_name(crm_mine): conflicts_builder(
        crm_mine, plan.conflicts, mine=mine_path.name, theirs=theirs_path.name,
        base=crm_base.path.name, merged_on=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))}
    result.saved = write_changes(out_path, builders, patches, force=force, backups=backups,
                                 deletions=deletions,
                                 source=None if same_as_mine else mine_path)
    return result
