"""Find sheets and columns by their names in any language, spelling or case.

A sheet is known by its name in any locale (or its key); a column by its header in any locale,
an alias, or its key, all compared normalized (:func:`~xlcrm.schema.normalize_header`). The
header row is the one of the first :data:`HEADER_SCAN_ROWS` rows that names most columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from ..schema import (
    Column,
    Schema,
    available_locales,
    available_presets,
    header_aliases,
    load_locale,
    load_schema,
    normalize_header,
)

__all__ = ["HEADER_SCAN_ROWS", "Merged", "detect_locale", "detect_preset", "find_header",
           "list_header_names", "sheet_header_names", "sheet_name_keys", "warm_up"]

#: How far down a sheet its header row is looked for (titles and notes may sit above it)
HEADER_SCAN_ROWS = 20

#: Merged ranges of a sheet: first and last cell, (row, column) 0-based, as calamine gives them
Merged = list[tuple[tuple[int, int], tuple[int, int]]]


@cache
def sheet_name_keys(preset: str) -> dict[str, str]:
    """Normalized sheet name in any language -> sheet key."""
    names: dict[str, str] = {}
    for loc in available_locales():
        for sheet in load_schema(preset, loc).sheets:
            names.setdefault(normalize_header(sheet.name), sheet.key)
    for sheet in load_schema(preset).sheets:
        names.setdefault(normalize_header(sheet.key), sheet.key)
    return names


def _header_names(columns_by_locale: Iterable[Sequence[Column]]) -> dict[str, str]:
    """Normalized header in any language, or alias -> column key."""
    names: dict[str, str] = {}
    for columns in columns_by_locale:
        for col in columns:
            names.setdefault(normalize_header(col.header), col.key)
    for loc_code in available_locales():
        loc = load_locale(loc_code)
        for columns in columns_by_locale:
            for col in columns:
                for alias in loc.aliases(col.label_key) + loc.aliases(col.key):
                    names.setdefault(normalize_header(alias), col.key)
                names.setdefault(normalize_header(col.key), col.key)
    common = header_aliases()  # people's own headers, in the languages of xlcrm's users
    for columns in columns_by_locale:
        for col in columns:
            for alias in common.get(col.label_key, ()) + common.get(col.key, ()):
                names.setdefault(normalize_header(alias), col.key)
    names.pop("", None)  # an alias of punctuation only ("#") must not match blank cells
    return names


@cache
def sheet_header_names(preset: str, sheet_key: str) -> dict[str, str]:
    """Normalized header in any language, or alias -> column key, of a data sheet."""
    return _header_names([load_schema(preset, loc).sheet(sheet_key).columns
                          for loc in available_locales()])


@cache
def list_header_names(preset: str, list_key: str) -> dict[str, str]:
    """Normalized header in any language, or alias -> column key, of a Settings list."""
    return _header_names([load_schema(preset, loc).settings_list(list_key).columns
                          for loc in available_locales()])


def warm_up(schema: Schema) -> None:
    """Load every language's labels and the header names the reading looks up, now.

    Called before the workers start parsing: while they run, each small step of this work
    waits for the interpreter they hold in long stretches (seconds of a 100k-lead read),
    where now it costs its 0.15 s once.
    """
    for code in available_locales():
        load_locale(code)
    sheet_name_keys(schema.preset)
    for sheet in schema.data_sheets:
        sheet_header_names(schema.preset, sheet.key)
    for lst in schema.lists:
        list_header_names(schema.preset, lst.key)


def detect_preset(sheet_names: Sequence[str]) -> str:
    """The preset whose sheets, in any language, the workbook has most of."""
    normalized = {normalize_header(n) for n in sheet_names}
    scores = {p: len(normalized & set(sheet_name_keys(p))) for p in available_presets()}
    return max(sorted(scores), key=lambda p: scores[p])


def detect_locale(preset: str, sheet_names: Sequence[str]) -> str:
    """The locale whose sheet names the workbook uses most (English when none)."""
    best, score = "en", -1
    for loc in available_locales():
        names = {s.name for s in load_schema(preset, loc).sheets}
        hits = len(names & set(sheet_names))
        if hits > score:
            best, score = loc, hits
    return best


def find_header(rows: list[list[Any]], names: dict[str, str],
                merged: Merged) -> tuple[int, list[str]]:
    """Return the header row index and its cells (merged cells filled from their origin)."""
    best, best_score = -1, 0
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = sum(1 for v in row if isinstance(v, str) and normalize_header(v) in names)
        if score > best_score:
            best, best_score = r, score
    if best < 0:
        return -1, []
    header = [v.strip() if isinstance(v, str) else ("" if v == "" else str(v))
              for v in rows[best]]
    for (r0, c0), (r1, c1) in merged:
        if r0 <= best <= r1:  # a merged cell covers the header row: its text heads each column
            origin = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else ""
            for c in range(c0, min(c1 + 1, len(header))):
                if not header[c]:
                    header[c] = str(origin).strip()
    return best, header
