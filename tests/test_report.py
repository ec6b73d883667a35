"""The weekly report: its numbers, counted by hand on tiny workbooks; every output opens, the
page fits a phone, the e-mail arrives intact, and a team's own templates win over the built-in
ones.

The numbers are checked in what the report writes (its workbook and its HTML page), against
counts worked out by hand from the records below, never recomputed with the code's own
functions."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import functools
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.commands.report import report
from xlcrm.reporting.data import parse_week, report_week
from xlcrm.reporting.html import SECTION_TITLES
from xlcrm.reporting.mail import SmtpSettings
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import TODAY, Office

LAST_WEEK = dt.date(2026, 11, 16)  # the last full week before TODAY (a Monday)
T, D = dt.datetime, dt.date
#: the tiny workbooks' report is made on Wednesday 25 Nov: it covers Mon 16 to Sun 22 Nov
#: (week 47); "last week" is 9 to 15 Nov, the four-week period 26 Oct to 22 Nov
TINY_TODAY = D(2026, 11, 25)
REPS = {"reps": [("Anna", "", "", True), ("Marco", "", "", True)]}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return xlcrm.demo(out, leads=600, seed=4, today=TODAY, run_report=False)


@pytest.fixture(scope="module")
def made(book: Path, tmp_path_factory: pytest.TempPathFactory) -> xlcrm.ReportResult:
    return report(book, tmp_path_factory.mktemp("out"), html=True, eml=True, today=TODAY)


def _grid(path: Path, sheet: str) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    try:
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    finally:
        wb.close()


def _row(grid: list[list[object]], label: str) -> list[object]:
    return next(r for r in grid if r and r[0] == label)


# ----- numbers counted by hand on a tiny dealer workbook ----------------------------------------
#
# Seven leads (created; source; rep; stage; two-way contact, appointment set and shown, sold):
#   L-1 Mon 16 Nov  Dealer website  Anna   Sold             contact 16 Nov, appt 17, shown 20,
#                                                           sold 21 Nov for 20,000
#   L-2 Tue 17 Nov  Walk-in         Marco  Contacted        contact 17 Nov
#   L-3 Wed 18 Nov  Dealer website  Anna   New              -
#   L-4 Tue 10 Nov  Listing portal  Marco  Appointment set  contact 11 Nov, appt 12 Nov
#   L-5 Tue  3 Nov  Dealer website  Anna   Contacted        no date, but answered a call on
#                                                           16 Nov (activity A-2, inbound)
#   L-6 Mon  5 Oct  Walk-in         Marco  Lost (Price)     contact 6 Oct; last worked 6 Oct
#   L-7 Wed  4 Nov  Walk-in         Marco  New              the same person as L-3 (same
#                                                           e-mail and phone)
# Activities: A-1 16 Nov L-1 out (Anna), A-2 16 Nov L-5 in (Anna), A-3 17 Nov L-2 out (Marco),
# A-4 10 Nov L-4 out (Marco), A-5 6 Oct L-6 out (Marco).
# Tasks: T-1 due 20 Nov, open (Anna); T-2 due 18 Nov, done 19 Nov (Marco); T-3 due 26 Nov,
# open (Anna); T-4 due 12 Nov, done only on 24 Nov, after the week (Marco).
# Baseline: the weeks of 2 and 9 Nov.


def _tiny_dealer(path: Path) -> Path:
    leads = {
        "id": ["L-1", "L-2", "L-3", "L-4", "L-5", "L-6", "L-7"],
        "created": [T(2026, 11, 16, 9), T(2026, 11, 17, 9), T(2026, 11, 18, 9),
                    T(2026, 11, 10, 9), T(2026, 11, 3, 9), T(2026, 10, 5, 9), T(2026, 11, 4, 9)],
        "first_name": ["Anna", "Bruno", "Carla", "Dario", "Elena", "Fabio", "Carla"],
        "last_name": ["Rossi", "Bianchi", "Verdi", "Neri", "Gallo", "Conti", "Verdi"],
        "email": [f"{n}@example.com" for n in ("anna.rossi", "bruno.bianchi", "carla.verdi",
                                              "dario.neri", "elena.gallo", "fabio.conti",
                                              "carla.verdi")],
        "phone": [f"+39 333 100 000{i}" for i in (1, 2, 3, 4, 5, 6, 3)],
        "source": ["Dealer website", "Walk-in", "Dealer website", "Listing portal",
                   "Dealer website", "Walk-in", "Walk-in"],
        "rep": ["Anna", "Marco", "Anna", "Marco", "Anna", "Marco", "Marco"],
        "stage": ["Sold", "Contacted", "New", "Appointment set", "Contacted", "Lost", "New"],
        "first_contact": [T(2026, 11, 16, 10), T(2026, 11, 17, 10), None, T(2026, 11, 11, 10),
                          None, T(2026, 10, 6, 10), None],
        "appointment_set": [T(2026, 11, 17, 10), None, None, T(2026, 11, 12, 10), None, None,
                            None],
        "appointment_shown": [D(2026, 11, 20), None, None, None, None, None, None],
        "sold": [D(2026, 11, 21), None, None, None, None, None, None],
        "amount": [20_000.0, None, None, None, None, None, None],
        "lost_reason": [None, None, None, None, None, "Price", None],
    }
    activities = {
        "id": ["A-1", "A-2", "A-3", "A-4", "A-5"],
        "date": [T(2026, 11, 16, 10), T(2026, 11, 16, 14), T(2026, 11, 17, 11),
                 T(2026, 11, 10, 11), T(2026, 10, 6, 10)],
        "lead": ["L-1", "L-5", "L-2", "L-4", "L-6"],
        "type": ["Call", "Call", "E-mail", "Call", "Call"],
        "direction": ["Outbound", "Inbound", "Outbound", "Outbound", "Outbound"],
        "rep": ["Anna", "Anna", "Marco", "Marco", "Marco"],
    }
    tasks = {
        "id": ["T-1", "T-2", "T-3", "T-4"],
        "due_date": [D(2026, 11, 20), D(2026, 11, 18), D(2026, 11, 26), D(2026, 11, 12)],
        "rep": ["Anna", "Marco", "Anna", "Marco"],
        "record": ["L-3", "L-2", "L-5", "L-4"],
        "subject": ["Call back", "Send the offer", "Call back", "Confirm the appointment"],
        "done": [False, True, False, True],
        "done_date": [None, D(2026, 11, 19), None, D(2026, 11, 24)],
    }
    return write_new_workbook(path, xlcrm.load_schema("dealer"),
                              {"leads": leads, "activities": activities, "tasks": tasks},
                              options={"baseline_from": D(2026, 11, 2),
                                       "baseline_to": D(2026, 11, 9)},
                              settings_rows=REPS)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_dealer(tmp_path_factory.mktemp("tiny") / "crm.xlsx")


@pytest.fixture(scope="module")
def tiny_made(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> xlcrm.ReportResult:
    return xlcrm.report(tiny, tmp_path_factory.mktemp("tiny-out"), html=True,
                        today=TINY_TODAY)


def _values(grid: list[list[object]], label: str, columns: int) -> list[object]:
    """A row's cells after its label; None where the cell is empty."""
    return [None if v == "" else v for v in _row(grid, label)[1:1 + columns]]


def test_summary_counted_by_hand(tiny_made: xlcrm.ReportResult) -> None:
    grid = _grid(tiny_made.workbook, "Summary")
    # this week (16-22 Nov), by the week each step happened:
    #   leads L-1, L-2, L-3 = 3; contacts L-1 (16), L-2 (17), L-5 (answered on 16) = 3;
    #   appointment L-1 = 1; shown L-1 = 1; sold L-1 = 1
    # last week (9-15 Nov): lead L-4, its contact (11) and appointment (12): 1, 1, 1, 0, 0
    # change: (3 - 1) / 1 = +200 %; (1 - 1) / 1 = 0; none where last week had none
    # baseline, weeks of 2 and 9 Nov: leads L-5, L-7, L-4 = 3, contacts L-4 = 1, appointments
    #   L-4 = 1, no show, no sale: per week 1.5, 0.5, 0.5, 0, 0
    cols = 5  # this week, last week, change, baseline, this week vs baseline (points)
    assert _values(grid, "Leads", cols) == [3, 1, 2.0, 1.5, None]
    assert _values(grid, "Two-way contact", cols) == [3, 1, 2.0, 0.5, None]
    assert _values(grid, "Appointment set", cols) == [1, 1, 0.0, 0.5, None]
    assert _values(grid, "Appointment shown", cols) == [1, 0, None, 0.0, None]
    assert _values(grid, "Sold", cols) == [1, 0, None, 0.0, None]
    # rates are shares of a week's new leads, as they stood 2 days after the week ended
    # (today, 25 Nov, is 2 days after 23 Nov); last week and the baseline at the same age.
    # This week's leads L-1, L-2, L-3: contacted L-1, L-2 (2/3), booked L-1 (1/3), it showed
    # (1/1) and bought (1/1): sales per lead 1/3.
    # Last week's lead L-4 by 17 Nov: contacted and booked (1/1, 1/1), no show (0/1).
    # Baseline weeks' leads L-5, L-7 (by 10 Nov) and L-4 (by 17 Nov): only L-4 contacted and
    # booked (L-5 answered on 16 Nov, later than its age allows): 1/3, 1/3, show 0/1, no
    # close rate, sales per lead 0/3. Against it in points: +33.3, 0, +100, -, +33.3
    third = pytest.approx(1 / 3)
    assert _values(grid, "Contact rate", cols) == [pytest.approx(2 / 3), 1.0, None, third,
                                                    pytest.approx(100 / 3)]
    assert _values(grid, "Appointment rate", cols) == [third, 1.0, None, third,
                                                        pytest.approx(0.0)]
    assert _values(grid, "Show rate", cols) == [1.0, 0.0, None, 0.0, 100.0]
    assert _values(grid, "Close rate", cols) == [1.0, None, None, None, None]
    assert _values(grid, "Sales per lead", cols) == [third, 0.0, None, 0.0,
                                                      pytest.approx(100 / 3)]
    # open: L-2, L-3, L-4, L-5, L-7; won in the four weeks: L-1 (20,000); L-6 was lost
    # before them (last worked on 6 Oct), so none lost: win rate 1 / (1 + 0)
    pipeline = {label: _values(grid, label, 1)[0] for label in (
        "Open records", "Open value", "Weighted forecast", "Won, last four weeks",
        "Won value, last four weeks", "Lost, last four weeks", "Win rate, last four weeks")}
    # no lead names a vehicle, so each open lead is worth its source's average sale, or the
    # average of all (only L-1 sold: 20,000 either way): 5 x 20,000; weighted by the stages'
    # probabilities: L-2 and L-5 contacted (15 %) 3,000 each, L-3 and L-7 new (5 %) 1,000
    # each, L-4 appointment set (30 %) 6,000: 14,000
    assert pipeline == {"Open records": 5, "Open value": 100_000, "Weighted forecast": 14_000,
                        "Won, last four weeks": 1, "Won value, last four weeks": 20_000,
                        "Lost, last four weeks": 0, "Win rate, last four weeks": 1.0}


def test_funnel_counted_by_hand(tiny_made: xlcrm.ReportResult) -> None:
    grid = _grid(tiny_made.workbook, "Funnel and forecast")
    # records, value, weighted, probability (Settings), average and oldest days in the stage
    # (no history yet: since created, to the Monday 23 Nov), records with no open task
    #   New: L-3 (5 days, task T-1 open), L-7 (19 days, no task): avg 12, oldest 19, 1
    #   Contacted: L-2 (6 days, T-2 done), L-5 (20 days, T-3 open): avg 13, oldest 20, 1
    #   Appointment set: L-4 (13 days, T-4 done): 13, 13, 1
    #   Sold: L-1, 20,000 (7 days); Lost: L-6 (49 days)
    # value: every unsold lead is worth the one sale's 20,000 (see the summary test), the
    # weighted value that times the stage's probability; the lost L-6 too, weighted 0
    cols = 7
    assert _values(grid, "New", cols) == [2, 40_000, 2_000, 0.05, 12, 19, 1]
    assert _values(grid, "Contacted", cols) == [2, 40_000, 6_000, 0.15, 13, 20, 1]
    assert _values(grid, "Appointment set", cols) == [1, 20_000, 6_000, 0.3, 13, 13, 1]
    assert _values(grid, "Shown", cols) == [0, 0, 0, 0.45, None, None, 0]
    assert _values(grid, "Sold", cols) == [1, 20_000, 20_000, 1.0, 7, 7, 0]
    assert _values(grid, "Lost", cols) == [1, 20_000, 0, 0.0, 49, 49, 0]
    assert _row(grid, "Won in the last four weeks: 1 (€20,000); lost: 0; win rate 100.0%.")


def test_sources_counted_by_hand(tiny_made: xlcrm.ReportResult) -> None:
    grid = _grid(tiny_made.workbook, "By source")
    # leads created 26 Oct to 22 Nov (not L-6, of 5 Oct), what became of each so far:
    #   Dealer website: L-1, L-3, L-5: contacts L-1, L-5; appointment, show, sale L-1
    #   Walk-in: L-2, L-7: contact L-2
    #   Listing portal: L-4: contact, appointment; 18 per lead (Settings) = 18 per contact
    assert _values(grid, "Dealer website", 5) == [3, 2, 1, 1, 1]
    assert _values(grid, "Walk-in", 5) == [2, 1, 0, 0, 0]
    assert _values(grid, "Listing portal", 5) == [1, 1, 1, 0, 0]
    header = _row(grid, "Source")
    portal = _row(grid, "Listing portal")
    assert [portal[header.index(h)] for h in ("Cost", "Cost per lead", "Cost per contact")] \
        == [18, 18, 18]
    assert _row(grid, "Dealer website")[header.index("Revenue")] == 20_000
    assert grid.index(_row(grid, "Source")) + 4 == len(grid)  # no other source


def test_reps_counted_by_hand(tiny_made: xlcrm.ReportResult) -> None:
    grid = _grid(tiny_made.workbook, "By salesperson")
    # activities of 16-22 Nov: Anna A-1 (out), A-2 (in); Marco A-3 (out)
    # tasks done in the week: Marco T-2 (19 Nov); overdue when the week ended (due before
    #   23 Nov, not done by then): Anna T-1, Marco T-4 (done only on 24 Nov)
    # the four weeks' leads: Anna L-1, L-3, L-5 (contacts L-1, L-5; sold L-1);
    #   Marco L-2, L-4, L-7 (contacts L-2, L-4)
    two_thirds = pytest.approx(2 / 3)
    assert _values(grid, "Anna", 8) == [2, 1, 1, 0, 1, 3, two_thirds, 1]
    assert _values(grid, "Marco", 8) == [1, 1, 0, 1, 1, 3, two_thirds, 0]


def test_html_shows_the_hand_counted_numbers(tiny_made: xlcrm.ReportResult) -> None:
    assert tiny_made.html is not None
    page = lxml_html.fromstring(tiny_made.html.read_text(encoding="utf-8"))

    def cells(table: str, key: str) -> list[tuple[str | None, str]]:
        tds = page.xpath(f'//table[@class="{table}"]//tr[@data-key="{key}"]/td')
        return [(td.get("data-value"), td.text_content().strip()) for td in tds[1:]]

    # as in the workbook above: this week, last week, change, baseline
    assert cells("summary", "leads")[:4] == [("3.0", "3"), ("1.0", "1"), ("2.0", "+200%"),
                                             ("1.5", "1.5")]
    assert cells("summary", "appointment_rate")[0] == (str(1 / 3), "33.3%")
    assert cells("reps", "Marco") == [("1.0", "1"), ("1.0", "1"), ("0.0", "0"), ("1.0", "1"),
                                      ("1.0", "1"), ("3.0", "3"), (str(2 / 3), "66.7%"),
                                      ("0.0", "0")]
    kpis = {d.get("data-key"): d.get("data-value") for d in page.xpath("//div[@data-key]")}
    assert kpis == {"leads": "3.0", "contacts": "3.0", "sales": "1.0",
                    "contact_rate": str(2 / 3),  # 2 of the week's 3 new leads
                    "close_rate": "1.0",
                    "weighted_value": "14000.0"}  # the pipeline has value now: 14,000


def test_data_quality_counted_by_hand(tiny_made: xlcrm.ReportResult) -> None:
    grid = _grid(tiny_made.workbook, "Data quality")
    # L-5 answered on 16 Nov but its two-way contact date is empty (a warning of check);
    # L-3 is L-7 again (same e-mail and phone), L-7 came first: one duplicate to merge
    top, bottom = grid.index(_row(grid, "Problem")), grid.index(_row(grid, "Records to fix first"))
    found = grid[top + 1:bottom]
    assert [r[:3] for r in found if r[0]] == [
        ["the lead answered (inbound activity on 2026-11-16) but two-way contact is empty",
         "Warning", 1],
        ["Probable duplicate (merge with xlcrm clean)", "To clean up", 1]]
    assert [r[:3] for r in grid[-2:]] == [["Leads!6", "L-5", 1], ["Leads!4", "L-3", 1]]
    assert "same as L-7" in grid[-1][4]


def test_report_of_a_chosen_week(tiny: Path, tmp_path: Path) -> None:
    made = xlcrm.report(tiny, tmp_path, week="2026-W46", today=TINY_TODAY)
    grid = _grid(made.workbook, "Summary")
    assert grid[1][0].startswith("Weekly report, week 46 2026 · 9 Nov to 15 Nov 2026")
    # 9-15 Nov: lead L-4, contact and appointment L-4; the week before: leads L-5, L-7
    assert _values(grid, "Leads", 2) == [1, 2]
    assert _values(grid, "Appointment set", 2) == [1, 0]
    with pytest.raises(xlcrm.ReportError, match="has not begun"):
        xlcrm.report(tiny, tmp_path, week="2026-W50", today=TINY_TODAY)


def test_report_of_the_current_week_is_so_far_and_compares_nothing(tiny: Path,
                                                                    tmp_path: Path) -> None:
    """On Wednesday 25 Nov the week of 23 Nov has begun: no lead yet, nothing beside it."""
    made = xlcrm.report(tiny, tmp_path, week="2026-W48", today=TINY_TODAY)
    grid = _grid(made.workbook, "Summary")
    # this week, last week, change, baseline: only this week's count, 0 leads so far
    assert _values(grid, "Leads", 4) == [0, None, None, None]
    assert _values(grid, "Contact rate", 5) == [None, None, None, None, None]
    assert any("so far, and are not compared" in str(v) for row in grid for v in row)


def test_b2b_deal_values_counted_by_hand(tmp_path: Path) -> None:
    # five deals, their stage's win probability from Settings, owner:
    #   D-1 Request sent 50 %, 10,000 (Anna)     D-2 Agreed and invoiced 80 %, 20,000 (Marco)
    #   D-3 Interested lead 10 %, 4,000 (Marco)  D-4 Delivery (won) 7,000, closed 19 Nov
    #   D-5 Lost 3,000, closed 18 Nov
    # open: D-1, D-2, D-3 = 34,000; weighted 5,000 + 16,000 + 400 = 21,400
    accounts = {"id": ["C-1", "C-2"], "name": ["Rossi Meccanica", "Verdi Tessile"],
                "owner": ["Anna", "Marco"], "created": [D(2026, 9, 1), D(2026, 9, 2)]}
    contacts = {"id": ["P-1", "P-2", "P-3"],
                "created": [T(2026, 11, 16, 9), T(2026, 11, 17, 9), T(2026, 11, 3, 9)],
                "first_name": ["Anna", "Bruno", "Carla"], "last_name": ["Rossi", "Verdi", "Neri"],
                "account": ["C-1", "C-2", "C-2"],
                "email": ["anna@rossi.example", "bruno@verdi.example", "carla@verdi.example"],
                "source": ["Web form", "Trade show", "Referral"],
                "owner": ["Anna", "Marco", "Marco"]}
    deals = {"id": ["D-1", "D-2", "D-3", "D-4", "D-5"],
             "name": ["Press", "Loom", "Spare parts", "Service", "Dryer"],
             "account": ["C-1", "C-2", "C-2", "C-1", "C-2"],
             "contact": ["P-1", "P-2", "P-3", "P-1", "P-2"],
             "stage": ["Request sent", "Agreed and invoiced", "Interested lead", "Delivery",
                       "Lost"],
             "amount": [10_000.0, 20_000.0, 4_000.0, 7_000.0, 3_000.0],
             "created": [D(2026, 11, 2), D(2026, 11, 3), D(2026, 11, 4), D(2026, 10, 1),
                         D(2026, 10, 2)],
             "close_date": [D(2026, 12, 15), D(2027, 1, 20), None, D(2026, 11, 19),
                            D(2026, 11, 18)],
             "owner": ["Anna", "Marco", "Marco", "Anna", "Marco"],
             "lost_reason": [None, None, None, None, "Price"]}
    activities = {"id": ["A-1", "A-2"], "date": [T(2026, 11, 16, 10), T(2026, 11, 18, 10)],
                  "type": ["Call", "Call"], "direction": ["Outbound", "Inbound"],
                  "contact": ["P-1", "P-2"], "deal": ["D-1", "D-2"], "owner": ["Anna", "Marco"]}
    book = write_new_workbook(tmp_path / "b2b.xlsx", xlcrm.load_schema("b2b"),
                              {"accounts": accounts, "contacts": contacts, "deals": deals,
                               "activities": activities}, settings_rows=REPS)
    made = xlcrm.report(book, tmp_path / "out", html=True, today=TINY_TODAY)
    grid = _grid(made.workbook, "Summary")
    # won D-4 (7,000) and lost D-5 in the four weeks: win rate 1 / 2
    assert [_values(grid, label, 1)[0] for label in (
        "Open records", "Open value", "Weighted forecast", "Won, last four weeks",
        "Won value, last four weeks", "Lost, last four weeks", "Win rate, last four weeks")] \
        == [3, 34_000, 21_400, 1, 7_000, 1, 0.5]
    forecast = _grid(made.workbook, "Funnel and forecast")
    assert _values(forecast, "Dec 2026", 3) == [1, 10_000, 5_000]  # D-1
    assert _values(forecast, "Jan 2027", 3) == [1, 20_000, 16_000]  # D-2
    assert _values(forecast, "no close date", 3) == [1, 4_000, 400]  # D-3
    # activities of the week: Anna A-1 (out), Marco A-2 (in); four weeks' contacts by owner:
    # Anna P-1, Marco P-2 (answered on 18 Nov) and P-3
    reps = _grid(made.workbook, "By salesperson")
    assert _values(reps, "Anna", 8) == [1, 1, 0, 0, 0, 1, 0.0, 0]
    assert _values(reps, "Marco", 8) == [1, 0, 1, 0, 0, 2, 0.5, 0]
    assert made.html is not None
    page = lxml_html.fromstring(made.html.read_text(encoding="utf-8"))
    assert page.xpath('//div[@data-key="weighted_value"]/@data-value') == ["21400.0"]


def test_report_names_files_by_week(made: xlcrm.ReportResult) -> None:
    assert made.workbook.name == "demo-dealer-report-2026-W47.xlsx"
    assert made.html is not None and made.html.name == "demo-dealer-report-2026-W47.html"
    assert made.report.week_start == LAST_WEEK
    assert made.report.week_end == dt.date(2026, 11, 22)


def test_html_is_self_contained(made: xlcrm.ReportResult) -> None:
    assert made.html is not None
    text = made.html.read_text(encoding="utf-8")
    page = lxml_html.fromstring(text)
    assert not page.xpath("//script"), "the report must run no script"
    assert not page.xpath("//link[@rel='stylesheet'] | //img[@src] | //iframe")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    assert len(page.xpath("//svg")) >= 4  # funnel, trend, sources, lost reasons


def test_week_labels_cross_the_year_end() -> None:
    assert report_week(dt.date(2026, 12, 28)) == "2026-W53"
    assert report_week(dt.date(2027, 1, 4)) == "2027-W01"
    assert parse_week("2026-W53") == dt.date(2026, 12, 28)
    assert parse_week("2027W1") == dt.date(2027, 1, 4)
    # a team whose weeks start on Sunday: the week that holds that ISO week's Monday
    assert parse_week("2027-W01", "sunday") == dt.date(2027, 1, 3)
    assert report_week(dt.date(2027, 1, 3)) == "2027-W01"
    with pytest.raises(xlcrm.ReportError, match="2025 has weeks 1 to 52"):
        parse_week("2025-W53")
    with pytest.raises(xlcrm.ReportError, match="YYYY-Www"):
        parse_week("week 47")


def test_libreoffice_prints_every_section(book: Path, tmp_path: Path, office: Office,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from xlcrm.xlsx import libreoffice

    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) must be installed on CI; .ci/run does it")
        pytest.skip("pdftotext not installed")
    # the session's LibreOffice profile, set up already, rather than a fresh one
    monkeypatch.setattr(libreoffice, "convert", functools.partial(libreoffice.convert,
                                                                  profile=office.profile))
    made = report(book, tmp_path, pdf=True, today=TODAY)
    assert made.pdf is not None and made.pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(made.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    for title in SECTION_TITLES.values():
        assert title in text, title
    # one sheet per section, each fitted to the page width
    assert len([p for p in pages if p.strip()]) == len(SECTION_TITLES)
    leads = int(made.report.summary.at["leads", "this_week"])
    assert any(line.split()[:2] == ["Leads", str(leads)] for line in pages[0].splitlines())


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium must be installed on CI; .ci/run installs it")
    pytest.skip("Chromium not installed")


_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
const f = document.getElementById('f');
f.addEventListener('load', () => {{
  const doc = f.contentDocument, d = doc.documentElement;
  const charts = [...doc.querySelectorAll('svg.chart')].map(s => {{
    const r = s.getBoundingClientRect(); return [r.width, r.height, r.left, r.right]; }});
  const tables = [...doc.querySelectorAll('table')].map(t => t.getBoundingClientRect().right);
  document.body.setAttribute('data-layout', JSON.stringify({{
    scroll: d.scrollWidth, client: d.clientWidth, inner: f.contentWindow.innerWidth,
    charts, tables}}));
}});
</script></body></html>"""


@pytest.mark.parametrize("width", [375, 1280])
def test_html_fits_phone_and_desktop(made: xlcrm.ReportResult, width: int,
                                     tmp_path: Path) -> None:
    """Render the page in a frame of the given width; no sideways scrolling, every chart
    visible inside the page."""
    chromium = _chromium()
    assert made.html is not None
    probe = made.html.parent / f"probe-{width}.html"
    probe.write_text(_PROBE.format(page=made.html.name, width=width), encoding="utf-8")
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--allow-file-access-from-files", f"--window-size={width + 40},1000",
            "--virtual-time-budget=5000"]
    dom = subprocess.run([*base, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    found = lxml_html.fromstring(dom).xpath("//body/@data-layout")
    assert found, "Chromium did not lay the page out"
    layout = json.loads(found[0])
    assert layout["inner"] == width
    assert layout["scroll"] <= layout["client"], "the page scrolls sideways"
    assert len(layout["charts"]) >= 4
    for chart_width, height, left, right in layout["charts"]:
        assert chart_width > 200 and height > 80
        assert left >= 0 and right <= layout["client"] + 0.5
    assert max(layout["tables"]) <= layout["client"] + 0.5
    shot = tmp_path / f"report-{width}.png"
    subprocess.run([*base, f"--screenshot={shot}", probe.as_uri()], capture_output=True,
                   timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_email_reaches_a_local_smtp_server_intact(book: Path, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        made = report(book, tmp_path, eml=True, today=TODAY, to=["owner@example.com"],
                      sender="reports@example.com",
                      smtp=SmtpSettings("127.0.0.1", port, starttls=False))
    finally:
        controller.stop()
    assert made.sent_to == ["owner@example.com"] and len(received) == 1
    msg = email.message_from_bytes(received[0], policy=email.policy.default)
    assert msg["To"] == "owner@example.com" and "week 47" in msg["Subject"]
    body = msg.get_body(preferencelist=("html",))
    assert body is not None and made.eml is not None
    saved = email.message_from_bytes(made.eml.read_bytes(), policy=email.policy.default)
    saved_body = saved.get_body(preferencelist=("html",))
    assert saved_body is not None
    # SMTP carries text with CRLF line ends (RFC 5322); apart from that, byte for byte the
    # message saved beside it, its inline charts included
    received_html = body.get_content().replace("\r\n", "\n")
    assert received_html.rstrip("\n") == saved_body.get_content().rstrip("\n")
    charts = {p["Content-ID"]: p.get_content() for p in msg.walk() if p["Content-ID"]}
    assert charts and charts == {p["Content-ID"]: p.get_content() for p in saved.walk()
                                 if p["Content-ID"]}
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == made.workbook.name
    copy = tmp_path / "attached.xlsx"
    copy.write_bytes(attachment.get_content())
    assert copy.read_bytes() == made.workbook.read_bytes()
    assert _row(_grid(copy, SECTION_TITLES["summary"]), "Leads")[1] == \
        made.report.summary.at["leads", "this_week"]


# the test server's own deprecation notice, raised inside its thread, would kill its session
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
def test_email_goes_over_starttls_with_the_password_from_the_environment(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loopback server that demands STARTTLS before AUTH, with a certificate from a
    throwaway authority; the password comes from XLCRM_SMTP_PASSWORD only."""
    import ssl

    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    logins: list[tuple[bytes, bytes]] = []
    received: list[bytes] = []

    def authenticate(server, session, envelope, mechanism, data):  # noqa: ANN001, ANN202
        logins.append((data.login, data.password))
        ok = data.password == b"s3cret pass"
        return AuthResult(success=ok, handled=False)  # unhandled failure: the server says 535

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port,
                            tls_context=server_context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", port, user="manager", context=client_context)
        monkeypatch.setenv("XLCRM_SMTP_PASSWORD", "wrong")
        with pytest.raises(xlcrm.ReportError, match="refused the login of manager"):
            report(book, tmp_path, today=TODAY, to=["owner@example.com"], smtp=settings)
        monkeypatch.setenv("XLCRM_SMTP_PASSWORD", "s3cret pass")
        made = report(book, tmp_path, today=TODAY, to=["owner@example.com"], smtp=settings)
    finally:
        controller.stop()
    # a refused login is tried once per mechanism the server offers (PLAIN, LOGIN)
    assert logins[-1] == (b"manager", b"s3cret pass")
    assert set(logins[:-1]) == {(b"manager", b"wrong")}
    assert made.sent_to == ["owner@example.com"] and len(received) == 1
    msg = email.message_from_bytes(received[0], policy=email.policy.default)
    assert next(msg.iter_attachments()).get_content() == made.workbook.read_bytes()
    assert b"s3cret" not in made.workbook.read_bytes()


def test_smtp_login_needs_the_password_variable(book: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XLCRM_SMTP_PASSWORD", raising=False)
    with pytest.raises(xlcrm.ReportError, match="XLCRM_SMTP_PASSWORD"):
        report(book, tmp_path, today=TODAY, to=["a@example.com"],
               smtp=SmtpSettings("127.0.0.1", 9, user="me"))


def test_eml_is_a_draft_without_recipients(made: xlcrm.ReportResult) -> None:
    assert made.eml is not None
    msg = email.message_from_bytes(made.eml.read_bytes(), policy=email.policy.default)
    assert msg["X-Unsent"] == "1" and msg["To"] is None
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert [a.get_filename() for a in msg.iter_attachments()] == [made.workbook.name]


def test_user_templates_override_the_built_in_ones(book: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "style.css").write_text("body { background: #fdf6e3; } /* ours */",
                                    encoding="utf-8")
    made = report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)
    assert made.html is not None
    text = made.html.read_text(encoding="utf-8")
    assert "/* ours */" in text and "--brand" not in text
    assert "Weekly report, week 47 2026" in text  # report.html.j2 still the built-in one


def test_template_error_names_file_and_line(book: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html.j2").write_text("<h1>{{ report.title }}</h1>\n<p>\n{% if %}\n",
                                         encoding="utf-8")
    with pytest.raises(xlcrm.TemplateError, match=r"report\.html\.j2, line 3"):
        report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (mine / "report.html.j2").write_text("<h1>{{ report.title }}</h1>\n\n{{ report.nope }}\n",
                                         encoding="utf-8")
    with pytest.raises(xlcrm.TemplateError, match=r"report\.html\.j2, line 3: .*nope"):
        report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)


def test_demo_ends_with_a_report_to_open(tmp_path: Path) -> None:
    path = xlcrm.demo(tmp_path, leads=150, seed=3, today=TODAY)
    assert (tmp_path / "demo-dealer-report-2026-W47.xlsx").exists()
    assert (tmp_path / "demo-dealer-report-2026-W47.html").exists()
    assert path.exists()
