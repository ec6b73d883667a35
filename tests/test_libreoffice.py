"""LibreOffice opens what xlcrm writes, and its recalculation agrees with xlcrm's cached values.

The workbooks are made first and converted in two LibreOffice runs (one to PDF, one to xlsx,
which recalculates every formula); each test then checks its own file.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm import load_schema
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import LOCALES, PRESETS, Office

pytestmark = pytest.mark.libreoffice


def _sheet(path: Path, name: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


@pytest.fixture(scope="module")
def pdfs(office: Office, demo_books: dict[str, Path],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each preset's new workbook in each language, and each demo workbook, as PDF."""
    folder = tmp_path_factory.mktemp("to-pdf")
    books = {f"init-{preset}-{locale}": xlcrm.init(folder / f"init-{preset}-{locale}.xlsx",
                                                   preset=preset, locale=locale)
             for preset in PRESETS for locale in LOCALES}
    books |= {f"demo-{preset}": demo_books[preset] for preset in PRESETS}
    made = office.convert_many(list(books.values()), "pdf", folder / "pdf")
    return dict(zip(books, made))


@pytest.fixture(scope="module")
def recalculated(office: Office, demo_books: dict[str, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Workbooks with formulas, each with its copy saved by LibreOffice (recalculated)."""
    folder = tmp_path_factory.mktemp("recalc")
    books = {"wrong": _wrong_cached_value(folder / "wrong.xlsx"),
             "names": _dropdown_probe(folder / "names.xlsx"),
             "deals": demo_books["b2b"]}
    made = office.convert_many(list(books.values()), "xlsx", folder / "lo")
    return {key: (book, theirs) for (key, book), theirs in zip(books.items(), made)}


def _wrong_cached_value(src: Path) -> Path:
    book = xlsxwriter.Workbook(str(src))
    ws = book.add_worksheet("S")
    ws.write_number(0, 0, 2)
    ws.write_formula(1, 0, "=A1*21", None, 5)  # cached 5, truly 42
    book.close()
    return src


def _dropdown_probe(src: Path) -> Path:
    """A new dealer workbook with a sheet counting the rows of each Settings list by name."""
    schema = load_schema("dealer")
    write_new_workbook(src, schema)
    wb = openpyxl.load_workbook(src)
    probe = wb.create_sheet("Probe")
    for i, lst in enumerate(schema.lists, 1):
        probe.cell(i, 1, f"=COUNTA({lst.defined_name})")
    wb.save(src)
    return src


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_libreoffice_converts_init_workbook_to_pdf(pdfs: dict[str, Path], preset: str,
                                                   locale: str) -> None:
    pdf = pdfs[f"init-{preset}-{locale}"]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


@pytest.mark.parametrize("preset", PRESETS)
def test_libreoffice_converts_demo_workbook_to_pdf(pdfs: dict[str, Path], preset: str) -> None:
    pdf = pdfs[f"demo-{preset}"]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 50_000


def test_libreoffice_really_recalculates(recalculated: dict[str, tuple[Path, Path]]) -> None:
    """A deliberately wrong cached value is corrected, so the checks below are not vacuous
    (and the session's profile does say "recalculate on load")."""
    ours, theirs = recalculated["wrong"]
    assert _sheet(ours, "S")[1][0] == 5
    assert _sheet(theirs, "S")[1][0] == 42


def test_deal_probability_formulas_match_cached_values(
        recalculated: dict[str, tuple[Path, Path]]) -> None:
    deals = load_schema("b2b").sheet("deals")
    book, converted = recalculated["deals"]
    ours, theirs = _sheet(book, deals.name), _sheet(converted, deals.name)
    header = ours[0]
    prob, weighted = header.index("Win probability"), header.index("Weighted amount")
    assert len(ours) == len(theirs) > 20
    assert any(row[prob] not in ("", 0.0) for row in ours[1:])
    for mine, recalc in zip(ours[1:], theirs[1:]):
        assert recalc[prob] == pytest.approx(mine[prob]), mine[0]
        assert recalc[weighted] == pytest.approx(mine[weighted]), mine[0]


def test_dropdown_names_resolve_in_libreoffice(
        recalculated: dict[str, tuple[Path, Path]]) -> None:
    """The Settings lists behind the dropdowns are names LibreOffice can evaluate."""
    schema = load_schema("dealer")
    counts = [row[0] for row in _sheet(recalculated["names"][1], "Probe")]
    assert counts == [len(lst.rows) for lst in schema.lists]
