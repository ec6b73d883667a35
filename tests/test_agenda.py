"""Tomorrow's agenda: what is due in time order, what is late, what nobody follows up, which new
leads still wait; the same rows in the terminal, the HTML page and the Agenda sheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from lxml import html as lxml_html
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app
from xlcrm.metrics.agenda import agenda_items
from xlcrm.metrics.records import record_names

from ._helpers import TODAY, copy_of

DAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 23, 18, 0)


def _tasks() -> pd.DataFrame:
    return pd.DataFrame([
        # id, due, time, rep, record, subject, done
        ("T-1", "2026-11-24", dt.time(15, 0), "Ann", "L-1", "Call back", False),
        ("T-2", "2026-11-24", dt.time(9, 30), "Ann", "L-2", "Confirm visit", None),
        ("T-3", "2026-11-24", None, "Ann", "L-3", "Send offer", False),
        ("T-4", "2026-11-24", dt.time(8, 0), "Ann", "L-4", "Done already", True),
        ("T-5", "2026-11-20", dt.time(11, 0), "Ann", "L-5", "Late call", False),
        ("T-6", "2026-11-23", dt.time(11, 0), "Ann", "L-6", "Yesterday's", False),
        ("T-7", "2026-11-25", dt.time(10, 0), "Bob", "L-7", "Later", False),
        ("T-8", "2026-11-24", dt.time(10, 0), "Bob", "L-8", "Bob's call", False),
    ], columns=["id", "due_date", "due_time", "rep", "record", "subject", "done"]).assign(
        due_date=lambda t: pd.to_datetime(t["due_date"]))


def _leads() -> pd.DataFrame:
    return pd.DataFrame([
        # id, rep, created, contacted, open
        ("L-10", "Bob", "2026-11-23 17:00", None, True),   # waiting 1 hour: not yet late
        ("L-11", "Bob", "2026-11-23 12:00", None, True),   # waiting 6 hours
        ("L-12", "Bob", "2026-11-20 12:00", None, True),   # waiting 3 days and 6 hours
        ("L-13", "Bob", "2026-11-20 12:00", "2026-11-20 13:00", True),  # contacted
        ("L-14", "Bob", "2026-11-20 12:00", None, False),  # closed (lost)
        ("L-15", None, "2026-11-22 12:00", None, True),    # nobody's
    ], columns=["id", "rep", "created", "contacted", "open"]).assign(
        created=lambda t: pd.to_datetime(t["created"]),
        contacted=lambda t: pd.to_datetime(t["contacted"]))


def _agenda(rep: str | None = None) -> pd.DataFrame:
    open_records = pd.DataFrame([("L-1", "Ann", "New"), ("L-20", "Ann", "Shown"),
                                 ("L-21", "Bob", "Negotiation")],
                                columns=["id", "rep", "stage"])
    touches = pd.DataFrame({"date": pd.to_datetime(["2026-11-10 09:00", "2026-11-02 10:00"]),
                            "what": ["Call, outbound: no answer", "E-mail, inbound: replied"]},
                           index=["L-1", "L-20"])
    names = {"L-1": "Laura Díaz", "L-2": "Marco Neri", "L-20": "Sara Colombo"}
    return agenda_items(_tasks(), day=DAY, now=NOW, open_records=open_records, leads=_leads(),
                        last_touch=touches, names=names, threshold_hours=2, rep=rep)


def test_due_tasks_in_time_order_with_client_and_last_interaction() -> None:
    due = _agenda()
    ann = due[(due["rep"] == "Ann") & (due["section"] == "due")]
    assert list(ann["record"]) == ["L-2", "L-1", "L-3"]  # 09:30, 15:00, then no time
    assert list(ann["when"]) == [pd.Timestamp("2026-11-24 09:30"),
                                 pd.Timestamp("2026-11-24 15:00"), pd.Timestamp("2026-11-24")]
    first = ann[ann["record"] == "L-1"].iloc[0]
    assert first["client"] == "Laura Díaz"
    assert first["last_date"] == pd.Timestamp("2026-11-10 09:00")
    assert first["last_what"] == "Call, outbound: no answer"
    assert "T-4" not in set(due["what"])  # done tasks never show


def test_overdue_tasks_oldest_first_with_days_late() -> None:
    items = _agenda()
    late = items[items["section"] == "overdue"]
    assert list(late["record"]) == ["L-5", "L-6"]
    assert list(late["what"]) == ["Late call (4 days late)", "Yesterday's (1 day late)"]


def test_open_records_without_an_open_task() -> None:
    items = _agenda()
    stalled = items[items["section"] == "no_next_task"]
    # L-1 has a task due; L-20 and L-21 have none
    assert sorted(stalled["record"]) == ["L-20", "L-21"]
    assert stalled.set_index("record").at["L-20", "what"] == "Shown: plan a next step"


def test_leads_waiting_beyond_the_threshold_newest_first() -> None:
    items = _agenda()
    waiting = items[items["section"] == "not_contacted"]
    assert list(waiting["record"]) == ["L-11", "L-12", "L-15"]  # Bob's, then nobody's
    assert waiting.set_index("record").at["L-11", "what"] == \
        "no two-way contact yet, waiting 6 hours"
    assert waiting.set_index("record").at["L-12", "what"] == \
        "no two-way contact yet, waiting 3 days"
    assert waiting.set_index("record").at["L-15", "rep"] == "(unassigned)"


def test_one_reps_agenda_matches_any_case() -> None:
    items = _agenda(rep="  bob ")
    assert set(items["rep"]) == {"Bob"}
    assert list(items["section"].drop_duplicates()) == ["due", "no_next_task",
                                                        "not_contacted"]
    assert list(items[items["section"] == "due"]["record"]) == ["L-8"]  # not T-7 (Nov 25)


def test_agenda_writes_sheet_and_page(tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    book = copy_of(demo_book("dealer", 300, 8), tmp_path / "demo")
    result = xlcrm.agenda(book, day=DAY, now=NOW, out=tmp_path / "pages")
    assert result.html == tmp_path / "pages" / "agenda-2026-11-24.html"
    items = result.items
    crm = xlcrm.load(book)
    tasks = crm["tasks"]
    undone = tasks[~tasks["done"].fillna(False).astype(bool)]
    assert (items["section"] == "due").sum() == (undone["due_date"] == pd.Timestamp(DAY)).sum()
    assert (items["section"] == "overdue").sum() == (undone["due_date"] < pd.Timestamp(DAY)).sum()
    wb = CalamineWorkbook.from_path(str(book))
    try:
        rows = wb.get_sheet_by_name("Agenda").to_python(skip_empty_area=False)
    finally:
        wb.close()
    header = rows.index(next(r for r in rows if r and r[0] == "Salesperson"))
    body = [r for r in rows[header + 1:] if r and r[0]]
    assert len(body) == len(items)
    assert [r[3] for r in body] == list(items["record"])
    page = lxml_html.fromstring(result.html.read_text(encoding="utf-8"))
    assert len(page.xpath("//tr[@data-record]")) == len(items)
    assert set(page.xpath("//section/@data-rep")) == set(items["rep"])
    # everything else in the workbook is as it was: the tally still reads the same
    assert xlcrm.check(book, today=TODAY).ok


def test_agenda_command_prints_each_rep(demo_book: Callable[..., Path]) -> None:
    book = demo_book("dealer", 300, 8)  # --no-sheet: only read
    crm = xlcrm.load(book)
    tasks = crm["tasks"]
    due = tasks[(tasks["due_date"] == pd.Timestamp("2026-11-24"))
                & ~tasks["done"].fillna(False).astype(bool)]
    rep = str(due["rep"].iloc[0])
    done = CliRunner().invoke(app, ["agenda", str(book), "--date", "2026-11-24", "--rep",
                                    rep.upper(), "--no-sheet"], terminal_width=200)
    assert done.exit_code == 0, done.output
    assert f"{rep}: Tuesday 24 November" in done.output
    assert "Due" in done.output
    bad = CliRunner().invoke(app, ["agenda", str(book), "--date", "someday"])
    assert bad.exit_code == 2 and "tomorrow, today or YYYY-MM-DD" in bad.output


def test_names_asked_for_a_few_records_are_the_names_of_all(
        demo_book: Callable[..., Path]) -> None:
    """The report looks up the names of its worst records only: each is the name the whole
    workbook's lookup gives (first and last name of a lead), and nothing else comes back."""
    crm = xlcrm.load(demo_book("dealer", 300, 8))
    leads = crm.tables["leads"]
    first = leads[leads["first_name"].notna() & leads["last_name"].notna()].iloc[0]
    asked = {str(first["id"]), str(leads.iloc[-1]["id"]), "L-999999"}
    few = record_names(crm, only=asked)
    assert few[str(first["id"])] == f"{first['first_name']} {first['last_name']}"
    assert few == {k: v for k, v in record_names(crm).items() if k in asked}
    assert set(few) == asked - {"L-999999"}
