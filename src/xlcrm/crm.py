"""A CRM workbook as read: typed tables, the Settings sheet, and the problems found.

Pure types, with no reader behind them, so the metrics can name what they work on without
importing the reader (:func:`xlcrm.read.load` makes these).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import NotXlcrmWorkbookError
from .issues import Issue, column_letter
from .schema import Milestone, Schema, Sheet

__all__ = ["Columns", "Crm", "Settings", "refuse_unless_xlcrm"]


@dataclass
class Settings:
    """The Settings sheet as read: options, lists and milestones."""

    options: dict[str, Any]
    lists: dict[str, pd.DataFrame]
    milestones: list[Milestone]

    def items(self, list_key: str) -> list[str]:
        """Return the items (first column) of a Settings list, as typed in the workbook."""
        frame = self.lists.get(list_key)
        if frame is None or frame.empty:
            return []
        return [str(v) for v in frame.iloc[:, 0].dropna() if str(v).strip()]

    def stage_probabilities(self) -> dict[str, float]:
        """Return each stage's win probability (0-1) as Settings gives it."""
        frame = self.lists.get("stages")
        if frame is None or "probability" not in frame:
            return {}
        return {str(s): float(p) for s, p in zip(frame["stage"], frame["probability"])
                if isinstance(s, str) and pd.notna(p)}


#: Which columns :func:`~xlcrm.read.load` types: data sheet key -> column keys, or a function
#: of the schema and the Settings as read that returns that mapping.
Columns = (Mapping[str, Collection[str]]
           | Callable[[Schema, Settings], Mapping[str, Collection[str]]])


#: what a data sheet with no records leaves empty, and how to fill it
_EMPTY_HINTS = {
    "lead": "type them there, or add a file of leads with `xlcrm import {file} leads.csv`",
    "activities": "two-way contacts are counted from the replies logged there (calls, "
                  "e-mails, visits), or from the dates typed on the sheet of leads",
    "deals": "the funnel, its value and the RFM ranking count the deals there",
    "tasks": "the agenda lists the tasks due there, planned the evening before",
}


@dataclass
class Crm:
    """A CRM workbook as typed tables.

    ``tables[key]`` holds one DataFrame per data sheet (``"leads"``, ``"deals"`` ...): its
    columns are the schema's column keys (``"created"``, ``"source"`` ...) then any extra
    columns under their own header; the index is the sheet row number of each record, so a
    message can always point at its cell (see :meth:`cell`). ``owned_cells[key]`` holds the
    cells, as read, of the owned sheets asked for (see :func:`~xlcrm.read.load`).
    """

    path: Path
    schema: Schema
    settings: Settings
    tables: dict[str, pd.DataFrame]
    issues: list[Issue]
    sheet_names: dict[str, str]
    columns: dict[str, dict[str, int]] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)
    date1904: bool = False
    owned_cells: dict[str, list[list[Any]]] = field(default_factory=dict)
    recorded_preset: str | None = None  # the preset the document properties record
    all_sheets: list[str] = field(default_factory=list)  # every sheet's name, in tab order
    identified: bool = False  # the workbook records which sheets are xlcrm's

    def claim_sheet(self, key: str) -> str:
        """Return the name of xlcrm's sheet ``key`` to write, claiming a new one if missing.

        The sheet xlcrm recorded (or, in an older workbook, found) as ``key`` keeps its name.
        A missing one gets the schema's name, or, when a sheet of the team's already has it,
        a distinct one (``Dashboard (xlcrm)``): a sheet xlcrm did not make is never written.
        The claim is kept in :attr:`sheet_names`, so the save records its identity.
        """
        name = self.sheet_names.get(key)
        if name:
            return name
        base = self.schema.sheet(key).name
        taken = {n.lower() for n in [*self.all_sheets, *self.sheet_names.values()]}
        name, n = base, 1
        while name.lower() in taken:
            suffix = " (xlcrm)" if n == 1 else f" (xlcrm {n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        self.sheet_names[key] = name
        return name

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.tables[key]

    def require_xlcrm(self) -> None:
        """Refuse a workbook that is not xlcrm's (see :func:`refuse_unless_xlcrm`).

        Raises:
            NotXlcrmWorkbookError: the workbook is not xlcrm's.
        """
        refuse_unless_xlcrm(self.path, self.recorded_preset, "settings" in self.sheet_names)

    def missing_records(self, keys: Iterable[str]) -> list[str]:
        """Say, one line each, which of these data sheets have no records yet and what they
        feed (``"lead"`` is the preset's sheet of people): a command that finds nothing to
        count says why, instead of showing empty tables."""
        lines = []
        for key in keys:
            sheet_key = self.schema.lead_sheet if key == "lead" else key
            if not any(s.key == sheet_key for s in self.schema.data_sheets) or \
                    len(self.tables.get(sheet_key, ())):
                continue
            name = self.sheet_names.get(sheet_key) or self.schema.sheet(sheet_key).name
            # in the workbook's language ([owned] of its locale file), English without
            words = self.schema.locale.sections.get("owned", {})
            hint = (words.get(f"missing_hint_{key}") or _EMPTY_HINTS.get(key, "")).format(
                file=shlex.quote(str(self.path)))
            said = (words.get("missing_records") or "{sheet} has no records yet").format(
                sheet=name)
            lines.append(said + (f": {hint}" if hint else ""))
        return lines

    def present_sheets(self) -> Iterator[tuple[Sheet, pd.DataFrame, str]]:
        """Yield each data sheet the workbook has: its schema, its table, its name here."""
        for sheet in self.schema.data_sheets:
            if sheet.key in self.sheet_names:
                yield sheet, self.tables[sheet.key], self.sheet_names[sheet.key]

    def cell(self, sheet_key: str, column_key: str, row: int) -> str:
        """Return ``Sheet!F12`` for a record's column (``row`` is the sheet row number)."""
        col = self.columns.get(sheet_key, {}).get(column_key)
        return f"{column_letter(col)}{row}" if col is not None else f"A{row}"

    @property
    def errors(self) -> list[Issue]:
        """The issues of severity error."""
        return [i for i in self.issues if i.severity == "error"]


def refuse_unless_xlcrm(path: Path, recorded_preset: str | None, has_settings: bool) -> None:
    """Refuse a workbook that is not xlcrm's, before any command reads or writes more of it.

    A workbook is xlcrm's when its properties record the preset xlcrm made or attached it
    with, or when it holds xlcrm's Settings sheet (a copy made by the Excel buttons keeps the
    sheets but not the properties). Any other workbook is a team's own: every command, the
    ones that only read too, refuses it with one line, so nothing is written and nothing is
    guessed (a team's sheets read as if they were xlcrm's give only false alarms).

    Raises:
        NotXlcrmWorkbookError: the workbook is not xlcrm's.
    """
    if recorded_preset or has_settings:
        return
    typed = shlex.quote(str(path))  # a command that works when pasted, spaces and all
    raise NotXlcrmWorkbookError(
        f"{path.name} is not an xlcrm workbook (it has no xlcrm Settings sheet); nothing was "
        f"done. Add xlcrm's sheets to it with `xlcrm attach {typed}`, or copy its records "
        f"into a new CRM workbook with `xlcrm adopt {typed} crm.xlsx`")
