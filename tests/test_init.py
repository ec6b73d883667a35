"""``init`` writes every sheet, table, name and dropdown the schema describes."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm import WorkbookError, WorkbookExistsError, load_schema

from ._helpers import LOCALES, PRESETS


@pytest.fixture(scope="module")
def inited(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("init")
    return {(p, loc): xlcrm.init(out / f"{p}-{loc}.xlsx", preset=p, locale=loc)
            for p in PRESETS for loc in LOCALES}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_init_has_every_sheet_and_header_for_calamine(inited, preset, locale) -> None:  # type: ignore[no-untyped-def]
    schema = load_schema(preset, locale)
    book = CalamineWorkbook.from_path(str(inited[preset, locale]))
    assert book.sheet_names == [s.name for s in schema.sheets]
    for sheet in schema.data_sheets:
        rows = book.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
        assert rows[0] == sheet.headers
    settings = book.get_sheet_by_name(schema.settings_sheet.name).to_python(
        skip_empty_area=False)
    flat = {str(v) for row in settings for v in row if v != ""}
    for lst in schema.lists:
        assert lst.title in flat
        assert set(lst.items) <= flat


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_init_tables_names_and_dropdowns_for_openpyxl(inited, preset, locale) -> None:  # type: ignore[no-untyped-def]
    schema = load_schema(preset, locale)
    wb = openpyxl.load_workbook(inited[preset, locale])
    tables = {}
    for ws in wb.worksheets:
        tables.update({t.name: (ws.title, t) for t in ws.tables.values()})
    for sheet in schema.data_sheets:
        ws = wb[sheet.name]
        assert ws.freeze_panes == "A2"
        title, table = tables[sheet.table]
        assert title == sheet.name
        assert table.ref.startswith("A1:")
        assert [c.name for c in table.tableColumns] == sheet.headers
        validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
        for i, col in enumerate(sheet.columns):
            letter = openpyxl.utils.get_column_letter(i + 1)
            if col.type == "choice":
                dv = validations[f"{letter}2:{letter}1048576"]
                assert dv.type == "list"
                assert dv.formula1 == schema.settings_list(str(col.list)).defined_name
            if col.type == "flag":
                dv = validations[f"{letter}2:{letter}1048576"]
                assert dv.formula1 == f'"{schema.locale.yes},{schema.locale.no}"'
            if col.type in ("date", "datetime"):
                assert ws.column_dimensions[letter].width >= 12
    for lst in schema.lists:
        title, table = tables[lst.table]
        assert title == schema.settings_sheet.name
        assert [c.name for c in table.tableColumns] == [c.header for c in lst.columns]
        name = wb.defined_names[lst.defined_name]
        assert name.attr_text == f"{lst.table}[[{lst.columns[0].header}]]"
    for sheet in schema.owned_sheets:
        assert "xlcrm" in str(wb[sheet.name]["A1"].value)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["xlcrm_preset"] == preset
    assert props["xlcrm_schema_version"] == schema.version
    assert props["xlcrm_locale"] == locale


def test_init_writes_options_with_types(inited) -> None:  # type: ignore[no-untyped-def]
    schema = load_schema("dealer", "it")
    wb = openpyxl.load_workbook(inited["dealer", "it"])
    ws = wb[schema.settings_sheet.name]
    ref = ws.tables["Options"].ref
    rows = {r[0].value: r[2].value for r in ws[ref][1:]}
    assert rows["week_start"] == "lunedì"
    assert rows["uncontacted_hours"] == 2
    assert rows["currency"] == "EUR"
    assert rows["baseline_from"] is None


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    target.write_bytes(b"the team's real CRM")
    with pytest.raises(WorkbookExistsError, match="already exists.*--force"):
        xlcrm.init(target)
    assert target.read_bytes() == b"the team's real CRM"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_init_force_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    target.write_bytes(b"old")
    xlcrm.init(target, preset="b2b", force=True)
    assert CalamineWorkbook.from_path(str(target)).sheet_names[0] == "Accounts"


def test_init_wants_an_xlsx_name(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match=r"must be an \.xlsx file; name it crm\.xlsx"):
        xlcrm.init(tmp_path / "crm.csv")


def test_init_currency_sets_money_format(tmp_path: Path) -> None:
    target = xlcrm.init(tmp_path / "usd.xlsx", preset="b2b", currency="usd")
    wb = openpyxl.load_workbook(target)
    ws = wb["Deals"]
    amount_col = load_schema("b2b").sheet("deals").headers.index("Amount") + 1
    letter = openpyxl.utils.get_column_letter(amount_col)
    assert '"$"' in ws[f"{letter}2"].number_format or '"$"' in str(
        ws.column_dimensions[letter].number_format)
