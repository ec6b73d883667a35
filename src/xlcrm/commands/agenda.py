"""Tomorrow's agenda per rep: the library twin of ``xlcrm agenda``.

Each rep's evening routine: the tasks due tomorrow in time order, with the client and the last
interaction; overdue tasks; records in an open stage that nobody has planned a next step for;
new leads still waiting for a first two-way contact beyond the Settings threshold. Shown in the
terminal, written as an HTML page and as the owned Agenda sheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..metrics.agenda import AGENDA_COLUMNS, SECTIONS, agenda_items
from ..metrics.records import (
    last_touches,
    lead_sheet,
    outcomes,
    record_names,
    rep_column,
    stage_sheet,
)
from ..read import Crm, bulk_work, load
from ..week import tally_input
from ..xlsx.save import SaveResult
from ..xlsx.writer import write_owned_sheets

__all__ = ["SECTION_TITLES", "AgendaResult", "agenda", "build_agenda"]

#: how each agenda section is titled wherever it is shown
SECTION_TITLES = {
    "due": "Due", "overdue": "Overdue", "no_next_task": "No next task",
    "not_contacted": "Waiting for first contact",
}


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


def build_agenda(crm: Crm, *, day: dt.date, now: dt.datetime,
                 rep: str | None = None) -> pd.DataFrame:
    """Collect the agenda of a loaded workbook for ``day`` (see
    :func:`xlcrm.metrics.agenda.agenda_items` for what each section holds)."""
    tasks = crm.tables.get("tasks", pd.DataFrame())
    owner = rep_column(crm.schema.sheet("tasks")) if "tasks" in crm.tables else None
    if tasks.empty or owner is None:
        tasks = pd.DataFrame(columns=["id", "due_date", "due_time", "rep", "record", "subject",
                                      "done"])
    else:
        tasks = tasks.rename(columns={owner: "rep"})
        for column in ("due_time", "record", "subject", "done"):
            if column not in tasks:
                tasks[column] = None
    open_records = pd.DataFrame(columns=["id", "rep", "stage"])
    sheet = stage_sheet(crm)
    if sheet is not None and sheet.key in crm.tables:
        records = crm.tables[sheet.key]
        owner = rep_column(sheet)
        is_open = outcomes(crm, records) == "open"
        open_records = pd.DataFrame({
            "id": records["id"], "stage": records["stage"],
            "rep": records[owner] if owner else None})[is_open]
    lsheet = lead_sheet(crm)
    leads_table = crm.tables.get(lsheet.key, pd.DataFrame())
    leads = pd.DataFrame(columns=["id", "rep", "created", "contacted", "open"])
    if not leads_table.empty:
        steps = tally_input(crm).steps
        lead_owner = rep_column(lsheet)
        status = outcomes(crm, leads_table, "stage") if "stage" in leads_table else \
            pd.Series("open", index=leads_table.index)
        leads = pd.DataFrame({
            "id": leads_table["id"], "rep": leads_table[lead_owner] if lead_owner else None,
            "created": steps["lead"].reindex(leads_table.index),
            "contacted": steps["contact"].reindex(leads_table.index),
            "open": (status == "open") & leads_table["sold"].isna()
            if "sold" in leads_table else status == "open"})
        leads = leads[leads["created"].notna()]
    threshold = crm.settings.options.get("uncontacted_hours", 24)
    try:
        hours = float(threshold)
    except (TypeError, ValueError):
        hours = 24.0
    return agenda_items(tasks, day=day, now=now, open_records=open_records, leads=leads,
                        last_touch=last_touches(crm), names=record_names(crm),
                        threshold_hours=hours, rep=rep)


def _agenda_builder(crm: Crm, result: AgendaResult, now: dt.datetime
                    ) -> Callable[[xlsxwriter.Workbook, Worksheet], None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        loc = crm.schema.locale
        text = loc.sections.get("text", {})
        banner = book.add_format({"italic": True, "bold": True, "font_color": "#FFFFFF",
                                  "bg_color": "#548235"})
        title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        note = book.add_format({"italic": True, "font_color": "#595959"})
        when = book.add_format({"num_format": loc.formats["date"] + " hh:mm",
                                "align": "left"})
        day_fmt = book.add_format({"num_format": loc.formats["date"], "align": "left"})
        ws.write_string(0, 0, text.get("owned_banner", "Owned by xlcrm"), banner)
        for c in range(1, len(AGENDA_COLUMNS)):
            ws.write_blank(0, c, None, banner)
        ws.write_string(1, 0, f"Agenda for {result.day:%A %d %B %Y}", title)
        ws.write_string(2, 0, f"Written {now:%Y-%m-%d %H:%M}. Filter by salesperson; the "
                              "sections are Due, Overdue, No next task and Waiting for first "
                              "contact.", note)
        headers = ["Salesperson", "Section", "When", "Record", "Client", "What",
                   "Last interaction", "Last interaction was"]
        items = result.items
        rows = []
        for rec in items.itertuples(index=False):
            rows.append([rec.rep, SECTION_TITLES[rec.section],
                         None if pd.isna(rec.when) else pd.Timestamp(rec.when).to_pydatetime(),
                         rec.record, rec.client, rec.what,
                         None if pd.isna(rec.last_date)
                         else pd.Timestamp(rec.last_date).to_pydatetime(), rec.last_what])
        widths = [18, 24, 17, 11, 22, 44, 17, 44]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        top = 4
        if rows:
            ws.add_table(top, 0, top + len(rows), len(headers) - 1, {
                "name": "xlcrm_Agenda", "style": "Table Style Light 9",
                "columns": [{"header": h} for h in headers]})
            for r, row in enumerate(rows, top + 1):
                for c, value in enumerate(row):
                    if value is None or (isinstance(value, float) and pd.isna(value)):
                        continue
                    if isinstance(value, dt.datetime):
                        fmt = day_fmt if (c == 2 and _is_day(value)) else when
                        ws.write_datetime(r, c, value, fmt)
                    else:
                        ws.write(r, c, value)
        else:
            ws.write_string(top, 0, "Nothing on the agenda.")
        ws.freeze_panes(top + 1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
    return build


def _is_day(value: dt.datetime) -> bool:
    """True when a timestamp carries no time of day (a due date without a time)."""
    return value.hour == 0 and value.minute == 0 and value.second == 0


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
        crm = load(path)
    result = AgendaResult(Path(path), day, build_agenda(crm, day=day, now=now, rep=rep))
    if out is not None:
        from ..reporting.html import render_agenda

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
        result.saved = write_owned_sheets(path, {name: _agenda_builder(crm, result, now)},
                                          force=force, backups=backups)
    return result
