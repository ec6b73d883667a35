"""Lead scoring and RFM on small hand-made tables; every expected number below was worked
out by hand from the rules written in the module docstrings, not by the code under test."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.commands.score import score
from xlcrm.metrics.rfm import quintile_scores, rfm
from xlcrm.metrics.scoring import Rule, score_leads
from xlcrm.sheets.workbook import write_new_workbook

from . import _helpers

TODAY = dt.date(2026, 11, 23)
D = dt.datetime


def test_rfm_quintiles_and_segments() -> None:
    purchases = pd.DataFrame([
        ("A", D(2026, 11, 20), 100.0), ("A", D(2026, 10, 1), 300.0),
        ("B", D(2026, 6, 1), 50.0),
        ("C", D(2026, 11, 1), 1000.0), ("C", D(2026, 9, 1), 1000.0), ("C", D(2026, 5, 1), 500.0),
        ("D", D(2025, 11, 23), 5000.0),
        ("E", D(2026, 11, 13), 20.0),
    ], columns=["customer", "date", "amount"])
    out = rfm(purchases, today=TODAY)
    # R by recency (3, 10, 22, 175, 365 days: one per fifth); F: B, D and E tie at 1 purchase
    # (ranks 1-3, the lowest 1 -> ceil(5 * 1 / 5) = 1, not an average 2); M by value, one per
    # fifth. B, D and E bought once: their segment goes by R alone, never "loyal" or "often".
    expected = {  # recency days, frequency, monetary, R, F, M, RFM, segment
        "A": (3, 2, 400.0, 5, 4, 3, "543", "champions"),  # FM = 3.5 -> 4
        "B": (175, 1, 50.0, 2, 1, 2, "212", "one_time_lapsed"),
        "C": (22, 3, 2500.0, 3, 5, 4, "354", "loyal"),  # FM 4.5 -> 5, but R only 3
        "D": (365, 1, 5000.0, 1, 1, 5, "115", "one_time_lapsed"),  # big, but bought once
        "E": (10, 1, 20.0, 4, 1, 1, "411", "one_time_recent"),
    }
    for cid, (days, freq, money, r, f, m, code, seg) in expected.items():
        row = out.loc[cid]
        assert (row["recency_days"], row["frequency"], row["monetary"]) == (days, freq, money)
        assert (row["r"], row["f"], row["m"], row["segment"]) == (r, f, m, seg), cid
        assert row["rfm"] == code
    # repeat buyers' segments first, then the one-time ones, each by value, largest first
    assert list(out.index) == ["A", "C", "E", "D", "B"]


def test_rfm_of_one_time_buyers_scores_no_frequency() -> None:
    """Every customer bought once (a car dealer's year): frequency tells nobody apart, so it
    is not scored, and no one is called loyal or a champion. Recency 1, 30, 200 and 400
    days; value 30,000, 20,000, 25,000 and 10,000."""
    purchases = pd.DataFrame([
        ("A", D(2026, 11, 22), 30_000.0), ("B", D(2026, 10, 24), 20_000.0),
        ("C", D(2026, 5, 7), 25_000.0), ("D", D(2025, 10, 19), 10_000.0),
    ], columns=["customer", "date", "amount"])
    out = rfm(purchases, today=TODAY)
    # R: ranks from the worst, D 1, C 2, B 3, A 4 of n = 4: ceil(1.25) = 2, ceil(2.5) = 3,
    # ceil(3.75) = 4, ceil(5) = 5
    assert out["r"].to_dict() == {"A": 5, "B": 4, "C": 3, "D": 2}
    assert out["f"].tolist() == [None] * 4
    # M: D 1, B 2, C 3, A 4 -> D 2, B 3, C 4, A 5
    assert out.loc["A", "rfm"] == "5-5" and out.loc["D", "rfm"] == "2-2"
    assert out["segment"].to_dict() == {"A": "new_customer", "B": "one_time_recent",
                                        "C": "one_time_recent", "D": "one_time_lapsed"}
    assert quintile_scores(pd.Series([3.0, 3.0, 3.0])).tolist() == [None] * 3


def test_rfm_recency_from_last_activity_when_asked() -> None:
    purchases = pd.DataFrame([("A", D(2026, 1, 1), 10.0)], columns=["customer", "date",
                                                                   "amount"])
    touched = pd.Series({"A": pd.Timestamp(2026, 11, 20)})
    assert rfm(purchases, today=TODAY, last_touch=touched).loc["A", "recency_days"] == 3


def test_quintiles_of_ten_values() -> None:
    scores = quintile_scores(pd.Series(range(10, 110, 10)))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_lead_scores_points_grades_and_why() -> None:
    leads = pd.DataFrame({
        "source": ["Trade show", "trade  SHOW", "Referral", None],
        "title": ["Sales Director", "Buyer", "Operations director", None],
        "email": ["a@x.it", None, "c@x.it", None],
        "inbound_activities_30d": [3, 1, 2, 0],
        "trade_in": [True, False, None, True],
    }, index=[2, 3, 4, 5])
    rules = [Rule("source", "equals", "Trade show", 20, "Source"),
             Rule("title", "contains", "director", 15, "Job title"),
             Rule("inbound_activities_30d", "at_least", "2", 30, "Inbound, 30 days"),
             Rule("email", "is_empty", "", -10, "E-mail"),
             Rule("trade_in", "equals", "Yes", 10, "Trade-in")]
    out = score_leads(leads, rules, mql=40, sql=70)
    assert out["score"].tolist() == [75, 10, 45, 0]
    assert out["grade"].tolist() == ["SQL", "", "MQL", ""]
    assert out.loc[2, "why"] == ("Source = Trade show +20; Job title contains director +15; "
                                 "Inbound, 30 days ≥ 2 +30; Trade-in = Yes +10")
    assert out.loc[3, "why"] == "Source = Trade show +20; E-mail is empty -10"


@pytest.fixture()
def dealer(tmp_path: Path) -> Path:
    schema = xlcrm.load_schema("dealer")
    leads = {
        "id": ["L-1", "L-2", "L-3"],
        "created": [D(2026, 11, 22, 9), D(2026, 10, 1, 9), D(2026, 11, 2, 9)],
        "last_name": ["Rossi", "Bianchi", "Verdi"],
        "email": ["r@x.it", None, "v@x.it"],
        "source": ["Dealer website", "Walk-in", "Manufacturer site"],
        "trade_in": [True, False, False],
        "sold": [None, dt.date(2026, 10, 20), None],
        "amount": [None, 21_000.0, None],
    }
    activities = {"id": ["A-1", "A-2"], "date": [D(2026, 11, 22, 10), D(2026, 11, 1, 10)],
                  "lead": ["L-1", "L-3"], "type": ["Call", "Call"],
                  "direction": ["Inbound", "Inbound"]}
    path = tmp_path / "crm.xlsx"
    write_new_workbook(path, schema, {"leads": leads, "activities": activities})
    return path


def test_score_writes_owned_sheets_and_never_the_leads(dealer: Path) -> None:
    with zipfile.ZipFile(dealer) as zf:
        before = {n: zf.read(n) for n in ("xl/worksheets/sheet1.xml", "xl/tables/table1.xml")}
    result = score(dealer, today=TODAY)
    # dealer rules: website +20, manufacturer +15, trade-in +10, inbound in 14 days +25,
    # created within 2 days +10, no e-mail -10
    assert dict(zip(result.scores["id"], result.scores["score"])) == {
        "L-1": 20 + 10 + 25 + 10, "L-2": -10, "L-3": 15}
    # the dealer thresholds: MQL from 35, SQL from 60; L-2 was sold: closed, never graded
    assert dict(zip(result.scores["id"], result.scores["grade"])) == {
        "L-1": "SQL", "L-2": "closed", "L-3": ""}
    assert dict(zip(result.scores["id"], result.scores["name"])) == {
        "L-1": "Rossi", "L-2": "Bianchi", "L-3": "Verdi"}
    assert result.counts()["open leads"] == 2 and result.counts()["SQL"] == 1
    assert result.rfm.index.tolist() == ["L-2"]
    with zipfile.ZipFile(dealer) as zf:
        after = {n: zf.read(n) for n in before}
    assert before == after  # the Leads sheet is byte for byte what it was
    book = CalamineWorkbook.from_path(str(dealer))
    rows = book.get_sheet_by_name("Lead scores").to_python()
    book.close()
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Lead")
    assert rows[head + 1][0] == "L-1" and rows[head + 1][rows[head].index("Grade")] == "SQL"
    # the closed L-2 scores -10 and L-3 15, yet L-2 comes after every open lead
    assert [r[0] for r in rows[head + 1:head + 4]] == ["L-1", "L-3", "L-2"]


def test_score_command_prints_the_best_leads(dealer: Path) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    out = CliRunner().invoke(app, ["score", str(dealer), "--today", TODAY.isoformat()])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("L-1") and "Rossi" in lines[0]  # the name beside the id
    assert not any(line.startswith("L-2") for line in lines)  # sold: not a lead to call
    assert "Lead scores" in out.output


def test_score_without_recent_activity(tmp_path: Path) -> None:
    schema = xlcrm.load_schema("dealer")
    leads = {"id": ["L-1"], "created": [D(2026, 1, 5, 9)], "last_name": ["Rossi"],
             "source": ["Walk-in"]}
    activities = {"id": ["A-1"], "date": [D(2026, 1, 6, 10)], "lead": ["L-1"],
                  "type": ["Call"], "direction": ["Outbound"]}
    path = write_new_workbook(tmp_path / "crm.xlsx", schema,
                              {"leads": leads, "activities": activities})
    result = score(path, today=TODAY, dry_run=True)
    assert result.scores["score"].tolist() == [-10]  # only "no e-mail" fires


def test_closed_leads_never_rank_among_open_ones() -> None:
    """A sold lead scoring 90 still comes after an open lead scoring 10."""
    from xlcrm.metrics.lead_fields import call_order

    scores = pd.DataFrame({"score": [90, 10, 50, 20], "open": [False, True, True, False]},
                          index=[2, 3, 4, 5])
    assert call_order(None, scores).index.tolist() == [4, 3, 2, 5]  # type: ignore[arg-type]


@pytest.mark.parametrize("preset", ["dealer", "b2b"])
def test_default_rules_grade_a_plausible_share_of_the_demos_open_leads(
        demo_book: Callable[..., Path], preset: str, tmp_path: Path) -> None:
    """On the 1,000-lead demo, the shipped rules and thresholds make 5-15 % of the open leads
    SQL and some more MQL: a grading, not everyone or no one."""
    book = demo_book(preset, 1000, 7, updated=False)
    counts = score(book, today=_helpers.TODAY, dry_run=True).counts()
    assert 0.05 <= counts["SQL"] / counts["open leads"] <= 0.15, counts
    assert 0.05 <= counts["MQL"] / counts["open leads"] <= 0.25, counts
