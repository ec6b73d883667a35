"""Day one in a team's hands: a new workbook, a first lead file, then every command.

A newcomer follows the README (init, import) and then runs every command on a workbook with no
activities, deals, tasks or history: each one ends with what it did, says which sheet is still
empty, and never shows a traceback. The files are as ugly as the ones people really send.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import xlcrm
from xlcrm import SchemaError, check, import_leads, init, load
from xlcrm.cli import DONE, PROBLEMS, REFUSED, app
from xlcrm.exchange.matching import split_name

runner = CliRunner()
NOW = dt.datetime(2026, 11, 23, 9, 30)
TODAY = "2026-11-23"

#: a lead list as a fair's form exports it: a full name column (particles, "Last, First"),
#: rows without e-mail or phone, a bad e-mail and unreadable phones on the same rows
UGLY_LEADS = (
    "Name,Email,Phone,Source,Created\r\n"
    "Anna Maria De Luca,anna@example.com,+39 333 1234567,Web,02/11/2026\r\n"
    "Giuseppe Di Stefano,,,Web,03/11/2026\r\n"
    '"Rossi, Mario",mario@example,abc,Web,04/11/2026\r\n'
    "Carmela Lo Russo,carmela@example.com,=1+2,Web,05/11/2026\r\n"
    "Paolo Bianchi,n/a,12345,Web,06/11/2026\r\n"
    "Paolo Bianchi,,,Web,07/11/2026\r\n"
)


def _ugly_file(folder: Path) -> Path:
    path = folder / "fair.csv"
    path.write_text(UGLY_LEADS, encoding="utf-8")
    return path


def _runs(book: Path, tmp: Path) -> list[list[str]]:
    """Every command that works on an existing workbook, as a newcomer would type it."""
    return [
        ["check", str(book)],
        ["update", str(book), "--today", TODAY],
        ["update", str(book), "--today", TODAY, "--dry-run"],
        ["report", str(book), "--out", str(tmp / "reports"), "--today", TODAY, "--html"],
        ["agenda", str(book), "--date", TODAY],
        ["score", str(book), "--today", TODAY],
        ["clean", str(book), "--today", TODAY],
        ["assign", str(book)],
        ["export", str(book), "--to", "hubspot", "--out", str(tmp / "export")],
    ]


@pytest.mark.parametrize("preset", ["dealer", "b2b"])
@pytest.mark.parametrize("with_import", [False, True], ids=["new", "imported"])
def test_every_command_on_a_new_workbook(preset: str, with_import: bool,
                                         tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset=preset)
    people = load(book).schema.sheet(load(book).schema.lead_sheet).name
    if with_import:
        done = runner.invoke(app, ["import", str(book), str(_ugly_file(tmp_path))])
        assert done.exit_code == DONE, done.output
    for args in _runs(book, tmp_path):
        result = runner.invoke(app, args)
        assert "Traceback" not in result.output and "bug in xlcrm" not in result.output, (
            args, result.output)
        assert result.exit_code in ((DONE, PROBLEMS) if args[0] == "export" else (DONE,)), (
            args, result.output)
        if args[0] in ("update", "report", "score", "clean") and not with_import:
            assert f"note: {people} has no records yet" in result.output, (args, result.output)
        if args[0] in ("update", "report"):
            assert "Activities has no records yet" in result.output, (args, result.output)
        if args[0] == "agenda":
            assert "Tasks has no records yet" in result.output
    # the report says the week is empty rather than inventing numbers
    made = sorted((tmp_path / "reports").glob("*.xlsx"))
    assert len(made) == 1


def test_a_new_workbook_names_the_command_that_rewrites_each_owned_sheet(
        tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(init(tmp_path / "crm.xlsx", preset="b2b"))
    expected = {"Tally": "`xlcrm update`", "Dashboard": "`xlcrm update`",
                "Agenda": "`xlcrm agenda`", "Merge log": "`xlcrm clean --apply`",
                "Data quality": "`xlcrm clean`", "Lead scores": "`xlcrm score`",
                "RFM": "`xlcrm score`"}
    for sheet, command in expected.items():
        banner, placeholder = book[sheet]["A1"].value, book[sheet]["A3"].value
        assert command in banner, (sheet, banner)
        assert command.split()[1].rstrip("`") in placeholder, (sheet, placeholder)
        if sheet not in ("Tally", "Dashboard"):
            assert "xlcrm update" not in banner + placeholder, sheet


# ----- import: ugly files, identity, names, phones ------------------------------------------
def test_ugly_lead_file_lands_once_with_every_problem_reported(tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset="dealer")
    file = _ugly_file(tmp_path)
    first = import_leads(book, file, now=NOW)
    assert (first.added, first.updated, first.skipped) == (6, 0, 0)
    warnings = {(r.line, r.message.split(";")[0]) for r in first.rows if r.severity == "warning"}
    assert warnings == {
        (4, 'e-mail "mario@example" is not an e-mail address'),
        (4, 'phone "abc" is not a phone number of IT or with a country code'),
        (5, 'phone "=1+2" is not a phone number of IT or with a country code'),
        (6, 'e-mail "n/a" is not an e-mail address'),
        (6, 'phone "12345" is not a phone number of IT or with a country code'),
    }
    leads = load(book).tables["leads"].set_index("created")
    names = {(r.first_name, r.last_name) for r in leads.itertuples()}
    assert names == {("Anna Maria", "De Luca"), ("Giuseppe", "Di Stefano"), ("Mario", "Rossi"),
                     ("Carmela", "Lo Russo"), ("Paolo", "Bianchi")}
    # two Paolo Bianchi, no contact data, different days: two people
    assert len(leads) == 6
    # every phone kept as typed is flagged by check, at its cell
    found = {(i.cell, i.code) for i in check(book).issues if i.code == "bad-phone"}
    assert found == {("F4", "bad-phone"), ("F5", "bad-phone"), ("F6", "bad-phone")}
    again = import_leads(book, file, now=NOW + dt.timedelta(days=1))
    assert (again.added, again.updated) == (0, 0)
    assert len(load(book).tables["leads"]) == 6
    by_name = {r.line: r.message for r in again.rows if r.severity == "skipped"}
    assert "same name" in by_name[3] and "same name" in by_name[7]


def test_a_row_without_contact_data_matches_its_name_only_when_nothing_disagrees(
        tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset="b2b")
    first = tmp_path / "a.csv"
    first.write_text("First name,Last name,Created\nLuca,Verdi,01/11/2026\n"
                     "Luca,Verdi,02/11/2026\n", encoding="utf-8")
    assert import_leads(book, first, now=NOW).added == 2  # came in on two days: two people
    later = tmp_path / "b.csv"
    later.write_text("First name,Last name,Created\nLUCA,verdi,01/11/2026\n"
                     "Luca,Verdi,03/11/2026\nLuca,Verdi,\n", encoding="utf-8")
    result = import_leads(book, later, now=NOW)
    assert result.added == 1  # the 3rd of November is a third; the others are known
    assert len(load(book).tables["contacts"]) == 3


def test_dry_run_writes_no_mapping_and_a_saved_guess_keeps_its_confidence(
        tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx", preset="dealer")
    file = tmp_path / "leads.csv"
    file.write_text("Last name,E-mial\nRossi,rossi@example.com\n", encoding="utf-8")
    before = book.read_bytes()
    dry = import_leads(book, file, dry_run=True, now=NOW)
    assert dry.mapping_file is None and not (tmp_path / "leads.xlcrm-map.json").exists()
    assert book.read_bytes() == before
    guess = {m.header: m for m in dry.mapping}["E-mial"]
    assert (guess.column, guess.how) == ("email", "fuzzy") and guess.confidence < 1
    done = import_leads(book, file, now=NOW)
    saved = Path(str(done.mapping_file))
    again = {m.header: m for m in import_leads(book, file, now=NOW).mapping}["E-mial"]
    assert (again.how, again.confidence) == ("saved", guess.confidence)
    # a person's own change in the file is certain
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["columns"]["E-mial"] = "notes"
    saved.write_text(json.dumps(data), encoding="utf-8")
    mine = {m.header: m for m in import_leads(book, file, now=NOW).mapping}["E-mial"]
    assert (mine.column, mine.how, mine.confidence) == ("notes", "saved", 1.0)


@pytest.mark.parametrize(("full", "first", "last"), [
    ("Anna Maria De Luca", "Anna Maria", "De Luca"),
    ("Giuseppe Di Stefano", "Giuseppe", "Di Stefano"),
    ("Carmela Lo Russo", "Carmela", "Lo Russo"),
    ("Ludwig van der Berg", "Ludwig", "van der Berg"),
    ("Omar bin Said", "Omar", "bin Said"),
    ("Rossi, Mario", "Mario", "Rossi"),
    ("De Luca, Anna Maria", "Anna Maria", "De Luca"),
    ("ROSSI Mario", "Mario", "ROSSI"),
    ("Seán O'Brien", "Seán", "O'Brien"),
    ("Mario Rossi", "Mario", "Rossi"),
    ("Cher", None, "Cher"),
])
def test_names_split_at_surname_particles_and_last_first(full: str, first: str | None,
                                                        last: str) -> None:
    assert split_name(full) == (first, last)


# ----- arguments: names in any case, currencies, reps, future days, flags ---------------------
def test_names_in_any_case_and_currencies_by_iso_4217(tmp_path: Path) -> None:
    made = runner.invoke(app, ["init", str(tmp_path / "a.xlsx"), "--preset", "B2B",
                               "--locale", "IT", "--currency", "eur"])
    assert made.exit_code == DONE, made.output
    crm = load(tmp_path / "a.xlsx")
    assert (crm.schema.preset, crm.schema.locale.code) == ("b2b", "it")
    assert crm.settings.options["currency"] == "EUR"
    euro = runner.invoke(app, ["init", str(tmp_path / "b.xlsx"), "--currency", "euro"])
    assert euro.exit_code == REFUSED and 'did you mean "EUR"' in euro.output
    assert not (tmp_path / "b.xlsx").exists()
    with pytest.raises(SchemaError, match="ISO 4217"):
        init(tmp_path / "c.xlsx", currency="EURO")
    out = runner.invoke(app, ["export", str(tmp_path / "a.xlsx"), "--to", "HubSpot",
                              "--out", str(tmp_path / "x")])
    assert out.exit_code == DONE, out.output


def test_agenda_of_an_unknown_salesperson_is_refused(tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx")
    before = book.read_bytes()
    result = runner.invoke(app, ["agenda", str(book), "--rep", "Nobody"])
    assert result.exit_code == REFUSED
    assert '--rep "Nobody": no salesperson of that name' in result.output
    assert book.read_bytes() == before


def test_a_future_today_is_warned(tmp_path: Path) -> None:
    book = init(tmp_path / "crm.xlsx")
    later = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    result = runner.invoke(app, ["score", str(book), "--today", later, "--dry-run"])
    assert result.exit_code == DONE
    assert f"--today {later} is in the future" in result.output


@pytest.mark.parametrize("command", ["init", "demo", "clean", "update", "import", "adopt"])
def test_flags_show_as_flags_in_help(command: str) -> None:
    text = runner.invoke(app, [command, "--help"]).output
    lines = [line for line in text.splitlines() if "--force" in line or "--dry-run" in line]
    assert lines and not any("<bool>" in line for line in lines), text


def test_demo_refuses_an_earlier_demo_and_opens_on_its_dashboard(tmp_path: Path) -> None:
    path = xlcrm.demo(tmp_path, leads=40, seed=1, today=dt.date(2026, 11, 23),
                      run_update=False)
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode()
    names = [part.split('"')[0] for part in book.split('<sheet name="')[1:]]
    active = int(book.split('activeTab="')[1].split('"')[0])
    assert names[active] == "Dashboard"
    before = path.read_bytes()
    again = runner.invoke(app, ["demo", str(tmp_path), "--leads", "40"])
    assert again.exit_code == REFUSED and "already exists" in again.output
    assert path.read_bytes() == before


def test_macros_without_the_extra_names_the_extra(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    book = init(tmp_path / "crm.xlsx")
    monkeypatch.setitem(sys.modules, "xlwings", None)  # as if it were not installed
    result = runner.invoke(app, ["macros", str(book)])
    assert result.exit_code == REFUSED
    assert 'pip install "xlcrm[excel]"' in result.output
    assert not (tmp_path / "crm.xlsm").exists()
