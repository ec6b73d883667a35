"""Adopting a team's own spreadsheet: the records land in the right sheets, nothing is lost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlcrm import ImportFileError, adopt, check, load
from xlcrm.cli import app

TODAY = dt.date(2026, 11, 23)


def messy_workbook(path: Path) -> Path:
    """A real-world-shaped CRM sheet: titles above the header, full names, notes, odd dates."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Clients 2025"
    ws["A1"] = "ACME srl - client list"
    ws.merge_cells("A1:H1")
    ws["A2"] = "updated in March"
    ws.merge_cells("A2:H2")
    ws.append(["Full name", "Company", "Telephone", "E-mail", "Date", "Notes", "Budget",
               "Sales rep"])
    ws.append(["Mario Rossi", "Rossi Srl", "345 123 4567", "Mario@Rossi.it", "23/10/2025",
               "call back", 5000, "Luca"])
    ws.append(["Bianchi, Anna", "Verdi SpA", "0039 02 1234567", "anna@verdi.it", "05/11/2025",
               None, None, "Luca"])
    ws.append([None] * 8)
    ws.append(["Paolo Neri", "Rossi Srl", None, None, "1/2/2025", "met at the fair", None,
               "Sara"])
    ws.append([None, None, None, None, "02/03/2025", "a note with no person", None, None])
    companies = wb.create_sheet("Companies")
    companies.append(["Company name", "City", "Web", "Industry"])
    companies.append(["Rossi Srl", "Milano", "www.rossi.it", "Retail"])
    notes = wb.create_sheet("Scratch")
    notes.append(["random notes"])
    notes.append(["x"])
    wb.save(path)
    return path


def test_adopt_places_records_links_and_keeps_unknown_columns(tmp_path: Path) -> None:
    old = messy_workbook(tmp_path / "old.xlsx")
    result = adopt(old, tmp_path / "crm.xlsx", preset="b2b", today=TODAY)
    where = {s.old: (s.sheet, s.header_row, s.rows) for s in result.sheets}
    assert where["Clients 2025"] == ("contacts", 3, 3)
    assert where["Companies"] == ("accounts", 1, 1)
    assert where["Scratch"][0] is None
    crm = load(result.path)
    contacts = crm.tables["contacts"].set_index("last_name")
    accounts = crm.tables["accounts"].set_index("id")
    assert sorted(accounts["name"]) == ["Rossi Srl", "Verdi SpA"]  # no duplicate company
    rossi = accounts.index[accounts["name"] == "Rossi Srl"][0]
    assert contacts.loc["Rossi", "account"] == contacts.loc["Neri", "account"] == rossi
    assert contacts.loc["Bianchi", "first_name"] == "Anna"
    assert contacts.loc["Rossi", "phone"] == "+393451234567"
    assert contacts.loc["Rossi", "email"] == "mario@rossi.it"
    assert contacts.loc["Bianchi", "created"].date() == dt.date(2025, 11, 5)  # day first
    assert contacts.loc["Neri", "created"].date() == dt.date(2025, 2, 1)
    assert contacts.loc["Rossi", "Budget"] == 5000  # an unknown column, kept beside the table
    assert "Web" in crm.extras["accounts"]
    unplaced = "\n".join(result.unplaced)
    assert "Budget" in unplaced and "Scratch" in unplaced and "row 8" in unplaced
    confidence = {m.header: m.confidence for s in result.sheets for m in s.mapping}
    assert confidence["Telephone"] == 1.0 and confidence["Budget"] == 0.0
    assert [i for i in check(result.path).issues if i.severity == "error"] == []


def test_adopt_refuses_a_workbook_with_no_crm_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["Recipe", "Minutes"])
    wb.active.append(["Pasta", 10])
    wb.save(tmp_path / "recipes.xlsx")
    with pytest.raises(ImportFileError, match="nothing to adopt"):
        adopt(tmp_path / "recipes.xlsx", tmp_path / "crm.xlsx", preset="dealer")
    assert not (tmp_path / "crm.xlsx").exists()


def test_cli_adopt_prints_mapping_and_unplaced(tmp_path: Path) -> None:
    old = messy_workbook(tmp_path / "old.xlsx")
    run = CliRunner().invoke(app, ["adopt", str(old), str(tmp_path / "crm.xlsx"),
                                   "--preset", "dealer"])
    assert run.exit_code == 0, run.output
    assert '"Clients 2025" (header on row 3) -> leads: 3 records' in run.output
    assert "not placed" in run.output and "Budget" in run.output
    assert len(load(tmp_path / "crm.xlsx").tables["leads"]) == 3
