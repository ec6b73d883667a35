"""Read a CRM workbook into typed tables: :func:`load`, from the file to a :class:`~xlcrm.crm.Crm`.

The file is checked (:func:`~xlcrm.xlsx.opening.safe_open`), its outline read (which sheet is
where, the preset and locale xlcrm recorded), then every sheet is parsed on the workers
(:mod:`.backends`) while this thread reads Settings and types the data sheets (:mod:`.grid`),
biggest first. Every problem becomes an issue; only a file that can't be read at all raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import shutil
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..crm import Columns, Crm, Settings
from ..errors import UnreadableWorkbookError
from ..issues import Issue, column_letter, sort_issues
from ..schema import Schema, Sheet, available_locales, load_schema, normalize_header
from ..xlsx.bounds import FarCell, bounded_copy
from ..xlsx.cells import workbook_reader
from ..xlsx.opening import safe_open
from ..xlsx.parts import Outline, read_outline
from .backends import (
    Books,
    InlineExecutor,
    TooBig,
    bulk_work,
    fetch_cells,
    fetch_settings,
    fetch_sheet,
    sheet_pool,
)
from .cells import Coercer
from .columns import empty_column
from .grid import Plan, SheetRead, read_grid
from .headers import (
    detect_locale,
    detect_preset,
    sheet_header_names,
    sheet_name_keys,
    warm_up,
)
from .settings import read_settings

__all__ = ["held_reading", "load"]

#: the reading :func:`held_reading` lends to every :func:`load` of its workbook
_HELD: ContextVar[Crm | None] = ContextVar("xlcrm_held_reading", default=None)


@contextlib.contextmanager
def held_reading(crm: Crm) -> Iterator[None]:
    """Serve ``crm``'s data sheets and Settings to every :func:`load` of its workbook, inside.

    A run of several commands on one workbook (the demo: update, clean, score, report) reads
    the data sheets once instead of once per command. The caller vouches that the commands
    inside change only owned sheets, never a data sheet or Settings: each :func:`load` gets
    its own copy of the reading's lists and names, the data sheets' frames shared (whole,
    whatever ``columns`` asks; the preset and locale the reading's), and the owned sheets it
    asks for read afresh from the file, which the commands before it have written.
    """
    token = _HELD.set(crm)
    try:
        yield
    finally:
        _HELD.reset(token)


def _lent(held: Crm, path: str | Path, owned: Collection[str]) -> Crm | None:
    """The held reading, for ``path``, with its owned sheets read now; None for another file."""
    if Path(path).resolve() != held.path.resolve():
        return None
    keys = [key for key in owned if key in held.sheet_names]
    cells: dict[str, list[list[Any]]] = {}
    if keys:
        books = Books(held.path, len(keys))
        try:
            cells = {key: fetch_cells(books, held.sheet_names[key]) for key in keys}
        finally:
            books.close()
    return dataclasses.replace(held, tables=dict(held.tables), issues=list(held.issues),
                               sheet_names=dict(held.sheet_names), owned_cells=cells,
                               all_sheets=list(held.all_sheets))


def load(path: str | Path, *, preset: str | None = None, locale: str | None = None,
         owned: Collection[str] = (),
         columns: Columns | None = None) -> Crm:
    """Read a CRM workbook into typed tables, collecting every problem as an issue.

    Args:
        path: an .xlsx or .xlsm CRM workbook.
        preset: the preset to read it as; by default the one recorded in the workbook, else
            the one whose sheets it has.
        locale: the language of its labels; by default the recorded one, else detected.
        owned: keys of owned sheets (``"stage_history"``, ``"baseline"``) whose cells the
            caller reads back; they are parsed alongside the data sheets, as they are (not
            typed), into :attr:`Crm.owned_cells`. A sheet the workbook lacks is left out.
        columns: for the data sheets named here, the keys of the only columns to type; the
            others are checked (a missing required column is still reported) but left out of
            the frames, and so are the sheet's extra columns. A caller that needs a few
            columns of a big workbook (the weekly run needs no names, notes or subjects)
            skips the work of typing the rest. Sheets not named are read whole. When the
            choice depends on Settings (which columns mark the milestones), pass a function
            of the schema and the Settings as read, returning that mapping.

    Returns:
        A :class:`Crm` with one DataFrame per data sheet, the parsed Settings and the issues.

    Raises:
        UnreadableWorkbookError: the file is not a workbook that can be read safely.
    """
    held = _HELD.get()
    lent = _lent(held, path, owned) if held is not None else None
    if lent is not None:
        return lent
    with bulk_work():
        return _load(path, preset=preset, locale=locale, owned=owned, columns=columns or {})


def _load(path: str | Path, *, preset: str | None, locale: str | None,
          owned: Collection[str], columns: Columns) -> Crm:
    target, issues = safe_open(path)
    outline = read_outline(target)
    if not any(part.endswith("styles.xml") for part in outline.sizes):
        raise UnreadableWorkbookError(
            f"{target.name}: is damaged: it has no styles part (xl/styles.xml), so its dates "
            "can't be told from numbers; open it in Excel or LibreOffice and save it again")
    names = list(outline.sheet_parts)  # the sheets, in order, as the reader will name them
    preset = preset or outline.properties.get("xlcrm_preset") or detect_preset(names)
    locale = locale or outline.properties.get("xlcrm_locale") or detect_locale(preset, names)
    if locale not in available_locales():
        locale = "en"
    schema = load_schema(preset, locale)
    by_key = _sheets_by_key(schema, outline.identities, names,
                            recorded="xlcrm_locale" in outline.properties)

    # a stray value far from the table would make the reader's grid enormous: each sheet is
    # looked at on its worker before it is parsed, and a workbook with one is read again from
    # a copy without it (saying so); the usual workbook is read as it is, looked at once
    wanted_parts = {by_key[k]: outline.sheet_parts[by_key[k]] for k in by_key
                    if k == "settings" or k in owned
                    or any(s.key == k for s in schema.data_sheets)}
    try:
        return _read(target, target, outline, schema, preset, by_key, owned, columns,
                     list(issues), [], wanted_parts)
    except TooBig:
        pass
    source, far = bounded_copy(target, wanted_parts)
    try:
        return _read(target, source, outline, schema, preset, by_key, owned, columns, issues,
                     far, wanted_parts)
    finally:
        if source != target:
            shutil.rmtree(source.parent, ignore_errors=True)


def _read(target: Path, source: Path, outline: Outline, schema: Schema, preset: str,
          by_key: dict[str, str], owned: Collection[str], columns: Columns,
          issues: list[Issue], far: list[FarCell], parts: dict[str, str]) -> Crm:
    CalamineError = workbook_reader()[1]  # noqa: N806 - the reader's errors
    names = list(outline.sheet_parts)
    for stray in far:
        issues.append(Issue(stray.sheet, stray.cell, "warning", "far-cell",
                            "a value far outside the table was not read; move it next to "
                            "the table or delete it"))
    # Every sheet is parsed on one of two worker threads, each with its own workbook handle
    # (calamine releases the GIL while it parses, so on two cores one sheet is parsed while
    # this thread types the last one), each data sheet with its error cells, which calamine
    # reads as empty, found in its XML. The biggest sheet goes first: it ends last anyway,
    # so it had better start at once. Settings, small and needed before any typing, second.
    warm_up(schema)  # now, before the workers hold the interpreter (0.15 s, else seconds)
    pool = sheet_pool()
    data_sheets = sorted((s for s in schema.data_sheets if s.key in by_key),
                         key=lambda s: -outline.sizes.get(
                             outline.sheet_parts.get(by_key[s.key], ""), 0))
    read_back_keys = [key for key in owned if key in by_key]
    books = Books(source, len(data_sheets) + len(read_back_keys) + 1, parts,
                  bounded=source != target)
    settings_name = by_key.get("settings")
    fetched: dict[str, Future[Any]] = {}
    plan = Plan(preset, schema)
    if isinstance(pool, InlineExecutor):
        plan.decide({})  # a sheet is parsed as it is asked for, before Settings: whole
    settings_tables = {"Options", "Milestones", *(lst.table for lst in schema.lists)}
    for i, sheet in enumerate(data_sheets):
        fetched[sheet.key] = pool.submit(fetch_sheet, books, by_key[sheet.key], sheet.key,
                                         plan)
        if i == 0:
            fetched["settings"] = pool.submit(fetch_settings, books, settings_name,
                                              settings_tables)
    if not data_sheets:
        fetched["settings"] = pool.submit(fetch_settings, books, settings_name, settings_tables)
    # the owned sheets an update appends to are parsed on the same workers, after the data
    # sheets: this thread is still typing those when the workers get to them
    read_back = {key: pool.submit(fetch_cells, books, by_key[key]) for key in read_back_keys}

    loc = schema.locale

    def coercer_for(order: str) -> Coercer:
        return Coercer(date_order=order, date1904=outline.date1904, yes=loc.yes, no=loc.no)

    if settings_name is None:
        issues.append(Issue("", "", "error", "missing-sheet",
                            f'required sheet "{schema.settings_sheet.name}" is missing'
                            + _did_you_mean(schema.settings_sheet.name, names)
                            + "; using xlcrm's default lists"))
    try:
        grid, spans = fetched.pop("settings").result()
        settings = read_settings(grid, spans, schema, settings_name, coercer_for, issues)
        coercer = coercer_for(str(settings.options.get("date_order", "DMY")))
        wanted = columns(schema, settings) if callable(columns) else columns
        plan.decide(wanted)  # the workers now take just these columns of the sheets named
        tables: dict[str, pd.DataFrame] = {}
        found_columns: dict[str, dict[str, int]] = {}
        extras: dict[str, list[str]] = {}
        for sheet in schema.data_sheets:
            found_name = by_key.get(sheet.key)
            read = None
            if found_name is None:
                kind = "optional" if sheet.optional else "required"
                issues.append(Issue("", "", "warning" if sheet.optional else "error",
                                    "missing-sheet", f'{kind} sheet "{sheet.name}" is missing'
                                    + _did_you_mean(sheet.name, names)))
            else:
                rows, merged, errors = fetched[sheet.key].result()
                read = read_grid(found_name, rows, sheet.columns,
                                 sheet_header_names(preset, sheet.key), coercer, issues,
                                 merged, errors, consume=True, only=wanted.get(sheet.key))
                del fetched[sheet.key], rows  # the grid is no longer needed: free it
                if read:
                    _report_missing_columns(sheet, read, found_name, issues)
            if read is None:
                frame = pd.DataFrame({c.key: empty_column(c, 0) for c in sheet.columns},
                                     index=pd.Index([], name="row"))
                tables[sheet.key], found_columns[sheet.key], extras[sheet.key] = frame, {}, []
            else:
                tables[sheet.key], found_columns[sheet.key] = read.frame, read.columns
                extras[sheet.key] = [text for text, _ in read.extras]
            _canonical_choices(sheet, tables[sheet.key], settings)
        owned_cells = {key: future.result() for key, future in read_back.items()}
    except CalamineError as exc:
        raise UnreadableWorkbookError(f"{target.name}: can't be read: {exc}") from exc
    finally:
        plan.decide({})  # (reading failed before Settings: a worker waiting on it goes on)
        for future in fetched.values():
            future.cancel()
        for rest in read_back.values():
            rest.cancel()
        pool.shutdown(wait=True)
        books.close()
    return Crm(target, schema, settings, tables, sort_issues(issues, names), by_key,
               found_columns, extras, outline.date1904, owned_cells,
               recorded_preset=outline.properties.get("xlcrm_preset") or None,
               all_sheets=names, identified=bool(outline.identities))


def _sheets_by_key(schema: Schema, identities: dict[str, str], names: list[str], *,
                   recorded: bool) -> dict[str, str]:
    """Which sheet of the workbook is which of xlcrm's (key -> sheet name).

    By identity when the workbook records it (:mod:`xlcrm.xlsx.identity`): a sheet xlcrm did
    not make is never one of its sheets, whatever its name. A workbook made before identities
    were recorded is matched by name, the migration: when it records the locale it was made
    or attached in, only that language's sheet names count (a team's "Dashboard" beside an
    Italian xlcrm's "Cruscotto" stays the team's); a workbook that records nothing (a copy
    made by the Excel buttons, a team's file given to ``check``) is matched in any language.
    The first command that writes records the identities of the sheets so matched.
    """
    known = {s.key for s in schema.sheets}
    if identities:
        return {key: name for key, name in identities.items() if key in known}
    if recorded:
        spelled = {normalize_header(s.name): s.key for s in schema.sheets}
    else:
        spelled = sheet_name_keys(schema.preset)
    by_key: dict[str, str] = {}
    for name in names:
        key = spelled.get(normalize_header(name))
        if key and key not in by_key:
            by_key[key] = name
    return by_key


def _fuzzy(word: str, choices: Iterable[str]) -> str | None:
    pool = {normalize_header(c): c for c in choices if c}
    close = difflib.get_close_matches(normalize_header(word), list(pool), n=1, cutoff=0.6)
    return pool[close[0]] if close else None


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    guess = _fuzzy(name, candidates)
    return f' (did you mean "{guess}"?)' if guess else ""


def _report_missing_columns(sheet: Sheet, read: SheetRead, name: str,
                            issues: list[Issue]) -> None:
    extras = dict(read.extras)
    for col in sheet.columns:
        if col.required and col.key not in read.columns:
            guess = _fuzzy(col.header, extras)
            hint = (f' (did you mean "{guess}" in column {column_letter(extras[guess])}?)'
                    if guess else "")
            issues.append(Issue(name, f"A{read.header_row}", "error", "missing-column",
                                f'required column "{col.header}" is missing{hint}',
                                read.header_row, -1))


def _canonical_choices(sheet: Sheet, frame: pd.DataFrame, settings: Settings) -> None:
    """Write list values the way Settings spells them (case, spacing, accents aside)."""
    for col in sheet.columns:
        if col.type != "choice" or not col.list or frame.empty or col.key not in frame:
            continue
        canon = {normalize_header(item): item for item in settings.items(col.list)}
        if not canon:
            continue
        # a few distinct values in many rows: each is looked at once
        codes, distinct = pd.factorize(frame[col.key].to_numpy(dtype=object))
        spelled = [canon.get(normalize_header(v), v) if isinstance(v, str) else v
                   for v in distinct]
        if all(a == b for a, b in zip(spelled, distinct)):
            continue  # already spelled as in Settings: the usual case
        table = np.empty(len(spelled) + 1, dtype=object)
        table[:] = [*spelled, None]  # code -1: an empty cell
        frame[col.key] = pd.Series(table[codes], index=frame.index, dtype=object)
