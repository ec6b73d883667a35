"""Importing lead files, as people really send them, adds each person once and explains the rest."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xlcrm import ImportFileError, import_leads, init, load
from xlcrm.cli import app
from xlcrm.metrics.identity import stored_phone

NOW = dt.datetime(2026, 11, 23, 9, 30)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return init(tmp_path / "crm.xlsx", preset="dealer")


def leads(path: Path):  # noqa: ANN201 - a DataFrame
    return load(path).tables["leads"]


def explained_lines(result, name: str) -> set[int]:  # noqa: ANN001
    return {r.line for r in result.rows if r.file == name and r.severity == "skipped"}


def test_semicolon_cp1252_day_first_file(book: Path, tmp_path: Path) -> None:
    text = ("Nome;Cognome;Email address;Tel;Lead date;Città\r\n"
            "Mario;Rossi;MARIO.ROSSI@Example.it;+39 345 123 4567;23/10/2026;Milano\r\n"
            "Zoë;Bianchi;zoe@example.it;;05/11/2026 14:30;Forlì\r\n"
            "José;Müller;;0039 333 1112223;01/02/2026;Bolzano\r\n")
    f = tmp_path / "fiera.csv"
    f.write_bytes(text.encode("cp1252"))
    result = import_leads(book, f, source="Walk-in", now=NOW)
    assert (result.encoding, result.delimiter, result.date_order) == ("cp1252", ";", "DMY")
    assert (result.added, result.updated, result.skipped) == (3, 0, 0)
    t = leads(book).set_index("last_name")
    assert t.loc["Bianchi", "first_name"] == "Zoë" and t.loc["Müller", "first_name"] == "José"
    assert t.loc["Bianchi", "created"] == pd_ts(2026, 11, 5, 14, 30)
    assert t.loc["Müller", "created"] == pd_ts(2026, 2, 1)  # day first, though both <= 12
    assert t.loc["Rossi", "email"] == "mario.rossi@example.it"
    assert t.loc["Rossi", "phone"] == "+393451234567"
    assert t.loc["Müller", "phone"] == "+393331112223"
    assert set(t["source"]) == {"Walk-in"}
    mapping = {m.header: m.column for m in result.mapping}
    assert mapping["Città"] is None and mapping["Tel"] == "phone"
    saved = json.loads(result.mapping_file.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert saved["columns"]["Lead date"] == "created"


def pd_ts(*args: int):  # noqa: ANN201
    import pandas as pd

    return pd.Timestamp(dt.datetime(*args))


def test_utf16_tab_file_from_excel_with_full_names_and_quoted_newlines(book: Path,
                                                                         tmp_path: Path) -> None:
    text = ("Name\tE-mail\tPhone\tNotes\r\n"
            "Anna Verdi\tanna.verdi@example.com\t\"333 444 5555\"\t\"called twice\r\nasks for a"
            " test drive\"\r\n"
            "\"Neri, Luca\"\tluca@example.com\t\t\r\n")
    f = tmp_path / "portal.txt"
    f.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    result = import_leads(book, f, source="Listing portal", now=NOW)
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    assert result.added == 2
    t = leads(book).set_index("last_name")
    assert (t.loc["Verdi", "first_name"], t.loc["Neri", "first_name"]) == ("Anna", "Luca")
    assert t.loc["Verdi", "notes"] == "called twice\nasks for a test drive"
    assert t.loc["Verdi", "phone"] == stored_phone("333 444 5555", "IT")
    assert list(t["created"].unique()) == [pd_ts(2026, 11, 23, 9, 30)]  # stamped first touch


def test_bom_file_with_duplicates_then_second_import_adds_nothing(book: Path,
                                                                  tmp_path: Path) -> None:
    text = ("\ufeffFirst name,Last name,Email,Phone,Source\r\n"
            "Paola,Ricci,paola@example.com,,Referral\r\n"         # line 2
            "Paola,Ricci,PAOLA@example.com ,,Referral\r\n"        # line 3: same e-mail
            "Marco,Gallo,,+39 347 000 1111,Referral\r\n"          # line 4
            "Marco,Gallo,,0039 347 0001111,Referral\r\n"          # line 5: same phone
            ",,,,\r\n"                                             # line 6: blank, ignored
            "Nobody,,not-an-email,,Referral\r\n"                  # line 7: nothing to keep
            "Elena,Fabbri,elena@example.com,,Referral\r\n")       # line 8
    f = tmp_path / "web-form.csv"
    f.write_text(text, encoding="utf-8")
    first = import_leads(book, f, now=NOW)
    assert first.encoding == "utf-8-sig"
    assert (first.added, first.skipped) == (3, 3)
    assert explained_lines(first, f.name) == {3, 5, 7}
    assert len(leads(book)) == 3
    second = import_leads(book, f, now=NOW + dt.timedelta(days=1))
    assert (second.added, second.updated, second.skipped) == (0, 0, 6)
    assert explained_lines(second, f.name) == {2, 3, 4, 5, 7, 8}  # every skip explained
    assert len(leads(book)) == 3
    assert all(r.message for r in second.rows)


def test_update_fills_new_data_and_keeps_first_touch(book: Path, tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("Last name,Email,Source,Created\nRicci,p@example.com,Referral,2026-10-01\n",
                 encoding="utf-8")
    import_leads(book, f, now=NOW)
    g = tmp_path / "b.csv"
    g.write_text("Last name,Email,Phone,Source,Created\n"
                 "Ricci,P@example.com,+39 333 123 4567,Walk-in,2026-11-20\n", encoding="utf-8")
    result = import_leads(book, g, now=NOW)
    assert (result.added, result.updated) == (0, 1)
    row = leads(book).iloc[0]
    assert row["phone"] == "+393331234567"
    assert row["source"] == "Referral" and row["created"] == pd_ts(2026, 10, 1)


def test_xlsx_with_title_rows_and_fuzzy_headers(book: Path, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "Trade show leads, autumn"
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["Surname", "E-mial adress", "Mobil", "Remarks"])
    ws.append(["Conti", "conti@example.com", "3471112222", "wants a van"])
    f = tmp_path / "show.xlsx"
    wb.save(f)
    result = import_leads(book, f, source="Walk-in", now=NOW)
    by = {m.header: m for m in result.mapping}
    assert by["Surname"].column == "last_name" and by["Surname"].confidence == 1.0
    assert by["E-mial adress"].column == "email" and 0.8 <= by["E-mial adress"].confidence < 1
    assert result.added == 1
    assert leads(book).iloc[0]["email"] == "conti@example.com"


def test_dry_run_writes_nothing(book: Path, tmp_path: Path) -> None:
    before = book.read_bytes()
    f = tmp_path / "x.csv"
    f.write_text("Last name,Email\nRicci,r@example.com\n", encoding="utf-8")
    result = import_leads(book, f, source="Referral", dry_run=True, now=NOW)
    assert result.added == 1 and result.dry_run
    assert book.read_bytes() == before


def test_saved_mapping_is_reused(book: Path, tmp_path: Path) -> None:
    f = tmp_path / "odd.csv"
    f.write_text("Col1,Col2\nRicci,r@example.com\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="no column matches"):
        import_leads(book, f, now=NOW)
    m = tmp_path / "mine.json"
    m.write_text(json.dumps({"columns": {"Col1": "last_name", "Col2": "email"}}),
                 encoding="utf-8")
    result = import_leads(book, f, mapping=m, source="Referral", now=NOW)
    assert result.added == 1 and {x.how for x in result.mapping} == {"saved"}


def test_cli_import_prints_mapping_and_summary(book: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("Last name,Email\nRicci,r@example.com\nRicci,r@example.com\n",
                 encoding="utf-8")
    run = CliRunner().invoke(app, ["import", str(book), str(f), "--source", "Referral"])
    assert run.exit_code == 0, run.output
    assert '"Email" -> email' in run.output
    assert "x.csv:3: duplicate of line 2" in run.output
    assert "added 1, updated 0, skipped 1" in run.output
    assert len(leads(book)) == 1


def test_import_copy_leaves_original(tmp_path: Path, book: Path) -> None:
    copy = tmp_path / "copy.xlsx"
    shutil.copy(book, copy)
    f = tmp_path / "x.csv"
    f.write_text("Last name\nRicci\n", encoding="utf-8")
    import_leads(copy, f, source="Referral", now=NOW)
    assert len(leads(copy)) == 1 and len(leads(book)) == 0


def test_conflicting_duplicates_first_line_wins_and_reimport_changes_nothing(
        book: Path, tmp_path: Path) -> None:
    f = tmp_path / "dupes.csv"
    f.write_text("Last name,Email,Phone\n"
                 "Ricci,r@example.com,\n"
                 "Rizzi,R@example.com,+39 333 123 4567\n", encoding="utf-8")
    first = import_leads(book, f, source="Referral", now=NOW)
    assert (first.added, first.updated) == (1, 1)  # line 3 only fills the empty phone
    row = leads(book).iloc[0]
    assert (row["last_name"], row["phone"]) == ("Ricci", "+393331234567")
    assert row["stage"] == "New"  # a new lead starts at the first stage of Settings
    second = import_leads(book, f, source="Referral", now=NOW)
    assert (second.added, second.updated, second.skipped) == (0, 0, 2)


def test_unknown_source_is_stamped_and_flagged(book: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("Last name\nRicci\n", encoding="utf-8")
    result = import_leads(book, f, source="Autumn fair", now=NOW)
    assert result.added == 1 and leads(book).iloc[0]["source"] == "Autumn fair"
    assert [(r.line, r.severity) for r in result.rows] == [(1, "warning")]
    assert "Settings > Sources" in result.rows[0].message
