"""The writer removes rows: the rows below move up and everything that points at them follows."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlcrm.xlsx.package import Package
from xlcrm.xlsx.rows import RowShift, delete_rows, shift_formula, shift_range

from ._helpers import Office, corpus_folder, xlsx_parts

SHEET = "County Ranking"
CORPUS_BOOK = "poi__dataValidationTableRange.xlsx"


def test_rows_move_up_past_the_removed_ones() -> None:
    shift = RowShift([5, 6, 10])  # rows 5, 6 and 10 go
    assert [shift.row(r) for r in range(1, 13)] == [1, 2, 3, 4, None, None, 5, 6, 7, None, 8, 9]
    assert shift_range("A2:C40", shift) == "A2:C37"  # 3 of its rows gone
    assert shift_range("B4:B7", shift) == "B4:B5"  # 5 and 6 gone, 7 is now 5
    assert shift_range("B5:B6", shift) is None  # all of it gone
    assert shift_range("$A$11", shift) == "$A$8"
    assert shift_formula('SUM(A1:A12)+B7*"A5"+Other!A9+\'County Ranking\'!B11', shift,
                         "County Ranking", local=True) == \
        'SUM(A1:A9)+B5*"A5"+Other!A9+\'County Ranking\'!B8'
    assert shift_formula("B5+1", shift, "S", local=True) == "#REF!+1"


def _remove(source: Path, out: Path, rows: list[int]) -> None:
    with Package(source) as pkg:
        delete_rows(pkg, SHEET, [r - 1 for r in rows])
        pkg.save(out)


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.skipif(not (corpus_folder() / CORPUS_BOOK).exists() and not os.environ.get("CI"),
                    reason="the corpus is not beside this checkout")
def test_removing_rows_of_a_corpus_workbook(tmp_path: Path, office: Office) -> None:
    source = corpus_folder() / CORPUS_BOOK
    out = tmp_path / "removed.xlsx"
    _remove(source, out, [20, 21, 22])
    before, after = xlsx_parts(source), xlsx_parts(out)
    assert set(before) == set(after)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/tables/table1.xml"}
    xml = _sheet_xml(out)
    # hand-worked: the ranges through rows 20-22 lose three rows, those above stay
    assert '<conditionalFormatting sqref="H9 C9:C43 E9:E43 L8:L10">' in xml
    assert '<conditionalFormatting sqref="B9:E43">' in xml
    assert "<formula>$E9&lt;&gt;\"\"</formula>" in xml  # relative to B9, which stays
    assert [m for m in re.findall(r'<dataValidation [^>]*sqref="([^"]+)"', xml)] == \
        ["B5", "E5", "C5", "G5", "G9"]
    assert re.findall(r'<mergeCell ref="([^"]+)"', xml) == ["C5:D5", "C4:D4", "G2:I2", "G7:G8",
                                                           "H7:H8", "I7:I8"]
    with zipfile.ZipFile(out) as zf:
        book = zf.read("xl/workbook.xml").decode()
        table = zf.read("xl/tables/table1.xml").decode()
    assert "'County Ranking'!$B$8:$C$43</definedName>" in book
    assert "'County Ranking'!$A$6:$J$75</definedName>" in book
    assert 'ref="B8:E43"' in table
    # the cells: row 20 now holds what row 23 held, the sheet is three rows shorter
    old, new = (CalamineWorkbook.from_path(str(p)).get_sheet_by_name(SHEET)
                .to_python(skip_empty_area=False) for p in (source, out))
    assert new[19] == old[22] and new[18] == old[18]
    assert len(new) == len(old) - 3
    # LibreOffice opens it and finds the validations and conditional formats on those rows
    resaved = office.convert(out, "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(resaved)[SHEET]
    ranges = {str(r.sqref) for r in ws.conditional_formatting}
    assert any("B9:E43" in r for r in ranges), ranges
    assert not any(re.search(r"[A-Z]46\b", r) for r in ranges), ranges
    validated = sorted(str(dv.sqref) for dv in ws.data_validations.dataValidation)
    assert validated == sorted(["B5", "E5", "C5", "G5", "G9"])
    assert ws["B20"].value == old[22][1]


def test_validations_and_formats_on_removed_rows_go_and_those_below_move(
        tmp_path: Path, office: Office) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = SHEET
    for r in range(1, 21):
        ws.cell(r, 1, f"row {r}")
        ws.cell(r, 2, r)
    every = DataValidation(type="whole", operator="between", formula1="0", formula2="100",
                           sqref="B2:B20")
    gone = DataValidation(type="list", formula1='"a,b"', sqref="C6:C7")
    below = DataValidation(type="list", formula1='"x,y"', sqref="C12")
    for dv in (every, gone, below):
        ws.add_data_validation(dv)
    ws.conditional_formatting.add("A10:B12", FormulaRule(formula=["$B10>5"]))
    ws.merge_cells("D14:E15")
    ws["F16"].hyperlink = "https://example.com/"
    path = tmp_path / "made.xlsx"
    book.save(path)
    out = tmp_path / "removed.xlsx"
    _remove(path, out, [5, 6, 7])  # three rows above the format, the merge and the link
    resaved = office.convert(out, "xlsx", tmp_path / "lo")
    ws2 = openpyxl.load_workbook(resaved)[SHEET]
    rules = {str(r.sqref): [x.formula for x in r.rules] for r in ws2.conditional_formatting}
    assert rules == {"A7:B9": [["$B7>5"]]}  # moved up three rows, still about its own row
    dvs = {str(dv.sqref): dv.formula1 for dv in ws2.data_validations.dataValidation}
    assert dvs == {"B2:B17": "0", "C9": '"x,y"'}
    assert [str(m) for m in ws2.merged_cells.ranges] == ["D11:E12"]
    assert ws2["F13"].hyperlink is not None and ws2["F13"].hyperlink.target == \
        "https://example.com/"
    assert ws2["A5"].value == "row 8" and ws2["B17"].value == 20
