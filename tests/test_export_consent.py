"""Exports carry marketing consent in the vendor's own field: never "subscribed" without it."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import xlcrm
from xlcrm.errors import ExportError
from xlcrm.exchange.mapping import load_mapping
from xlcrm.metrics.agenda import build_agenda
from xlcrm.metrics.identity import stored_email
from xlcrm.week import tally_input

from ._helpers import PRESETS, TODAY, copy_of

PEOPLE = {"dealer": "leads", "b2b": "contacts"}

#: per target: the person file of each preset, the consent column, and its value for a person
#: with a consent date and for one without (read off the vendor pages the mappings cite)
VENDOR = {
    "hubspot": ({"dealer": "contacts.csv", "b2b": "contacts.csv"},
                "Legal basis for processing contact's data",
                "Freely given consent from contact", "Not applicable"),
    "salesforce": ({"dealer": "Lead.csv", "b2b": "Contact.csv"},
                   "HasOptedOutOfEmail", "false", "true"),
    "zoho": ({"dealer": "Leads.csv", "b2b": "Contacts.csv"}, "Email Opt Out", "false", "true"),
    "pipedrive": ({"dealer": "deals.csv", "b2b": "people.csv"},
                  "Person - Marketing status", "Subscribed", "No consent"),
    "dynamics": ({"dealer": "Lead.csv", "b2b": "Contact.csv"},
                 "Do not allow Bulk Emails", "Allow", "Do Not Allow"),
}
#: the ids column of each person file
ID_HEADER = {"hubspot": "xlcrm Contact ID", "salesforce": "xlcrm_Id__c", "zoho": "xlcrm ID",
             "pipedrive": "Person - xlcrm ID", "dynamics": "xlcrm ID"}


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_shipped_target_is_covered() -> None:
    assert sorted(VENDOR) == xlcrm.exchange.mapping.available_targets()


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("target", sorted(VENDOR))
def test_consent_goes_out_in_the_vendor_field(demo_books: dict[str, Path], tmp_path: Path,
                                              target: str, preset: str) -> None:
    files, header, given, none = VENDOR[target]
    result = xlcrm.export(demo_books[preset], target, tmp_path)
    assert result.errors == []
    people = xlcrm.load(demo_books[preset])[PEOPLE[preset]].set_index("id")
    rows = _rows(tmp_path, files[preset])
    assert header in rows[0]
    seen = {given: 0, none: 0, "": 0}
    for row in rows:
        person = people.loc[row[ID_HEADER[target]]]
        consent = pd.notna(person["marketing_consent"])
        value = row[header]
        if target == "pipedrive" and not stored_email(str(person["email"] or "")):
            want = ""  # Pipedrive's status belongs to an e-mail address: none without one
        else:
            want = given if consent else none
        assert value == want, (row[ID_HEADER[target]], value, consent)
        if not consent:
            assert value != given  # never subscribed without a consent date
        seen[value] += 1
    # the demo has people of both kinds: both values are really written
    assert seen[given] == int(people["marketing_consent"].notna().sum())
    assert seen[none] > 0


def test_an_erased_person_goes_out_opted_out(demo_book: Callable[..., Path],
                                             tmp_path: Path) -> None:
    path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    leads = xlcrm.load(path)["leads"]
    target = str(leads.loc[leads["marketing_consent"].notna(), "id"].iloc[0])
    xlcrm.forget(path, record_id=target, today=TODAY)
    for key, (files, header, _given, none) in VENDOR.items():
        out = tmp_path / key
        assert xlcrm.export(path, key, out).errors == []
        row = next(r for r in _rows(out, files["dealer"]) if r[ID_HEADER[key]] == target)
        # no e-mail left: Pipedrive has no status to give; every other vendor: opted out
        assert row[header] == ("" if key == "pipedrive" else none), (key, row[header])
        # and the consent's date and source went with the person
        assert not any(v for h, v in row.items() if "Consent" in h), (key, row)


def test_round_trip_brings_the_consent_date_and_source_back(demo_books: dict[str, Path],
                                                           tmp_path: Path) -> None:
    original = xlcrm.load(demo_books["b2b"])["contacts"].set_index("id")
    for target in sorted(VENDOR):
        out = tmp_path / target
        xlcrm.export(demo_books["b2b"], target, out)
        fresh = xlcrm.init(tmp_path / f"{target}.xlsx", preset="b2b")
        xlcrm.import_leads(fresh, out)
        back = xlcrm.load(fresh)["contacts"].set_index("id")
        for ident in original.index:
            a, b = original.at[ident, "marketing_consent"], back.at[ident, "marketing_consent"]
            assert (pd.isna(a) and pd.isna(b)) or pd.Timestamp(a).date() == pd.Timestamp(b).date(
            ), (target, ident, a, b)
            sa, sb = original.at[ident, "consent_source"], back.at[ident, "consent_source"]
            assert (pd.isna(sa) and pd.isna(sb)) or sa == sb, (target, ident, sa, sb)


def test_a_consent_column_needs_its_values_table(tmp_path: Path) -> None:
    shipped = load_mapping("salesforce").path.read_text(encoding="utf-8")
    start = shipped.index("[values.consent]")
    end = shipped.index("\n\n", start)
    broken = tmp_path / "mine.toml"
    broken.write_text(shipped[:start] + shipped[end:], encoding="utf-8")
    with pytest.raises(ExportError, match=r"HasOptedOutOfEmail.*values\.consent"):
        load_mapping("salesforce", broken)


def test_b2b_agenda_notes_a_deal_whose_contact_gave_no_consent(
        demo_book: Callable[..., Path]) -> None:
    crm = xlcrm.load(demo_book("b2b", 120, 2))
    contacts, deals = crm["contacts"], crm["deals"]
    # no task planned anywhere: every open deal is one to "plan a next step" for
    crm.tables["tasks"] = crm.tables["tasks"].iloc[0:0]
    day = TODAY + dt.timedelta(days=1)
    now = dt.datetime.combine(TODAY, dt.time(18))
    items = build_agenda(crm, day=day, now=now, steps=tally_input(crm).steps)
    stalled = items[items["section"] == "no_next_task"]
    consent = dict(zip(contacts["id"], contacts["marketing_consent"].notna()))
    contact_of = dict(zip(deals["id"], deals["contact"]))
    noted = [("no marketing consent" in what) for what in stalled["what"]]
    assert noted == [not consent[contact_of[r]] for r in stalled["record"]]
    assert any(noted) and not all(noted)  # both kinds of deal are really there


def test_b2b_report_never_lists_an_erased_contact_among_records_to_fix(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    path = copy_of(demo_book("b2b", 120, 2), tmp_path, "crm.xlsx")
    worst = xlcrm.make_report(path, today=TODAY).worst
    contacts = worst[worst["where"].str.startswith("Contacts!")]
    assert not contacts.empty
    target = str(contacts["record"].iloc[0])
    xlcrm.forget(path, record_id=target, today=TODAY)
    after = xlcrm.make_report(path, today=TODAY).worst
    assert target not in set(after["record"])
    assert "[erased]" not in set(after["name"])
