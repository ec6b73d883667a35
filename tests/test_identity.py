"""One rule for who is the same person: import and clean agree, and each normaliser does what
its docstring promises, with expectations written by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import phonenumbers
import pytest

from xlcrm import import_leads, init, load
from xlcrm.metrics.duplicates import find_duplicates, group_pairs
from xlcrm.metrics.identity import (
    company_key,
    email_key,
    is_email,
    name_key,
    phone_key,
    stored_email,
    stored_phone,
)

NOW = dt.datetime(2026, 11, 23, 9, 30)


# ----- import and clean agree ------------------------------------------------------------------
def test_import_updates_the_lead_clean_would_call_the_same_person(tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset="dealer")
    assert load(book).settings.options["phone_region"] == "IT"
    fair = tmp_path / "fair.csv"
    fair.write_text("First name,Last name,Email,Phone\r\n"
                    "John,Smith,John.Smith+fair@gmail.com,+39 345 621 1018\r\n"
                    "Anna,Verdi,anna.verdi@gmail.com,\r\n", encoding="utf-8")
    web = tmp_path / "web.csv"
    web.write_text("First name,Last name,Email,Phone,Notes\r\n"
                   "John,Smith,johnsmith@gmail.com,3456211018,asks for a test drive\r\n"
                   "Anna,Verdi,annaverdi+web@googlemail.com,,call back\r\n",  # e-mail only
                   encoding="utf-8")
    assert import_leads(book, fair, now=NOW).added == 2
    second = import_leads(book, web, now=NOW + dt.timedelta(days=1))
    assert (second.added, second.updated, second.skipped) == (0, 2, 0)
    leads = load(book).tables["leads"].set_index("last_name")
    assert len(leads) == 2
    assert leads.loc["Smith", "notes"] == "asks for a test drive"
    assert leads.loc["Verdi", "notes"] == "call back"
    # the same mailbox is no change: the cell keeps the address as first typed (stored form)
    assert leads.loc["Smith", "email"] == "john.smith+fair@gmail.com"
    assert leads.loc["Smith", "phone"] == "+393456211018"
    assert leads.loc["Verdi", "email"] == "anna.verdi@gmail.com"

    typed = pd.DataFrame({  # the same rows, as typed, in a workbook that clean searches
        "id": ["L-1", "L-2", "L-3", "L-4"], "first_name": ["John", "Anna", "John", "Anna"],
        "last_name": ["Smith", "Verdi", "Smith", "Verdi"],
        "email": ["John.Smith+fair@gmail.com", "anna.verdi@gmail.com", "johnsmith@gmail.com",
                  "annaverdi+web@googlemail.com"],
        "phone": ["+39 345 621 1018", None, "3456211018", None]})
    found = find_duplicates(typed, region="IT")
    assert group_pairs(found.pairs) == [["L-1", "L-3"], ["L-2", "L-4"]]
    assert set(found.pairs["reason"]) == {"same e-mail; same phone; same name",
                                          "same e-mail annaverdi@gmail.com; same name"}


def test_import_keeps_a_phone_it_cannot_read_as_typed_and_says_so(tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset="dealer")
    f = tmp_path / "leads.csv"
    f.write_text("Last name,Phone\r\nRossi,ask reception\r\nBianchi,347 123 4567\r\n",
                 encoding="utf-8")
    result = import_leads(book, f, now=NOW)
    assert result.added == 2
    assert [(r.line, r.severity) for r in result.rows] == [(2, "warning")]
    assert 'phone "ask reception"' in result.rows[0].message
    phones = dict(zip(load(book).tables["leads"]["last_name"], load(book).tables["leads"]["phone"]))
    assert phones == {"Rossi": "ask reception", "Bianchi": "+393471234567"}


# ----- e-mail ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "stored", "key"), [
    (" Jo.Hn+x@GoogleMail.com ", "jo.hn+x@googlemail.com", "john@gmail.com"),
    ("John.Smith+fair@gmail.com", "john.smith+fair@gmail.com", "johnsmith@gmail.com"),
    ("Anna.Verdi+news@Outlook.com", "anna.verdi+news@outlook.com", "anna.verdi@outlook.com"),
    ("m.rossi+news@libero.it", "m.rossi+news@libero.it", "m.rossi+news@libero.it"),
    ("<claire.dupont@orange.fr>", "claire.dupont@orange.fr", "claire.dupont@orange.fr"),
    ("mailto:Ana.Garcia@Telefonica.net", "ana.garcia@telefonica.net",
     "ana.garcia@telefonica.net"),
    ("mario.rossi@@example.it", "mario.rossi@example.it", None),  # repaired, but no key as typed
    ("mario.rossi@example", "mario.rossi@example", None),
    ("nobody", "nobody", None),
    ("+fair@gmail.com", "+fair@gmail.com", None),  # nothing left of the mailbox
    ("   ", None, None),
    (None, None, None),
])
def test_email_stored_form_and_mailbox_key(typed: str | None, stored: str | None,
                                           key: str | None) -> None:
    assert stored_email(typed) == stored
    assert email_key(typed) == key


@pytest.mark.parametrize("typed", [" Jo.Hn+x@GoogleMail.com ", "A.B@Example.IT", "x+y@icloud.com"])
def test_the_stored_form_has_the_same_key_as_what_was_typed(typed: str) -> None:
    assert email_key(stored_email(typed)) == email_key(typed) is not None


def test_is_email_wants_a_name_a_domain_and_a_top_level_domain() -> None:
    assert is_email(" mario@example.it ")
    assert not is_email("mario@example") and not is_email("mario rossi@example.it")
    assert not is_email("a@@b.it") and not is_email("") and not is_email(None)


# ----- phone -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "region", "stored", "key"), [
    ("+39 345 621 1018", "IT", "+393456211018", "+393456211018"),
    ("3456211018", "IT", "+393456211018", "+393456211018"),
    ("0039 345.621.1018", "US", "+393456211018", "+393456211018"),
    ("(415) 555-2671", "US", "+14155552671", "+14155552671"),
    ("tel:+34-612-345-678", "IT", "+34612345678", "+34612345678"),
    ("ask reception", "IT", "ask reception", None),
    (" 347-12 ", "IT", "347-12", None),
    ("0000000000", "IT", "0000000000", None),  # a placeholder is kept, but matches nobody
    ("", "IT", None, None),
    (None, "IT", None, None),
])
def test_phone_stored_form_and_e164_key(typed: str | None, region: str, stored: str | None,
                                        key: str | None) -> None:
    assert stored_phone(typed, region) == stored
    assert phone_key(typed, region) == key


# ----- names -----------------------------------------------------------------------------------
def test_name_key_ignores_order_case_accents_and_punctuation() -> None:
    assert name_key("Mario", "ROSSI") == name_key("Rossi", "Mario") == "mario rossi"
    assert name_key("José", "Müller-Groß") == "gross jose muller"
    assert name_key(None, "Verdi") == "verdi"


def test_company_key_sets_the_legal_form_aside() -> None:
    assert company_key("Rossi Meccanica S.r.l.") == company_key("ROSSI MECCANICA srl") \
        == "rossi meccanica"
    assert company_key("Müller & Söhne GmbH") == "muller sohne"
    assert company_key(None) == ""


def _library_key(typed: str, region: str, digits: int) -> str | None:
    """The key the phone library's full parse gives ``typed`` (``digits``: how many it has),
    with phone_key's rules: no key for an impossible number, one digit repeated, a run typed
    as a placeholder, or fewer than five digits."""
    if digits < 5:
        return None
    try:
        parsed = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        return None
    national = str(parsed.national_number)
    if not phonenumbers.is_possible_number(parsed) or len(set(national)) == 1:
        return None
    runs = ("1234567890", "0123456789", "9876543210")  # placeholders, no key
    if len(national) >= 5 and any(r.startswith(national) for r in runs):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(("typed", "key"), [
    ("+44 020 7946 0958", "+442079460958"),  # the UK trunk 0 after the country code goes
    ("+39 06 1234 5678", "+390612345678"),   # an Italian landline keeps its leading 0
    ("+1 212 555 0199", "+12125550199"),
    ("+49 151 630 04672", "+4915163004672"),
    ("+999 1234 5678", None),                # 999 is no country's code
    ("+39 3", None),
])
def test_plus_and_digits_take_the_short_way_to_the_same_key(typed: str, key: str | None) -> None:
    assert phone_key(typed, "US") == key
    try:  # the full parse of the phone library agrees, whatever the region
        parsed = phonenumbers.parse(typed, "IT")
        full = (phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_possible_number(parsed) else None)
    except phonenumbers.NumberParseException:
        full = None
    assert phone_key(typed, "IT") == full == key


def test_short_way_and_full_parse_agree_on_random_numbers() -> None:
    import random

    rnd = random.Random(19)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    for _ in range(3000):
        digits = str(rnd.choice(codes)) + rnd.choice(["", "0", "00", "1", "3"]) + "".join(
            rnd.choice("0123456789") for _ in range(rnd.randint(1, 14)))
        typed = "+" + (" ".join(digits[i:i + 3] for i in range(0, len(digits), 3))
                       if rnd.random() < 0.5 else digits)
        assert phone_key(typed, "US") == _library_key(typed, "US", len(digits)), typed


@pytest.mark.parametrize("region", ["US", "IT", "GB", "DE", "BR", "JP", "KY", "RU", "ZZ"])
def test_digits_alone_take_the_short_way_to_the_full_parse_key(region: str) -> None:
    """A number typed as digits alone (national, or a country code without "+") keys as the
    phone library's full parse keys it, in every region (ZZ: an unknown one)."""
    import random

    rnd = random.Random(23)
    for _ in range(1500):
        typed = rnd.choice(["", "0", "00", "1", "39", "44", "011"]) + "".join(
            rnd.choice("0123456789") for _ in range(rnd.randint(3, 15)))
        if typed.startswith("00") and typed[2:3] in "123456789":
            continue  # "00" is read as "+": the test above covers those
        assert phone_key(typed, region) == _library_key(typed, region, len(typed)), typed
