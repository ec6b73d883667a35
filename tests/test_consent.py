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


def test_agenda_drops_the_deals_of_an_erased_contact(demo_book: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    """b2b: a deal is worked through its contact; once the contact is erased, the deal's
    tasks are not suggested any more (they would name nobody and say nothing)."""
    path = copy_of(demo_book("b2b", 120, 2), tmp_path, "crm.xlsx")
    now = dt.datetime.combine(TODAY, dt.time(18))
    deals = xlcrm.load(path)["deals"]
    contact_of = dict(zip(deals["id"].astype(str), deals["contact"].astype(str)))
    for offset in range(-7, 30):  # a day whose agenda has a task on a deal
        day = TODAY + dt.timedelta(days=offset)
        items = xlcrm.agenda(path, day=day, now=now, write_sheet=False).items
        on_deals = items[items["record"].astype(str).isin(contact_of)]
        if not on_deals.empty:
            break
    else:
        raise AssertionError("the demo's agenda has no task on a deal")
    deal = str(on_deals["record"].iloc[0])
    contact = contact_of[deal]
    theirs = set(deals.loc[deals["contact"].astype(str) == contact, "id"].astype(str))
    xlcrm.forget(path, record_id=contact, today=TODAY)
    after = xlcrm.agenda(path, day=day, now=now, write_sheet=False).items
    listed = set(after["record"].astype(str))
    assert deal not in listed and contact not in listed and not theirs & listed
    assert "[erased]" not in set(after["client"].astype(str))
    # nobody else's line went: the lines left are those that were not the contact's
    mine = items["record"].astype(str).isin(theirs | {contact})
    assert len(after) == len(items) - int(mine.sum())
