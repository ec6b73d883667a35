"""Tomorrow's agenda per rep: the library twin of ``xlcrm agenda``.

Each rep's evening routine: the tasks due tomorrow in time order, with the client and the last
interaction; overdue tasks; records in an open stage that nobody has planned a next step for;
new leads still waiting for a first two-way contact beyond the Settings threshold. Shown in the
terminal, written as an HTML page and as the owned Agenda sheet. What each section holds is
computed in :mod:`xlcrm.metrics.agenda`; the sheet is laid out by :mod:`xlcrm.sheets.agenda`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..crm import Crm, Settings
from ..errors import ArgumentError
from ..metrics.agenda import SECTIONS, build_agenda
from ..metrics.records import rep_column
from ..read import bulk_work, load
from ..reporting.html import render_agenda
from ..schema import Schema
from ..sheets.agenda import agenda_builder
from ..week import columns_used, tally_input
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
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
        missing: the data sheets with no records yet, and what they would feed.
    """

    path: Path
    day: dt.date
    items: pd.DataFrame
    html: Path | None = None
    saved: SaveResult | None = None
    missing: list[str] = field(default_factory=list)
    #: the workbook's language (its locale code), for what is printed of the agenda
    locale: str = "en"
    _where: tuple[pd.DataFrame, dict[Any, Any]] | None = field(default=None, init=False,
                                                              repr=False, compare=False)

    @property
    def reps(self) -> list[str]:
        """The reps with something on their agenda, in order."""
        return list(dict.fromkeys(self.items["rep"]))

    def section(self, rep: str, name: str) -> pd.DataFrame:
        """One rep's rows of one section (``due``, ``overdue``, ...)."""
        items = self.items
        if self._where is None or self._where[0] is not items:
            # every rep's sections found in one pass, not one scan of the agenda per section
            self._where = (items, items.groupby(["rep", "section"], sort=False).indices)
        rows = self._where[1].get((rep, name))
        return items.iloc[rows] if rows is not None else items.iloc[0:0]

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
    own = ("id", "first_name", "last_name", "name", "rep", "owner", "stage", "sold",
           "marketing_consent")
    extra = {"tasks": ("due_date", "due_time", "subject", "record", "done"),
             "activities": ("date", "type", "direction", "subject")}
    for sheet in schema.data_sheets:
        if sheet.key in wanted:
            wanted[sheet.key] |= {key for key in (*own, *extra.get(sheet.key, ()))
                                  if sheet.has_column(key)}
    return wanted


@with_password
@locked_command(lambda kw: kw.get("write_sheet", True))
def agenda(path: str | Path, *, day: dt.date | None = None, rep: str | None = None,
           now: dt.datetime | None = None, out: str | Path | None = None,
           write_sheet: bool = True, templates: str | Path | None = None,
           force: bool = False, backups: int = 5, password: str | None = None) -> AgendaResult:
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
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    day = day or (now.date() + dt.timedelta(days=1))
    with bulk_work():
        crm = load(path, columns=_columns_read)
    crm.require_xlcrm()
    if rep is not None:
        _require_rep(crm, rep)
    items = build_agenda(crm, day=day, now=now, steps=tally_input(crm).steps, rep=rep)
    result = AgendaResult(Path(path), day, items, locale=crm.schema.locale.code)
    result.missing = crm.missing_records(("tasks", "lead"))
    if out is not None:
        target = Path(out)
        if target.suffix.lower() not in (".html", ".htm"):
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"agenda-{day:%Y-%m-%d}.html"
        target.write_text(render_agenda(result, crm, now=now, templates=templates),
                          encoding="utf-8")
        result.html = target
    name = crm.claim_sheet("agenda")
    if write_sheet:
        result.saved = write_owned_sheets(
            path, {name: agenda_builder(crm, result.items, day=day, now=now)},
            force=force, backups=backups, identities=crm.sheet_names)
    return result


def _require_rep(crm: Crm, rep: str) -> None:
    """Refuse a salesperson the workbook does not know (Settings > Reps, or an owner of a
    record, in any case): an empty agenda would read as a free day."""
    known: dict[str, str] = {}
    for name in crm.settings.items("reps"):
        known.setdefault(name.strip().casefold(), name.strip())
    for sheet, frame, _ in crm.present_sheets():
        column = rep_column(sheet)
        if column and column in frame:
            for name in frame[column].dropna().unique():
                if isinstance(name, str) and name.strip():
                    known.setdefault(name.strip().casefold(), name.strip())
    if rep.strip().casefold() in known:
        return
    close = difflib.get_close_matches(rep.strip().casefold(), list(known), n=1, cutoff=0.6)
    hint = (f'; did you mean "{known[close[0]]}"?' if close else
            f"; the salespeople it knows are {', '.join(sorted(known.values()))}" if known else
            "; it has no salespeople yet: add them to Settings > Reps")
    raise ArgumentError(f'--rep "{rep}": no salesperson of that name in {crm.path.name}{hint}')
