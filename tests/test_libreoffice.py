"""LibreOffice opens what xlcrm writes, and its recalculation agrees with xlcrm's cached values."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm import load_schema
from xlcrm.xlsx.libreoffice import convert

from ._helpers import LOCALES, PRESETS

pytestmark = pytest.mark.libreoffice


def _sheet(path: Path, name: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_libreoffice_converts_init_workbook_to_pdf(soffice: str, tmp_path: Path, preset: str,
                                                   locale: str) -> None:
    book = xlcrm.init(tmp_path / f"{preset}.xlsx", preset=preset, locale=locale)
    pdf = convert(book, "pdf", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


@pytest.mark.parametrize("preset", PRESETS)
def test_libreoffice_converts_demo_workbook_to_pdf(soffice: str, demo_books: dict[str, Path],
                                                   tmp_path: Path, preset: str) -> None:
    pdf = convert(demo_books[preset], "pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 50_000


def test_libreoffice_really_recalculates(soffice: str, tmp_path: Path) -> None:
    """A deliberately wrong cached value is corrected, so the checks below are not vacuous."""
    src = tmp_path / "wrong.xlsx"
    book = xlsxwriter.Workbook(str(src))
    ws = book.add_worksheet("S")
    ws.write_number(0, 0, 2)
    ws.write_formula(1, 0, "=A1*21", None, 5)  # cached 5, truly 42
    book.close()
    assert _sheet(src, "S")[1][0] == 5
    out = convert(src, "xlsx", tmp_path / "lo")
    assert _sheet(out, "S")[1][0] == 42


def test_deal_probability_formulas_match_cached_values(soffice: str,
                                                       demo_books: dict[str, Path],
                                                       tmp_path: Path) -> None:
    deals = load_schema("b2b").sheet("deals")
    ours = _sheet(demo_books["b2b"], deals.name)
    recalculated = _sheet(convert(demo_books["b2b"], "xlsx", tmp_path), deals.name)
    header = ours[0]
    prob, weighted = header.index("Win probability"), header.index("Weighted amount")
    assert len(ours) == len(recalculated) > 20
    assert any(row[prob] not in ("", 0.0) for row in ours[1:])
    for mine, theirs in zip(ours[1:], recalculated[1:]):
        assert theirs[prob] == pytest.approx(mine[prob]), mine[0]
        assert theirs[weighted] == pytest.approx(mine[weighted]), mine[0]


def test_dropdown_names_resolve_in_libreoffice(soffice: str, tmp_path: Path) -> None:
    """The Settings lists behind the dropdowns are names LibreOffice can evaluate."""
    schema = load_schema("dealer")
    src = tmp_path / "names.xlsx"
    from xlcrm.sheets.workbook import write_new_workbook

    write_new_workbook(src, schema)
    import openpyxl

    wb = openpyxl.load_workbook(src)
    probe = wb.create_sheet("Probe")
    for i, lst in enumerate(schema.lists, 1):
        probe.cell(i, 1, f"=COUNTA({lst.defined_name})")
    wb.save(src)
    counts = [row[0] for row in _sheet(convert(src, "xlsx", tmp_path / "lo"), "Probe")]
    assert counts == [len(lst.rows) for lst in schema.lists]
