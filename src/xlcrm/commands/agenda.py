"""Tomorrow's agenda per rep: the library twin of ``xlcrm agenda``.

Each rep's evening routine: the tasks due tomorrow in time order, with the client and the last
interaction; overdue tasks; records in an open stage that nobody has planned a next step for;
new leads still waiting for a first two-way contact beyond the Settings threshold. Shown in the
terminal, written as an HTML page and as the owned Agenda sheet. What each section holds is
computed in :mod:`xlcrm.metrics.agenda`; the sheet is laid out by :mod:`xlcrm.sheets.agenda`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..crm import Settings
from ..metrics.agenda import SECTIONS, build_agenda
from ..read import bulk_work, load
from ..reporting.html import render_agenda
from ..schema import Schema
from ..sheets.agenda import agenda_builder
from ..week import columns_used, tally_input
from ..xlsx.save import SaveResult
from ..xlsx.writer import write_owned_sheets

__all__ = ["AgendaResult", "agenda"]


@dataclass
class AgendaResult:
    """One day's agenda.

    Attributes:
        path: the CRM workbook.
        day: the day the agenda is for.
        items: one row per thing to do, columns :data:`xlcrm.metrics.agenda.AGENDA_COLUMNS`.
        html: the HTML page written, if one was asked for.
        saved: how the Agenda sheet was saved, if it was written.
    """

    path: Path
    day: dt.date
    items: pd.DataFrame
    html: Path | None = None
    saved: SaveResult | None = None

    @property
    def reps(self) -> list[str]:
        """The reps with something on their agenda, in order."""
        return list(dict.fromkeys(self.items["rep"]))

    def section(self, rep: str, name: str) -> pd.DataFrame:
        """One rep's rows of one section (``due``, ``overdue``, ...)."""
        items = self.items
        return items[(items["rep"] == rep) & (items["section"] == name)]

    def counts(self) -> pd.DataFrame:
        """Per rep, how many rows each section has."""
        table = pd.crosstab(self.items["rep"], self.items["section"])
        return table.reindex(columns=list(SECTIONS), fill_value=0).reindex(self.reps)


def _columns_read(schema: Schema, settings: Settings) -> dict[str, set[str]]:
    """The columns the agenda reads, by data sheet: the only ones ``load`` types.

    The weekly run's (milestones, for who is still waiting for a first contact, and the
    activities' dates and links), plus each record's id, name, owner, stage and sale, the
    tasks' due day, time, subject and state, and the activities' kind and subject (the last
    interaction). E-mails, phones, notes and the rest are never read: typing them was a third
    of an agenda of 100k leads.
    """
    wanted = columns_used(schema, settings)
    own = ("id", "first_name", "last_name", "name", "rep", "owner", "stage", "sold")
    extra = {"tasks": ("due_date", "due_time", "subject", "record", "done"),
             "activities": ("date", "type", "direction", "subject")}
    for sheet in schema.data_sheets:
        if sheet.key in wanted:
            wanted[sheet.key] |= {key for key in (*own, *extra.get(sheet.key, ()))
                                  if sheet.has_column(key)}
    return wanted


def agenda(path: str | Path, *, day: dt.date | None = None, rep: str | None = None,
           now: dt.datetime | None = None, out: str | Path | None = None,
           write_sheet: bool = True, templates: str | Path | None = None,
           force: bool = False, backups: int = 5) -> AgendaResult:
    """Make the agenda for ``day`` (default: tomorrow) and write it where asked.

    Args:
        path: the CRM workbook.
        day: the day the agenda is for; tomorrow when None.
        rep: only this rep's agenda (any case).
        now: the moment waiting times are measured to (default: now).
        out: a folder (or an ``.html`` file) to write the agenda page into.
        write_sheet: write the owned Agenda sheet into the workbook.
        templates: a folder of templates that override the built-in ones.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions of the workbook to keep.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    day = day or (now.date() + dt.timedelta(days=1))
    with bulk_work():
        crm = load(path, columns=_columns_read)
    if write_sheet:
        crm.require_xlcrm()
    items = build_agenda(crm, day=day, now=now, steps=tally_input(crm).steps, rep=rep)
    result = AgendaResult(Path(path), day, items)
    if out is not None:
        target = Path(out)
        if target.suffix.lower() not in (".html", ".htm"):
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"agenda-{day:%Y-%m-%d}.html"
        target.write_text(render_agenda(result, crm, now=now, templates=templates),
                          encoding="utf-8")
        result.html = target
    name = crm.sheet_names.get("agenda") or next(
        (s.name for s in crm.schema.owned_sheets if s.key == "agenda"), "Agenda")
    if write_sheet:
        result.saved = write_owned_sheets(
            path, {name: agenda_builder(crm, result.items, day=day, now=now)},
            force=force, backups=backups)
    return result
