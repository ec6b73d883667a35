"""The weekly tally and baseline on a small hand-made workbook; every expected number below
was counted by hand from the records, not computed by the code under test."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.commands.update import tally_input, update
from xlcrm.metrics.baseline import two_proportion_test
from xlcrm.metrics.tally import TallyInput, by_dimension, cohort_weeks, maturity_days
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import PRESETS, TODAY, Office, copy_of, xlsx_parts

T = dt.datetime
NOW = dt.date(2027, 1, 6)  # a Wednesday; weeks start on Monday
W0, W1, W2 = T(2026, 12, 21), T(2026, 12, 28), T(2027, 1, 4)  # W1 spans the year end


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    schema = xlcrm.load_schema("dealer")
    leads = {
        "id": ["L-1", "L-2", "L-3", "L-4", "L-5"],
        "created": [T(2026, 12, 21, 10), T(2026, 12, 27, 23, 30), T(2026, 12, 31, 9),
                    T(2027, 1, 3, 12), T(2027, 1, 5, 9)],
        "last_name": ["Rossi", "Bianchi", "Verdi", "Neri", "Gallo"],
        "source": ["Dealer website", "Listing portal", "Dealer website", "Walk-in",
                   "Dealer website"],
        "rep": ["Anna", "Marco", "Anna", "Marco", "Anna"],
        # L-1 marked by hand AND logged earlier: the earlier one counts
        "first_contact": [T(2026, 12, 22, 9), None, None, T(2027, 1, 4, 10), None],
        "appointment_set": [T(2026, 12, 23, 11), None, None, T(2027, 1, 4, 11), None],
        "appointment_shown": [dt.date(2026, 12, 29), None, None, None, None],
        "sold": [dt.date(2027, 1, 2), None, None, None, None],
        "amount": [25_000.0, None, None, None, None],
    }
    activities = {
        "id": ["A-1", "A-2", "A-3", "A-4"],
        "date": [T(2026, 12, 21, 18), T(2026, 12, 28, 8), T(2027, 1, 5, 10),
                 T(2026, 12, 21, 11)],
        "lead": ["L-1", "L-2", "L-5", "L-1"],
        "type": ["Call", "E-mail", "Call", "Call"],
        # L-2 only answered by e-mail (no hand-filled date); L-5 was only called
        "direction": ["Inbound", "Inbound", "Outbound", "Outbound"],
    }
    path = tmp_path_factory.mktemp("tally") / "crm.xlsx"
    write_new_workbook(path, schema, {"leads": leads, "activities": activities},
                       options={"baseline_from": W0.date(), "baseline_to": W1.date()},
                       settings_rows={"reps": [("Anna", "", "", True), ("Marco", "", "", True)]})
    return path


def _row(frame, week):  # type: ignore[no-untyped-def]
    return {k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in frame.loc[week].items()}


def test_activity_weeks_counted_by_hand(book: Path) -> None:
    """Counts are what happened in each week; the rates beside them are the rates of the
    week's own new leads (worked out by hand in the cohort test below), never one week's
    shows divided by another week's appointments."""
    result = update(book, today=NOW, dry_run=True)
    weeks = result.weeks
    assert list(weeks.index) == [W0, W1, W2]
    assert _row(weeks, W0) == {
        "leads": 2, "contacts": 1, "appointments": 1, "shows": 0, "sales": 0,
        "contact_rate": 1.0, "appointment_rate": 0.5, "show_rate": 1.0, "close_rate": 1.0,
        "sales_per_lead": 0.5}
    # one show and one sale this week, but no appointment: the old rate was 1 show over
    # 0 appointments; now: the week's leads L-3 and L-4, one booked, neither showed yet
    assert _row(weeks, W1) == {
        "leads": 2, "contacts": 1, "appointments": 0, "shows": 1, "sales": 1,
        "contact_rate": 0.5, "appointment_rate": 0.5, "show_rate": 0.0, "close_rate": None,
        "sales_per_lead": 0.0}
    assert _row(weeks, W2) == {
        "leads": 1, "contacts": 1, "appointments": 1, "shows": 0, "sales": 0,
        "contact_rate": 0.0, "appointment_rate": 0.0, "show_rate": None, "close_rate": None,
        "sales_per_lead": 0.0}


def test_cohort_weeks_counted_by_hand(book: Path) -> None:
    cohorts = update(book, today=NOW, dry_run=True).cohorts
    counts = cohorts[["leads", "contacts", "appointments", "shows", "sales"]]
    # W0: L-1 went all the way, L-2 answered by e-mail; W1: L-4 booked; W2: L-5 only called
    assert counts.loc[W0].tolist() == [2, 2, 1, 1, 1]
    assert counts.loc[W1].tolist() == [2, 1, 1, 0, 0]
    assert counts.loc[W2].tolist() == [1, 0, 0, 0, 0]
    assert cohorts.loc[W1, "contact_rate"] == 0.5
    assert math.isnan(cohorts.loc[W1, "close_rate"])  # no shows yet: no rate, no error


def test_cohort_counts_nest_so_rates_stay_shares() -> None:
    """A show whose appointment was never recorded, and a sale without a show, do not count
    in the cohort's shows and sales: every rate's successes are in its denominator."""
    steps = pd.DataFrame({
        "lead": [T(2027, 1, 4)] * 3,
        "contact": [T(2027, 1, 4), pd.NaT, pd.NaT],
        "appointment": [T(2027, 1, 5), pd.NaT, pd.NaT],
        "show": [T(2027, 1, 6), T(2027, 1, 6), pd.NaT],  # the 2nd showed without a booking
        "sale": [pd.NaT, T(2027, 1, 7), T(2027, 1, 7)],  # two sales, neither after a show
        "source": ["a"] * 3, "rep": ["r"] * 3})
    cohort = cohort_weeks(TallyInput(steps), today=dt.date(2027, 1, 8)).loc[W2]
    assert cohort[["leads", "contacts", "appointments", "shows", "sales"]].tolist() == [
        3, 1, 1, 1, 0]
    assert (cohort["show_rate"], cohort["close_rate"], cohort["sales_per_lead"]) == (1.0, 0.0,
                                                                                     0.0)
    # counted as of a given age: only steps before week start + 7 + age days count; the week
    # is 4-10 Jan, so age -5 means before 6 Jan: the contact and the booking, not the show
    young = cohort_weeks(TallyInput(steps), today=dt.date(2027, 1, 8), age_days=-5).loc[W2]
    assert young[["contacts", "appointments", "shows"]].tolist() == [1, 1, 0]


def test_return_on_spend_comes_from_margin_not_price() -> None:
    """Two sources: "ads" paid 10 per lead for 4 leads (cost 40) and sold 2 cars of 20,000;
    "walk-in" has no cost set. With a 10 % margin the ads kept 4,000: (4,000 - 40) / 40 = 99;
    with 300 gross profit per sale instead: (600 - 40) / 40 = 14."""
    day = T(2027, 1, 4)
    steps = pd.DataFrame({
        "lead": [day] * 5, "contact": [day] * 5, "appointment": [day] * 5,
        "show": [day] * 5, "sale": [day, day, pd.NaT, pd.NaT, day],
        "source": ["ads", "ads", "ads", "ads", "walk-in"], "rep": ["r"] * 5})
    amounts = pd.Series([20_000.0, 20_000.0, None, None, 30_000.0])
    by_margin = by_dimension(TallyInput(steps), "source", costs={"ads": 10.0},
                             revenue=amounts, margin=0.10)
    assert by_margin.loc["ads", "cost"] == 40.0
    assert by_margin.loc["ads", "gross_profit"] == pytest.approx(4_000.0)
    assert by_margin.loc["ads", "return_on_spend"] == pytest.approx(99.0)
    assert math.isnan(by_margin.loc["walk-in", "cost"])
    assert math.isnan(by_margin.loc["walk-in", "return_on_spend"])
    by_sale = by_dimension(TallyInput(steps), "source", costs={"ads": 10.0},
                           revenue=amounts, profit_per_sale=300.0)
    assert by_sale.loc["ads", "return_on_spend"] == pytest.approx(14.0)
    no_profit = by_dimension(TallyInput(steps), "source", costs={"ads": 10.0}, revenue=amounts)
    assert math.isnan(no_profit.loc["ads", "return_on_spend"])  # no margin set: no claim


def test_maturity_is_measured_from_the_workbooks_sales() -> None:
    """Ten sales, 1 to 10 weeks after their lead: nine in ten came within 63 days
    (the 90th percentile of 7, 14, ..., 70 is 63.7 days, rounded up to 64)."""
    n = 10
    lead = [T(2026, 1, 5)] * n
    steps = pd.DataFrame({"lead": lead, "contact": lead, "appointment": lead, "show": lead,
                          "sale": [T(2026, 1, 5) + dt.timedelta(weeks=k + 1) for k in range(n)],
                          "source": ["a"] * n, "rep": ["r"] * n})
    assert maturity_days(TallyInput(steps)) == 64


def test_contact_is_the_earlier_of_reply_and_hand_filled_date(book: Path) -> None:
    steps = tally_input(xlcrm.load(book)).steps.set_index("id")
    assert steps.loc["L-1", "contact"] == T(2026, 12, 21, 18)  # the logged reply came first
    assert steps.loc["L-2", "contact"] == T(2026, 12, 28, 8)  # logged only
    assert steps.loc["L-4", "contact"] == T(2027, 1, 4, 10)  # hand-filled only
    assert steps["contact"].isna().tolist() == [False, False, True, False, True]


def test_baseline_and_sources_counted_by_hand(book: Path) -> None:
    result = update(book, today=NOW, dry_run=True)
    base = result.baseline
    assert [base[k] for k in ("leads", "contacts", "appointments", "shows", "sales")] == [
        4, 2, 1, 1, 1]
    # the rates: of the baseline weeks' 4 new leads (L-1 to L-4), 3 were contacted, 2 booked,
    # 1 of those 2 showed and that one bought
    assert (base["contact_rate"], base["appointment_rate"], base["show_rate"],
            base["close_rate"], base["sales_per_lead"], base["weeks"]) == (
        0.75, 0.5, 0.5, 1.0, 0.25, 2)
    source = result.by_source
    assert source.loc["Dealer website", ["leads", "contacts", "appointments", "sales"]
                      ].tolist() == [3, 1, 1, 1]
    assert source.loc["Listing portal", "cost"] == 18.0  # 1 lead at 18 per lead
    assert source.loc["Listing portal", "cost_per_contact"] == 18.0
    assert source.loc["Dealer website", "revenue"] == 25_000.0
    # the dealer preset's Settings: no cost set for the dealer website (not a free source),
    # 1,500 gross profit per sale: L-1's sale is worth 1,500, not the car's 25,000
    assert math.isnan(source.loc["Dealer website", "cost"])
    assert source.loc["Dealer website", "gross_profit"] == 1_500.0
    assert math.isnan(source.loc["Dealer website", "return_on_spend"])
    assert source.loc["Listing portal", "return_on_spend"] == -1.0  # (0 - 18) / 18
    assert result.by_rep.loc["Marco", "contacts"] == 2


@pytest.fixture(scope="module")
def recalculated(office: Office, book: Path, demo_book: Callable[..., Path],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """The hand-made workbook after an update, and an updated demo, each with its copy
    recalculated and saved by LibreOffice (one run for both)."""
    folder = tmp_path_factory.mktemp("recalc")
    work = copy_of(book, folder)
    update(work, today=NOW, backups=0)
    text = _text_dates_book(folder / "text.xlsx")
    update(text, today=NOW, backups=0)
    books = {"hand": work, "demo": demo_book("dealer", 300, 9), "text": text,
             "demo-b2b": demo_book("b2b", 300, 9)}
    theirs = office.convert_many(list(books.values()), "xlsx", folder / "lo")
    return {key: (ours, converted) for (key, ours), converted in zip(books.items(), theirs)}


@pytest.mark.libreoffice
def test_update_writes_formulas_that_libreoffice_agrees_with(
        recalculated: dict[str, tuple[Path, Path]]) -> None:
    work, theirs_path = recalculated["hand"]
    ours = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Tally").to_python()
    assert ours[5][:6] == [dt.date(2026, 12, 21), 2.0, 1.0, 1.0, 0.0, 0.0]
    theirs = CalamineWorkbook.from_path(str(theirs_path)).get_sheet_by_name("Tally").to_python()
    assert len(ours) == len(theirs)
    for mine, recalc in zip(ours, theirs):
        assert recalc == [pytest.approx(v) if isinstance(v, float) else v for v in mine]


def _text_dates_book(path: Path) -> Path:
    """Three leads of the week of 4 Jan 2027: T-1's appointment and T-2's arrival are dates
    typed as text, which Excel's COUNTIFS does not see."""
    write_new_workbook(path, xlcrm.load_schema("dealer"), {"leads": {
        "id": ["T-1", "T-2", "T-3"],
        "created": [T(2027, 1, 4, 9), "05/01/2027", T(2027, 1, 5, 9)],
        "last_name": ["Rossi", "Bianchi", "Verdi"],
        "source": ["Walk-in"] * 3,
        "appointment_set": ["05/01/2027", None, T(2027, 1, 5, 10)],
        "appointment_shown": [None, None, dt.date(2027, 1, 6)],
    }})
    return path


@pytest.mark.libreoffice
def test_text_dates_are_left_out_of_cache_and_formula_alike(
        recalculated: dict[str, tuple[Path, Path]]) -> None:
    """By hand: the week of 4 Jan counts T-1 and T-3 as leads (T-2 arrived as text), one
    appointment and one show (T-3's; T-1's appointment is text); LibreOffice, recalculating
    every COUNTIFS, finds the same; the Dashboard names the two cells left out."""
    work, converted = recalculated["text"]
    ours = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Tally").to_python()
    theirs = CalamineWorkbook.from_path(str(converted)).get_sheet_by_name("Tally").to_python()
    week = next(r for r in ours[5:] if r[0] == W2.date())
    assert week[:6] == [W2.date(), 2.0, 0.0, 1.0, 1.0, 0.0]
    for mine, recalc in zip(ours, theirs):
        assert recalc == [pytest.approx(v) if isinstance(v, float) else v for v in mine]
    result = update(work, today=NOW, dry_run=True)
    assert result.week.text_dates == ["Leads!O2", "Leads!B3"]
    dashboard = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Dashboard")
    assert any("Leads!O2, Leads!B3" in str(v) for row in dashboard.to_python() for v in row)


@pytest.mark.libreoffice
@pytest.mark.parametrize("demo", ["demo", "demo-b2b"])
def test_demo_update_recalculates_to_cached_values(
        recalculated: dict[str, tuple[Path, Path]], demo: str) -> None:
    work, converted = recalculated[demo]
    theirs = CalamineWorkbook.from_path(str(converted))
    ours = CalamineWorkbook.from_path(str(work))
    checked = 0
    for sheet in ("Tally", "Baseline", "Dashboard"):
        a = ours.get_sheet_by_name(sheet).to_python()
        b = theirs.get_sheet_by_name(sheet).to_python()
        assert len(a) == len(b) > 5
        for mine, recalc in zip(a, b):
            checked += len(mine)
            assert recalc == [pytest.approx(v) if isinstance(v, float) else v for v in mine]
    assert checked > 500


def test_update_twice_changes_nothing_but_the_date(book: Path, tmp_path: Path) -> None:
    import zipfile

    work = tmp_path / "crm.xlsx"
    work.write_bytes(book.read_bytes())
    update(work, today=NOW, backups=0)
    first = {n: zipfile.ZipFile(work).read(n) for n in zipfile.ZipFile(work).namelist()}
    update(work, today=NOW, backups=0)
    second = {n: zipfile.ZipFile(work).read(n) for n in zipfile.ZipFile(work).namelist()}
    assert first == second


def test_two_proportion_test_by_hand() -> None:
    # 30/100 before, 45/100 during: pooled 0.375, z = 0.15 / sqrt(.375*.625*.02) = 2.191
    diff, p = two_proportion_test(30, 100, 45, 100)
    assert diff == pytest.approx(0.15)
    assert p == pytest.approx(0.02845, abs=2e-4)
    assert math.isnan(two_proportion_test(0, 0, 3, 10)[1])


def test_update_command(book: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    work = tmp_path / "crm.xlsx"
    work.write_bytes(book.read_bytes())
    result = CliRunner().invoke(app, ["update", str(work), "--today", "2027-01-06"])
    assert result.exit_code == 0, result.output
    assert "Week of 2026-12-28" in result.output and "Updated Tally" in result.output
    again = CliRunner().invoke(app, ["update", str(work), "--today", "2027-01-06",
                                     "--dry-run"])
    assert "add 0 stage changes to the stage history; nothing was written" in again.output
    tally = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Tally").to_python()
    assert tally[6][1:6] == [2.0, 1.0, 0.0, 1.0, 1.0]


def test_stage_history_over_ten_updates_with_edits_between(tmp_path: Path) -> None:
    """People move deals by hand between runs; the history records exactly those moves."""
    from xlcrm.xlsx.package import Package
    from xlcrm.xlsx.writer import patch_sheet

    work = xlcrm.demo(tmp_path, preset="b2b", leads=60, seed=4, today=dt.date(2026, 11, 23),
                      run_update=False)
    crm = xlcrm.load(work)
    deals = crm["deals"]
    stage_col = crm.columns["deals"]["stage"]
    first_row = int(deals.index.min())
    deal_id = deals.loc[first_row, "id"]
    user_parts: dict[str, bytes] = {}
    owned = {sheet.name for sheet in crm.schema.owned_sheets}
    expected_moves = []
    path_of_stages = ["Interested lead", "Active request", "Request sent", "Agreed and invoiced",
                      "Payment received", "Delivery", "Delivery", "Lost", "Lost",
                      "Interested lead"]  # the same stage twice adds nothing; reopened last
    previous = deals.loc[first_row, "stage"]
    for run, stage in enumerate(path_of_stages):
        day = dt.date(2026, 11, 23) + dt.timedelta(days=run)
        if run:  # the first run seeds the history from the workbook as it is
            patch_sheet(work, "Deals", {(first_row - 1, stage_col): stage}, backups=0)
            if stage.casefold() != previous.casefold():
                expected_moves.append((previous, stage, day))
            previous = stage
        update(work, today=day, backups=0)
        with Package(work) as pkg:  # the team's other sheets, byte for byte, every run
            parts = {name: pkg.read(part) for name, part, _ in pkg.sheets()
                     if name not in owned and name != "Deals"}
        user_parts = user_parts or parts
        assert parts == user_parts
    sheet = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Stage history").to_python()
    assert sheet[3] == ["Record", "From stage", "To stage", "Changed on"]
    history = update(work, today=dt.date(2026, 12, 3), dry_run=True).history
    assert history is not None
    mine = history[history["record"] == deal_id]
    seeded = mine.iloc[0]
    assert (seeded["from_stage"], seeded["to_stage"]) == ("", deals.loc[first_row, "stage"])
    assert seeded["changed_on"] == pd.Timestamp(deals.loc[first_row, "created"])
    moves = [(r.from_stage, r.to_stage, r.changed_on.date()) for r in mine.iloc[1:].itertuples()]
    assert moves == expected_moves
    assert len(history) == len(deals) + len(expected_moves)  # nobody else moved
    assert xlcrm.check(work, today=dt.date(2026, 12, 3)).ok


def test_plan_against_baseline_by_hand() -> None:
    from xlcrm.metrics.baseline import baseline, plan_effects
    from xlcrm.metrics.tally import rates

    index = pd.DatetimeIndex([W0, W1, W2, T(2027, 1, 11)], name="week")
    counts = pd.DataFrame({"leads": [100, 100, 100, 100], "contacts": [30, 30, 45, 45],
                           "appointments": [10, 10, 10, 10], "shows": [5, 5, 5, 5],
                           "sales": [2, 2, 2, 2]}, index=index)
    weeks = rates(counts)
    base = baseline(weeks, W0.date(), W1.date())  # 60/200 contacted: 30 %
    plans = pd.DataFrame({"name": ["Call back within 15 minutes"],
                          "start": [pd.Timestamp(2027, 1, 4)], "end": [pd.NaT]})
    effect = plan_effects(weeks, base, plans, today=dt.date(2027, 1, 12)).iloc[0]
    assert effect["weeks"] == 2  # the weeks of 4 and 11 January
    assert effect["contact_rate"] == pytest.approx(0.45)  # 90 / 200
    assert effect["contact_rate_baseline"] == pytest.approx(0.30)
    assert effect["contact_rate_change"] == pytest.approx(0.15)
    # 60/200 against 90/200: pooled 0.375, z = 0.15 / sqrt(.375 * .625 * 2/200) = 3.098
    assert effect["contact_rate_p"] == pytest.approx(0.00195, abs=1e-4)
    assert effect["verdict"] == "better"
    assert effect["appointment_rate_change"] == pytest.approx(0.0)


def test_rebaseline_keeps_the_history(book: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    work = tmp_path / "crm.xlsx"
    work.write_bytes(book.read_bytes())
    update(work, today=NOW, backups=0)
    result = CliRunner().invoke(app, ["baseline", str(work), "--from", "2026-12-28",
                                      "--to", "2027-01-04", "--today", "2027-01-12"])
    assert result.exit_code == 0, result.output
    assert "2 baselines in the history" in result.output
    # weeks W1 and W2: 3 leads (1.5 a week), L-4 contacted: 1/3 = 33.3 %, Wilson's 95 %
    # range for 1 of 3: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n) = 6.1 % to 79.2 %
    assert "3 leads over 2 weeks (1.5 per week), contact rate 33.3% (likely 6.1% to 79.2%)" \
        in result.output
    crm = xlcrm.load(work)
    assert crm.settings.options["baseline_from"] == dt.date(2026, 12, 28)
    again = update(work, today=NOW, backups=0)
    assert again.baselines["from"].map(lambda d: pd.Timestamp(d).date()).tolist() == [
        dt.date(2026, 12, 21), dt.date(2026, 12, 28)]
    # on NOW (6 Jan) the week W2 is not over, so the baseline is W1 alone: 2 leads (L-3, L-4),
    # 1 contact (L-2 on 28 Dec), no appointment, 1 sale (L-1 on 2 Jan)
    base = again.baseline
    assert [base[k] for k in ("leads", "contacts", "appointments", "sales", "weeks")] == [
        2, 1, 0, 1, 1]


@pytest.mark.parametrize(("start", "end", "why"), [
    (dt.date(2027, 2, 1), dt.date(2027, 2, 28), "is in the future"),
    (dt.date(2026, 11, 2), dt.date(2026, 11, 30), "no lead arrived"),
    (dt.date(2027, 1, 4), dt.date(2027, 1, 10), "no lead arrived"),  # only the unfinished week
])
def test_baseline_over_nothing_is_refused_with_one_line(book: Path, tmp_path: Path,
                                                        start: dt.date, end: dt.date,
                                                        why: str) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    work = copy_of(book, tmp_path)
    before = work.read_bytes()
    result = CliRunner().invoke(app, ["baseline", str(work), "--from", f"{start}", "--to",
                                      f"{end}", "--today", f"{NOW}"])
    assert result.exit_code == 2
    assert why in result.output and len(result.output.strip().splitlines()) == 1
    assert work.read_bytes() == before


def test_demo_tally_matches_an_independent_count(tmp_path: Path) -> None:
    """The demo generator's own records, counted with plain loops, give the Tally's numbers."""
    from collections import Counter

    today = dt.date(2026, 11, 23)
    data = xlcrm.generate_demo("dealer", leads=400, seed=12, today=today)
    leads, acts = data.data["leads"], data.data["activities"]

    def monday(stamp: dt.date) -> dt.datetime:
        day = stamp.date() if isinstance(stamp, dt.datetime) else stamp
        return T.combine(day - dt.timedelta(days=day.weekday()), dt.time())

    replies: dict[str, dt.datetime] = {}
    for lead, when, direction in zip(acts["lead"], acts["date"], acts["direction"]):
        if direction == "Inbound":
            replies[lead] = min(when, replies.get(lead, when))
    expected: dict[str, Counter[dt.datetime]] = {k: Counter() for k in
                                                 ("leads", "contacts", "appointments", "sales")}
    for i, lead in enumerate(leads["id"]):
        expected["leads"][monday(leads["created"][i])] += 1
        contact = [d for d in (leads["first_contact"][i], replies.get(lead)) if d]
        if contact:
            expected["contacts"][monday(min(contact))] += 1
        if leads["appointment_set"][i]:
            expected["appointments"][monday(leads["appointment_set"][i])] += 1
        if leads["sold"][i]:
            expected["sales"][monday(leads["sold"][i])] += 1
    work = xlcrm.demo(tmp_path, leads=400, seed=12, today=today, run_update=False)
    weeks = update(work, today=today, dry_run=True).weeks
    for step, counts in expected.items():
        assert {w: int(n) for w, n in weeks[step].items() if n} == dict(counts), step


def test_dealer_leads_close_on_sale_or_when_last_worked(tmp_path: Path) -> None:
    schema = xlcrm.load_schema("dealer")
    leads = {
        "id": ["L-1", "L-2", "L-3"],
        "created": [T(2026, 12, 1, 9), T(2026, 12, 2, 9), T(2026, 12, 3, 9)],
        "last_name": ["Rossi", "Bianchi", "Verdi"],
        "source": ["Dealer website"] * 3,
        "stage": ["Sold", "Lost", "Lost"],
        "sold": [dt.date(2026, 12, 30), None, None],
        "amount": [30_000.0, None, None],
        "lost_reason": [None, "Price", "No response"],
        "competitor": [None, "Private seller", None],
    }
    # L-2 was last called on 29 Dec (inside the four weeks before 4 Jan 2027's week);
    # L-3 was last worked on 3 Dec, before them
    activities = {"id": ["A-1", "A-2"], "date": [T(2026, 12, 29, 10), T(2026, 12, 3, 10)],
                  "lead": ["L-2", "L-3"], "type": ["Call", "Call"],
                  "direction": ["Outbound", "Outbound"]}
    path = write_new_workbook(tmp_path / "crm.xlsx", schema,
                              {"leads": leads, "activities": activities})
    fun = update(path, today=dt.date(2027, 1, 6), dry_run=True).funnel
    assert fun is not None
    closed = dict(zip(fun.won_lost["outcome"], fun.won_lost["count"]))
    assert closed == {"won": 1, "lost": 1}  # the period is 7 Dec 2026 to 3 Jan 2027
    assert fun.lost_reasons["reason"].tolist() == ["Price"]
    assert fun.competitors["competitor"].tolist() == ["Private seller"]
    assert fun.totals["won_value"] == 30_000.0


@pytest.mark.parametrize("preset", PRESETS)
def test_update_reading_only_its_columns_writes_what_a_full_read_writes(
        demo_books: dict[str, Path], tmp_path: Path, preset: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The weekly run types only the columns it uses (``columns_used``); had it typed every
    column, every part of the workbook it writes would be the same, byte for byte."""
    import xlcrm.commands.update as weekly


    chosen, whole = tmp_path / "chosen.xlsx", tmp_path / "whole.xlsx"
    for path in (chosen, whole):
        path.write_bytes(demo_books[preset].read_bytes())
    weekly.update(chosen, today=TODAY, backups=0)
    used = weekly.columns_used(xlcrm.load_schema(preset), xlcrm.load(chosen).settings)
    assert "notes" not in used["activities"] and "stage" in used[
        "leads" if preset == "dealer" else "deals"]
    monkeypatch.setattr(weekly, "columns_used", lambda schema, settings: {})
    weekly.update(whole, today=TODAY, backups=0)
    assert xlsx_parts(chosen) == xlsx_parts(whole)


def test_dry_run_lists_exactly_the_cells_the_run_then_changes(tmp_path: Path) -> None:
    """A week later, with a lead moved by hand: the dry run writes nothing, and the cells
    it lists are exactly those the real run changes; its stage changes are the rows the
    real run appends to the history."""
    from typer.testing import CliRunner

    from xlcrm.cli import app
    from xlcrm.issues import column_letter
    from xlcrm.xlsx.writer import patch_sheet

    work = xlcrm.demo(tmp_path, leads=120, seed=6, today=dt.date(2026, 11, 16), run_report=False)
    crm = xlcrm.load(work)
    row = int(crm["leads"].index[crm["leads"]["stage"] == "New"][0])
    lead = crm["leads"].loc[row, "id"]
    patch_sheet(work, "Leads", {(row - 1, crm.columns["leads"]["stage"]): "Lost"}, backups=0)
    untouched = work.read_bytes()
    owned = ["Tally", "Baseline", "Funnel", "Dashboard", "Stage history"]

    def cells() -> dict[tuple[str, int, int], object]:
        book = CalamineWorkbook.from_path(str(work))
        return {(name, r, c): v for name in owned
                for r, row_ in enumerate(book.get_sheet_by_name(name).to_python())
                for c, v in enumerate(row_) if v != ""}

    preview = update(work, today=dt.date(2026, 11, 23), dry_run=True)
    assert work.read_bytes() == untouched
    listed = {(c.sheet, c.cell) for c in preview.changes}
    assert {(r.record, r.from_stage, r.to_stage) for r in preview.new_history().itertuples()} \
        == {(lead, "New", "Lost")}
    before = cells()
    update(work, today=dt.date(2026, 11, 23), backups=0)
    after = cells()
    changed = {(name, f"{column_letter(c)}{r + 1}") for name, r, c in before.keys() | after.keys()
               if before.get((name, r, c), "") != after.get((name, r, c), "")}
    appended = {k for k in changed if k[0] == "Stage history"}
    assert listed == changed - appended and len(listed) > 20
    last = len(CalamineWorkbook.from_path(str(work)).get_sheet_by_name(
        "Stage history").to_python())
    assert appended == {("Stage history", f"{c}{last}") for c in "ABCD"}  # one new row
    cli = CliRunner().invoke(app, ["update", str(work), "--today", "2026-11-23", "--dry-run"])
    assert cli.exit_code == 0, cli.output
    assert "Tally: no change" in cli.output and "0 rows would be added" in cli.output


def test_dealer_lead_lost_when_the_history_saw_it_move(tmp_path: Path) -> None:
    """A lead nobody has worked since 3 Dec, marked Lost by hand before the 2 Jan run: it was
    lost then (the history saw it move), not on 3 Dec, so it counts among the losses of the
    four weeks before 4 Jan (7 Dec to 3 Jan), with its reason."""
    from xlcrm.xlsx.writer import patch_sheet

    schema = xlcrm.load_schema("dealer")
    leads = {"id": ["L-1", "L-2"], "created": [T(2026, 12, 1, 9), T(2026, 12, 3, 9)],
             "last_name": ["Rossi", "Verdi"], "source": ["Dealer website"] * 2,
             "stage": ["Lost", "New"], "lost_reason": ["Price", None]}
    activities = {"id": ["A-1", "A-2"], "date": [T(2026, 12, 2, 10), T(2026, 12, 3, 10)],
                  "lead": ["L-1", "L-2"], "type": ["Call", "Call"],
                  "direction": ["Outbound", "Outbound"]}
    path = write_new_workbook(tmp_path / "crm.xlsx", schema,
                              {"leads": leads, "activities": activities})
    update(path, today=dt.date(2026, 12, 20), backups=0)  # seeds the history: L-2 is New
    crm = xlcrm.load(path)
    stage, reason = crm.columns["leads"]["stage"], crm.columns["leads"]["lost_reason"]
    patch_sheet(path, "Leads", {(2, stage): "Lost", (2, reason): "No response"}, backups=0)
    update(path, today=dt.date(2027, 1, 2), backups=0)  # sees L-2 move New -> Lost
    fun = update(path, today=dt.date(2027, 1, 6), dry_run=True).funnel
    assert fun is not None
    # L-1 was lost before the history began: last worked on 2 Dec, before the period
    assert dict(zip(fun.won_lost["outcome"], fun.won_lost["count"])) == {"won": 0, "lost": 1}
    assert fun.lost_reasons["reason"].tolist() == ["No response"]


def test_clean_apply_makes_text_dates_real_logged_and_undoable(tmp_path: Path) -> None:
    """`clean --apply` turns T-1's appointment "05/01/2027" and T-2's arrival into real dates
    (day first, the preset's date order), logs both on the Merge log, and undo puts the file
    back byte for byte; the tally then counts them: 3 leads and 2 appointments that week."""
    work = _text_dates_book(tmp_path / "crm.xlsx")
    checked = xlcrm.check(work)  # check names both cells, as warnings
    assert sorted(i.where for i in checked.issues if i.code == "text-date") == [
        "Leads!B3", "Leads!O2"]
    before = work.read_bytes()
    result = xlcrm.clean(work, apply=True, today=NOW)
    assert sorted(result.dates_converted) == ["Leads!B3", "Leads!O2"]
    crm = xlcrm.load(work)
    leads = crm.tables["leads"].set_index("id")
    assert leads.loc["T-2", "created"] == T(2027, 1, 5)
    assert leads.loc["T-1", "appointment_set"] == T(2027, 1, 5)
    assert not [i for i in crm.issues if i.code == "text-date"]
    log = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Merge log").to_python()
    assert sum("date typed as text made a real date: 2027-01-05" in row for row in log) == 2
    week = update(work, today=NOW, dry_run=True).weeks.loc[W2]
    assert (week["leads"], week["appointments"]) == (3, 2)
    xlcrm.clean(work, undo=True)
    assert work.read_bytes() == before


def test_b2b_contact_sales_are_worth_their_won_deals(tmp_path: Path) -> None:
    """A b2b contact has no amount: its source earns the won deals it is the contact of.
    C-1 (Trade show, won) has D-1 delivered, 10,000, and D-2 lost, 5,000: revenue 10,000; the
    preset's 30 % margin keeps 3,000; 2 trade-show contacts at 45 = 90 of cost:
    (3,000 - 90) / 90 = 32.33."""
    path = tmp_path / "b2b.xlsx"
    write_new_workbook(path, xlcrm.load_schema("b2b"), {
        "contacts": {"id": ["C-1", "C-2"], "created": [T(2027, 1, 4, 9), T(2027, 1, 4, 10)],
                     "last_name": ["Rossi", "Bianchi"], "source": ["Trade show"] * 2,
                     "sold": [dt.date(2027, 1, 5), None]},
        "deals": {"id": ["D-1", "D-2"], "name": ["Pumps", "Valves"], "contact": ["C-1", "C-1"],
                  "stage": ["Delivery", "Lost"], "amount": [10_000.0, 5_000.0],
                  "created": [T(2027, 1, 4, 12), T(2027, 1, 4, 12)]}})
    row = update(path, today=NOW, dry_run=True).by_source.loc["Trade show"]
    assert (row["cost"], row["revenue"], row["gross_profit"]) == (90.0, 10_000.0, 3_000.0)
    assert row["return_on_spend"] == pytest.approx(2_910 / 90)
