"""Each vendor's importer, as its own pages describe it, takes the export first try.

The expectations are written here from the vendors' pages (cited on each test), not read from
the mapping files; the mapping's rules are then shown to catch each problem of the former
file shapes, on a copy of the mapping put back to that shape.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from pathlib import Path

import pytest

from xlcrm import ExportError, export, generate_demo, load
from xlcrm.exchange.mapping import available_targets, load_mapping
from xlcrm.metrics.identity import stored_email
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import PRESETS, TODAY

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SHIPPED = Path(__file__).parents[1] / "templates" / "exports"


def rows_of(path: Path) -> list[dict[str, str]]:
    """The records of one exported CSV."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def mutated(tmp_path: Path, target: str, old: str, new: str) -> Path:
    """A copy of the shipped mapping with ``old`` replaced by ``new`` (which must be there)."""
    text = (SHIPPED / f"{target}.toml").read_text(encoding="utf-8")
    assert old in text, old
    mine = tmp_path / f"my-{target}.toml"
    mine.write_text(text.replace(old, new), encoding="utf-8")
    return mine


@pytest.fixture(scope="module")
def exports(demo_books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[tuple[str, str], Path]:
    """Every preset exported to every target, once for this module."""
    out = tmp_path_factory.mktemp("exports")
    folders = {}
    for preset in PRESETS:
        for target in available_targets():
            folder = out / f"{preset}-{target}"
            result = export(demo_books[preset], target, folder)
            assert result.errors == [], result.errors[:3]
            folders[(preset, target)] = folder
    return folders


# ----- every rule cites its page ------------------------------------------------------------
@pytest.mark.parametrize("target", ["dynamics", "hubspot", "pipedrive", "salesforce", "zoho"])
def test_every_rule_of_the_mapping_cites_a_vendor_page(target: str) -> None:
    raw = tomllib.loads((SHIPPED / f"{target}.toml").read_text(encoding="utf-8"))
    assert len(raw["rules"]) >= 8
    for rule in raw["rules"]:
        assert rule["source"].startswith("http"), rule
        assert rule.get("why"), rule
        if "UNVERIFIED" in str(rule.get("why")) or rule.get("unverified"):
            assert "searched" in rule["unverified"], rule
    for key in ("max_rows", "max_bytes", "encoding", "date_format"):
        assert raw["target"]["cite"][key].startswith("http")


def test_a_rule_without_a_page_is_refused(tmp_path: Path) -> None:
    mine = mutated(tmp_path, "zoho", 'source = "https://help.zoho.com/portal/en/kb/crm/customize-crm'
                   '-account/customizing-fields/articles/standard-modules-fields"\n', "")
    with pytest.raises(ExportError, match="cites no vendor page"):
        load_mapping("zoho", mine)


# ----- Zoho ---------------------------------------------------------------------------------
def test_zoho_leads_have_last_name_and_company_on_every_row(
        exports: dict[tuple[str, str], Path]) -> None:
    # help.zoho.com standard modules fields: Leads "Last Name*" and "Company*" mandatory
    rows = rows_of(exports[("dealer", "zoho")] / "Leads.csv")
    assert rows and all(r["Last Name"].strip() and r["Company"].strip() for r in rows)


def test_zoho_deals_link_account_by_name_and_contact_by_email(
        demo_books: dict[str, Path], exports: dict[tuple[str, str], Path]) -> None:
    folder = exports[("b2b", "zoho")]
    accounts = {r["Account Name"] for r in rows_of(folder / "Accounts.csv")}
    contacts = rows_of(folder / "Contacts.csv")
    email_of = {r["xlcrm ID"]: r["Email"] for r in contacts}
    for deal in rows_of(folder / "Deals.csv"):
        assert deal["Account Name"] in accounts
        assert deal["Contact Name"] == email_of[deal["xlcrm Contact ID"]]


def test_zoho_reports_what_its_importer_would_link_otherwise(
        demo_books: dict[str, Path], tmp_path: Path) -> None:
    crm = load(demo_books["b2b"])
    contacts, deals = crm.tables["contacts"], crm.tables["deals"]
    no_email = set(contacts.loc[contacts["email"].isna(), "id"])
    expected = int(deals["contact"].isin(no_email).sum())
    result = export(demo_books["b2b"], "zoho", tmp_path)
    lost = [i for i in result.issues if "Contact Name" in i.message and i.code == "rule-one_of"]
    assert len(lost) == expected and all(i.sheet == "Deals" for i in lost)


def test_zoho_leads_without_company_are_an_error_per_lead(demo_books: dict[str, Path],
                                                          tmp_path: Path) -> None:
    mine = mutated(tmp_path, "zoho", '  { header = "Company", const = "Private buyer" },\n', "")
    result = export(demo_books["dealer"], "zoho", tmp_path / "out", mapping=mine)
    assert [i.message for i in result.errors] == [
        next(i.message for i in result.errors)]  # one problem: the file has no Company column
    assert "Company" in result.errors[0].message and "help.zoho.com" in result.errors[0].message


# ----- Pipedrive ----------------------------------------------------------------------------
def test_pipedrive_rows_carry_the_person_fields_it_merges_on(
        demo_books: dict[str, Path], exports: dict[tuple[str, str], Path]) -> None:
    # support.pipedrive.com 208048865: a person is merged on Organization, Phone or Email
    crm = load(demo_books["b2b"])
    contacts = crm.tables["contacts"].set_index("id")
    folder = exports[("b2b", "pipedrive")]
    for name in ("deals.csv", "activities.csv"):
        for row in rows_of(folder / name):
            who = contacts.loc[row["xlcrm Person ID"]]
            assert row["Person - Name"] == f"{who['first_name']} {who['last_name']}"
            assert row["Organization - Name"], row
            if isinstance(who["email"], str) and "@" in who["email"]:
                assert row["Person - Email"] == stored_email(who["email"])
    header = next(csv.reader(io.StringIO((folder / "activities.csv").read_text("utf-8"))))
    assert not [h for h in header if h.startswith("Deal - ")]  # no duplicate id for deals


def test_pipedrive_dealer_deal_creates_its_own_person(
        exports: dict[tuple[str, str], Path]) -> None:
    folder = exports[("dealer", "pipedrive")]
    deals = rows_of(folder / "deals.csv")
    assert not (folder / "people.csv").exists()
    assert all(r["Person - Last name"] and r["Deal - Title"] for r in deals)
    by_id = {r["Person - xlcrm ID"]: r for r in deals}
    for act in rows_of(folder / "activities.csv"):
        person = by_id[act["xlcrm Person ID"]]
        assert (act["Person - Email"], act["Person - Phone"]) == (
            person["Person - Email"], person["Person - Phone"])


def test_pipedrive_activity_with_a_deal_column_is_an_error(demo_books: dict[str, Path],
                                                           tmp_path: Path) -> None:
    mine = mutated(tmp_path, "pipedrive", '{ header = "xlcrm Deal ID", value = "deal"',
                   '{ header = "Deal - Title", value = "deal.name" },\n  '
                   '{ header = "xlcrm Deal ID", value = "deal"')
    result = export(demo_books["b2b"], "pipedrive", tmp_path / "out", mapping=mine)
    assert [i.code for i in result.errors] == ["rule-no_column"]
    assert "208048865" in result.errors[0].message


# ----- Dynamics 365 -------------------------------------------------------------------------
CLOSED_LEAD = {"Shown", "Negotiation", "Sold", "Lost"}  # Qualified or Lost Status Reasons
CLOSED_DEAL = {"Payment received", "Delivery", "Lost"}  # Won or Lost


def test_dynamics_creates_open_records_and_closes_them_in_a_second_step(
        demo_books: dict[str, Path], exports: dict[tuple[str, str], Path]) -> None:
    # lead/opportunity entity reference: StateCode IsValidForCreate False
    leads = load(demo_books["dealer"]).tables["leads"]
    folder = exports[("dealer", "dynamics")]
    assert {r["Status Reason"] for r in rows_of(folder / "Lead.csv")} <= {"New", "Contacted"}
    closing = rows_of(folder / "Lead - close.csv")
    assert len(closing) == int(leads["stage"].isin(CLOSED_LEAD).sum())
    assert {r["Status"] for r in closing} <= {"Qualified", "Disqualified"}
    deals = load(demo_books["b2b"]).tables["deals"]
    folder = exports[("b2b", "dynamics")]
    assert "Status" not in rows_of(folder / "Opportunity.csv")[0]
    closing = rows_of(folder / "Opportunity - close.csv")
    assert len(closing) == int(deals["stage"].isin(CLOSED_DEAL).sum())
    with zipfile.ZipFile(folder / "Import.zip") as zf:
        assert sorted(zf.namelist()) == ["Account.csv", "Contact.csv", "Opportunity.csv"]


def test_dynamics_lookups_point_at_a_unique_referred_value(
        exports: dict[tuple[str, str], Path]) -> None:
    folder = exports[("b2b", "dynamics")]
    ids = {}
    for name in ("Account.csv", "Contact.csv"):
        values = [r["xlcrm ID"] for r in rows_of(folder / name)]
        assert len(values) == len(set(values))
        ids[name] = set(values)
    for row in rows_of(folder / "Opportunity.csv"):
        assert row["Potential Customer"] in ids["Account.csv"]  # required, and found
        assert not row["Contact"] or row["Contact"] in ids["Contact.csv"]
    assert all(r["Company Name"] in ids["Account.csv"] for r in rows_of(folder / "Contact.csv"))


def test_dynamics_closed_status_on_create_is_an_error(demo_books: dict[str, Path],
                                                      tmp_path: Path) -> None:
    leads = load(demo_books["dealer"]).tables["leads"]
    mine = mutated(tmp_path, "dynamics", 'map = "stages", table = "lead_open" }',
                   'map = "stages" }')
    result = export(demo_books["dealer"], "dynamics", tmp_path / "out", mapping=mine)
    closed = [i for i in result.errors if i.code == "rule-not_on_create"]
    assert len(closed) == int(leads["stage"].isin({"Shown", "Negotiation", "Sold", "Lost"}).sum())


# ----- HubSpot ------------------------------------------------------------------------------
def test_hubspot_each_file_links_at_most_two_objects(
        exports: dict[tuple[str, str], Path]) -> None:
    # knowledge.hubspot.com import-objects: an import takes two objects
    for preset in PRESETS:
        for f in exports[(preset, "hubspot")].glob("*.csv"):
            if f.name == "validation.csv":
                continue
            header = next(csv.reader(io.StringIO(f.read_text(encoding="utf-8"))))
            ids = [h for h in header if re.fullmatch(r"xlcrm (Contact|Company|Deal) ID", h)]
            assert 1 <= len(ids) <= 2, (f.name, ids)
    pairs = rows_of(exports[("b2b", "hubspot")] / "deal-contacts.csv")
    assert pairs and all(r["xlcrm Deal ID"] and r["xlcrm Contact ID"] for r in pairs)


@pytest.mark.parametrize("preset", PRESETS)
def test_hubspot_warns_of_every_contact_that_shares_an_email(tmp_path: Path,
                                                            preset: str) -> None:
    data = generate_demo(preset, leads=60, seed=8, today=TODAY)
    people = data.data["leads" if preset == "dealer" else "contacts"]
    people["email"][5] = people["email"][4] = "same.person@example.com"
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    crm = load(book)
    emails = crm.tables[crm.schema.lead_sheet]["email"].dropna().str.strip().str.lower()
    expected = int(emails.duplicated().sum())  # each later holder of an e-mail seen before
    result = export(book, "hubspot", tmp_path / "out")
    shared = [i for i in result.issues
              if i.code == "rule-unique" and "contacts.csv Email" in i.message]
    assert expected > 0 and len(shared) == expected
    assert all(i.severity == "warning" and "merged" in i.message for i in shared)


def test_hubspot_deal_linking_company_and_contact_is_an_error(demo_books: dict[str, Path],
                                                              tmp_path: Path) -> None:
    mine = mutated(tmp_path, "hubspot",
                   '  { header = "xlcrm Company ID", value = "account", ref = "companies" },\n]',
                   '  { header = "xlcrm Company ID", value = "account", ref = "companies" },\n'
                   '  { header = "xlcrm Contact ID", value = "contact", ref = "contacts" },\n]')
    result = export(demo_books["b2b"], "hubspot", tmp_path / "out", mapping=mine)
    assert [i.code for i in result.errors] == ["rule-objects_per_file"]


def test_hubspot_guide_names_the_date_format_to_choose(
        exports: dict[tuple[str, str], Path]) -> None:
    guide = (exports[("b2b", "hubspot")] / "IMPORT.md").read_text(encoding="utf-8")
    assert "Year-Month-Day" in guide and "YYYY-MM-DD" in guide
    assert guide.index("companies.csv") < guide.index("deals.csv") < guide.index(
        "deal-contacts.csv")


# ----- Salesforce ---------------------------------------------------------------------------
def test_salesforce_owner_by_username_and_no_converted_lead_on_create(
        demo_books: dict[str, Path], exports: dict[tuple[str, str], Path]) -> None:
    # Bulk API relationship header: an indexed field (User.Username has idLookup)
    for preset in PRESETS:
        for f in exports[(preset, "salesforce")].glob("*.csv"):
            header = next(csv.reader(io.StringIO(f.read_text(encoding="utf-8"))))
            assert "Owner.Email" not in header
    leads = rows_of(exports[("dealer", "salesforce")] / "Lead.csv")
    reps = load(demo_books["dealer"]).settings.lists["reps"]
    assert {r["Owner.Username"] for r in leads} <= set(reps["email"]) | {""}
    assert "Closed - Converted" not in {r["Status"] for r in leads}
    sold = load(demo_books["dealer"]).tables["leads"]["stage"].eq("Sold").sum()
    assert len(rows_of(exports[("dealer", "salesforce")] / "Lead-convert.csv")) == sold
    assert {r["LeadSource"] for r in leads} <= {"Web", "Phone Inquiry", "Partner Referral",
                                                "Purchased List", "Other"}


def test_salesforce_users_table_gives_the_username(demo_books: dict[str, Path],
                                                   tmp_path: Path) -> None:
    rep = str(load(demo_books["b2b"]).tables["accounts"]["owner"].dropna().iloc[0])
    mine = mutated(tmp_path, "salesforce", "[values.users]  # rep (as named in Settings) -> "
                   "Salesforce Username; empty: the rep's e-mail\n",
                   f'[values.users]\n"{rep}" = "{rep.split()[0].lower()}@acme.example.sandbox"\n')
    export(demo_books["b2b"], "salesforce", tmp_path / "out", mapping=mine)
    owners = {r["Owner.Username"] for r in rows_of(tmp_path / "out" / "Account.csv")}
    assert f"{rep.split()[0].lower()}@acme.example.sandbox" in owners


def test_salesforce_old_shape_is_caught(demo_books: dict[str, Path], tmp_path: Path) -> None:
    mine = mutated(tmp_path, "salesforce", 'value = "source", map = "sources" },\n  '
                   '{ header = "Status", value = "stage", map = "stages", table = "lead_create" }',
                   'value = "source" },\n  { header = "Status", value = "stage", map = "stages" }')
    text = mine.read_text(encoding="utf-8").replace('"Owner.Username"', '"Owner.Email"')
    mine.write_text(text, encoding="utf-8")
    result = export(demo_books["dealer"], "salesforce", tmp_path / "out", mapping=mine)
    codes = {i.code for i in result.errors}
    assert {"rule-no_column", "rule-picklist", "rule-not_on_create"} <= codes
    assert any('"Listing portal"' in i.message for i in result.errors)


def test_unmapped_source_is_a_clear_error(demo_books: dict[str, Path], tmp_path: Path) -> None:
    mine = mutated(tmp_path, "salesforce", 'listing_portal = "Web"\n', "")
    with pytest.raises(ExportError,
                       match=r'sources: "Listing portal".*\[values\.sources\].*--mapping'):
        export(demo_books["dealer"], "salesforce", tmp_path / "out", mapping=mine)


# ----- phones, guides -----------------------------------------------------------------------
def test_phones_that_are_not_numbers_are_reported_not_exported(tmp_path: Path) -> None:
    data = generate_demo("dealer", leads=30, seed=4, today=TODAY)
    leads = data.data["leads"]
    bad = {0: "n/a", 1: "12345", 2: "0000000000"}
    for i, text in bad.items():
        leads["phone"][i] = text
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    for target in available_targets():
        result = export(book, target, tmp_path / target)
        phones = [i for i in result.issues if i.code == "export-phone"]
        assert sorted(re.search(r'"([^"]+)"', i.message).group(1)  # type: ignore[union-attr]
                      for i in phones) == sorted(bad.values())
        text = "".join(f.read_text(encoding="utf-8-sig")
                       for f in (tmp_path / target).glob("*.csv") if f.name != "validation.csv")
        assert "+00000000" not in text and "n/a" not in text and ",12345," not in text


def test_guide_is_written_in_the_workbooks_language(tmp_path: Path) -> None:
    data = generate_demo("b2b", leads=30, seed=4, locale="it", today=TODAY)
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    for target in available_targets():
        export(book, target, tmp_path / target)
        guide = (tmp_path / target / "IMPORT.md").read_text(encoding="utf-8")
        assert "Prima della prima importazione" in guide and "- [ ] " in guide


@pytest.mark.parametrize("preset", PRESETS)
def test_every_export_folder_has_a_checklist_naming_its_files(
        exports: dict[tuple[str, str], Path], preset: str) -> None:
    for target in available_targets():
        folder = exports[(preset, target)]
        guide = (folder / "IMPORT.md").read_text(encoding="utf-8")
        for f in folder.glob("*.csv"):
            if f.name != "validation.csv":
                assert f"`{f.name}`" in guide, (target, f.name)
        assert "0 errors" in guide and "## 1." in guide and "## 3." in guide


def test_pipedrive_person_by_name_only_is_an_error(demo_books: dict[str, Path],
                                                   tmp_path: Path) -> None:
    mine = mutated(tmp_path, "pipedrive", '  { header = "Person - Email", value = "lead.email" },\n'
                   '  { header = "Person - Phone", value = "lead.phone" },\n', "")
    result = export(demo_books["dealer"], "pipedrive", tmp_path / "out", mapping=mine)
    assert [(i.code, i.message.split(":")[0]) for i in result.errors] == [
        ("rule-has_column", "activities.csv")] * 2
