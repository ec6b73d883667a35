"""The presets and locales describe consistent workbooks, in every shipped language."""

from __future__ import annotations

import pytest

from xlcrm import SchemaError, UnknownPresetError, load_schema
from xlcrm.schema import COLUMN_TYPES, load_locale, normalize_header

from ._helpers import LOCALES, PRESETS


def test_presets_and_locales_ship() -> None:
    assert {"b2b", "dealer"} <= set(PRESETS)
    assert {"en", "it"} <= set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_label_is_translated(preset: str, locale: str) -> None:
    assert load_schema(preset, locale).missing_labels() == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_headers_are_unique_and_distinguishable(preset: str, locale: str) -> None:
    schema = load_schema(preset, locale)
    for sheet in schema.data_sheets:
        normalized = [normalize_header(h) for h in sheet.headers]
        assert len(set(normalized)) == len(normalized), sheet.name
    names = [s.name for s in schema.sheets]
    assert len(set(names)) == len(names)
    assert all(len(name) <= 31 for name in names)


@pytest.mark.parametrize("preset", PRESETS)
def test_dropdowns_have_their_lists(preset: str) -> None:
    schema = load_schema(preset)
    for _, col in schema.all_headers():
        assert col.type in COLUMN_TYPES
        if col.type == "choice" and col.list != "reps":  # a new team enters its own reps
            assert schema.settings_list(str(col.list)).items, col.key


def test_b2b_has_the_sheets_the_team_needs() -> None:
    schema = load_schema("b2b")
    keys = [s.key for s in schema.data_sheets]
    assert keys == ["accounts", "contacts", "deals", "activities", "tasks", "campaigns",
                    "tickets", "documents", "plans"]
    assert schema.sheet("accounts").column("parent").ref == ("accounts",)
    deals = schema.sheet("deals")
    for key in ("stage", "amount", "close_date", "probability", "lost_reason", "competitor"):
        assert deals.has_column(key)
    assert deals.column("probability").formula == "probability"
    types = schema.settings_list("ticket_types").items
    assert types == ["Complaint", "Request", "Suggestion"]
    docs = schema.settings_list("document_types").items
    assert docs == ["Contract", "Invoice", "Payment", "Delivery"]
    assert schema.settings_list("directions").items == ["Inbound", "Outbound"]


def test_dealer_leads_carry_the_milestones() -> None:
    schema = load_schema("dealer")
    leads = schema.sheet("leads")
    assert [m.key for m in schema.milestones] == ["lead", "contact", "appointment", "show",
                                                  "sale"]
    for m in schema.milestones:
        assert m.sheet == "leads" and leads.has_column(m.column)
    assert leads.column("source").list == "sources"
    assert leads.column("vehicle").header == "Vehicle of interest"


def test_milestones_are_named_per_preset_and_language() -> None:
    assert [m.label for m in load_schema("b2b").milestones] == [
        "New lead", "Two-way contact", "Meeting booked", "Meeting held", "Won"]
    assert [m.label for m in load_schema("dealer", "it").milestones][1:] == [
        "Contatto bidirezionale", "Appuntamento fissato", "Appuntamento avvenuto", "Venduto"]


def test_stages_have_probabilities_in_range() -> None:
    for preset in PRESETS:
        for row in load_schema(preset).settings_list("stages").rows:
            assert 0 <= row[1] <= 1


def test_italian_labels_and_formats() -> None:
    schema = load_schema("dealer", "it")
    assert schema.sheet("leads").name == "Lead"
    assert schema.settings_sheet.name == "Impostazioni"
    assert schema.sheet("leads").column("source").header == "Fonte"
    assert "Sito del concessionario" in schema.settings_list("sources").items
    assert schema.option("week_start") == "lunedì"
    loc = load_locale("it")
    assert loc.formats["date"] == "dd/mm/yyyy"
    assert loc.money_format("EUR") == '#,##0.00 "€"'
    assert load_locale("en").money_format("USD") == '"$"#,##0.00'


def test_normalize_header_ignores_case_accents_spacing_punctuation() -> None:
    assert normalize_header(" É-Mail ") == normalize_header("email") == "email"
    assert normalize_header("Città") == "citta"
    assert normalize_header("Two-way contact") == normalize_header("two way  CONTACT")


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(UnknownPresetError, match="b2b, dealer"):
        load_schema("florist")
    with pytest.raises(UnknownPresetError, match="unknown language 'xx'"):
        load_schema("dealer", "xx")


def test_broken_preset_is_reported(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import xlcrm.schema as schema_mod
    from xlcrm._resources import templates_dir

    shutil.copytree(templates_dir(), tmp_path / "t")
    text = (tmp_path / "t/presets/dealer.toml").read_text()
    (tmp_path / "t/presets/broken.toml").write_text(
        text.replace('list = "sources", required = true', 'list = "nowhere"', 1))
    (tmp_path / "t/presets/invalid.toml").write_text("[preset\n")
    monkeypatch.setattr(schema_mod, "templates_dir", lambda: tmp_path / "t")
    schema_mod.available_presets.cache_clear()
    with pytest.raises(SchemaError, match="column 'source' needs a Settings list"):
        schema_mod.load_schema("broken")
    with pytest.raises(SchemaError, match="not valid TOML"):
        schema_mod.load_schema("invalid")
    schema_mod.available_presets.cache_clear()
