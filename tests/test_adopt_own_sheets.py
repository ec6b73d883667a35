"""Adopting the sheets our first users really keep: their languages, dealers' words, yes/no
columns, one tab per salesperson, dates in columns xlcrm has no place for."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlcrm import adopt, load
from xlcrm.cli import DONE, app

TODAY = dt.date(2026, 11, 23)
runner = CliRunner()


def dealer_tabs(path: Path) -> Path:
    """One tab per salesperson, Italian and English headers mixed as people write them."""
    wb = openpyxl.Workbook()
    rows = {
        "Marco": [["Anna Maria De Luca", "+39 333 1234567", dt.datetime(2026, 10, 5), "Y",
                   "Panda", dt.datetime(2026, 10, 7), "07/10/2026"],
                  ["Giuseppe Di Stefano", None, dt.datetime(2026, 10, 6), "N", "500X",
                   dt.datetime(2026, 10, 9), "09/10/2026"]],
        "Giulia": [["Carmela Lo Russo", "347 765 4321", dt.datetime(2026, 10, 12), "n", "Tipo",
                    None, None],
                   ["Rossi, Mario", "abc", "13/10/2026", "y", "Ypsilon",
                    dt.datetime(2026, 10, 20), "20/10/2026"]],
    }
    for rep, records in rows.items():
        ws = wb.create_sheet(rep)
        ws.append(["Nominativo", "Telefono", "Data contatto", "Sold?", "Car", "Test drive",
                   "Richiamare il"])
        for record in records:
            ws.append(record)
        for row in ws.iter_rows(min_row=2):
            for cell in (row[2], row[5]):
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "dd/mm/yyyy"
    del wb["Sheet"]
    wb.save(path)
    return path


def test_a_dealers_tabs_per_salesperson(tmp_path: Path) -> None:
    old = dealer_tabs(tmp_path / "old.xlsx")
    before = old.read_bytes()
    result = adopt(old, tmp_path / "crm.xlsx", today=TODAY)
    assert old.read_bytes() == before
    crm = load(result.path)
    leads = crm.tables["leads"].set_index("last_name")
    assert list(leads.index) == ["De Luca", "Di Stefano", "Lo Russo", "Rossi"]
    assert leads.loc["De Luca", "first_name"] == "Anna Maria"
    assert leads.loc["Rossi", "first_name"] == "Mario"
    # Data contatto is when the lead came in, typed or a real date
    assert leads.loc["De Luca", "created"] == dt.datetime(2026, 10, 5)
    assert leads.loc["Rossi", "created"] == dt.datetime(2026, 10, 13)
    # the tab names the salesperson; Car is the vehicle
    assert dict(leads["rep"]) == {"De Luca": "Marco", "Di Stefano": "Marco",
                                  "Lo Russo": "Giulia", "Rossi": "Giulia"}
    assert leads.loc["Lo Russo", "vehicle"] == "Tipo"
    # Sold? Y/N: a yes is a sale on the lead's own day, and the stage that is won
    assert leads.loc["De Luca", "sold"] == dt.datetime(2026, 10, 5)
    assert leads.loc["Rossi", "sold"] == dt.datetime(2026, 10, 13)
    assert leads[["sold"]].loc[["Di Stefano", "Lo Russo"]].isna().all().all()
    assert leads.loc["De Luca", "stage"] == "Sold"
    assert any("Sold?: yes/no, read as Sold: 1 yes" in line for line in result.unplaced)
    # the unreadable phone is said, at its cell, and kept as typed for a person
    assert any("Giulia!B3 (Telefono)" in line and '"abc"' in line for line in result.unplaced)
    # each choice with its confidence; the salesperson from the tab is a likely guess
    shown = {str(m) for s in result.sheets for m in s.mapping}
    assert '"Data contatto" -> created (label, 100%)' in shown
    assert '"(sheet name) Marco" -> rep (sheet name, 75%)' in shown
    # kept columns: dates stay dates, text dates become dates, in a date format
    book = openpyxl.load_workbook(result.path)
    ws = book["Leads"]
    header = [c.value for c in ws[1]]
    test_drive, call_back = header.index("Test drive") + 1, header.index("Richiamare il") + 1
    assert ws.cell(2, test_drive).value == dt.datetime(2026, 10, 7)
    assert ws.cell(5, call_back).value == dt.datetime(2026, 10, 20)
    for col in (test_drive, call_back):
        assert ws.cell(2, col).is_date and "y" in ws.cell(2, col).number_format


def test_each_choice_is_changed_through_the_saved_mapping(tmp_path: Path) -> None:
    old = dealer_tabs(tmp_path / "old.xlsx")
    first = adopt(old, tmp_path / "crm.xlsx", today=TODAY)
    saved = Path(str(first.mapping_file))
    assert saved == tmp_path / "old.xlcrm-adopt.json"
    choices = json.loads(saved.read_text(encoding="utf-8"))
    assert choices["sheets"]["Giulia"]["salesperson"] == "Giulia"
    choices["sheets"]["Giulia"]["salesperson"] = "Giulia Bianchi"
    choices["sheets"]["Marco"]["columns"]["Test drive"] = "appointment_shown"
    saved.write_text(json.dumps(choices), encoding="utf-8")
    cli = runner.invoke(app, ["adopt", str(old), str(tmp_path / "crm.xlsx"), "--map",
                              str(saved), "--force"])
    assert cli.exit_code == DONE, cli.output
    assert '"(sheet name) Giulia Bianchi" -> rep (saved, 100%)' in cli.output
    assert '"Test drive" -> appointment_shown (saved, 100%)' in cli.output
    leads = load(tmp_path / "crm.xlsx").tables["leads"].set_index("last_name")
    assert leads.loc["Rossi", "rep"] == "Giulia Bianchi"
    assert leads.loc["De Luca", "appointment_shown"] == dt.datetime(2026, 10, 7)
    # the same old file, adopted again with the same choices, gives the same records
    again = adopt(old, tmp_path / "again.xlsx", today=TODAY)
    assert again.records == {"leads": 4}


def test_one_sheet_named_like_a_list_names_nobody(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    for tab in ("Clienti", "Archivio 2025"):
        ws = wb.create_sheet(tab)
        ws.append(["Nome", "Cognome", "Telefono"])
        ws.append(["Anna", "Neri" if tab == "Clienti" else "Bassi", "+39 345 000 1111"])
    del wb["Sheet"]
    wb.save(tmp_path / "old.xlsx")
    result = adopt(tmp_path / "old.xlsx", tmp_path / "crm.xlsx", today=TODAY)
    assert load(result.path).tables["leads"]["rep"].isna().all()


@pytest.mark.parametrize(("language", "headers"), [
    ("English", ["Customer", "Phone", "Date in", "Sales guy", "Car", "Sold?"]),
    ("Italian", ["Nominativo", "Cellulare", "Data", "Venditore", "Vettura", "Venduto"]),
    ("Hungarian", ["Név", "Telefonszám", "Dátum", "Értékesítő", "Autó", "Eladva"]),
    ("Russian", ["ФИО", "Телефон", "Дата обращения", "Менеджер", "Автомобиль", "Продано"]),
    ("Kyrgyz", ["Аты-жөнү", "Телефон номери", "Кайрылган күнү", "Сатуучу", "Унаа",
                "Сатылды"]),
    ("German", ["Kunde", "Telefonnummer", "Datum", "Verkäufer", "Fahrzeug", "Verkauft"]),
    ("French", ["Nom complet", "Téléphone", "Date de contact", "Vendeur", "Voiture", "Vendu"]),
    ("Spanish", ["Nombre completo", "Teléfono", "Fecha", "Vendedor", "Coche", "Vendido"]),
])
def test_headers_in_our_users_languages(language: str, headers: list[str],
                                         tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = language
    ws.append(headers)
    yes = {"Hungarian": "igen", "Russian": "да", "Kyrgyz": "ооба", "German": "ja",
           "French": "oui", "Spanish": "sí"}.get(language, "Y")
    no = {"Hungarian": "nem", "Russian": "нет", "Kyrgyz": "жок", "German": "nein",
          "French": "non"}.get(language, "N")
    ws.append(["Anna Maria De Luca", "+39 333 1234567", dt.datetime(2026, 10, 5), "Luca",
               "Panda", yes])
    ws.append(["Di Stefano, Giuseppe", "+39 333 7654321", dt.datetime(2026, 10, 6), "Luca",
               "Tipo", no])
    wb.save(tmp_path / "old.xlsx")
    result = adopt(tmp_path / "old.xlsx", tmp_path / "crm.xlsx", today=TODAY)
    mapping = {m.header: m.column for s in result.sheets for m in s.mapping}
    assert [mapping[h] for h in headers] == ["full_name", "phone", "created", "rep",
                                             "vehicle", "sold"], mapping
    leads = load(result.path).tables["leads"].set_index("last_name")
    assert leads.loc["De Luca", "first_name"] == "Anna Maria"
    assert leads.loc["Di Stefano", "first_name"] == "Giuseppe"
    assert leads.loc["De Luca", "sold"] == dt.datetime(2026, 10, 5)
    assert leads.loc["Di Stefano", "sold"] != leads.loc["Di Stefano", "sold"]  # NaT
    assert leads.loc["De Luca", "created"] == dt.datetime(2026, 10, 5)


def test_the_old_file_imported_after_its_adoption_adds_nothing(tmp_path: Path) -> None:
    from xlcrm import import_leads

    old = dealer_tabs(tmp_path / "old.xlsx")
    result = adopt(old, tmp_path / "crm.xlsx", today=TODAY)
    again = import_leads(result.path, old, now=dt.datetime(2026, 11, 24, 9, 0))
    assert (again.added, again.updated) == (0, 0)  # the first tab: one by phone, one by name
    assert len(load(result.path).tables["leads"]) == 4


def test_a_lead_file_with_dealer_headers_and_a_yes_no_sale(tmp_path: Path) -> None:
    from xlcrm import import_leads, init

    book = init(tmp_path / "crm.xlsx")
    file = tmp_path / "showroom.csv"
    file.write_text("Name,Phone,Date in,Sales guy,Car,Sold?\n"
                    "Anna Maria De Luca,+39 333 1234567,05/10/2026,Luca,Panda,Y\n"
                    "Giuseppe Di Stefano,+39 333 7654321,06/10/2026,Luca,Tipo,N\n",
                    encoding="utf-8")
    first = import_leads(book, file, now=dt.datetime(2026, 11, 23, 9, 0))
    assert (first.added, first.rows) == (2, [])  # no "Y is not a date"
    leads = load(book).tables["leads"].set_index("last_name")
    assert leads.loc["De Luca", "sold"] == dt.datetime(2026, 10, 5)
    assert leads.loc["De Luca", "stage"] == "Sold"
    assert leads.loc["Di Stefano", "sold"] != leads.loc["Di Stefano", "sold"]  # NaT
    assert (leads.loc["Di Stefano", "rep"], leads.loc["Di Stefano", "vehicle"]) == ("Luca",
                                                                                  "Tipo")
    again = import_leads(book, file, now=dt.datetime(2026, 11, 24, 9, 0))
    assert (again.added, again.updated) == (0, 0)
