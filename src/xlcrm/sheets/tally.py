"""The Tally sheet: the week's counts and rates, by activity week, by lead cohort, by source
and by rep.

Counts that Excel can express are live COUNTIFS formulas over the lead table, with the values
:func:`~xlcrm.week.compute_week` computed stored as their cached values, so the numbers stay
right while people edit between runs and readers without a calculation engine still see them.
Two-way contacts are the one count Excel can't express (the earlier of an inbound activity
and the hand-filled date), so they are values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.tally import NESTED, RATE_DEFINITIONS, RATES, STEPS
from ..week import WeekResult
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value, fit_header, measure_headers, wrapped_note
from .words import OwnedText, owned_text
from .workbook import structured_ref

__all__ = ["cohort_rows", "first_source_row", "tally_sheet", "text_dates_note"]

_STEP_MILESTONE = dict(zip(("lead", "contact", "appointment", "show", "sale"), STEPS))
_TOP = 4  # the row of the first table's header


def first_source_row(week: WeekResult) -> int:
    """The row, counted from 1, of the first source in the Tally's by-source table (the
    dashboard charts the leads by source from there)."""
    cohorts_top = _TOP + 2 + len(week.weeks) + 1
    return cohorts_top + 2 + len(week.cohorts) + 3


def text_dates_note(week: WeekResult, shown: int = 5, text: OwnedText | None = None) -> str:
    """A sentence naming the milestone cells left out because they hold dates typed as text
    (empty when there are none), in ``text``'s language (English without one)."""
    cells = week.text_dates
    if not cells:
        return ""
    text = text or OwnedText("en")
    more = " " + text.get("text_dates_more", n=len(cells) - shown) if len(cells) > shown else ""
    return " " + text.get("text_dates_note", n=len(cells),
                          dates=text.plural("word_date", len(cells)),
                          cells=", ".join(cells[:shown]) + more)


def cohort_rows(week: WeekResult) -> int:
    """The row, counted from 1, of the first week in the Tally's cohort table (the dashboard
    charts the rates by week from there)."""
    return _TOP + 2 + len(week.weeks) + 3


def tally_sheet(week: WeekResult, crm: Crm) -> SheetBuilder:
    """Lay out the Tally sheet of ``week``; ``crm`` gives the labels, formats and the lead
    table the formulas count."""
    refs = _refs(crm)

    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        labels = measure_headers(crm.settings, crm.schema)
        banner(ws, crm.schema, f, text["tally_title"],
               text.get("tally_note", today=f"{week.today:%Y-%m-%d}"))
        ws.set_column(0, 0, 14)
        ws.set_column(1, 5, 11)
        ws.set_column(6, 15, 11)
        ws.set_column(16, 24, 13)  # cost, revenue and return by source
        # every table's header widens its columns to its longest word, in any language
        widths = {0: 14.0, **{c: 11.0 for c in range(1, 16)}, **{c: 13.0 for c in range(16, 25)}}
        row = _write_weeks(ws, _TOP, week, labels, f, refs, text, widths, cohort=False)
        breaks = [row]  # each long table starts a printed page, under its own header
        title = text["tally_cohort_title"]
        ws.write_string(row, 0, title, f.title)
        # the note starts where the (14 pt) title ends, so neither covers the other
        col, reach = 0, 0.0
        while reach < len(title) * 1.45:
            reach, col = reach + widths.get(col, 8.43), col + 1
        cohort_row, note_col = row, max(7, col)
        row = _write_weeks(ws, row + 1, week, labels, f, refs, text, widths, cohort=True)
        breaks.append(row)  # the sources, the reps and the definitions share a page
        row = _write_totals(ws, row, text["tally_by_source"], week.by_source, f, labels, text,
                            widths, money=True)
        row = _write_totals(ws, row, text["tally_by_rep"], week.by_rep, f, labels, text, widths)
        ws.write_string(row, 0, text["tally_definitions_title"], f.title)
        for i, name in enumerate(RATE_DEFINITIONS, row + 1):
            ws.write_string(i, 0, labels[name])
            ws.write_string(i, 1, text[f"definition_{name}"])
        ws.write_string(row + 1 + len(RATE_DEFINITIONS), 0, text["return_on_spend_label"])
        ws.write_string(row + 1 + len(RATE_DEFINITIONS), 1, text["return_on_spend_definition"])
        # column A reads sources, reps and the rates' names beside their neighbours' text:
        # it fits the longest, so none is cut in any language
        names = [*(labels[n] for n in RATE_DEFINITIONS), text["return_on_spend_label"],
                 *(str(k) for k in week.by_source.index), *(str(k) for k in week.by_rep.index)]
        longest = max(len(n) for n in names) + 1.0
        if longest > widths[0]:
            ws.set_column(0, 0, longest)
        # the notes wrap within the tables' width: run on, they widen the printed page and
        # every table shrinks with it
        extra = [c for c in week.by_source.columns if c not in STEPS and c not in RATES]
        last = max(15, len(STEPS) + len(RATES) + len(extra))
        wrapped_note(book, ws, 2, text.get("tally_note", today=f"{week.today:%Y-%m-%d}"),
                     widths, last)
        wrapped_note(book, ws, 3, text["tally_rates_note"] + text_dates_note(week, text=text),
                     widths, last)
        wrapped_note(book, ws, cohort_row, text.get("tally_cohort_note",
                                                    days=week.mature_days),
                     widths, last, first_col=note_col, least=20.0)
        ws.freeze_panes(_TOP + 1, 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        # no repeated title rows: Excel repeats one set of rows over every page of a sheet,
        # and the weekly header would then stand over the cohort, source and rep tables
        ws.set_h_pagebreaks(breaks)
    return build


def _rate_formula(ws: Worksheet, row: int, col: int, num_col: int, den_col: int, value: Any,
                  fmt: Any) -> None:
    num = xlsxwriter.utility.xl_rowcol_to_cell(row, num_col)
    den = xlsxwriter.utility.xl_rowcol_to_cell(row, den_col)
    ws.write_formula(row, col, f'=IF({den}=0,"",{num}/{den})', fmt, cell_value(value))


@dataclass
class _Refs:
    """Structured references to the lead table's milestone columns, for COUNTIFS."""

    table: str
    columns: dict[str, str]  # step -> structured ref


def _refs(crm: Crm) -> _Refs | None:
    milestones = {m.key: m for m in crm.settings.milestones}
    sheet = crm.schema.sheet(milestones["lead"].sheet)
    columns = {}
    for key, step in _STEP_MILESTONE.items():
        m = milestones[key]
        if key == "contact" or m.sheet != sheet.key or m.column not in crm.columns.get(
                sheet.key, {}):
            continue
        columns[step] = structured_ref(sheet.table, sheet.column(m.column).header)
    return _Refs(sheet.table, columns) if "leads" in columns else None


def _write_weeks(ws: Worksheet, top: int, week: WeekResult, labels: dict[str, str],
                 f: Formats, refs: _Refs | None, text: OwnedText, widths: dict[int, float], *,
                 cohort: bool) -> int:
    """Write one weekly table at ``top`` (by activity week: counts only; by cohort: nested
    counts, rates, age and the comparison with the baseline); return the row after it."""
    weeks = week.cohorts if cohort else week.weeks
    rates = list(RATES) if cohort else []
    header = [labels[h] for h in ("week", *STEPS, *rates)]
    header += [text["days_since_week_ended"], text["cohort"],
               *(text.get("versus_baseline", rate=labels[r]) for r in RATES)] \
        if cohort else [text["note"]]
    ws.write_row(top, 0, header, f.head)
    fit_header(ws, top, header, widths, 32)
    created = refs.columns.get("leads") if refs else None
    for i, (start, row) in enumerate(weeks.iterrows()):
        r = top + 1 + i
        ws.write_datetime(r, 0, start.to_pydatetime(), f.date)
        cell = xlsxwriter.utility.xl_rowcol_to_cell(r, 0, col_abs=True)
        for c, step in enumerate(STEPS, 1):
            value = int(row[step])
            ref = refs.columns.get(step) if refs else None
            needed = [refs.columns.get(_STEP_MILESTONE[m]) for m in NESTED.get(step, ())] \
                if refs and cohort else []
            if ref and created and (not cohort or step == "leads"):
                ws.write_formula(r, c, f'=COUNTIFS({ref},">="&{cell},{ref},"<"&{cell}+7)',
                                 f.int, value)
            elif created and cohort and needed and all(needed):
                # ">0", not "<>": a date typed as text is no number, so Excel leaves it out,
                # as the cached count does
                pairs = "".join(f',{n},">0"' for n in needed)
                ws.write_formula(r, c, f'=COUNTIFS({created},">="&{cell},{created},"<"&{cell}+7'
                                       f'{pairs})', f.int, value)
            else:
                ws.write_number(r, c, value, f.int)
        status = len(header) - (len(RATES) if cohort else 0) - 1
        age = week.age(start)
        if not cohort:
            if age < 0:
                ws.write_string(r, status, text["so_far"])
            continue
        for c, (name, (num, den)) in enumerate(RATES.items(), 1 + len(STEPS)):
            _rate_formula(ws, r, c, 1 + STEPS.index(num), 1 + STEPS.index(den), row[name], f.pct)
        if age >= 0:
            ws.write_number(r, status - 1, age, f.int)
        young = week.is_young(start)
        ws.write_string(r, status, text["so_far"] if age < 0 else text["young"] if young
                        else text["grown"])
        if not young:
            for c, name in enumerate(RATES, status + 1):
                value = week.versus_baseline.loc[start, name]
                if pd.notna(value):
                    ws.write_number(r, c, float(value) * 100, f.pts)
    return top + 2 + len(weeks)


def _write_totals(ws: Worksheet, top: int, title: str, frame: pd.DataFrame, f: Formats,
                  labels: dict[str, str], text: OwnedText, widths: dict[int, float],
                  money: bool = False) -> int:
    ws.write_string(top, 0, title, f.title)
    extra = [c for c in frame.columns if c not in STEPS and c not in RATES]
    header = [frame.index.name or "", *STEPS, *RATES, *extra]
    words = [labels.get(h, text.words.get(f"column_{h}", h.replace("_", " ").capitalize()))
             for h in header]
    ws.write_row(top + 1, 0, words, f.head)
    fit_header(ws, top + 1, words, widths, 32)
    for i, (key, row) in enumerate(frame.iterrows()):
        r = top + 2 + i
        # a lead without a source or rep is counted under "(none)"
        ws.write_string(r, 0, text["no_reason"] if str(key) == "(none)" else str(key))
        for c, step in enumerate(STEPS, 1):
            ws.write_number(r, c, int(row[step]), f.int)
        for c, (name, (num, den)) in enumerate(RATES.items(), 1 + len(STEPS)):
            _rate_formula(ws, r, c, 1 + STEPS.index(num), 1 + STEPS.index(den), row[name], f.pct)
        for c, name in enumerate(extra, 1 + len(STEPS) + len(RATES)):
            value = cell_value(row[name])
            if value == "":
                if name == "cost":  # a blank cost per lead in Settings: unknown, not free
                    ws.write_string(r, c, text["no_cost_set"], f.note)
                    if len(text["no_cost_set"]) + 2 > widths.get(c, 8.43):  # not cut
                        widths[c] = len(text["no_cost_set"]) + 2.0
                        ws.set_column(c, c, widths[c])
                continue
            fmt = f.times if name == "return_on_spend" else f.money if money else f.int
            ws.write_number(r, c, float(value), fmt)
    return top + 3 + len(frame)
