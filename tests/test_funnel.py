"""The deal funnel on small hand-made tables: every expected number below was worked out by hand
from the rows in this file, never by the code under test; the demo workbook is checked only for
invariants that must hold on any data."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import xlcrm
from xlcrm.metrics.funnel import FunnelResult, StageRule, funnel, stage_rules

TODAY = dt.date(2026, 11, 23)  # the default period is 16-22 November 2026
D = dt.date
NAN = float("nan")

RULES = [
    StageRule("New", 0.1, "open"),
    StageRule("Qualified", 0.3, "open"),
    StageRule("Proposal", 0.6, "open"),
    StageRule("Won", 1.0, "won"),
    StageRule("Lost", 0.0, "lost"),
]
LABELS = {"open": "open", "won": "won", "lost": "lost",
          "aperta": "open", "vinta": "won", "persa": "lost"}

# id, stage, amount, created, close date, lost reason, competitor
# ages on 23 Nov 2026 from created: D1 10, D2 20, D3 30, D4 60, D5 3, D6 114, D7 145, D8 175,
# D9 53, D10 53, D11 22, D12 41 days
ROWS = [
    ("D1", "New", 1000.0, D(2026, 11, 13), D(2026, 12, 15), None, None),
    ("D2", "  new ", 2000.0, D(2026, 11, 3), D(2027, 1, 10), None, None),
    ("D3", "Qualified", None, D(2026, 10, 24), D(2026, 12, 31), None, None),
    ("D4", "Proposal", 5000.0, D(2026, 9, 24), D(2027, 1, 5), None, None),
    ("D5", "PROPOSAL", 3000.0, D(2026, 11, 20), None, None, None),
    ("D6", "Won", 8000.0, D(2026, 8, 1), D(2026, 11, 16), None, None),  # first day of period
    ("D7", "Won", 4000.0, D(2026, 7, 1), D(2026, 11, 23), None, None),  # the day after it
    ("D8", "Lost", 6000.0, D(2026, 6, 1), D(2026, 11, 22), "Price", "Acme"),  # last day
    ("D9", "Lost", 1500.0, D(2026, 10, 1), D(2026, 11, 18), "price", None),
    ("D10", "Lost", 2500.0, D(2026, 10, 1), D(2026, 11, 15), "Timing", "Acme"),  # day before
    ("D11", "Lost", 500.0, D(2026, 11, 1), D(2026, 11, 20), None, "Beta"),
    ("D12", "Negotiation", 7000.0, D(2026, 10, 13), D(2026, 12, 1), None, None),  # not in rules
]


def deals() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["id", "stage", "amount", "created", "close_date",
                                        "lost_reason", "competitor"])
    for col in ("created", "close_date"):
        frame[col] = pd.to_datetime(frame[col])
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="row")  # sheet rows, as load gives
    return frame


def row(result: FunnelResult, stage: str) -> dict[str, Any]:
    table = result.stages
    found = table[table["stage"] == stage]
    assert len(found) == 1, f"no single row for stage {stage!r}"
    return dict(found.iloc[0])


def column(result: FunnelResult, name: str) -> list[Any]:
    return list(result.stages[name])


def same(actual: list[Any], expected: list[float]) -> bool:
    """Floats equal to expected, with NaN where NaN is expected."""
    return len(actual) == len(expected) and all(
        math.isnan(a) if math.isnan(e) else a == pytest.approx(e)
        for a, e in zip(actual, expected))


# ----- stages --------------------------------------------------------------------------------
def test_stages_count_value_and_weigh_each_stage_in_settings_order() -> None:
    result = funnel(deals(), RULES, today=TODAY)
    assert column(result, "stage") == ["New", "Qualified", "Proposal", "Won", "Lost",
                                       "Negotiation"]
    assert column(result, "outcome") == ["open", "open", "open", "won", "lost", "unknown"]
    assert column(result, "count") == [2, 1, 2, 2, 4, 1]
    # D3 has no amount: it counts, worth 0
    assert same(column(result, "value"), [3000, 0, 8000, 12000, 10500, 7000])
    assert same(column(result, "weighted"), [300, 0, 4800, 12000, 0, NAN])
    assert same(column(result, "probability"), [0.1, 0.3, 0.6, 1.0, 0.0, NAN])


def test_stage_matching_ignores_case_and_spaces() -> None:
    rules = [StageRule(" new", 0.1, "open"), StageRule("proposal ", 0.6, "open")]
    result = funnel(deals(), rules, today=TODAY)
    # "  new " and "New" are both " new"; "PROPOSAL" and "Proposal" both "proposal "
    assert row(result, " new")["count"] == 2
    assert row(result, "proposal ")["count"] == 2


def test_ages_count_days_from_created() -> None:
    result = funnel(deals(), RULES, today=TODAY)
    assert same(column(result, "avg_age_days"), [15, 30, 31.5, 129.5, 75.75, 41])
    assert same(column(result, "oldest_age_days"), [20, 30, 60, 145, 175, 41])


def test_ages_count_days_from_the_day_the_stage_was_entered() -> None:
    entered = {"D2": D(2026, 11, 20), "d4": D(2026, 11, 9)}  # ids match in any case
    result = funnel(deals(), RULES, today=TODAY, stage_entered=entered)
    assert same(column(result, "avg_age_days"), [6.5, 30, 8.5, 129.5, 75.75, 41])
    assert same(column(result, "oldest_age_days"), [10, 30, 14, 145, 175, 41])


def test_without_next_task_counts_open_records_with_no_open_task() -> None:
    tasks = ["D1", " D4", "D8", "D99"]  # D8 is lost: its open task does not matter
    result = funnel(deals(), RULES, today=TODAY, open_tasks=tasks)
    assert column(result, "without_next_task") == [1, 1, 1, 0, 0, 0]
    assert column(funnel(deals(), RULES, today=TODAY), "without_next_task") == [2, 1, 2, 0, 0, 0]


def test_reached_counts_lost_deals_at_the_first_stage_when_unknown() -> None:
    result = funnel(deals(), RULES, today=TODAY)
    # ladder New < Qualified < Proposal < Won; the 4 lost deals reached New only; D12 none
    assert same(column(result, "reached"), [11, 5, 4, 2, NAN, NAN])
    assert same(column(result, "conversion"), [5 / 11, 0.8, 0.5, NAN, NAN, NAN])


def test_reached_counts_lost_deals_up_to_the_stage_they_were_lost_from() -> None:
    lost_from = {"D8": "Proposal", "D9": " qualified", "D10": "Nowhere"}  # D11 not known
    result = funnel(deals(), RULES, today=TODAY, lost_from=lost_from)
    assert same(column(result, "reached"), [11, 7, 5, 2, NAN, NAN])
    assert same(column(result, "conversion"), [7 / 11, 5 / 7, 0.4, NAN, NAN, NAN])


def test_reached_counts_every_stage_a_record_was_ever_in() -> None:
    """D11 was lost but the history saw it in Proposal; D1 (now New) was once in Qualified
    (moved back); D3 (Qualified) had a milestone that means Proposal. Reached then:
    New 11 (every ladder record and the 4 lost), Qualified 5 + D1 + D11 = 7,
    Proposal 4 + D3 + D11 = 6 (D1 never got that far), Won 2."""
    ever_in = pd.Series(["Qualified", "proposal ", "Proposal", "Lost"],
                        index=["D1", "D3", "D11", "D11"])
    result = funnel(deals(), RULES, today=TODAY, ever_in=ever_in)
    assert same(column(result, "reached"), [11, 7, 6, 2, NAN, NAN])
    assert same(column(result, "conversion"), [7 / 11, 6 / 7, 2 / 6, NAN, NAN, NAN])


def test_expected_value_from_price_list_then_source_average() -> None:
    """L1 names a model in the list (the longer "compact suv" wins over "suv"); L2 only its
    condition; L3 neither, so its source's average sale (20,000 and 30,000: 25,000); L4 an
    unlisted source, so the average of all sales (20,000, 30,000, 40,000: 30,000); the sold
    leads keep their own amounts."""
    from xlcrm.metrics.expected import expected_values

    leads = pd.DataFrame({
        "vehicle": ["Compact SUV 1.5 hybrid", "Saloon 2.0 diesel", "Pickup", "Van",
                    "Saloon", "Saloon", "Coupé"],
        "vehicle_condition": ["New", "used", None, None, "New", "New", "New"],
        "source": ["Web", "Web", "Web", "Radio", "Web", "Web", "Walk-in"],
        "amount": [None, None, None, None, 20_000.0, 30_000.0, 40_000.0]})
    prices = {"SUV": 30_000.0, "compact suv": 26_000.0, "Used": 15_000.0, "New": 35_000.0}
    values = expected_values(leads, prices)
    assert values.tolist()[:4] == [26_000.0, 15_000.0, 25_000.0, 30_000.0]
    assert values.tolist()[4:] == [20_000.0, 30_000.0, 40_000.0]


def test_expected_close_from_measured_days_to_sale() -> None:
    """Sold leads S1-S3 took 10, 20 and 30 days from arrival (median 20) and 4, 6 and 8 days
    from their appointment (median 6). On 1 March: O1 arrived 20 Feb, no appointment: 20 Feb
    + 20 = 12 March; O2 booked 27 Feb: + 6 = 5 March; O3 arrived 1 Jan: 21 Jan has passed,
    so 1 March + 20 = 21 March; the sold keep their sale day."""
    from xlcrm.metrics.expected import expected_close

    ts = pd.Timestamp
    arrived = pd.Series([ts(2027, 1, 1), ts(2027, 1, 1), ts(2027, 1, 1), ts(2027, 2, 20),
                         ts(2027, 2, 20), ts(2027, 1, 1)])
    booked = pd.Series([ts(2027, 1, 7), ts(2027, 1, 15), ts(2027, 1, 23), pd.NaT,
                        ts(2027, 2, 27), pd.NaT])
    sale = pd.Series([ts(2027, 1, 11), ts(2027, 1, 21), ts(2027, 1, 31), pd.NaT, pd.NaT,
                      pd.NaT])
    close = expected_close([("lead", arrived), ("appointment", booked)], sale,
                           today=dt.date(2027, 3, 1))
    assert close.tolist() == [ts(2027, 1, 11), ts(2027, 1, 21), ts(2027, 1, 31),
                              ts(2027, 3, 12), ts(2027, 3, 5), ts(2027, 3, 21)]


def test_stage_renamed_in_settings_shows_old_name_as_unknown_outside_weighted() -> None:
    renamed = [RULES[0], RULES[1], StageRule("Offer sent", 0.6, "open"), RULES[3], RULES[4]]
    result = funnel(deals(), renamed, today=TODAY)
    assert column(result, "stage") == ["New", "Qualified", "Offer sent", "Won", "Lost",
                                       "Negotiation", "Proposal"]
    old = row(result, "Proposal")
    assert (old["outcome"], old["count"], old["value"]) == ("unknown", 2, 8000)
    assert math.isnan(old["weighted"]) and math.isnan(old["probability"])
    assert row(result, "Offer sent")["count"] == 0
    assert result.totals["weighted_value"] == pytest.approx(300)
    assert result.totals["open_count"] == 3
    assert result.totals["open_value"] == pytest.approx(3000)
    # the won deals still passed the renamed stage; D4 and D5 are off the ladder
    assert same(column(result, "reached"), [9, 3, 2, 2, NAN, NAN, NAN])


# ----- forecast ------------------------------------------------------------------------------
def test_forecast_spreads_open_pipeline_over_close_months_across_year_end() -> None:
    forecast = funnel(deals(), RULES, today=TODAY).forecast
    # D12 (unknown stage, closing in December) is not pipeline
    assert list(forecast["month"]) == [pd.Period("2026-12", "M"), pd.Period("2027-01", "M"),
                                       "no close date"]
    assert list(forecast["count"]) == [2, 2, 1]
    assert list(forecast["value"]) == pytest.approx([1000, 7000, 3000])
    assert list(forecast["weighted"]) == pytest.approx([100, 3200, 1800])


# ----- won, lost, reasons, competitors -------------------------------------------------------
def test_won_lost_in_default_period_includes_both_boundary_days() -> None:
    result = funnel(deals(), RULES, today=TODAY)
    won_lost = result.won_lost
    assert list(won_lost["outcome"]) == ["won", "lost"]
    assert list(won_lost["count"]) == [1, 3]  # D6 on 16 Nov; D8, D9, D11 up to 22 Nov
    assert list(won_lost["value"]) == pytest.approx([8000, 8000])
    assert result.totals == pytest.approx({
        "open_count": 5, "open_value": 11000, "weighted_value": 5100,
        "won_count": 1, "won_value": 8000, "lost_count": 3, "lost_value": 8000,
        "win_rate": 0.25})


def test_lost_reasons_and_competitors_in_default_period() -> None:
    result = funnel(deals(), RULES, today=TODAY)
    reasons = result.lost_reasons
    assert list(reasons["reason"]) == ["Price", "(none)"]  # "price" is the same reason
    assert list(reasons["count"]) == [2, 1]
    assert list(reasons["value"]) == pytest.approx([7500, 500])
    assert list(reasons["share"]) == pytest.approx([2 / 3, 1 / 3])
    rivals = result.competitors
    assert list(rivals["competitor"]) == ["Acme", "Beta"]
    assert list(rivals["count"]) == [1, 1]
    assert list(rivals["value"]) == pytest.approx([6000, 500])
    assert list(rivals["share"]) == pytest.approx([1 / 3, 1 / 3])  # of all 3 lost deals


def test_given_period_sorts_reasons_by_count_then_name() -> None:
    result = funnel(deals(), RULES, today=TODAY, period=(D(2026, 11, 1), D(2026, 11, 30)))
    assert list(result.won_lost["count"]) == [2, 4]
    assert result.totals["win_rate"] == pytest.approx(1 / 3)
    reasons = result.lost_reasons
    assert list(reasons["reason"]) == ["Price", "(none)", "Timing"]
    assert list(reasons["count"]) == [2, 1, 1]
    assert list(reasons["value"]) == pytest.approx([7500, 500, 2500])
    assert list(reasons["share"]) == pytest.approx([0.5, 0.25, 0.25])
    rivals = result.competitors
    assert list(rivals["competitor"]) == ["Acme", "Beta"]
    assert list(rivals["count"]) == [2, 1]
    assert list(rivals["value"]) == pytest.approx([8500, 500])
    assert list(rivals["share"]) == pytest.approx([0.5, 0.25])


# ----- zero denominators and missing data ----------------------------------------------------
def test_nothing_closed_and_stage_nobody_reached_give_nan() -> None:
    rules = [StageRule("New", 0.1, "open"), StageRule("Qualified", 0.3, "open"),
             StageRule("Won", 1.0, "won"), StageRule("Lost", 0.0, "lost")]
    records = pd.DataFrame({
        "id": ["A1", "A2", "A3"], "stage": ["New", "New", "Lost"],
        "amount": [100.0, 200.0, 50.0],
        "created": pd.to_datetime(["2026-11-01", "2026-11-10", "2026-10-01"]),
        "close_date": pd.to_datetime(["2026-12-01", "2026-12-02", "2026-10-20"]),
        "lost_reason": ["Price", None, "Timing"], "competitor": [None, None, "Acme"]})
    result = funnel(records, rules, today=TODAY)
    assert math.isnan(result.totals["win_rate"])
    assert list(result.won_lost["count"]) == [0, 0]
    assert result.lost_reasons.empty and result.competitors.empty
    # everybody reached New (A3 was lost from a stage not recorded), nobody Qualified or Won
    assert same(column(result, "reached"), [3, 0, 0, NAN])
    assert same(column(result, "conversion"), [0.0, NAN, NAN, NAN])
    assert same(column(result, "avg_age_days"), [17.5, NAN, NAN, 53])


def test_missing_columns_and_empty_stages_give_empty_tables_not_errors() -> None:
    records = pd.DataFrame({"id": ["B1", "B2", "B3", "B4"],
                            "stage": ["New", None, "  ", "Lost"]})
    result = funnel(records, RULES, today=TODAY)
    assert column(result, "stage") == ["New", "Qualified", "Proposal", "Won", "Lost",
                                       "(no stage)"]
    assert column(result, "count") == [1, 0, 0, 0, 1, 2]
    assert same(column(result, "value"), [0, 0, 0, 0, 0, 0])
    assert same(column(result, "avg_age_days"), [NAN] * 6)
    assert list(result.forecast["month"]) == ["no close date"]
    assert list(result.forecast["count"]) == [1]
    assert list(result.won_lost["count"]) == [0, 0]
    assert result.lost_reasons.empty and result.competitors.empty
    assert list(result.competitors.columns) == ["competitor", "count", "value", "share"]
    assert result.totals["open_count"] == 1 and math.isnan(result.totals["win_rate"])


def test_other_column_names_for_a_leads_table() -> None:
    leads = pd.DataFrame({
        "lead": ["L1", "L2", "L3"], "status": ["New", "Won", "Lost"],
        "budget": [10.0, 20.0, 30.0],
        "arrived": pd.to_datetime(["2026-11-20", "2026-11-01", "2026-11-02"]),
        "expected": pd.to_datetime(["2027-02-03", "2026-11-20", "2026-11-21"]),
        "why": ["", "", "No budget"], "rival": ["", "", ""]})
    result = funnel(leads, RULES, today=TODAY, open_tasks={"L1"}, stage_col="status",
                    amount_col="budget", created_col="arrived", close_col="expected",
                    reason_col="why", competitor_col="rival", id_col="lead")
    assert column(result, "count") == [1, 0, 0, 1, 1]
    assert column(result, "without_next_task") == [0, 0, 0, 0, 0]
    assert same(column(result, "avg_age_days"), [3, NAN, NAN, 22, 21])
    assert list(result.forecast["month"]) == [pd.Period("2027-02", "M")]
    assert result.totals["win_rate"] == pytest.approx(0.5)
    assert list(result.lost_reasons["reason"]) == ["No budget"]
    assert result.competitors.empty  # an empty competitor cell names nobody


# ----- stage rules from Settings -------------------------------------------------------------
def test_stage_rules_read_italian_outcome_labels() -> None:
    settings = pd.DataFrame({
        "stage": ["Nuovo contatto", " Offerta inviata ", None, "Vinta", "Persa", "Sospesa"],
        "probability": [0.1, 0.5, 0.3, 1.0, 0.0, None],
        "outcome": ["Aperta", "APERTA", "Aperta", "Vinta", " persa", ""]})
    rules = stage_rules(settings, LABELS)
    assert rules[:4] == [
        StageRule("Nuovo contatto", 0.1, "open"),
        StageRule("Offerta inviata", 0.5, "open"),
        StageRule("Vinta", 1.0, "won"),
        StageRule("Persa", 0.0, "lost"),
    ]
    # the row without a stage is skipped; an empty outcome is open, an empty probability NaN
    assert len(rules) == 5
    assert (rules[4].name, rules[4].outcome) == ("Sospesa", "open")
    assert math.isnan(rules[4].probability)


def test_stage_rules_refuse_a_label_mapped_to_no_outcome() -> None:
    settings = pd.DataFrame({"stage": ["Nuovo"], "probability": [0.1], "outcome": ["Aperta"]})
    with pytest.raises(ValueError, match="open, won or lost"):
        stage_rules(settings, {"aperta": "pending"})


# ----- the demo workbook ---------------------------------------------------------------------
def test_demo_workbook_funnel_is_consistent(demo_book: Callable[..., Path]) -> None:
    crm = xlcrm.load(demo_book("b2b", 300, 1))
    deals_ = crm["deals"]
    rules = stage_rules(crm.settings.lists["stages"], LABELS)
    tasks = crm["tasks"]
    open_tasks = tasks.loc[~tasks["done"].fillna(False).astype(bool), "record"].dropna()
    result = funnel(deals_, rules, today=TODAY, open_tasks=list(open_tasks),
                    period=(D(2026, 1, 1), D(2026, 12, 31)))
    stages, totals = result.stages, result.totals
    assert len(rules) == 8 and stages["outcome"].tolist()[:8] == ["open"] * 6 + ["won", "lost"]
    assert stages["count"].sum() == len(deals_) > 0
    assert (stages["outcome"] != "unknown").all()
    assert stages["value"].sum() == pytest.approx(deals_["amount"].fillna(0).sum())

    is_open = stages["outcome"] == "open"
    assert totals["open_count"] == stages.loc[is_open, "count"].sum()
    assert totals["open_value"] == pytest.approx(stages.loc[is_open, "value"].sum())
    assert totals["weighted_value"] == pytest.approx(
        (stages.loc[is_open, "value"] * stages.loc[is_open, "probability"]).sum())
    assert totals["weighted_value"] == pytest.approx(stages.loc[is_open, "weighted"].sum())
    # the workbook's own weighted column agrees with Settings' probabilities
    open_deals = deals_[deals_["stage"].isin(stages.loc[is_open, "stage"])]
    assert totals["weighted_value"] == pytest.approx(open_deals["weighted"].sum())

    assert result.forecast["count"].sum() == totals["open_count"]
    assert result.forecast["value"].sum() == pytest.approx(totals["open_value"])
    assert result.forecast["weighted"].sum() == pytest.approx(totals["weighted_value"])
    assert list(result.won_lost["count"]) == [totals["won_count"], totals["lost_count"]]
    assert totals["won_count"] + totals["lost_count"] > 0
    assert totals["win_rate"] == pytest.approx(
        totals["won_count"] / (totals["won_count"] + totals["lost_count"]))
    assert result.lost_reasons["count"].sum() == totals["lost_count"]
    assert result.lost_reasons["value"].sum() == pytest.approx(totals["lost_value"])
    assert result.lost_reasons["share"].sum() == pytest.approx(1.0)
    assert result.competitors["count"].sum() <= totals["lost_count"]
    assert list(result.lost_reasons["count"]) == sorted(result.lost_reasons["count"],
                                                        reverse=True)
    reached = stages.loc[stages["outcome"] != "lost", "reached"].tolist()
    assert reached == sorted(reached, reverse=True)  # nobody gets further without passing
    assert stages["without_next_task"].sum() <= totals["open_count"]
