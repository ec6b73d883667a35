"""Write sheets into an existing workbook without touching anything else.

Every operation goes through the lossless package writer (:mod:`.package` the parts,
:mod:`.transplant` whole sheets, :mod:`.patch` cells) and the safe save (:mod:`.save`: temporary
file, fsync, atomic replace, backup, write lock):
:func:`write_owned_sheets` replaces (or adds) whole sheets built by the caller with XlsxWriter;
:func:`patch_sheet` sets single cells; :func:`write_changes` does both in one save;
:func:`preview_owned_sheets` lists the cells a rewrite would change. Nothing here knows a CRM.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..errors import TransplantError
from .crypto import MemoryFile, Place, scratch_path
from .opening import safe_open
from .package import Package
from .patch import patch_cells
from .rows import delete_rows, drop_unused_strings
from .save import SaveResult, safe_save
from .scratch import scratch_dir
from .transplant import RowRenderer, transplant_sheets

__all__ = ["SAFE_OPTIONS", "CellChange", "SheetBuilder", "new_book", "patch_sheet",
           "preview_owned_sheets", "write_changes", "write_owned_sheets"]

#: XlsxWriter options of every workbook xlcrm fills: ``write()`` keeps a text a text. By
#: default XlsxWriter turns a string starting with ``=`` into a live formula and one that looks
#: like a URL (``external:``, ``http:``) into a link, so a lead named ``=WEBSERVICE(...)`` would
#: run in Excel on open. A formula xlcrm means is written with ``write_formula``, on purpose.
SAFE_OPTIONS: dict[str, bool] = {"strings_to_formulas": False, "strings_to_urls": False,
                                 "strings_to_numbers": False}


def new_book(path: str | Path | MemoryFile, **options: Any) -> xlsxwriter.Workbook:
    """Start an XlsxWriter workbook that writes data as data (see :data:`SAFE_OPTIONS`).

    Args:
        path: where the workbook is written when it is closed: a file, or an in-memory file
            (a workbook that will be encrypted). XlsxWriter then keeps every part in memory
            too (``in_memory``): by default it writes each XML part to a temporary file first,
            which would put plain parts of an encrypted workbook on the disk.
        **options: more XlsxWriter options (``nan_inf_to_errors`` ...); the safe ones stay.
    """
    if isinstance(path, MemoryFile):
        return xlsxwriter.Workbook(path, {**options, **SAFE_OPTIONS, "in_memory": True})
    return xlsxwriter.Workbook(str(path), {**options, **SAFE_OPTIONS})

#: Fills one owned sheet of a scratch workbook: ``builder(workbook, worksheet)``. It may return
#: a :data:`~xlcrm.xlsx.transplant.RowRenderer` for bulk rows appended below what it wrote.
SheetBuilder = Callable[[xlsxwriter.Workbook, Worksheet], "RowRenderer | None"]


def write_owned_sheets(path: str | Path, builders: Mapping[str, SheetBuilder], *,
                       force: bool = False, backups: int = 5,
                       identities: Mapping[str, str] | None = None) -> SaveResult:
    """Replace (or add) owned sheets of ``path``, each filled by its builder.

    Args:
        path: the CRM workbook.
        builders: sheet name -> function that fills a fresh XlsxWriter worksheet (values,
            formulas with cached values, formats, tables, charts, frozen panes).
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside it.
        identities: key -> sheet name of every sheet that is xlcrm's (see
            :func:`write_changes`).
    """
    return write_changes(path, builders, {}, force=force, backups=backups,
                         identities=identities)


def patch_sheet(path: str | Path, sheet: str, cells: Mapping[tuple[int, int], Any], *,
                force: bool = False, backups: int = 5,
                identities: Mapping[str, str] | None = None) -> SaveResult:
    """Set cells of one sheet (``(row, column)``, 0-based -> value) and nothing else.

    Used to append records (import) and to fix values (clean-up): the sheet's other XML stays
    as it was, a new cell takes the style of the cell above, and the Excel table grows to take
    appended rows (with its formula columns filled).

    Args:
        path: the CRM workbook.
        sheet: the sheet's name as it appears on its tab.
        cells: the values to write; None empties a cell.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside it.
        identities: key -> sheet name of every sheet that is xlcrm's (see
            :func:`write_changes`).
    """
    target, _ = safe_open(path, for_writing=True, force=force)

    def write(out: Place) -> None:
        with Package(target) as pkg:
            _claim(pkg, target, [sheet], identities)
            patch_cells(pkg, sheet, cells)
            pkg.save(out)

    return safe_save(target, write, force=force, backups=backups)


def write_changes(path: str | Path, builders: Mapping[str, SheetBuilder],
                  patches: Mapping[str, Mapping[tuple[int, int], Any]], *,
                  force: bool = False, backups: int = 5,
                  deletions: Mapping[str, Collection[int]] | None = None,
                  forget_strings: bool = False,
                  source: str | Path | None = None,
                  identities: Mapping[str, str] | None = None) -> SaveResult:
    """Patch cells of data sheets and replace owned sheets in one save (one backup).

    A clean-up that merges records changes the data sheets and rewrites its report sheets
    together, so the workbook never holds one without the other.

    Args:
        path: the CRM workbook.
        builders: owned sheet name -> builder, as for :func:`write_owned_sheets`.
        patches: data sheet name -> cells to set, as for :func:`patch_sheet`.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside it.
        deletions: data sheet name -> 0-based rows to remove (after the patches), the rows
            below moving up (:func:`~xlcrm.xlsx.rows.delete_rows`).
        forget_strings: blank the shared strings no cell uses any more, so that erased
            values leave no trace in the package.
        source: build the new version from this workbook's package instead of ``path``'s
            (a merge writes its result beside the copies it read); ``path`` may not exist.
        identities: key -> sheet name of every sheet that is xlcrm's. When given, a sheet
            to write that exists but is not among them is refused (it is a team's own sheet
            that only shares a name), and the identities are recorded in the same save
            (:mod:`.identity`), so an older workbook matched by names is migrated.

    Raises:
        TransplantError: a sheet to write exists and is not xlcrm's; nothing was written.
    """
    if source is None:
        target, _ = safe_open(path, for_writing=True, force=force)
        origin = target
    else:
        origin, _ = safe_open(source)
        target = Path(path).expanduser()
        if target.exists():
            safe_open(target, for_writing=True, force=force)
    with scratch_dir("changes") as tmp, scratch_path(Path(tmp), "owned.xlsx") as scratch:
        extra = _build_scratch(scratch, builders)

        def write(out: Place) -> None:
            with Package(origin) as pkg, Package(scratch) as src:
                _claim(pkg, target, [*builders, *patches], identities)
                for sheet, cells in patches.items():
                    if cells:
                        patch_cells(pkg, sheet, cells)
                for sheet, rows in (deletions or {}).items():
                    if rows:
                        delete_rows(pkg, sheet, rows)
                if builders:
                    transplant_sheets(pkg, src, list(builders), replace=True, extra_rows=extra)
                if forget_strings:
                    drop_unused_strings(pkg)
                pkg.request_full_recalculation()
                pkg.save(out)

        return safe_save(target, write, force=force, backups=backups)


def _claim(pkg: Package, target: Path, sheets: list[str],
           identities: Mapping[str, str] | None) -> None:
    """Refuse to write a sheet that is not xlcrm's; record the identities of those that are."""
    if identities is None:
        return
    ours = {v.lower() for v in identities.values()}
    present = {name.lower() for name, _, _ in pkg.sheets()}  # Excel's names ignore case
    foreign = [s for s in sheets if s.lower() in present and s.lower() not in ours]
    if foreign:
        raise TransplantError(f'{target.name}: sheet "{foreign[0]}" is not one of xlcrm\'s '
                              "sheets (a sheet of the same name that xlcrm did not make); "
                              "nothing was written")
    pkg.record_sheet_identities({k: v for k, v in identities.items()
                                 if v.lower() in present or v in sheets})


def _build_scratch(scratch_path: Place, builders: Mapping[str, SheetBuilder]
                   ) -> dict[str, RowRenderer]:
    """Fill a scratch workbook with the builders' sheets; return their bulk-row renderers."""
    book = new_book(scratch_path)
    extra: dict[str, RowRenderer] = {}
    try:
        for name, build in builders.items():
            rows = build(book, book.add_worksheet(name))
            if rows is not None:
                extra[name] = rows
    finally:
        book.close()
    return extra


@dataclass(frozen=True)
class CellChange:
    """One cell an owned sheet's rewrite would change: ``Sheet!A1: before -> after``."""

    sheet: str
    cell: str
    before: Any  # "" for an empty cell
    after: Any

    def __str__(self) -> str:
        before, after = self.before, self.after
        if isinstance(before, str) and isinstance(after, str) and before and after:
            # long texts that differ in a few words: shown from a little before the first
            # difference, so the words that changed are what is read
            first = next((i for i, (x, y) in enumerate(zip(before, after)) if x != y),
                         min(len(before), len(after)))
            if first > 30:
                before, after = "..." + before[first - 20:], "..." + after[first - 20:]
        return f"{self.sheet}!{self.cell}: {_shown(before)} -> {_shown(after)}"


def preview_owned_sheets(path: str | Path, builders: Mapping[str, SheetBuilder]
                         ) -> list[CellChange]:
    """What :func:`write_owned_sheets` would change, cell by cell, writing nothing.

    The builders fill a scratch workbook; its cells and the workbook's are read by the same
    reader and compared by value (a formula by the value it shows), row by row, so a number
    that only differs in its last binary digit is not a change. A sheet the workbook lacks
    is all new. Rows a builder renders in bulk (the stage history's appended table) are not
    compared here: the caller knows which of them are new.
    """
    from .bounds import bounded_reader
    from .cells import open_book

    target, _ = safe_open(path)
    changes: list[CellChange] = []
    with scratch_dir("preview") as tmp, scratch_path(Path(tmp), "owned.xlsx") as scratch:
        bulk = _build_scratch(scratch, builders)
        new_book = open_book(scratch)
        try:
            with bounded_reader(target) as old_book:  # a far stray cell costs nothing
                present = set(old_book.sheet_names)
                for name in builders:
                    after = new_book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                    before: list[list[Any]] = []
                    if name in present:
                        rows = len(after) if name in bulk else None
                        before = old_book.get_sheet_by_name(name).to_python(
                            skip_empty_area=False, **({"nrows": rows} if rows else {}))
                    changes += _changed_cells(name, before, after)
        finally:
            new_book.close()
    return changes


def _changed_cells(sheet: str, before: list[list[Any]], after: list[list[Any]]
                   ) -> list[CellChange]:
    from ..issues import column_letter

    out = []
    for r in range(max(len(before), len(after))):
        old = before[r] if r < len(before) else []
        new = after[r] if r < len(after) else []
        for c in range(max(len(old), len(new))):
            a = old[c] if c < len(old) else ""
            b = new[c] if c < len(new) else ""
            if not _same(a, b):
                out.append(CellChange(sheet, f"{column_letter(c)}{r + 1}", a, b))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9,
                                                                           abs_tol=1e-12)
    return bool(a == b)


def _shown(v: Any) -> str:
    if v == "" or v is None:
        return "(empty)"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, dt.datetime) and v.time() == dt.time():
        return f"{v:%Y-%m-%d}"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    text = str(v)
    return f'"{text[:60]}..."' if len(text) > 60 else f'"{text}"'
