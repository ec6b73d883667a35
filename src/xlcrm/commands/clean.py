"""Clean data first: the library twin of ``xlcrm clean``.

:func:`clean` finds what makes a CRM untrustworthy and writes it to the owned *Data quality*
sheet (and returns it for the terminal and JSON):

- duplicate people (leads, contacts) and companies (accounts), in groups, each with a score
  and the reason (see :mod:`xlcrm.metrics.duplicates`);
- records nobody can reach (no e-mail and no phone, a malformed e-mail, an impossible phone);
- dead accounts, contacts and leads: no activity, task or deal for the days Settings says;
- account hierarchy problems: orphans, cycles, a child in another territory than its parent;
- records with no owner, or an owner Settings doesn't list.

Merging is a person's decision: they put an ``x`` in the *Merge* column beside the records of
a group that are one, and ``clean(path, apply=True)`` merges them: the oldest record keeps its
id and takes the others' values where it had none, links from deals, activities, tasks and
tickets are re-pointed to it, the merged rows are emptied, and every value of a merged record
goes to the *Merge log* sheet, so nothing typed is lost. The workbook as it was before the
merge is kept beside it; ``clean(path, undo=True)`` puts it back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..errors import WorkbookError
from ..metrics.duplicates import find_duplicates, group_pairs
from ..metrics.hygiene import (
    contact_problems,
    dead_records,
    hierarchy_problems,
    last_touch,
    owner_problems,
)
from ..read import Crm, bulk_work, load
from ..schema import Sheet, normalize_header
from ..sheets.style import Formats, banner, cell_value
from ..xlsx.opening import safe_open
from ..xlsx.save import BACKUP_FOLDER, SaveResult, safe_save
from ..xlsx.writer import SheetBuilder, write_changes, write_owned_sheets

__all__ = ["CleanResult", "DuplicateGroup", "Finding", "MergeRecord", "clean", "find_groups",
           "find_problems"]

#: the sheets searched for duplicates, and whether their records are people or companies
DUPLICATE_SHEETS: dict[str, Literal["person", "company"]] = {
    "leads": "person", "contacts": "person", "accounts": "company"}
_DUP_HEADER = ("Group", "Sheet", "Record", "Name", "E-mail", "Phone", "Company", "Created",
               "Score", "Reason", "Merge")
_FINDING_HEADER = ("Check", "Severity", "Sheet", "Cell", "Record", "Problem")
_LOG_HEADER = ("Merged on", "Sheet", "Kept", "Merged", "Field", "Value", "What happened")
_CHECK_NAMES = {
    "no-contact-data": "No way to reach", "bad-email": "Malformed e-mail",
    "bad-phone": "Impossible phone", "dead": "Dead record", "orphan": "Orphan account",
    "cycle": "Hierarchy loop", "territory-mismatch": "Child in another territory",
    "no-owner": "No owner", "unknown-owner": "Owner not in Settings",
    "inactive-owner": "Inactive owner",
}
_NO = frozenset({"", "no", "n", "0", "false", "falso", "-", "nein", "non"})


@dataclass
class DuplicateGroup:
    """Records of one sheet that look like one person (or company), oldest first."""

    sheet: str
    ids: list[str]
    score: float
    reasons: dict[str, str]  # id -> why it matches the group (the oldest: empty)
    marked: list[str] = field(default_factory=list)

    @property
    def kept(self) -> str:
        """The id a merge keeps: the oldest record's."""
        return self.ids[0]

    def to_dict(self) -> dict[str, Any]:
        """The group as plain data (for ``--format json``)."""
        return {"sheet": self.sheet, "ids": self.ids, "kept": self.kept, "score": self.score,
                "reasons": self.reasons, "marked": self.marked}


@dataclass(frozen=True)
class Finding:
    """One problem with one record, pointing at the cell where a person fixes it."""

    check: str
    severity: str
    sheet: str
    cell: str
    record: str
    message: str

    @property
    def where(self) -> str:
        """``Sheet!F12``."""
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    def __str__(self) -> str:
        return f"{self.where} ({self.record}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain data (for ``--format json``)."""
        return {**asdict(self), "where": self.where}


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

    def counts(self) -> dict[str, int]:
        """How many findings of each check, duplicates first."""
        out = {"duplicate groups": len(self.groups)}
        for f in self.findings:
            name = _CHECK_NAMES.get(f.check, f.check)
            out[name] = out.get(name, 0) + 1
        return out

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


# ----- finding -----------------------------------------------------------------------------
def _owner_column(sheet: Sheet) -> str | None:
    for key in ("owner", "rep"):
        if sheet.has_column(key):
            return key
    return None


def _search_frame(crm: Crm, key: str) -> pd.DataFrame:
    frame = crm.tables[key]
    if key == "contacts" and "account" in frame and "accounts" in crm.tables:
        accounts = crm.tables["accounts"]
        names = dict(zip(accounts["id"], accounts["name"]))
        frame = frame.assign(company=frame["account"].map(names))
    order = pd.to_datetime(frame["created"]) if "created" in frame else None
    if order is not None:  # oldest first, undated last, then sheet order
        frame = frame.assign(_order=order).sort_values("_order", kind="stable",
                                                       na_position="last")
    return frame


def find_groups(crm: Crm) -> tuple[list[DuplicateGroup], dict[str, int]]:
    """Search each people and company sheet for duplicates; return the groups, oldest first."""
    region = str(crm.settings.options.get("phone_region") or "US")
    groups: list[DuplicateGroup] = []
    compared: dict[str, int] = {}
    for key, kind in DUPLICATE_SHEETS.items():
        if key not in crm.sheet_names or crm.tables[key].empty:
            continue
        frame = _search_frame(crm, key)
        frame = frame[frame["id"].notna()]
        search = find_duplicates(frame, kind=kind, region=region)
        compared[key] = search.compared
        order = [str(i) for i in frame["id"]]
        best: dict[str, tuple[float, str]] = {}
        for a, b, score, reason in search.pairs.itertuples(index=False):
            for one in (a, b):
                if score > best.get(one, (0.0, ""))[0]:
                    best[one] = (score, reason)
        for ids in group_pairs(search.pairs, order):
            reasons = {i: best[i][1] for i in ids[1:]}
            groups.append(DuplicateGroup(key, ids, max(best[i][0] for i in ids), reasons))
    return groups, compared


def find_problems(crm: Crm, *, today: dt.date) -> list[Finding]:
    """Every finding but duplicates (see the module docstring), sorted by sheet and row."""
    region = str(crm.settings.options.get("phone_region") or "US")
    days = int(crm.settings.options.get("dead_after_days") or 365)
    reps_frame = crm.settings.lists.get("reps")
    reps: dict[str, bool] = {}
    if reps_frame is not None and not reps_frame.empty:
        active = reps_frame["active"] if "active" in reps_frame else pd.Series(True,
                                                                             index=reps_frame.index)
        reps = {str(n).strip(): bool(a) if pd.notna(a) else True  # blank: active
                for n, a in zip(reps_frame.iloc[:, 0], active) if isinstance(n, str) and n.strip()}
    out: list[Finding] = []

    def add(key: str, frame: pd.DataFrame) -> None:
        name = crm.sheet_names[key]
        for row, record, column, check, severity, message in frame.itertuples(index=False):
            out.append(Finding(check, severity, name, crm.cell(key, column, int(row)),
                               str(record) if isinstance(record, str) else "", message))

    touches = _touches(crm)
    for sheet in crm.schema.data_sheets:
        key = sheet.key
        if key not in crm.sheet_names or key not in DUPLICATE_SHEETS:
            continue
        records = crm.tables[key]
        if records.empty:
            continue
        if key != "accounts":
            add(key, contact_problems(records, region=region))
        else:
            add(key, contact_problems(records[["id", "phone"]], region=region)
                if "phone" in records else contact_problems(records.iloc[:, :0]))
            add(key, hierarchy_problems(records))
        what = {"leads": "lead", "contacts": "contact", "accounts": "account"}[key]
        add(key, dead_records(records, last_touch(records["id"], touches.get(key, [])),
                              today=today, days=days, what=what))
        owner = _owner_column(sheet)
        if owner and reps:
            add(key, owner_problems(records[owner], records["id"], reps, column=owner))
    order = {name: i for i, name in enumerate(crm.sheet_names.values())}
    return sorted(out, key=lambda f: (order.get(f.sheet, 99), _row_of(f.cell), f.check))


def _row_of(cell: str) -> int:
    digits = "".join(ch for ch in cell if ch.isdigit())
    return int(digits) if digits else 0


def _touches(crm: Crm) -> dict[str, list[tuple[pd.Series, pd.Series]]]:
    """Per people/company sheet, (link, date) pairs of everything that happened to a record:
    its activities, tasks and deals (and, for an account, those of its contacts)."""
    out: dict[str, list[tuple[pd.Series, pd.Series]]] = {}
    dates = {"activities": ["date"], "tasks": ["due_date", "done_date"],
             "deals": ["created", "close_date"], "tickets": ["date", "closed"]}
    for sheet in crm.schema.data_sheets:
        frame = crm.tables.get(sheet.key)
        if sheet.key not in dates or frame is None or frame.empty:
            continue
        for col in sheet.columns:
            if col.type != "link":
                continue
            for target in col.ref:
                if target not in DUPLICATE_SHEETS:
                    continue
                for when in dates[sheet.key]:
                    if when in frame:
                        out.setdefault(target, []).append((frame[col.key], frame[when]))
                        if target == "contacts" and "contacts" in crm.tables:
                            # what happens to a contact happens to its account
                            account = frame[col.key].map(dict(zip(
                                crm.tables["contacts"]["id"],
                                crm.tables["contacts"].get("account", pd.Series(dtype=object)))))
                            out.setdefault("accounts", []).append((account, frame[when]))
    if "contacts" in crm.tables and "account" in crm.tables["contacts"]:
        contacts = crm.tables["contacts"]
        out.setdefault("accounts", []).append((contacts["account"], contacts["created"]))
    return out


def _sheet_grids(path: Path, names: list[str]) -> dict[str, list[list[Any]]]:
    """The cells of the named sheets that exist (one opening of the workbook)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                for n in names if n in book.sheet_names}
    finally:
        book.close()


# ----- the Data quality sheet -----------------------------------------------------------------
def _read_marks(rows: list[list[Any]]) -> dict[tuple[str, str], str]:
    """(sheet name, record id) -> group number, for each record marked in the Merge column."""
    marks: dict[tuple[str, str], str] = {}
    start = next((i for i, r in enumerate(rows) if r and r[0] == _DUP_HEADER[0]
                  and _DUP_HEADER[-1] in r), None)
    if start is None:
        return marks
    header = rows[start]
    c_group, c_sheet, c_record = 0, header.index("Sheet"), header.index("Record")
    c_merge = header.index(_DUP_HEADER[-1])
    for r in rows[start + 1:]:
        if not r or r[c_record] in ("", None):
            break
        mark = str(r[c_merge] if c_merge < len(r) else "").strip().casefold()
        if mark not in _NO:
            group = r[c_group]
            marks[(str(r[c_sheet]), str(r[c_record]))] = str(
                int(group) if isinstance(group, float) else group)
    return marks


def _dq_builder(crm: Crm, result: CleanResult, today: dt.date,
                marked: set[tuple[str, str]]) -> SheetBuilder:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        mark = book.add_format({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000",
                                "align": "center"})
        first = book.add_format({"top": 1, "top_color": "#A9D08E"})
        link = book.add_format({"font_color": "#0563C1", "underline": 1})
        group_fmt = {True: book.add_format({"align": "center", "top": 1,
                                            "top_color": "#A9D08E"}),
                     False: book.add_format({"align": "center"})}
        banner(ws, crm.schema, f, "Data quality",
               f"Found on {today:%Y-%m-%d}. To merge duplicates, put x in Merge beside each "
               "record of a group that is one person or company, then run "
               "`xlcrm clean --apply`.")
        ws.write_string(0, 0, "Owned by xlcrm: rewritten by `xlcrm clean`; only the Merge "
                              "column is read back.", f.banner)
        ws.write_string(3, 3, "The oldest record keeps its id and takes the others' missing "
                              "values; links follow it; every other value goes to the Merge log.",
                        f.note)
        counts = result.counts()
        ws.write_string(3, 0, "Summary", f.title)
        for i, (name, n) in enumerate(counts.items()):
            ws.write_string(4 + i, 0, name.capitalize() if name[0].islower() else name)
            ws.write_number(4 + i, 1, n, f.int)
        row = 5 + len(counts)
        ws.write_string(row, 0, "Possible duplicates", f.title)
        ws.write_row(row + 1, 0, list(_DUP_HEADER), f.head)
        ws.freeze_panes(0, 0)
        row += 2
        for g_no, group in enumerate(result.groups, 1):
            sheet_name = crm.sheet_names[group.sheet]
            frame = crm.tables[group.sheet]
            by_id = {v: r for r, v in frame["id"].items()}
            for k, rid in enumerate(group.ids):
                rec = frame.loc[by_id[rid]]
                fmt = first if k == 0 else None
                name = (" ".join(str(rec[c]) for c in ("first_name", "last_name")
                                 if c in rec and isinstance(rec[c], str))
                        if group.sheet != "accounts" else str(rec.get("name") or ""))
                company = _company(crm, group.sheet, rec)
                values = [g_no, sheet_name, rid, name, _text(rec.get("email")),
                          _text(rec.get("phone")), company]
                for c, v in enumerate(values):
                    if isinstance(v, int):
                        ws.write_number(row, c, v, group_fmt[k == 0])
                    elif c == 2:
                        cell = crm.cell(group.sheet, "id", int(by_id[rid]))
                        where = f"internal:{_ref(sheet_name)}!{cell}"
                        ws.write_url(row, c, where, link, string=str(v))
                    else:
                        ws.write_string(row, c, str(v or ""), fmt)
                created = cell_value(rec.get("created"))
                if isinstance(created, dt.datetime):
                    ws.write_datetime(row, 7, created, f.date)
                else:
                    ws.write_blank(row, 7, None, fmt)
                if k == 0:
                    ws.write_number(row, 8, group.score, f.pct)
                    ws.write_string(row, 9, "oldest: kept when merged", fmt)
                else:
                    ws.write_blank(row, 8, None)
                    ws.write_string(row, 9, group.reasons.get(rid, ""))
                ws.write_string(row, 10, "x" if (sheet_name, rid) in marked else "", mark)
                row += 1
        if not result.groups:
            ws.write_string(row, 0, "No duplicates found.", f.note)
            row += 1
        row += 1
        ws.write_string(row, 0, "Other findings", f.title)
        ws.write_row(row + 1, 0, list(_FINDING_HEADER), f.head)
        row += 2
        for finding in result.findings:
            ws.write_string(row, 0, _CHECK_NAMES.get(finding.check, finding.check))
            ws.write_string(row, 1, finding.severity)
            ws.write_string(row, 2, finding.sheet)
            ws.write_url(row, 3, f"internal:{_ref(finding.sheet)}!{finding.cell}", link,
                         string=finding.cell)
            ws.write_string(row, 4, finding.record)
            ws.write_string(row, 5, finding.message)
            row += 1
        if not result.findings:
            ws.write_string(row, 0, "Nothing else to fix.", f.note)
        ws.set_column(0, 0, 22)
        ws.set_column(1, 2, 12)
        ws.set_column(3, 3, 22)
        ws.set_column(4, 4, 34)
        ws.set_column(5, 5, 60)
        ws.set_column(6, 6, 26)
        ws.set_column(7, 8, 11)
        ws.set_column(9, 9, 44)
        ws.set_column(10, 10, 8)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    return build


def _ref(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _text(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def _company(crm: Crm, key: str, rec: pd.Series) -> str:
    if key == "accounts":
        return _text(rec.get("website"))
    account = rec.get("account")
    if isinstance(account, str) and "accounts" in crm.tables:
        accounts = crm.tables["accounts"]
        hit = accounts.loc[accounts["id"] == account, "name"]
        return f"{account} {hit.iloc[0]}" if len(hit) else account
    return ""


def _log_builder(crm: Crm, rows: list[list[Any]]) -> SheetBuilder:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        banner(ws, crm.schema, f, "Merge log",
               "Every value of every record merged by `xlcrm clean --apply`, and what became "
               "of it; links re-pointed to the kept record. Append-only: nothing typed is lost.")
        ws.write_string(0, 0, "Owned by xlcrm: `xlcrm clean --apply` adds to it; rows are never "
                              "removed.", f.banner)
        ws.write_row(3, 0, list(_LOG_HEADER), f.head)
        for i, r in enumerate(rows, 4):
            for c, v in enumerate(r):
                value = cell_value(v)
                if isinstance(value, dt.datetime):
                    ws.write_datetime(i, c, value, f.date)
                elif isinstance(value, bool):
                    ws.write_boolean(i, c, value)
                elif isinstance(value, (int, float)):
                    ws.write_number(i, c, value)
                elif value != "":
                    ws.write_string(i, c, str(value))
        ws.set_column(0, 0, 12)
        ws.set_column(1, 3, 12)
        ws.set_column(4, 4, 22)
        ws.set_column(5, 5, 34)
        ws.set_column(6, 6, 40)
        ws.freeze_panes(4, 0)
    return build


def _read_log(rows: list[list[Any]]) -> list[list[Any]]:
    start = next((i for i, r in enumerate(rows[:10]) if r and r[0] == _LOG_HEADER[0]), None)
    if start is None:
        return []
    return [list(r[:len(_LOG_HEADER)]) for r in rows[start + 1:] if r and r[0] not in ("", None)]


# ----- merging -----------------------------------------------------------------------------
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


def _merge(crm: Crm, marks: dict[tuple[str, str], str], today: dt.date, result: CleanResult
           ) -> tuple[dict[str, dict[tuple[int, int], Any]], list[list[Any]]]:
    """Plan the merges a person marked: the cells to patch and the merge log lines; the
    loaded tables are changed to match, so the findings after it can be computed."""
    patches: dict[str, dict[tuple[int, int], Any]] = {}
    grids: dict[str, list[list[Any]]] = {}
    log: list[list[Any]] = []
    stamp = dt.datetime.combine(today, dt.time())
    key_of = {name: key for key, name in crm.sheet_names.items()}
    by_group: dict[tuple[str, str], list[str]] = {}
    for (sheet_name, rid), group in marks.items():
        by_group.setdefault((sheet_name, group), []).append(rid)
    for (sheet_name, group), ids in sorted(by_group.items()):
        key = key_of.get(sheet_name)
        if key is None or key not in DUPLICATE_SHEETS:
            result.skipped.append(f"group {group}: unknown sheet {sheet_name!r}")
            continue
        frame = crm.tables[key]
        rows = {rid: r for r, rid in frame["id"].items() if isinstance(rid, str)}
        missing = [i for i in ids if i not in rows]
        if missing or len(ids) < 2:
            result.skipped.append(
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
                result.merged.append(MergeRecord(sheet_name, kept, other, header,
                                                 _cell_value(value), outcome))
            for c in _filled_cells(crm.path, sheet_name, other_row, grids):
                sheet_patch[(other_row - 1, c)] = None
        crm.tables[key] = frame.drop(index=[rows[o] for o in others])
        _repoint(crm, key, kept, set(others), patches, log, stamp, result)
        result.merged_groups += 1
    return patches, log


def _filled_cells(path: Path, sheet: str, row: int,
                  grids: dict[str, list[list[Any]]]) -> list[int]:
    """The columns of a sheet row (1-based) that hold something: a merged record's cells."""
    if sheet not in grids:
        grids.update(_sheet_grids(path, [sheet]))
    grid = grids.get(sheet, [])
    cells = grid[row - 1] if row - 1 < len(grid) else []
    return [c for c, v in enumerate(cells) if v not in ("", None)]


def _repoint(crm: Crm, key: str, kept: str, others: set[str],
             patches: dict[str, dict[tuple[int, int], Any]], log: list[list[Any]],
             stamp: dt.datetime, result: CleanResult) -> None:
    for sheet in crm.schema.data_sheets:
        if sheet.key not in crm.sheet_names:
            continue
        frame = crm.tables[sheet.key]
        name = crm.sheet_names[sheet.key]
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
                result.merged.append(MergeRecord(name, kept, str(old), what, old,
                                                 f"link re-pointed to {kept}"))


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
    dq_name = crm.sheet_names.get("data_quality", _sheet_label(crm, "data_quality"))
    log_name = crm.sheet_names.get("merge_log", _sheet_label(crm, "merge_log"))
    grids = _sheet_grids(path, [dq_name, log_name])
    marks = _read_marks(grids.get(dq_name, []))
    result = CleanResult(path, [], [])
    patches: dict[str, dict[tuple[int, int], Any]] = {}
    log_rows = _read_log(grids.get(log_name, []))
    new_log: list[list[Any]] = []
    if apply:
        patches, new_log = _merge(crm, marks, today, result)
        marks = {}
    result.groups, result.compared = find_groups(crm)
    result.findings = find_problems(crm, today=today)
    marked = set(marks)
    for group in result.groups:  # a person's marks survive a re-run
        name = crm.sheet_names[group.sheet]
        group.marked = [i for i in group.ids if (name, i) in marked]
    builders: dict[str, SheetBuilder] = {dq_name: _dq_builder(crm, result, today, marked)}
    if new_log:
        builders[log_name] = _log_builder(crm, log_rows + new_log)
    result.sheets = list(builders)
    if dry_run:
        return result
    if apply and result.merged_groups:
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


def _sheet_label(crm: Crm, key: str) -> str:
    return crm.schema.locale.label("sheets", key)

