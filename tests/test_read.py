"""``load`` reads what people and other programs make of the workbook, and never crashes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xlcrm
from xlcrm import load_schema
from xlcrm.metrics.validation import validate

from ._helpers import PRESETS, TODAY, Office, copy_of, xlsx_parts


@pytest.fixture(scope="module")
def saved_by_libreoffice(office: Office, demo_book: Callable[..., Path],
                         tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each preset's demo workbook, and its copy opened and saved by LibreOffice (one run)."""
    ours = [demo_book(preset, 80, 4) for preset in PRESETS]
    theirs = office.convert_many(ours, "xlsx", tmp_path_factory.mktemp("saved-by-libreoffice"))
    return {preset: pair for preset, pair in zip(PRESETS, zip(ours, theirs))}


@pytest.mark.libreoffice
@pytest.mark.parametrize("preset", PRESETS)
def test_workbook_saved_by_libreoffice_loads_the_same(
        saved_by_libreoffice: dict[str, tuple[Path, Path]], preset: str) -> None:
    ours, theirs = saved_by_libreoffice[preset]
    a, b = xlcrm.load(ours), xlcrm.load(theirs)
    assert b.issues == []
    assert (b.schema.preset, b.schema.locale.code) == (preset, "en")
    for key, frame in a.tables.items():
        pd.testing.assert_frame_equal(frame, b.tables[key], check_dtype=False)
    assert a.settings.options == b.settings.options
    assert a.settings.stage_probabilities() == b.settings.stage_probabilities()
    assert [m.label for m in a.settings.milestones] == [m.label for m in b.settings.milestones]


def test_italian_workbook_and_english_headers_mixed(tmp_path: Path) -> None:
    """A team that renamed some Italian headers to English (or aliases) still reads."""
    path = xlcrm.demo(tmp_path, leads=30, seed=1, locale="it", today=TODAY, run_report=False)
    wb = openpyxl.load_workbook(path)
    ws = wb["Lead"]
    ws["G1"] = "Lead source"  # English alias instead of "Fonte"
    ws["E1"] = "Posta elettronica"  # Italian alias instead of "E-mail"
    wb.save(path)
    crm = xlcrm.load(path)
    assert crm.schema.locale.code == "it"
    assert crm.issues == []
    assert crm["leads"]["source"].notna().all()
    assert crm["leads"]["email"].notna().any()


def test_workbook_without_properties_is_recognised(tmp_path: Path) -> None:
    """A workbook made by hand (no xlcrm document properties) is read by its sheet names."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["Id", "Date created", "Surname", "Lead source", "Job title"])
    ws.append(["CON-1", dt.datetime(2026, 3, 1, 9), "Rossi", "Trade show", "CEO"])
    wb.create_sheet("Accounts").append(["ID", "Company"])
    path = tmp_path / "hand.xlsx"
    wb.save(path)
    crm = xlcrm.load(path)
    assert crm.schema.preset == "b2b"
    contacts = crm["contacts"]
    assert contacts.loc[2, "last_name"] == "Rossi" and contacts.loc[2, "title"] == "CEO"
    messages = [str(i) for i in crm.issues]
    assert 'required sheet "Settings" is missing; using xlcrm\'s default lists' in messages
    assert 'required sheet "Deals" is missing' in messages


# Any value a person or a program may leave in a cell.
cell_values = st.one_of(
    st.none(),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=20).filter(
        lambda s: not s.startswith("=")),  # what a cell can hold; formulas aren't values
    st.sampled_from(["#N/A", "#REF!", " 12 ", "1.234,5", "3/4/2026", "2026-02-30", "yes", "x",
                     "14:30", "€ 99", "31.12.2025 23:59", "-", "TRUE", "5 mar 2026"]),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.times(),
)
_LEADS = load_schema("dealer").sheet("leads")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cell_values, min_size=len(_LEADS.columns),
                         max_size=len(_LEADS.columns)), min_size=1, max_size=6))
def test_random_cells_never_crash_load(tmp_path: Path, rows: list[list[object]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(_LEADS.headers)
    for row in rows:
        ws.append(row)
    path = tmp_path / "random.xlsx"
    wb.save(path)
    crm = xlcrm.load(path)  # must not raise
    assert validate(crm, today=TODAY) is not None  # nor must the checks (`check` itself
    # refuses this workbook: it has no xlcrm Settings sheet and records no preset)
    flagged = {i.cell for i in crm.issues if i.sheet == "Leads"}
    leads = crm["leads"]
    for col_index, col in enumerate(_LEADS.columns):
        letter = openpyxl.utils.get_column_letter(col_index + 1)
        for sheet_row, value in leads[col.key].items():
            present = value is not None and not (isinstance(value, float) and math.isnan(value)) \
                and not pd.isna(value)
            if col.type in ("date", "datetime") and present:
                assert isinstance(value, pd.Timestamp)
            elif col.type in ("money", "number", "integer", "percent") and present:
                assert isinstance(value, float)
            elif col.type == "flag" and present:
                assert isinstance(value, (bool,)) or str(value) in ("True", "False")
            raw = ws.cell(int(str(sheet_row)), col_index + 1).value
            if raw not in (None, "") and not present and not (isinstance(raw, str) and
                                                              not raw.strip()):
                assert f"{letter}{sheet_row}" in flagged, (col.key, raw)


def test_real_excel_files_never_crash_the_reader() -> None:
    """Every workbook of the corpus is read and checked, or refused with one readable line
    (read as xlcrm's: ``xlcrm check`` refuses a workbook that is not)."""
    from xlcrm import XlcrmError

    from ._helpers import corpus_files

    files = corpus_files()
    readable = 0
    for path in files:
        try:
            crm = xlcrm.load(path)
            issues = crm.issues + validate(crm, today=TODAY)
        except XlcrmError as exc:
            assert path.name in str(exc) and "\n" not in str(exc)
        else:
            readable += 1
            assert all(str(i) for i in issues)
    assert readable >= 0.9 * len(files)


def test_chosen_columns_are_typed_alike_and_the_rest_still_checked(
        tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    """``load(columns=...)`` types only the columns asked for, each exactly as a full read
    types it, and still reports a required column that is missing."""
    path = copy_of(demo_book("dealer", 60, 2), tmp_path)
    full = xlcrm.load(path)
    some = xlcrm.load(path, columns={"leads": {"id", "created", "stage"}, "activities": ()})
    assert list(some["leads"].columns) == ["id", "created", "stage"]
    pd.testing.assert_frame_equal(some["leads"], full["leads"][["id", "created", "stage"]])
    assert some["activities"].columns.empty and len(some["activities"]) == len(full["activities"])
    pd.testing.assert_frame_equal(some["tasks"], full["tasks"])  # not named: read whole
    wb = openpyxl.load_workbook(path)
    wb["Leads"]["G1"] = "Sorce"  # the source column's header misspelt
    wb.save(path)
    asked = xlcrm.load(path, columns=lambda schema, settings: {"leads": {"id"}})
    assert [i.message for i in asked.issues if i.code == "missing-column"] == [
        'required column "Source" is missing (did you mean "Sorce" in column G?)']


@pytest.mark.parametrize("preset", PRESETS)
def test_columns_taken_while_parsing_read_as_the_whole_grid_does(
        tmp_path: Path, preset: str, demo_book: Callable[..., Path]) -> None:
    """With a choice of columns the reader keeps, row by row as it parses, only those cells;
    hand edits that decide what is a record read the same as from the whole grid: a blank
    row between records, a row with nothing but a note, an error cell, rows of a formula
    column with nothing else (b2b Deals), formatting below the table."""
    path = copy_of(demo_book(preset, 50, 3), tmp_path)
    wb = openpyxl.load_workbook(path)
    sheet = "Leads" if preset == "dealer" else "Contacts"
    ws = wb[sheet]
    notes = next(c.column for c in ws[1] if c.value == "Notes")
    for cell in ws[6]:
        cell.value = None  # a blank row between records
    for cell in ws[9]:
        cell.value = None
    ws.cell(9, notes, "called back, no answer")  # a row with nothing but a note
    ws.cell(12, 2, "#N/A")  # created: an error cell
    ws.cell(ws.max_row + 3, 1).number_format = "0.00"  # formatting below the table
    if preset == "b2b":
        deals = wb["Deals"]
        row = deals.max_row + 1
        deals.cell(row, 7, "=1")  # a formula cell, nothing else: not a record
    wb.save(path)
    schema = load_schema(preset)
    key = "leads" if preset == "dealer" else "contacts"
    wanted = {key: {"id", "created", "stage"}, "activities": {"date"}}
    if preset == "b2b":
        wanted["deals"] = {"id", "amount"}
    whole, taken = xlcrm.load(path), xlcrm.load(path, columns=wanted)
    for sheet_key, keys in wanted.items():
        order = [c.key for c in schema.sheet(sheet_key).columns if c.key in keys]
        pd.testing.assert_frame_equal(taken[sheet_key], whole[sheet_key][order])
    assert 9 in taken[key].index and 6 not in taken[key].index
    assert [str(i) for i in taken.issues if i.code == "error-cell"] == [
        str(i) for i in whole.issues if i.code == "error-cell"] != []


def test_far_stray_cell_and_error_cell_are_both_named(demo_book: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    """A stray value at XFD1048576 makes the sheet's grid too big to read as it is: the
    workbook is read again from a copy without it, and the sheet's error cell is still found
    there."""
    import re
    import zipfile

    from xlcrm.xlsx.parts import read_outline

    path = copy_of(demo_book("dealer", 20, 2), tmp_path)
    part = read_outline(path).sheet_parts["Leads"]
    parts = xlsx_parts(path, ignore=())
    sheet = parts[part]
    # B5 (created) becomes the error #N/A; the last cell of the sheet gains a stray value
    sheet, n = re.subn(rb'<c r="B5"[^>]*?(/>|>.*?</c>)', b'<c r="B5" t="e"><v>#N/A</v></c>',
                       sheet, count=1, flags=re.DOTALL)
    assert n == 1
    sheet = sheet.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" '
                          b't="inlineStr"><is><t>far</t></is></c></row></sheetData>')
    parts[part] = sheet
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    crm = xlcrm.load(path)
    found = {(i.code, i.cell) for i in crm.issues}
    assert ("far-cell", "XFD1048576") in found
    assert ("error-cell", "B5") in found
    assert pd.isna(crm["leads"].loc[5, "created"])
    assert len(crm["leads"]) == 20


def test_a_big_sheet_is_read_as_it_is_and_a_stray_far_cell_is_not() -> None:
    """The bound on a sheet's grid follows its contents: 400,000 rows of three columns make
    a grid of 10.4 million cells by the 26-column bound (1.2 million cells really), which
    fits; a stray value at A1048576 below 20 rows makes 27 million of nothing, which doesn't."""
    from xlcrm.xlsx.bounds import MAX_CELLS, fits, grid_size

    def sheet(rows: range, extra: bytes = b"") -> bytes:
        body = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c><c r="B%d"><v>2</v></c>'
                        b'<c r="C%d"><v>3</v></c></row>' % (r, r, r, r) for r in rows)
        return b"<worksheet><sheetData>" + body + extra + b"</sheetData></worksheet>"

    big = sheet(range(1, 400_001))
    assert grid_size(big) == (400_000, 26)
    assert MAX_CELLS < 400_000 * 26
    assert fits(big)
    stray = sheet(range(1, 21), b'<row r="1048576"><c r="A1048576"><v>9</v></c></row>')
    assert grid_size(stray) == (1_048_576, 26)
    assert not fits(stray)
    wide = sheet(range(1, 400_001), b'<row r="400001"><c r="XFD400001"><v>9</v></c></row>')
    assert not fits(wide)  # 400,001 x 16,384 cells for 1.2 million values
