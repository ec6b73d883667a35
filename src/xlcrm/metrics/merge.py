"""Merging the duplicate records a person marked: the plan of ``xlcrm clean --apply``.

The oldest record of a marked group keeps its id and takes the others' values where it had
none; links from deals, activities, tasks and tickets are re-pointed to it; the merged rows are
emptied; every value of a merged record gets a line in the Merge log saying what became of it,
so nothing typed is lost. Pure: the loaded workbook and the merged rows' cells in, the cells to
patch and the log lines out (the loaded tables are changed to match, so what is found after the
merge can be computed from them); the clean command writes the plan.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..crm import Crm
from ..schema import normalize_header
from .quality import DUPLICATE_SHEETS

__all__ = ["MergePlan", "MergeRecord", "Patches", "plan_merge"]

#: cells to write, per sheet name: (0-based row, 0-based column) -> value (None: empty it)
Patches = dict[str, dict[tuple[int, int], Any]]


@dataclass(frozen=True)
class MergeRecord:
    """One line of the merge log: a value of a merged record and what became of it."""

    sheet: str
    kept: str
    merged: str
    field: str
    value: Any
    outcome: str


@dataclass
class MergePlan:
    """The merges to write: the cells to patch, the Merge log's new rows, and what was skipped.

    Attributes:
        patches: per sheet name, (0-based row, 0-based column) -> the value to write (None
            empties the cell).
        log: the Merge log's new rows, in its column order.
        merged: the same lines as records, for the terminal and JSON.
        merged_groups: how many groups were merged.
        skipped: why a marked group was not merged, one line each.
        emptied: per sheet name, the 0-based rows of the merged records (emptied by
            ``patches``; the writer removes them).
    """

    patches: Patches = field(default_factory=dict)
    log: list[list[Any]] = field(default_factory=list)
    merged: list[MergeRecord] = field(default_factory=list)
    merged_groups: int = 0
    skipped: list[str] = field(default_factory=list)
    emptied: dict[str, list[int]] = field(default_factory=dict)


def _present(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _cell_value(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def _shown(v: Any) -> str:
    value = _cell_value(v)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}" if value.time() != dt.time() else f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize_header(a) == normalize_header(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def plan_merge(crm: Crm, marks: dict[tuple[str, str], str], *, today: dt.date,
               grids: dict[str, list[list[Any]]]) -> MergePlan:
    """Plan the merges a person marked: the cells to patch and the merge log lines.

    The loaded tables are changed to match, so the findings after the merge can be computed.

    Args:
        crm: the loaded workbook.
        marks: (sheet name, record id) -> group number, for each record marked to merge.
        today: the day the merge log lines are stamped with.
        grids: the cells, as read, of the sheets named in ``marks`` (to empty merged rows).
    """
    plan = MergePlan()
    patches, log = plan.patches, plan.log
    stamp = dt.datetime.combine(today, dt.time())
    key_of = {name: key for key, name in crm.sheet_names.items()}
    by_group: dict[tuple[str, str], list[str]] = {}
    for (sheet_name, rid), group in marks.items():
        by_group.setdefault((sheet_name, group), []).append(rid)
    for (sheet_name, group), ids in sorted(by_group.items()):
        key = key_of.get(sheet_name)
        if key is None or key not in DUPLICATE_SHEETS:
            plan.skipped.append(f"group {group}: unknown sheet {sheet_name!r}")
            continue
        frame = crm.tables[key]
        rows = {rid: r for r, rid in frame["id"].items() if isinstance(rid, str)}
        missing = [i for i in ids if i not in rows]
        if missing or len(ids) < 2:
            plan.skipped.append(
                f"group {group} on {sheet_name}: " + (f"{', '.join(missing)} no longer exist"
                                                      if missing else "only one record marked"))
            continue
        created = frame["created"] if "created" in frame else pd.Series(pd.NaT,
                                                                       index=frame.index)
        ids.sort(key=lambda i: (pd.isna(created[rows[i]]), created[rows[i]]
                                if pd.notna(created[rows[i]]) else pd.Timestamp(0), rows[i]))
        kept, others = ids[0], ids[1:]
        columns = crm.columns[key]
        sheet_patch = patches.setdefault(sheet_name, {})
        kept_row = rows[kept]
        for other in others:
            other_row = rows[other]
            for col in frame.columns:
                if col.startswith("_"):
                    continue
                value = frame.at[other_row, col]
                if not _present(value) or col == "id":
                    continue
                mine = frame.at[kept_row, col]
                header = (crm.schema.sheet(key).column(col).header
                          if crm.schema.sheet(key).has_column(col) else col)
                if not _present(mine):
                    frame.at[kept_row, col] = value
                    if col in columns:
                        sheet_patch[(kept_row - 1, columns[col])] = _cell_value(value)
                        outcome = "filled the kept record's blank"
                    else:
                        outcome = "kept in this log only (a column xlcrm doesn't know)"
                elif _cell_value(mine) == _cell_value(value):
                    outcome = "same as the kept record"
                elif _same(mine, value):
                    outcome = f"kept record spells it {_shown(mine)}"
                else:
                    outcome = f"kept record has {_shown(mine)}"
                log.append([stamp, sheet_name, kept, other, header, _cell_value(value), outcome])
                plan.merged.append(MergeRecord(sheet_name, kept, other, header,
                                               _cell_value(value), outcome))
            for c in _filled_cells(grids.get(sheet_name, []), other_row):
                sheet_patch[(other_row - 1, c)] = None
            plan.emptied.setdefault(sheet_name, []).append(other_row - 1)
        crm.tables[key] = frame.drop(index=[rows[o] for o in others])
        _repoint(crm, key, kept, set(others), plan, stamp)
        plan.merged_groups += 1
    return plan


def _filled_cells(grid: list[list[Any]], row: int) -> list[int]:
    """The columns of a sheet row (1-based) that hold something: a merged record's cells."""
    cells = grid[row - 1] if row - 1 < len(grid) else []
    return [c for c, v in enumerate(cells) if v not in ("", None)]


def _repoint(crm: Crm, key: str, kept: str, others: set[str], plan: MergePlan,
             stamp: dt.datetime) -> None:
    """Point every link to a merged record at the kept one, and log each."""
    patches, log = plan.patches, plan.log
    for sheet, frame, name in crm.present_sheets():
        for col in sheet.columns:
            if col.type != "link" or key not in col.ref or col.key not in crm.columns[sheet.key]:
                continue
            hits = frame.index[frame[col.key].isin(others).to_numpy()]
            c = crm.columns[sheet.key][col.key]
            for row in hits:
                old = frame.at[row, col.key]
                frame.at[row, col.key] = kept
                patches.setdefault(name, {})[(int(row) - 1, c)] = kept
                record = frame.at[row, "id"] if "id" in frame else ""
                what = f"{name} {record} {col.header}"
                log.append([stamp, name, kept, old, what, old, f"link re-pointed to {kept}"])
                plan.merged.append(MergeRecord(name, kept, str(old), what, old,
                                               f"link re-pointed to {kept}"))
