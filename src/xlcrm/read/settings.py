"""Read the Settings sheet: options, lists and milestones, each checked where it is typed.

Each part is an Excel table when the workbook has one (xlcrm makes them), else the block under
its title in any language, so a team that retyped the sheet by hand is still read. A part that
is missing falls back to the preset's defaults, with a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..crm import Settings
from ..issues import Issue, column_letter
from ..schema import (
    WEEKDAYS,
    Milestone,
    Schema,
    available_locales,
    load_locale,
    load_schema,
    normalize_header,
)
from .cells import Coercer
from .grid import SheetRead, read_grid
from .headers import list_header_names, sheet_header_names, sheet_name_keys

__all__ = ["TableSpan", "read_settings"]

#: A table's sheet, and its first and last cell (0-based row and column) as calamine gives them
TableSpan = tuple[str, tuple[int, int], tuple[int, int]]


def read_settings(grid: list[list[Any]], spans: dict[str, TableSpan], schema: Schema,
                  sheet_name: str | None, coercer_for: Callable[[str], Coercer],
                  issues: list[Issue]) -> Settings:
    """Read the Settings sheet's cells (``grid``; ``spans``: where its Excel tables are).

    Args:
        grid: the sheet's cells; empty when the workbook has no Settings sheet.
        spans: the Settings tables the workbook has, as calamine found them.
        schema: the workbook's schema, whose options, lists and milestones are the defaults.
        sheet_name: the sheet's name in the workbook; None when it has none.
        coercer_for: a coercer for a date order (the Options may change it).
        issues: where problems found are added.

    Returns:
        The options (typed by their kind), the lists and the milestones.
    """
    tables = set(spans) if sheet_name else set()
    title = sheet_name or schema.settings_sheet.name

    def block(table: str, titles: set[str]) -> tuple[list[list[Any]], int, int] | None:
        """The cells of one Settings table: its Excel table, else the block under its title."""
        if table in tables:
            sheet, start, end = spans[table]
            if sheet == sheet_name and start and end:
                (r0, c0), (r1, c1) = start, end
                r0 -= 1  # calamine's table starts below its header row
                return [row[c0:c1 + 1] for row in grid[r0:r1 + 1]], r0, c0
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if isinstance(v, str) and normalize_header(v) in titles:
                    width = 1
                    while c + width < len(row) and r + 1 < len(grid) and \
                            grid[r + 1][c + width] != "":
                        width += 1
                    return [g[c:c + width] for g in grid[r + 1:]], r + 1, c
        return None

    # Options: key -> value, typed by the option's kind
    options = {o.key: o.value for o in schema.options}
    options["locale"] = schema.locale.code
    opt_titles = {normalize_header(load_locale(loc).sections.get("text", {}).get(
        "options_title", "Options")) for loc in available_locales()}
    found = block("Options", opt_titles) if sheet_name else None
    raw_options: dict[str, tuple[Any, int, int]] = {}
    if found:
        cells, top, left = found
        for r, row in enumerate(cells[1:], top + 2):
            if row and isinstance(row[0], str) and row[0].strip():
                raw_options[row[0].strip()] = (row[2] if len(row) > 2 else "", r, left + 2)
    date_order = str(raw_options.get("date_order", (options["date_order"], 0, 0))[0] or
                     options["date_order"]).strip().upper()
    coercer = coercer_for(date_order if date_order in ("DMY", "MDY", "YMD") else "DMY")
    for opt in schema.options:
        if opt.key not in raw_options:
            continue
        value, r, c = raw_options[opt.key]
        if value == "":
            if opt.type == "date":
                options[opt.key] = None
            continue
        where = f"{column_letter(c)}{r}"
        if opt.type == "date":
            parsed, problem = coercer.date(value)
        elif opt.type == "integer":
            parsed, problem = coercer.number(value)
            parsed = int(parsed) if parsed is not None else None
        elif opt.type == "weekday":
            parsed, problem = _weekday(value), None
            if parsed is None:
                problem = "is not a day of the week"
        else:
            parsed, problem = str(value).strip(), None
        if problem:
            issues.append(Issue(title, where, "error", "bad-option",
                                f'{opt.label} "{value}" {problem}', r, c))
        else:
            options[opt.key] = parsed.date() if isinstance(parsed, dt.datetime) else parsed

    lists: dict[str, pd.DataFrame] = {}
    for lst in schema.lists:
        found = block(lst.table, {normalize_header(load_schema(schema.preset, loc)
                                                   .settings_list(lst.key).title)
                                  for loc in available_locales()}) if sheet_name else None
        if found is None:
            if sheet_name:
                issues.append(Issue(title, "", "warning", "missing-list",
                                    f'the "{lst.title}" table is missing; using xlcrm\'s defaults'))
            lists[lst.key] = pd.DataFrame([list(r) for r in lst.rows],
                                          columns=[c.key for c in lst.columns])
            continue
        cells, top, left = found
        read = read_grid(title, cells, lst.columns,
                         list_header_names(schema.preset, lst.key), coercer, issues, [], {},
                         top=top, left=left, stop_at_blank=lst.table not in tables)
        lists[lst.key] = read.frame if read else pd.DataFrame(columns=[c.key for c in lst.columns])
        if read and lst.key == "stages":
            _check_probabilities(read, title, issues)
    milestones = _read_milestones(schema, block if sheet_name else None, issues, title)
    return Settings(options, lists, milestones)


def _check_probabilities(read: SheetRead, title: str, issues: list[Issue]) -> None:
    c = read.columns.get("probability")
    if c is None:
        return
    for r, p in read.frame["probability"].items():
        if pd.notna(p) and not 0 <= p <= 1:
            issues.append(Issue(title, f"{column_letter(c)}{r}", "error", "bad-probability",
                                f"win probability {p:g} is outside 0-100 %; "
                                f"type it as a percentage such as {min(max(p, 0), 100):g}%",
                                int(str(r)), c))


def _weekday(value: Any) -> str | None:
    if isinstance(value, (int, float)) and 1 <= value <= 7:
        return WEEKDAYS[int(value) - 1]
    text = normalize_header(str(value))
    for loc in available_locales():
        for key, name in zip(WEEKDAYS, load_locale(loc).weekdays):
            if text in (normalize_header(name), key) or (len(text) >= 3 and
                                                         normalize_header(name).startswith(text)):
                return key
    return None


def _read_milestones(schema: Schema,
                     block: Callable[[str, set[str]], tuple[list[list[Any]], int, int] | None]
                     | None, issues: list[Issue], title: str) -> list[Milestone]:
    defaults = list(schema.milestones)
    if block is None:
        return defaults
    titles = {normalize_header(load_locale(loc).sections.get("text", {}).get(
        "milestones_title", "Milestones")) for loc in available_locales()}
    found = block("Milestones", titles)
    if not found:
        return defaults
    cells, top, _ = found
    by_key = {m.key: m for m in defaults}
    sheet_keys = sheet_name_keys(schema.preset)
    out = []
    for r, row in enumerate(cells[1:], top + 2):
        if not row or not isinstance(row[0], str) or row[0].strip() not in by_key:
            continue
        default = by_key.pop(row[0].strip())
        label = str(row[1]).strip() if len(row) > 1 and row[1] != "" else default.label
        sheet_key = sheet_keys.get(normalize_header(str(row[2]))) if len(row) > 2 else None
        column_key = None
        if sheet_key and len(row) > 3:
            column_key = sheet_header_names(schema.preset, sheet_key).get(
                normalize_header(str(row[3]))) if sheet_key in {
                s.key for s in schema.data_sheets} else None
        if not (sheet_key and column_key):
            issues.append(Issue(title, f"A{r}", "warning", "bad-milestone",
                                f'milestone "{label}" names an unknown sheet or column; '
                                f"using {schema.sheet(default.sheet).name} / "
                                f"{schema.sheet(default.sheet).column(default.column).header}",
                                r, 0))
            sheet_key, column_key = default.sheet, default.column
        out.append(Milestone(default.key, label, sheet_key, column_key))
    return out + list(by_key.values())
