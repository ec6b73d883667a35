"""``load`` and ``check`` on hand-edited workbooks: each bad workbook is built here and the exact
``Sheet!Cell: message`` is asserted; unreadable files give one line and exit code 2."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from typer.testing import CliRunner

import xlcrm
from xlcrm import UnreadableWorkbookError
from xlcrm.cli import app

from ._helpers import TODAY

Mutation = Callable[[openpyxl.Workbook], None]


@pytest.fixture(scope="module")
def base(demo_book: Callable[..., Path]) -> dict[str, Path]:
    """Each preset's demo workbook (shared: the tests change copies of it)."""
    return {p: demo_book(p, 40, 2) for p in ("dealer", "b2b")}


def edited(base: dict[str, Path], tmp_path: Path, change: Mutation,
           preset: str = "dealer", name: str = "edited.xlsx") -> Path:
    """The base workbook, opened and changed by hand (openpyxl), saved as a new file."""
    wb = openpyxl.load_workbook(base[preset])
    change(wb)
    target = tmp_path / name
    wb.save(target)
    return target


def messages(path: Path) -> list[str]:
    return [str(i) for i in xlcrm.check(path, today=TODAY).issues]


def test_demo_workbooks_are_clean(base: dict[str, Path]) -> None:
    for path in base.values():
        result = xlcrm.check(path, today=TODAY)
        assert result.issues == [] and result.ok
        assert "clean" in result.summary()


def test_check_command_on_demo_says_clean(base: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["check", str(base["dealer"])])
    assert result.exit_code == 0
    assert "demo-dealer.xlsx: clean" in result.output


# ----- the table of bad workbooks -------------------------------------------------------------
def _set(sheet: str, cell: str, value: object) -> Mutation:
    def change(wb: openpyxl.Workbook) -> None:
        wb[sheet][cell] = value
    return change


def _rename_source(wb: openpyxl.Workbook) -> None:
    wb["Leads"]["G1"] = "Sorce"


def _drop_activities(wb: openpyxl.Workbook) -> None:
    del wb["Activities"]


def _parent_cycle(wb: openpyxl.Workbook) -> None:
    wb["Accounts"]["C2"] = "ACC-000002"
    wb["Accounts"]["C3"] = "ACC-000001"


CASES: list[tuple[str, str, Mutation, str]] = [
    ("renamed header", "dealer", _rename_source,
     'Leads!A1: required column "Source" is missing (did you mean "Sorce" in column G?)'),
    ("missing sheet", "dealer", _drop_activities,
     'required sheet "Activities" is missing'),
    ("text date", "dealer", _set("Leads", "B5", "31/02/2026"),
     'Leads!B5: created "31/02/2026" is not a date; use a date cell or YYYY-MM-DD'),
    ("error cell", "dealer", _set("Leads", "E3", "#N/A"),
     "Leads!E3: E-mail is the error #N/A; read as empty"),
    ("unknown stage", "dealer", _set("Leads", "M4", "Negotiatoin"),
     'Leads!M4: status "Negotiatoin" is not in Settings > Stages; did you mean "Negotiation"?'),
    ("dangling link", "dealer", _set("Activities", "C2", "L-999999"),
     'Activities!C2: lead "L-999999" does not exist in Leads'),
    ("duplicate id", "dealer", _set("Leads", "A3", "L-000001"),
     'Leads!A3: id "L-000001" is used again (first in row 2)'),
    ("amount not a number", "dealer", _set("Leads", "S6", "about ten thousand"),
     'Leads!S6: sale amount "about ten thousand" is not a number; '
     "type digits only, such as 1250.50"),
    ("future date", "dealer", _set("Leads", "B7", dt.datetime(2031, 1, 2, 9, 0)),
     "Leads!B7: created 2031-01-02 is in the future"),
    ("required value empty", "dealer", _set("Leads", "G8", None),
     "Leads!G8: source is empty; it is required"),
    ("probability out of range", "dealer", _set("Settings", "K6", 1.5),
     "Settings!K6: win probability 1.5 is outside 0-100 %; type it as a percentage such as 1.5%"),
    ("parent cycle", "b2b", _parent_cycle,
     "Accounts!C2: parent account chain loops: ACC-000001 → ACC-000002 → ACC-000001"),
    ("dangling parent", "b2b", _set("Accounts", "C4", "ACC-404"),
     'Accounts!C4: parent account "ACC-404" does not exist in Accounts'),
    ("task links to nothing", "b2b", _set("Tasks", "E2", "D-999999"),
     'Tasks!E2: linked record "D-999999" does not exist in Contacts or Accounts or Deals or '
     "Tickets"),
]


@pytest.mark.parametrize(("preset", "change", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_workbook_names_the_cell(base: dict[str, Path], tmp_path: Path, preset: str,
                                     change: Mutation, expected: str) -> None:
    found = messages(edited(base, tmp_path, change, preset))
    assert expected in found, found


def test_stage_probability_cell_is_where_the_settings_table_is(base: dict[str, Path]) -> None:
    """The case above edits K6: prove it is the first stage's probability."""
    wb = openpyxl.load_workbook(base["dealer"])
    assert wb["Settings"]["K5"].value == "Win probability"
    assert wb["Settings"]["J6"].value == "New"


def test_moved_and_extra_columns_are_read_by_header(base: dict[str, Path],
                                                    tmp_path: Path) -> None:
    def move(wb: openpyxl.Workbook) -> None:
        ws = wb["Leads"]
        for table in list(ws.tables):
            del ws.tables[table]  # a person who moved columns around often lost the table
        ws.insert_cols(1)  # a new first column the team added
        ws["A1"] = "Priority"
        for r in range(2, ws.max_row + 1):
            ws.cell(r, 1, "high" if r % 2 else "low")
        ws.move_range("H1:H60", cols=20)  # Source goes to the far right
        ws["AC1"] = "e mail"  # and a second, spelled-out e-mail column appears
    original = xlcrm.load(base["dealer"])
    moved = xlcrm.load(edited(base, tmp_path, move))
    assert [str(i) for i in moved.issues if i.severity == "error"] == []
    assert moved["leads"]["source"].tolist() == original["leads"]["source"].tolist()
    assert moved["leads"]["Priority"].tolist()[:2] == ["low", "high"]
    assert moved.cell("leads", "source", 2) == "AB2"
    assert any('a second "e mail" column' in str(i) for i in moved.issues)


def test_title_rows_merged_header_and_blank_rows(base: dict[str, Path], tmp_path: Path) -> None:
    def decorate(wb: openpyxl.Workbook) -> None:
        ws = wb["Leads"]
        for table in list(ws.tables):
            del ws.tables[table]
        ws.insert_cols(7)  # a landline column beside the phone, under one merged "Phone"
        for r in range(2, ws.max_row + 1):
            ws.cell(r, 7, f"02 555 {r:04d}")
        ws.insert_rows(1, 2)  # a merged title above the table
        ws.merge_cells("F3:G3")
        ws["A1"] = "Internet desk: all leads"
        ws.merge_cells("A1:H1")
        ws["A3"] = None
        ws["A2"] = "ID"  # the ID header merged down over two rows
        ws.merge_cells("A2:A3")
        ws.insert_rows(10, 3)  # blank rows inside the table
        last = ws.max_row
        for r in range(last + 1, last + 30):  # formatting-only rows below the data
            ws.cell(r, 2).number_format = "yyyy-mm-dd"
        ws["B16"] = "not a date"  # a real record, to show row numbers still point right
    original = xlcrm.load(base["dealer"])
    crm = xlcrm.load(edited(base, tmp_path, decorate))
    leads = crm["leads"]
    assert len(leads) == len(original["leads"])
    assert leads["id"].tolist() == original["leads"]["id"].tolist()
    assert leads["phone"].tolist() == original["leads"]["phone"].tolist()
    assert leads["email"].tolist() == original["leads"]["email"].tolist()
    assert leads["Phone (G)"].iloc[0] == "02 555 0002"
    assert 'Leads!B16: created "not a date" is not a date; use a date cell or YYYY-MM-DD' in [
        str(i) for i in crm.issues]
    assert leads.loc[16, "id"] == original["leads"].loc[11, "id"] == "L-000010"
    assert [str(i) for i in crm.issues if i.severity == "error"] == [
        'Leads!B16: created "not a date" is not a date; use a date cell or YYYY-MM-DD']


def test_dates_and_numbers_typed_as_text_are_read(base: dict[str, Path], tmp_path: Path) -> None:
    def type_text(wb: openpyxl.Workbook) -> None:
        ws = wb["Leads"]
        ws["B2"] = "2026-03-05"
        ws["B3"] = "05.03.2026"
        ws["B4"] = "5/3/2026 14:30"
        ws["S2"] = "1.234,50"
        ws["S3"] = "€ 12,500"
        ws["K2"], ws["K3"], ws["K4"] = "x", "sì", "N"
    leads = xlcrm.load(edited(base, tmp_path, type_text))["leads"]
    assert leads.loc[2, "created"] == dt.datetime(2026, 3, 5)
    assert leads.loc[3, "created"] == dt.datetime(2026, 3, 5)
    assert leads.loc[4, "created"] == dt.datetime(2026, 3, 5, 14, 30)
    assert leads.loc[2, "amount"] == 1234.5 and leads.loc[3, "amount"] == 12500
    assert leads.loc[[2, 3, 4], "trade_in"].tolist() == [True, True, False]


def test_date_order_from_settings(base: dict[str, Path], tmp_path: Path) -> None:
    def american(wb: openpyxl.Workbook) -> None:
        ws = wb["Settings"]
        key_row = next(r for r in range(6, 20) if ws.cell(r, 1).value == "date_order")
        ws.cell(key_row, 3, "MDY")
        wb["Leads"]["B2"] = "3/5/2026"
    leads = xlcrm.load(edited(base, tmp_path, american))["leads"]
    assert leads.loc[2, "created"] == dt.datetime(2026, 3, 5)


def test_1904_workbook_dates(base: dict[str, Path], tmp_path: Path) -> None:
    original = xlcrm.load(base["dealer"])["leads"]

    def mac(wb: openpyxl.Workbook) -> None:
        wb.epoch = CALENDAR_MAC_1904
        wb["Leads"]["R2"] = 46000  # a date serial typed in a General cell, 1904 system
    path = edited(base, tmp_path, mac)
    with zipfile.ZipFile(path) as zf:
        assert b'date1904="1"' in zf.read("xl/workbook.xml")
    crm = xlcrm.load(path)
    assert crm.date1904
    assert crm["leads"]["created"].tolist() == original["created"].tolist()
    assert crm["leads"].loc[2, "sold"] == dt.datetime(1904, 1, 1) + dt.timedelta(days=46000)


def test_lock_file_is_a_warning_for_reading(base: dict[str, Path], tmp_path: Path) -> None:
    path = edited(base, tmp_path, lambda wb: None, name="crm.xlsx")
    (tmp_path / "~$crm.xlsx").write_bytes(b"owner")
    issues = xlcrm.check(path, today=TODAY).issues
    assert [i.severity for i in issues] == ["warning"]
    assert "open in Excel or LibreOffice (lock file ~$crm.xlsx)" in str(issues[0])


def test_json_output_lists_every_issue(base: dict[str, Path], tmp_path: Path) -> None:
    import json

    path = edited(base, tmp_path, _set("Leads", "B5", "soon"))
    result = CliRunner().invoke(app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["errors"] == 1
    assert data["issues"][0]["where"] == "Leads!B5"
    assert data["issues"][0]["severity"] == "error"


# ----- files that can't be read at all ---------------------------------------------------
def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


_CT = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def _encrypted(base: dict[str, Path]) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with base["dealer"].open("rb") as fh:
        OOXMLFile(fh).encrypt("secret", out)
    return out.getvalue()


UNREADABLE: list[tuple[str, Callable[[dict[str, Path]], bytes], str]] = [
    ("csv renamed", lambda b: b"id,name\nL-1,Rossi\n", "is a text file (CSV?) renamed"),
    ("truncated zip", lambda b: b["dealer"].read_bytes()[:5000], "is damaged"),
    ("encrypted", _encrypted, "is encrypted (password-protected)"),
    ("zip bomb", lambda b: _zip({"[Content_Types].xml": _CT, "xl/workbook.xml": b"<workbook/>",
                                 "xl/worksheets/sheet1.xml": b" " * (64 * 2**20)}),
     "is compressed"),
    ("xml entity bomb", lambda b: _zip({
        "[Content_Types].xml": _CT,
        "xl/workbook.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                           b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><workbook>&lol2;</workbook>'}),
     "declares a DOCTYPE or entities"),
    ("zip without a workbook", lambda b: _zip({"hello.txt": b"hi"}), "not a workbook"),
    ("empty file", lambda b: b"", "is empty"),
]


@pytest.mark.parametrize(("make", "expected"), [u[1:] for u in UNREADABLE],
                         ids=[u[0] for u in UNREADABLE])
def test_unreadable_file_one_line_exit_2(base: dict[str, Path], tmp_path: Path,
                                         make: Callable[[dict[str, Path]], bytes],
                                         expected: str) -> None:
    path = tmp_path / "crm.xlsx"
    path.write_bytes(make(base))
    with pytest.raises(UnreadableWorkbookError, match=expected.replace("(", r"\(").replace(
            ")", r"\)").replace("?", r"\?")):
        xlcrm.load(path)
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_not_an_xlsx_name(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("a,b\n")
    with pytest.raises(UnreadableWorkbookError, match=r"leads.csv: not an .xlsx or .xlsm"):
        xlcrm.load(path)


def test_total_size_limit(base: dict[str, Path]) -> None:
    from xlcrm.xlsx.opening import Limits, check_package

    with pytest.raises(UnreadableWorkbookError, match="would unpack to"):
        check_package(base["dealer"], Limits(max_total_bytes=1000))


def test_lock_file_is_an_error_for_writing(base: dict[str, Path], tmp_path: Path) -> None:
    from xlcrm import WorkbookLockedError
    from xlcrm.xlsx.opening import safe_open

    path = edited(base, tmp_path, lambda wb: None, name="team.xlsx")
    (tmp_path / ".~lock.team.xlsx#").write_text("someone,host,2026")
    with pytest.raises(WorkbookLockedError, match=r"open in Excel or LibreOffice \(lock file "
                                                  r"\.~lock\.team\.xlsx#\).*--force"):
        safe_open(path, for_writing=True)
    assert safe_open(path, for_writing=True, force=True)[1][0].severity == "warning"


def test_contact_logged_but_not_marked_is_a_warning(base: dict[str, Path],
                                                    tmp_path: Path) -> None:
    crm = xlcrm.load(base["dealer"])
    leads, acts = crm["leads"], crm["activities"]
    row = int(leads.index[leads["first_contact"].isna()][0])
    lead = leads.loc[row, "id"]
    act_row = int(acts.index[acts["lead"] == lead][0])
    when = acts.loc[act_row, "date"]
    path = edited(base, tmp_path, _set("Activities", f"E{act_row}", "Inbound"))
    result = xlcrm.check(path, today=TODAY)
    assert [str(i) for i in result.issues] == [
        f"Leads!N{row}: the lead answered (inbound activity on {when:%Y-%m-%d}) but two-way "
        "contact is empty; the tally counts the activity"]
    assert result.ok  # a warning, not an error


def _phones(wb: openpyxl.Workbook) -> None:
    ws = wb["Leads"]
    for cell, value in {"F2": "+39 347 123 4567", "F3": "12345", "F4": "0000000000",
                        "F5": "tel: +39 347 123 4567", "F6": 12345,
                        "F7": "+\u0663\u0669 \u0663\u0664\u0667 \u0661\u0662\u0663 "
                              "\u0664\u0665\u0666\u0667",
                        "F8": "  +39 (347) 123.4567 "}.items():
        ws[cell] = value


def test_each_phone_shape_is_judged_at_its_cell(base: dict[str, Path], tmp_path: Path) -> None:
    """Too few digits (typed as text or as a number) and one digit repeated are reported;
    a tel: prefix, brackets, dots, spaces around and other scripts' digits are a phone's
    shape, and a well-shaped number is left to `xlcrm clean`."""
    issues = xlcrm.check(edited(base, tmp_path, _phones), today=TODAY).issues
    found = {i.cell: i.message.split(" is not")[0] for i in issues if i.code == "bad-phone"}
    assert found == {"F3": 'phone "12345"', "F4": 'phone "0000000000"',
                     "F6": 'phone "12345"'}
