"""The demo is realistic (funnel rates, dirt, agenda), consistent with its schema, reproducible."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm import generate_demo
from xlcrm.schema import normalize_header

from ._helpers import PRESETS, TODAY, xlsx_parts


@pytest.fixture(scope="module")
def dealer() -> xlcrm.DemoData:
    return generate_demo("dealer", leads=3000, seed=5, today=TODAY)


@pytest.fixture(scope="module")
def b2b() -> xlcrm.DemoData:
    return generate_demo("b2b", leads=3000, seed=5, today=TODAY)


def _filled(values: list[object]) -> int:
    return sum(1 for v in values if v not in (None, ""))


def test_dealer_funnel_rates_are_realistic(dealer: xlcrm.DemoData) -> None:
    leads = dealer.data["leads"]
    n = len(leads["id"])
    contacted, booked = _filled(leads["first_contact"]), _filled(leads["appointment_set"])
    shown, sold = _filled(leads["appointment_shown"]), _filled(leads["sold"])
    assert 0.42 <= contacted / n <= 0.58  # about half reach a two-way contact
    assert 0.15 <= booked / n <= 0.25  # a fifth book an appointment
    assert 0.58 <= shown / booked <= 0.75  # about two thirds show
    assert 0.32 <= sold / shown <= 0.48  # about two fifths of shows buy


def test_b2b_funnel_moves_through_stages(b2b: xlcrm.DemoData) -> None:
    contacts, deals = b2b.data["contacts"], b2b.data["deals"]
    n = len(contacts["id"])
    assert 0.3 <= _filled(contacts["first_contact"]) / n <= 0.6
    assert 0.1 <= _filled(contacts["appointment_set"]) / n <= 0.3
    stages = Counter(deals["stage"])
    labels = b2b.schema.settings_list("stages").items
    assert set(stages) <= set(labels)
    assert stages["Delivery"] > 0 and stages["Lost"] > 0
    assert sum(stages[s] for s in labels[1:6]) > 0  # open deals in several stages


def test_sources_differ_in_quality(dealer: xlcrm.DemoData) -> None:
    leads = dealer.data["leads"]
    rates = {}
    for source in set(leads["source"]):
        rows = [i for i, s in enumerate(leads["source"]) if s == source]
        rates[source] = sum(1 for i in rows if leads["first_contact"][i]) / len(rows)
    assert rates["Walk-in"] > rates["Dealer website"] > rates["Social ads"]


def test_lost_leads_have_reasons_and_competitors(dealer: xlcrm.DemoData,
                                                 b2b: xlcrm.DemoData) -> None:
    leads = dealer.data["leads"]
    lost = [i for i, s in enumerate(leads["stage"]) if s == "Lost"]
    assert lost and all(leads["lost_reason"][i] for i in lost)
    with_competitor = [i for i in lost if leads["competitor"][i]]
    assert with_competitor
    assert {leads["lost_reason"][i] for i in with_competitor} == {"Bought elsewhere"}
    deals = b2b.data["deals"]
    assert {deals["competitor"][i] for i, s in enumerate(deals["stage"]) if s == "Lost"} - {None}


def test_activities_go_both_ways(dealer: xlcrm.DemoData) -> None:
    acts = dealer.data["activities"]
    directions = Counter(acts["direction"])
    assert directions["Inbound"] > 0.1 * len(acts["id"])
    assert directions["Outbound"] > directions["Inbound"]
    assert 2.5 <= len(acts["id"]) / dealer.rows("leads") <= 3.5


def test_tasks_fall_due_around_today(dealer: xlcrm.DemoData, b2b: xlcrm.DemoData) -> None:
    for data in (dealer, b2b):
        tasks = data.data["tasks"]
        open_due = Counter(d for d, done in zip(tasks["due_date"], tasks["done"]) if not done)
        for offset in (-1, 0, 1):  # overdue since yesterday, today, tomorrow
            assert open_due[TODAY + dt.timedelta(days=offset)] > 0
        assert any(tasks["done"]) and all(
            r for r, d in zip(tasks["result"], tasks["done"]) if d)


def test_dirty_records_for_the_clean_up(dealer: xlcrm.DemoData) -> None:
    leads = dealer.data["leads"]
    n = len(leads["id"])
    assert 0 < sum(1 for e in leads["email"] if not e) < 0.3 * n
    assert any(not e and not p for e, p in zip(leads["email"], leads["phone"]))
    bad_phones = [p for p in leads["phone"] if p and sum(ch.isdigit() for ch in p) < 8]
    assert bad_phones
    assert any(e and ("@@" in e or "." not in e.split("@")[-1]) for e in leads["email"])
    # duplicates: the same person twice, once with a typo in the name
    people = Counter((f, normalize_header(str(p))[-6:]) for f, p in
                     zip(leads["first_name"], leads["phone"]) if p)
    assert any(count > 1 for count in people.values())


def test_links_point_at_existing_records(b2b: xlcrm.DemoData, dealer: xlcrm.DemoData) -> None:
    for data in (b2b, dealer):
        schema = data.schema
        ids = {s.key: set(data.data[s.key]["id"]) for s in schema.data_sheets}
        for sheet in schema.data_sheets:
            cols = data.data[sheet.key]
            assert len(ids[sheet.key]) == len(cols["id"])  # ids are unique
            for col in sheet.columns:
                if col.type != "link":
                    continue
                allowed = set().union(*(ids[r] for r in col.ref))
                values = {v for v in cols[col.key] if v}
                assert values <= allowed, (sheet.key, col.key, sorted(values - allowed)[:3])


def test_list_values_come_from_settings(b2b: xlcrm.DemoData, dealer: xlcrm.DemoData) -> None:
    for data in (b2b, dealer):
        schema = data.schema
        for sheet in schema.data_sheets:
            for col in sheet.columns:
                if col.type == "choice" and col.list:
                    rows = data.settings_rows.get(col.list) or schema.settings_list(
                        col.list).rows
                    allowed = {str(r[0]) for r in rows}
                    used = {v for v in data.data[sheet.key][col.key] if v}
                    assert used <= allowed, (sheet.key, col.key, used - allowed)


def test_milestones_follow_each_other_in_time(dealer: xlcrm.DemoData) -> None:
    leads = dealer.data["leads"]
    now = dt.datetime.combine(TODAY, dt.time(8))
    for created, contact, booked, shown, sold in zip(
            leads["created"], leads["first_contact"], leads["appointment_set"],
            leads["appointment_shown"], leads["sold"]):
        assert created < now
        if contact:
            assert created <= contact <= now
        if booked:
            assert contact and contact <= booked
        if shown:
            assert booked and booked.date() <= shown <= TODAY
        if sold:
            assert shown and shown <= sold <= TODAY


@pytest.mark.parametrize("preset", PRESETS)
def test_demo_is_deterministic_for_a_seed(preset: str, tmp_path: Path) -> None:
    a, b, c = (xlcrm.demo(tmp_path / name, preset=preset, leads=200, seed=seed, today=TODAY,
                          run_report=False) for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert xlsx_parts(a) == xlsx_parts(b)
    assert xlsx_parts(a) != xlsx_parts(c)


def test_demo_workbook_reads_back_with_types(demo_books: dict[str, Path]) -> None:
    book = CalamineWorkbook.from_path(str(demo_books["dealer"]))
    rows = book.get_sheet_by_name("Leads").to_python()
    header = rows[0]
    created = header.index("Created")
    assert len(rows) > 300  # leads plus a few duplicates
    assert all(isinstance(r[created], dt.datetime) for r in rows[1:])
    sold = [r for r in rows[1:] if r[header.index("Sold")] != ""]
    assert sold and all(isinstance(r[header.index("Sold")], dt.date) for r in sold)
    assert all(isinstance(r[header.index("Sale amount")], float) for r in sold)
    settings = book.get_sheet_by_name("Settings").to_python()
    assert any("our-company.example" in str(v) for row in settings for v in row)
