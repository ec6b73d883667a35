"""Numbers a sales manager can trust, checked on the demos of both presets: no share passes
100 %, the current week is never compared, the Funnel's Reached agrees with the Tally."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import xlcrm

from ._helpers import PRESETS, TODAY


@pytest.mark.parametrize("preset", PRESETS)
def test_no_percent_cell_of_an_owned_sheet_passes_100(demo_book: Callable[..., Path],
                                                      preset: str) -> None:
    """Every cell an owned sheet formats as a percentage is a share: 0 to 100 %."""
    book = demo_book(preset, 1000, 7)
    crm = xlcrm.load(book)
    owned = {crm.sheet_names.get(s.key, s.name) for s in crm.schema.owned_sheets}
    wb = openpyxl.load_workbook(book, data_only=True)  # the cached values
    checked, over = 0, []
    for ws in wb.worksheets:
        if ws.title not in owned:
            continue
        for row in ws.iter_rows():
            for cell in row:
                if "%" not in str(cell.number_format) or not isinstance(cell.value,
                                                                         (int, float)):
                    continue
                checked += 1
                if not 0 <= cell.value <= 1 + 1e-9:
                    over.append(f"{ws.title}!{cell.coordinate} = {cell.value:.1%}")
    wb.close()
    assert checked > 200
    assert not over, over[:10]


@pytest.mark.parametrize("preset", PRESETS)
def test_current_week_is_marked_so_far_and_never_compared(demo_book: Callable[..., Path],
                                                          preset: str) -> None:
    """The Tally's last week row (the one holding today) says "so far" and has no rate and no
    change against the baseline; the Dashboard shows the week before it."""
    book = demo_book(preset, 1000, 7)
    week = xlcrm.update(book, dry_run=True, today=TODAY).week
    assert week.this_week == week.current_week - pd.Timedelta(days=7)
    wb = openpyxl.load_workbook(book, read_only=True)
    tally = [list(r) for r in wb["Tally"].iter_rows(values_only=True)]
    wb.close()
    so_far = [r for r in tally if "so far" in r]
    assert len(so_far) == 2  # once in the activity table, once among the cohorts
    cohort = so_far[1]
    at = cohort.index("so far")
    assert all(v is None for v in cohort[at + 1:])  # no change against the baseline


def test_funnel_reached_agrees_with_the_tally(demo_book: Callable[..., Path]) -> None:
    """On the dealer's leads, where the stages and the milestones live on the same records,
    the Funnel's Reached for Appointment set is at least the Tally's appointments by cohort
    (every lead with an appointment date reached that stage, lost or not). (The b2b funnel
    runs on deals and the tally on contacts: no such pairing there.)"""
    book = demo_book("dealer", 1000, 7)
    week = xlcrm.update(book, dry_run=True, today=TODAY).week
    assert week.funnel is not None
    stages = week.funnel.stages.set_index("stage")
    booked = int(week.cohorts["appointments"].sum())
    shown = int(week.cohorts["shows"].sum())
    assert stages.loc["Appointment set", "reached"] >= booked
    assert stages.loc["Shown", "reached"] >= shown
    assert (stages["conversion"].dropna() <= 1).all()



def test_one_formatter_rounds_as_excel_shows() -> None:
    """The terminal, the HTML report and the Dashboard's number formats agree: 5.25 leads a
    week shows 5.3 (Excel rounds half away from zero), 0.5625 is 56.3 %, and a change of
    0.5625 - 0 in points +56.3 pts, even where binary floats fall a hair under the half."""
    from xlcrm.reporting.words import ReportText
    from xlcrm.sheets.style import figure_text

    report = ReportText("en")  # the HTML page, the e-mail and the report workbook's texts
    assert figure_text(5.25, "per_week") == report.decimal(5.25) == "5.3"
    assert figure_text(0.5625, "rate") == report.pct(0.5625) == "56.3%"
    assert figure_text(0.6875 - 0.125, "pts") == \
        report.points(0.6875 - 0.125).replace("\u00a0", " ") == "+56.3 pts"
    assert figure_text(0.1 * 3 * 100 / 100 - 0.0005, "rate") == "30.0%"
    assert figure_text(None, "rate") == "-"
