"""Marketing consent on person records, and an erased person never suggested for contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import xlcrm

from ._helpers import PRESETS, TODAY, copy_of

PEOPLE = {"dealer": "leads", "b2b": "contacts"}


@pytest.mark.parametrize("preset", PRESETS)
def test_both_presets_record_consent_date_and_source(preset: str) -> None:
    sheet = xlcrm.load_schema(preset, "en").sheet(PEOPLE[preset])
    assert sheet.column("marketing_consent").type == "date"
    assert sheet.column("marketing_consent").header == "Marketing consent"
    assert sheet.column("consent_source").header == "Consent source"


@pytest.mark.parametrize("preset", PRESETS)
def test_demo_people_consent_only_with_an_email_on_the_day_they_came(
        preset: str, demo_book: Callable[..., Path]) -> None:
    people = xlcrm.load(demo_book(preset, 120, 2))[PEOPLE[preset]]
    agreed = people[people["marketing_consent"].notna()]
    assert 0.3 < len(agreed) / len(people) < 0.8  # about six in ten of those with an e-mail
    assert agreed["email"].notna().all() and agreed["consent_source"].notna().all()
    days = pd.to_datetime(agreed["created"]).dt.normalize()
    assert (pd.to_datetime(agreed["marketing_consent"]) == days).all()
    assert people.loc[people["marketing_consent"].isna(), "consent_source"].isna().all()


def test_agenda_says_no_marketing_and_never_names_an_erased_person(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    day = TODAY + dt.timedelta(days=1)
    now = dt.datetime.combine(TODAY, dt.time(18))
    items = xlcrm.agenda(path, day=day, now=now, write_sheet=False).items
    leads = xlcrm.load(path)["leads"]
    consent = dict(zip(leads["id"], leads["marketing_consent"].notna()))
    stalled = items[items["section"] == "no_next_task"]
    assert not stalled.empty
    for record, what in zip(stalled["record"], stalled["what"]):
        assert ("no marketing consent" in what) == (not consent[record]), (record, what)
    # forget someone the agenda lists: they are gone from it, every section
    listed = items.dropna(subset=["record"])
    target = str(listed["record"].iloc[0])
    xlcrm.forget(path, record_id=target, today=TODAY)
    after = xlcrm.agenda(path, day=day, now=now, write_sheet=False).items
    assert target not in set(after["record"].astype(str))
    assert "[erased]" not in set(after["client"].astype(str))
    assert len(after) == len(items) - int((items["record"].astype(str) == target).sum())


def test_report_never_lists_an_erased_person_among_records_to_fix(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    worst = xlcrm.make_report(path, today=TODAY).worst
    leads = worst[worst["where"].str.startswith("Leads!")]
    assert not leads.empty
    target = str(leads["record"].iloc[0])
    xlcrm.forget(path, record_id=target, today=TODAY)
    # erased, the record has no e-mail and no phone left: a finding, but nothing to fix
    after = xlcrm.make_report(path, today=TODAY).worst
    assert target not in set(after["record"])
    assert "[erased]" not in set(after["name"])
