"""xlcrm knows its sheets by the identity it recorded, never by a name alone: a team's own
sheet called "Dashboard", "Lead" or "Riferimento" is never written, in any language; an older
workbook without identities keeps working and gets them at its first save."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import xlsxwriter
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app
from xlcrm.xlsx.parts import read_outline

from ._helpers import TODAY, copy_of


def team_workbook(path: Path, sheets: list[str]) -> Path:
    """A team's workbook: each sheet has a small table, the first also a chart."""
    book = xlsxwriter.Workbook(str(path))
    for i, name in enumerate(sheets):
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, ["Month", "Visits"])
        for r, v in enumerate([12, 18, 9], 1):
            ws.write_row(r, 0, [f"M{r}", v + i])
        if i == 0:
            chart = book.add_chart({"type": "column"})
            chart.add_series({"categories": f"='{name}'!$A$2:$A$4",
                              "values": f"='{name}'!$B$2:$B$4"})
            ws.insert_chart("D2", chart)
    book.close()
    return path


def sheet_bytes(path: Path, names: list[str]) -> dict[str, bytes]:
    """The stored XML of each named sheet (and the count of chart parts)."""
    parts = read_outline(path).sheet_parts
    with zipfile.ZipFile(path) as zf:
        out = {n: zf.read(parts[n]) for n in names}
        out["charts"] = str(len([p for p in zf.namelist() if p.startswith("xl/charts/chart")])
                            ).encode()
    return out


def leads_csv(path: Path) -> Path:
    path.write_text("First name,Last name,E-mail\nAnna,Verdi,anna.verdi@example.com\n",
                    encoding="utf-8")
    return path


def test_team_dashboard_survives_an_italian_attach_and_update(tmp_path: Path) -> None:
    book = team_workbook(tmp_path / "team.xlsx", ["Dashboard", "Leads"])
    ours = sheet_bytes(book, ["Dashboard", "Leads"])
    run = CliRunner().invoke(app, ["attach", str(book), "--preset", "dealer", "--locale", "it"])
    assert run.exit_code == 0, run.output
    result = xlcrm.update(book, today=TODAY, backups=0)
    assert "Dashboard" not in result.sheets and "Cruscotto" in result.sheets
    imported = xlcrm.import_leads(book, leads_csv(tmp_path / "new.csv"), backups=0)
    assert imported.added == 1
    assert sheet_bytes(book, ["Dashboard", "Leads"]) == ours  # the team's, byte for byte
    crm = xlcrm.load(book)
    assert crm.sheet_names["leads"] == "Lead" and crm.sheet_names["dashboard"] == "Cruscotto"
    assert len(crm["leads"]) == 1


def test_team_sheets_named_in_another_language_are_never_taken(tmp_path: Path) -> None:
    book = team_workbook(tmp_path / "team.xlsx", ["Riferimento", "Cruscotto", "Lead"])
    ours = sheet_bytes(book, ["Riferimento", "Cruscotto", "Lead"])
    xlcrm.attach(book, preset="dealer", locale="en", backups=0)
    result = xlcrm.update(book, today=TODAY, backups=0)
    assert {"Baseline", "Dashboard"} <= set(result.sheets)
    assert not {"Riferimento", "Cruscotto", "Lead"} & set(result.sheets)
    assert xlcrm.import_leads(book, leads_csv(tmp_path / "new.csv"), backups=0).added == 1
    xlcrm.agenda(book, backups=0)
    xlcrm.score(book, today=TODAY, backups=0)
    xlcrm.clean(book, today=TODAY, backups=0)
    assert sheet_bytes(book, ["Riferimento", "Cruscotto", "Lead"]) == ours
    assert len(xlcrm.load(book)["leads"]) == 1  # in "Leads", not in the team's "Lead"


def _edit_workbook_xml(path: Path, edit: Callable[[str], str]) -> None:
    """Rewrite xl/workbook.xml as another program would (everything else copied)."""
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            if info.filename == "xl/workbook.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            zf.writestr(info, data)


def test_older_workbook_without_identities_is_migrated(tmp_path: Path,
                                                      demo_book: Callable[..., Path]) -> None:
    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    assert read_outline(book).identities["leads"] == "Leads"  # a new workbook records them
    _edit_workbook_xml(book, lambda x: re.sub(
        r'<definedName name="_xlcrm_sheet_[^<]*</definedName>', "", x))
    assert read_outline(book).identities == {}
    before = xlcrm.load(book)
    assert before.sheet_names["leads"] == "Leads"  # found by its recorded locale's name
    xlcrm.update(book, today=TODAY, backups=0)
    recorded = read_outline(book).identities
    assert recorded["leads"] == "Leads" and recorded["tally"] == "Tally"
    assert set(recorded) == set(before.sheet_names)


def test_renamed_sheet_keeps_its_identity_and_a_namesake_is_left_alone(
        tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    """Excel rewrites a defined name's reference when its sheet is renamed: xlcrm's Agenda,
    renamed "Our agenda", is still xlcrm's; a sheet the team then names "Agenda" is theirs."""
    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    _edit_workbook_xml(book, lambda x: x.replace('name="Agenda"', 'name="Our agenda"')
                       .replace("'Agenda'!$A$1", "'Our agenda'!$A$1"))
    assert xlcrm.load(book).sheet_names["agenda"] == "Our agenda"
    saved = xlcrm.agenda(book, backups=0)
    assert saved.saved is not None
    assert xlcrm.load(book).sheet_names["agenda"] == "Our agenda"


def test_missing_owned_sheet_gets_a_distinct_name_beside_the_teams(
        tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    # the Agenda sheet is no longer xlcrm's (its identity gone): a team's sheet of that name
    _edit_workbook_xml(book, lambda x: re.sub(
        r'<definedName name="_xlcrm_sheet_agenda"[^<]*</definedName>', "", x))
    theirs = sheet_bytes(book, ["Agenda"])
    xlcrm.agenda(book, backups=0)
    assert sheet_bytes(book, ["Agenda"]) == theirs
    crm = xlcrm.load(book)
    assert crm.sheet_names["agenda"] == "Agenda (xlcrm)"
    assert read_outline(book).identities["agenda"] == "Agenda (xlcrm)"


def test_writer_refuses_a_sheet_that_is_not_xlcrms(tmp_path: Path,
                                                   demo_book: Callable[..., Path]) -> None:
    from xlcrm.errors import TransplantError
    from xlcrm.xlsx.writer import write_owned_sheets

    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    original = book.read_bytes()
    with pytest.raises(TransplantError, match='sheet "Leads" is not one of xlcrm'):
        write_owned_sheets(book, {"Leads": lambda b, ws: None}, backups=0,
                           identities={"tally": "Tally"})
    assert book.read_bytes() == original
