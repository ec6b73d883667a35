"""What a team's old spreadsheet says beyond its headers, for :func:`~xlcrm.exchange.adopt.adopt`
(and, for yes/no step columns, for the import of a lead file).

- A yes/no column under a step's header ("Sold?" Y/N) marks that the step happened, on no day
  the sheet gives: the record's created day stands in for it, and a sale moves the status to
  the stage Settings calls won.
- One sheet per salesperson (tabs "Marco", "Giulia"): the tab's name is the salesperson of its
  records that name none.
- Columns kept as they were (matching no column of xlcrm's) keep dates as dates, text dates
  included, so a person can still sort and filter them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..read import Coercer
from ..read.headers import sheet_name_keys
from ..schema import Schema, Sheet, available_presets, item_labels, normalize_header
from .matching import ColumnMatch

__all__ = ["REP_FROM_TAB", "YES", "date_yes_marks", "kept_columns", "rep_key_of",
           "reps_by_sheet", "won_stage", "yes_no_dates"]

#: the mark a yes/no step column leaves until the record's created day is known
YES = object()
#: how sure a salesperson read from a tab's name is: likely, not certain (shown, changeable)
REP_FROM_TAB = 0.75
#: tab names that say what a sheet holds, never who: not a salesperson
_NOT_PEOPLE = frozenset(normalize_header(w) for w in (
    "sheet", "foglio", "munkalap", "лист", "барак", "tabelle", "feuille", "hoja", "data",
    "dati", "adatok", "данные", "daten", "données", "datos", "archive", "archivio", "archívum",
    "архив", "archiv", "old", "new", "vecchi", "nuovi", "régi", "új", "sold", "venduti",
    "lost", "persi", "leads", "lead", "clients", "clienti", "customers", "contacts",
    "contatti", "ügyfelek", "клиенты", "kunden", "clientes", "total", "totals", "summary",
    "riepilogo", "összesítő", "итого", "zusammenfassung", "résumé", "resumen", "list",
    "lista", "elenco", "список", "liste", "notes", "note", "todo", "calls", "chiamate",
    "prospects", "export", "import", "backup", "copy", "copia", "pivot", "chart", "grafico"))
_PERSON = re.compile(r"[^\W\d_]+(?:[ .'’-]+[^\W\d_]+){0,3}\.?")


def rep_key_of(sheet: Sheet) -> str | None:
    """The column of ``sheet`` naming the salesperson who owns a record, if it has one."""
    return next((k for k in ("rep", "owner") if sheet.has_column(k)), None)


def reps_by_sheet(placed: Mapping[str, tuple[int, str | None, list[ColumnMatch]]],
                  schema: Schema, saved: Mapping[str, Any]) -> dict[str, str]:
    """Old sheet name -> the salesperson its tab names, for workbooks of one sheet per rep.

    A tab names a salesperson when two or more sheets go to the same data sheet, the sheet
    has no column of its own for the salesperson, and the tab's name looks like a person's
    (letters, one to four words, not a word like "Archive" or a sheet xlcrm knows). A saved
    mapping's ``salesperson`` (a name, or null) wins.
    """
    by_key: dict[str, list[str]] = {}
    for name, (_, key, _) in placed.items():
        if key is not None:
            by_key.setdefault(key, []).append(name)
    known = {n for p in available_presets() for n in sheet_name_keys(p)}
    out: dict[str, str] = {}
    for key, names in by_key.items():
        column = rep_key_of(schema.sheet(key))
        for name in names:
            choice = saved.get(name, {})
            if "salesperson" in choice:
                if choice["salesperson"]:
                    out[name] = str(choice["salesperson"]).strip()
                continue
            if column is None or len(names) < 2 or any(m.column == column
                                                       for m in placed[name][2]):
                continue
            text = " ".join(name.split())
            if _PERSON.fullmatch(text) and normalize_header(text) not in _NOT_PEOPLE | known:
                out[name] = text
    return out


def yes_no_dates(sheet: Sheet, matches: Sequence[ColumnMatch],
                 body: Sequence[tuple[int, Sequence[Any]]], coercer: Coercer) -> set[int]:
    """The columns matched to a date whose every value is yes or no (``Sold?`` Y/N)."""
    found: set[int] = set()
    for i, m in enumerate(matches):
        if not m.column or m.column == "full_name" or \
                sheet.column(m.column).type not in ("date", "datetime"):
            continue
        values = [row[i] for _, row in body if i < len(row) and row[i] not in (None, "")]
        if values and all(isinstance(v, (str, bool)) and coercer.flag(v)[0] is not None
                          for v in values):
            found.add(i)
    return found


def won_stage(rows: Iterable[Sequence[Any]]) -> str | None:
    """The first stage (rows of the Settings stage table: stage, probability, outcome) whose
    outcome is won, in any shipped language."""
    won = {normalize_header(label) for label in item_labels("outcomes", "won")}
    return next((str(row[0]) for row in rows
                 if len(row) > 2 and normalize_header(str(row[2])) in won), None)


def date_yes_marks(values: dict[str, Any], sheet: Sheet, schema: Schema, won: str | None,
                   fallback: dt.datetime | None = None) -> None:
    """Date the steps a yes/no column marked with the record's created day (``fallback``
    when the row has none); a sale also sets the status to the ``won`` stage, when the row
    gives none."""
    created = values.get("created") or fallback
    day = created if isinstance(created, dt.datetime) else (
        dt.datetime.combine(created, dt.time()) if isinstance(created, dt.date) else None)
    sale = next((m.column for m in schema.milestones if m.key == "sale"
                 and m.sheet == sheet.key), None)
    for key in [k for k, v in values.items() if v is YES]:
        if day is None:
            del values[key]
            continue
        values[key] = day if sheet.column(key).type == "datetime" else day.date()
        if key == sale and won and sheet.has_column("stage") and not values.get("stage"):
            values["stage"] = won


def kept_columns(columns: Mapping[str, list[Any]], date_order: str
                 ) -> dict[str, list[Any]]:
    """The kept columns with dates as dates: a column whose every value is a date, or text
    that reads as one in the sheet's date order, becomes dates (the writer gives them the
    workbook's date format); any other column stays as it was, values as typed."""
    coercer = Coercer(date_order=date_order, date1904=False, yes="", no="")
    out: dict[str, list[Any]] = {}
    for header, values in columns.items():
        filled = [v for v in values if v not in (None, "")]
        if filled and all(isinstance(v, (dt.date, str)) for v in filled) and \
                any(isinstance(v, str) for v in filled):
            read = [coercer.date(v) if isinstance(v, str) else (v, None) for v in values]
            if all(problem is None for _, problem in read):
                out[header] = [value for value, _ in read]
                continue
        out[header] = list(values)
    return out
