"""Merging two copies of a workbook record by record and field by field: the plan of ``xlcrm
merge``.

Both copies come from one earlier version, the *base*. For each record (matched as
:mod:`xlcrm.metrics.compare` matches them) and each of its fields:

- changed on one side only: that side's value is taken;
- changed on both sides to the same value: it is taken, with nothing to decide;
- changed on both sides to different values: a **conflict**, settled by the rule the person
  picks (``mine``, ``theirs``, or ``newer``: the side whose latest activity with the record is
  the later one, MINE when neither has a later one) and listed with both values;
- a record **deleted on one side and edited on the other** keeps the edit: the record stays
  (or is put back) with the edited values, and the case is listed as a conflict, so a person
  deletes it again if it really is to go. Nothing typed is lost without someone seeing it;
- a record deleted on one side and untouched on the other is deleted, unless a record of
  the merged workbook links to it (a call MINE logged with a lead THEIRS deleted): then it is
  kept, or put back, and listed as a conflict, so no link points to nothing;
- records added on both sides are all kept. One added on THEIRS whose id MINE already uses
  for another record gets the next id of the sheet's sequence, and every link to it in the
  records taken from THEIRS (activities, tasks ...) follows it.

Settings: items THEIRS added to a list are added; items THEIRS removed or changed, and
options THEIRS changed, are listed and left as MINE has them (a list item may still be in use
in MINE's records). Columns that hold a formula and extra columns outside the schema are
MINE's. Pure: three loaded workbooks in, the cells to change (by MINE's rows and column keys)
and the conflicts out; the merge command writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..crm import Crm
from .compare import Records, norm, record_maps, same, settings_items
from .records import last_touches

__all__ = ["Conflict", "MergeStep", "Prefer", "SheetPlan", "ThreeWayPlan", "plan_three_way"]

Prefer = Literal["mine", "theirs", "newer"]
_ID = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class Conflict:
    """A field both copies changed differently, or a record deleted on one and edited on the
    other, and how it was settled.

    Attributes:
        sheet: the data sheet's name.
        record: the record's id (its key, for a record without one).
        field: the column's header; for a deleted-and-edited record, ``(whole record)``.
        base: the value both copies started from.
        mine: MINE's value (``(deleted)`` for a record MINE deleted).
        theirs: THEIRS's value (``(deleted)`` likewise).
        kept: ``mine`` or ``theirs``: whose value the merged workbook holds.
        why: the rule that settled it, in words.
    """

    sheet: str
    record: str
    field: str
    base: Any
    mine: Any
    theirs: Any
    kept: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The conflict as JSON takes it."""
        def plain(v: Any) -> Any:
            return v.isoformat() if isinstance(v, (dt.date, dt.time)) else v
        return {"sheet": self.sheet, "record": self.record, "field": self.field,
                "base": plain(self.base), "mine": plain(self.mine),
                "theirs": plain(self.theirs), "kept": self.kept, "why": self.why}


@dataclass(frozen=True)
class MergeStep:
    """One thing the merge does to MINE, for the plan a dry run prints."""

    sheet: str
    record: str
    action: str  # "update", "add", "renumber", "delete", "keep", "add item", "not applied"
    detail: str

    def __str__(self) -> str:
        return f"{self.sheet} {self.record}: {self.action}: {self.detail}"


@dataclass
class SheetPlan:
    """The changes to one data sheet of MINE.

    Attributes:
        updates: MINE's 1-based sheet row -> column key -> the value to write.
        appends: records to add below MINE's last record, column key -> value.
        deletes: MINE's 1-based sheet rows of records to remove.
    """

    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    appends: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.updates or self.appends or self.deletes)


@dataclass
class ThreeWayPlan:
    """Everything the merge changes in MINE, and the conflicts it settled.

    Attributes:
        sheets: data sheet key -> the changes to it.
        conflicts: every conflict, in sheet and record order.
        steps: each change in words, for the dry run.
        renumbered: data sheet key -> THEIRS's id -> the id it gets in the merged workbook.
        settings_added: Settings list key -> the items to add (column key -> value).
    """

    sheets: dict[str, SheetPlan] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    steps: list[MergeStep] = field(default_factory=list)
    renumbered: dict[str, dict[str, str]] = field(default_factory=dict)
    settings_added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _columns(crm: Crm, sheet_key: str) -> list[str]:
    """The columns a merge writes: the schema's, but formula columns."""
    return [c.key for c in crm.schema.sheet(sheet_key).columns if not c.formula]


def _shown(v: Any) -> str:
    if v is None:
        return "(empty)"
    if isinstance(v, dt.datetime):
        return f"{v:%Y-%m-%d}" if v.time() == dt.time() else f"{v:%Y-%m-%d %H:%M}"
    return str(v)


def _renumber(sheet_prefix: str | None, mine: Records, base: Records, theirs: Records
              ) -> dict[str, str]:
    """THEIRS's added ids that MINE uses for another record -> the next ids of the sequence."""
    taken = set(mine) | set(base) | set(theirs)
    numbers = [int(m.group(2)) for k in taken if (m := _ID.match(k))]
    following = max(numbers, default=0) + 1
    out: dict[str, str] = {}
    for key, (_, values) in theirs.items():
        if key in base or key not in mine or key.startswith(("e-mail ", "phone ", "values ")):
            continue
        if all(same(values.get(k), mine[key][1].get(k)) for k in values):
            continue  # the same record, added on both sides alike
        m = _ID.match(key)
        prefix = m.group(1) if m else f"{sheet_prefix or 'R'}-"
        width = len(m.group(2)) if m else 6
        while (new := f"{prefix}{following:0{width}d}") in taken:
            following += 1
        taken.add(new)
        out[key] = new
        following += 1
    return out


def plan_three_way(base: Crm, mine: Crm, theirs: Crm, *, prefer: Prefer = "mine"
                   ) -> ThreeWayPlan:
    """Plan the merge of THEIRS into MINE, both descended from BASE (see the module docstring).

    Args:
        base: the version both copies started from.
        mine: the copy the merged workbook is built on.
        theirs: the other copy.
        prefer: who wins a field both changed differently: ``mine``, ``theirs`` or ``newer``.

    Returns:
        The plan: cells to change per data sheet, conflicts, steps, renumbered ids.
    """
    plan = ThreeWayPlan()
    maps: dict[str, tuple[Records, Records, Records]] = {}
    for sheet in mine.schema.data_sheets:
        if sheet.key not in mine.sheet_names or sheet.key not in theirs.sheet_names:
            continue
        cols = _columns(mine, sheet.key)
        maps[sheet.key] = (record_maps(base, sheet.key, cols) if sheet.key in base.sheet_names
                           else {}, record_maps(mine, sheet.key, cols),
                           record_maps(theirs, sheet.key, cols))
        b, m, t = maps[sheet.key]
        renumbered = _renumber(sheet.id_prefix, m, b, t)
        if renumbered:
            plan.renumbered[sheet.key] = renumbered
    touched = {"mine": _touches(mine), "theirs": _touches(theirs)}
    for sheet_key, records in maps.items():
        out = _plan_sheet(plan, mine, sheet_key, records, prefer, touched)
        if out:
            plan.sheets[sheet_key] = out
    _keep_linked(plan, mine, maps)
    _plan_settings(plan, base, mine, theirs)
    return plan


def _keep_linked(plan: ThreeWayPlan, mine: Crm,
                 maps: dict[str, tuple[Records, Records, Records]]) -> None:
    """Keep every record a merged record links to.

    A lead deleted in THEIRS that MINE logged a call with since stays; a lead deleted in MINE
    that THEIRS added a task for is put back from THEIRS. Each is listed as a conflict, so a
    person decides; the merged workbook never holds a link to nothing. Putting a record back
    may bring its own links, hence the rounds.
    """
    for _ in range(50):  # a chain of links (a task's lead's account's parent) is short
        final: dict[str, set[str]] = {}
        kept: dict[str, list[dict[str, Any]]] = {}
        for key, (_, m, _) in maps.items():
            sp = plan.sheets.get(key, SheetPlan())
            gone = set(sp.deletes)
            kept[key] = [{**v, **sp.updates.get(row, {})} for row, v in m.values()
                         if row not in gone] + sp.appends
            final[key] = {str(v["id"]) for v in kept[key] if v.get("id") is not None}
        wanted: dict[tuple[tuple[str, ...], str], tuple[str, Any]] = {}
        for key, records in kept.items():
            sheet = mine.schema.sheet(key)
            for col in (c for c in sheet.columns if c.type == "link"):
                for rec in records:
                    value = rec.get(col.key)
                    if value is not None and not any(str(value) in final.get(ref, set())
                                                     for ref in col.ref):
                        wanted.setdefault((col.ref, str(value)), (sheet.name, rec.get("id")))
        kept_back = [_put_back(plan, mine, maps, linking_sheet, linking, refs, ident)
                     for (refs, ident), (linking_sheet, linking) in wanted.items()]
        if not any(kept_back):
            return


def _put_back(plan: ThreeWayPlan, mine: Crm, maps: dict[str, tuple[Records, Records, Records]],
              linking_sheet: str, linking: Any, refs: tuple[str, ...], ident: str) -> bool:
    """Keep (or put back) record ``ident`` that ``linking`` links to; say whether it was."""
    for ref in refs:
        if ref not in maps:
            continue
        _, m, t = maps[ref]
        name = mine.sheet_names[ref]
        sp = plan.sheets.setdefault(ref, SheetPlan())
        why = f"{linking_sheet} {linking} links to it"
        if ident in m and m[ident][0] in sp.deletes:
            sp.deletes.remove(m[ident][0])
            plan.steps = [s for s in plan.steps
                          if not (s.sheet == name and s.record == ident and s.action == "delete")]
            plan.steps.append(MergeStep(name, ident, "keep", f"deleted in THEIRS, but {why}"))
            plan.conflicts.append(Conflict(name, ident, "(whole record)", "", "kept",
                                           "(deleted)", "mine",
                                           f"deleted in THEIRS, but {why}: kept"))
            return True
        if ident in t and ident not in m and all(a.get("id") != ident for a in sp.appends):
            sheet = mine.schema.sheet(ref)
            follow = _follow(plan, ref, {c.key: c.ref for c in sheet.columns
                                         if c.type == "link"})
            sp.appends.append({k: follow(k, v) for k, v in t[ident][1].items()})
            plan.steps.append(MergeStep(name, ident, "add", f"deleted in MINE, but {why}: "
                                                            "put back"))
            plan.conflicts.append(Conflict(name, ident, "(whole record)", "", "(deleted)",
                                           "kept", "theirs",
                                           f"deleted in MINE, but {why}: put back"))
            return True
    return False


def _follow(plan: ThreeWayPlan, sheet_key: str, links: dict[str, tuple[str, ...]]
            ) -> Callable[[str, Any], Any]:
    """A function giving a value taken from THEIRS, its id or links following renumbered ids."""
    def from_theirs(col: str, value: Any) -> Any:
        refs = (sheet_key,) if col == "id" else links.get(col, ())
        for ref in refs:
            new = plan.renumbered.get(ref, {}).get(str(value)) if value is not None else None
            if new is not None:
                return new
        return value
    return from_theirs


def _plan_sheet(plan: ThreeWayPlan, mine: Crm, sheet_key: str,
                records: tuple[Records, Records, Records], prefer: Prefer,
                touched: dict[str, dict[str, dt.datetime]]) -> SheetPlan:
    """Merge one data sheet's records (base, MINE, THEIRS) into the changes to MINE."""
    b, m, t = records
    sheet = mine.schema.sheet(sheet_key)
    name = mine.sheet_names[sheet_key]
    headers = {c.key: c.header for c in sheet.columns}
    from_theirs = _follow(plan, sheet_key,
                          {c.key: c.ref for c in sheet.columns if c.type == "link"})
    out = SheetPlan()
    renumbered = plan.renumbered.get(sheet_key, {})
    for key, (row, mv) in m.items():
        tv = t[key][1] if key in t and key not in renumbered else None
        bv = b[key][1] if key in b else None
        if tv is not None:
            _merge_fields(plan, out, name, key, row, (bv or {}, mv, tv), headers, prefer,
                          touched, from_theirs)
        elif bv is not None:  # THEIRS deleted it
            edited = [headers.get(k, k) for k in mv if not same(mv[k], bv.get(k))]
            if not edited:
                out.deletes.append(row)
                plan.steps.append(MergeStep(name, key, "delete", "deleted in THEIRS"))
            else:
                plan.conflicts.append(Conflict(
                    name, key, "(whole record)", "", "edited: " + ", ".join(edited),
                    "(deleted)", "mine", "deleted in THEIRS, edited in MINE: the edit is kept"))
                plan.steps.append(MergeStep(name, key, "keep",
                                            "deleted in THEIRS but edited in MINE"))
    for key, (_, tv) in t.items():
        if key in m and key not in renumbered:
            continue
        if key in b:  # MINE deleted it
            bv = b[key][1]
            edited = [headers.get(k, k) for k in tv if not same(tv[k], bv.get(k))]
            if not edited:
                continue
            plan.conflicts.append(Conflict(
                name, key, "(whole record)", "", "(deleted)", "edited: " + ", ".join(edited),
                "theirs", "deleted in MINE, edited in THEIRS: the edited record is put back"))
            plan.steps.append(MergeStep(name, key, "add",
                                        "deleted in MINE but edited in THEIRS: put back"))
        else:
            new_key = renumbered.get(key, key)
            plan.steps.append(MergeStep(name, new_key, "add", "added in THEIRS" + (
                f" as {key}; renumbered, MINE uses {key} for another record"
                if new_key != key else "")))
        out.appends.append({k: from_theirs(k, v) for k, v in tv.items()})
    return out


def _touches(crm: Crm) -> dict[str, dt.datetime]:
    """Record id -> the date of its latest activity, where the workbook has activities."""
    latest = last_touches(crm)
    return {str(k): v.to_pydatetime() for k, v in latest["date"].items() if pd.notna(v)}


def _merge_fields(plan: ThreeWayPlan, out: SheetPlan, name: str, key: str, row: int,
                  values: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
                  headers: dict[str, str], prefer: Prefer,
                  touched: dict[str, dict[str, dt.datetime]],
                  from_theirs: Callable[[str, Any], Any]) -> None:
    """Merge one record both copies have, field by field, into ``out``."""
    bv, mv, tv = values
    for col in mv:
        b, m, t = bv.get(col), mv.get(col), from_theirs(col, tv.get(col))
        if same(m, t) or same(t, b):
            continue
        header = headers.get(col, col)
        if same(m, b):
            out.updates.setdefault(row, {})[col] = t
            plan.steps.append(MergeStep(name, key, "update",
                                        f"{header}: {_shown(m)} -> {_shown(t)} (from THEIRS)"))
            continue
        kept, why = _settle(key, prefer, touched)
        if kept == "theirs":
            out.updates.setdefault(row, {})[col] = t
        plan.conflicts.append(Conflict(name, key, header, b, m, t, kept, why))
        plan.steps.append(MergeStep(name, key, "conflict",
                                    f"{header}: MINE {_shown(m)}, THEIRS {_shown(t)}; "
                                    f"{kept.upper()} kept"))


def _settle(key: str, prefer: Prefer, touched: dict[str, dict[str, dt.datetime]]
            ) -> tuple[str, str]:
    """Who wins a conflict on record ``key``, and why, in words."""
    if prefer != "newer":
        return prefer, f"--prefer {prefer}"
    mine, theirs = touched["mine"].get(key), touched["theirs"].get(key)
    if theirs is not None and (mine is None or theirs > mine):
        return "theirs", f"newer: THEIRS's latest activity ({theirs:%Y-%m-%d}) is later"
    if mine is not None:
        return "mine", f"newer: MINE's latest activity ({mine:%Y-%m-%d}) is as late or later"
    return "mine", "newer: no activity dates on either side; MINE kept"


def _plan_settings(plan: ThreeWayPlan, base: Crm, mine: Crm, theirs: Crm) -> None:
    """Items THEIRS added to a Settings list are added; other Settings changes are listed."""
    for lst in mine.schema.lists:
        b, m, t = (settings_items(c, lst.key) for c in (base, mine, theirs))
        for item, values in t.items():
            if item not in b and item not in m:
                plan.settings_added.setdefault(lst.key, []).append(values)
                plan.steps.append(MergeStep("Settings", lst.title, "add item",
                                            f'"{item}" (added in THEIRS)'))
            elif item in b and item in m and any(
                    not same(values.get(k), b[item].get(k)) and same(m[item].get(k),
                                                                     b[item].get(k))
                    for k in values):
                plan.steps.append(MergeStep("Settings", lst.title, "not applied",
                                            f'"{item}" changed in THEIRS; MINE\'s row kept'))
        for item in b:
            if item in m and item not in t:
                plan.steps.append(MergeStep("Settings", lst.title, "not applied",
                                            f'"{item}" removed in THEIRS; kept (remove it by '
                                            "hand if no record uses it)"))
    for key, value in theirs.settings.options.items():
        bv, mv, tv = (norm(c.settings.options.get(key)) for c in (base, mine, theirs))
        if not same(tv, bv) and same(mv, bv):
            plan.steps.append(MergeStep("Settings", "Options", "not applied",
                                        f"{key} changed in THEIRS to {_shown(norm(value))}; "
                                        "MINE's kept"))
