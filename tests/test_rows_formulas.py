"""Removing rows rewrites every formula and chart that points at them, as Excel does.

A workbook with formulas on another sheet (plain, ranged, whole-column, absolute, structured,
array and shared) and on the sheet itself, and a chart over its rows, loses rows 5 to 7 of
Leads; LibreOffice then recalculates it, and its values are compared with the values worked
out by hand below. Leads row r (2..50) holds Amount r and Qty 2r.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from xlcrm.xlsx.package import Package
from xlcrm.xlsx.rows import RowShift, delete_rows, shift_formula

from ._helpers import Office, corpus_folder, xlsx_parts

REMOVED = [5, 6, 7]  # rows of Leads, 1-based: Amounts 5, 6, 7 and Qtys 10, 12, 14 go


def _make(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    leads = book.add_worksheet("Leads")
    other = book.add_worksheet("My Sheet")
    summary = book.add_worksheet("Summary")
    leads.write_row(0, 0, ["Name", "Amount", "Qty", "Total", "Running"])
    for r in range(2, 51):
        leads.write_row(r - 1, 0, [f"Lead {r}", r, 2 * r])
        leads.write_formula(r - 1, 3, f"=B{r}+C{r}", None, 3 * r)
    leads.write_formula("E2", "=B2", None, 2)
    for r in range(3, 11):
        leads.write_formula(f"E{r}", f"=E{r - 1}+B{r}", None, sum(range(2, r + 1)))
    leads.add_table("G1:H50", {"name": "Stock", "columns": [{"header": "Item"},
                                                             {"header": "Count"}]})
    for r in range(2, 51):
        leads.write_row(r - 1, 6, [f"item {r}", 1])
    for r in range(1, 11):
        other.write(r - 1, 0, 1000 + r)
    for cell, formula in {
        "A1": "=Leads!B10", "A2": "=SUM(Leads!C2:C50)", "A3": "='My Sheet'!A5",
        "A4": "=Leads!B6", "A5": "=SUM(Leads!B:B)", "A6": "=Leads!B3",
        "A7": "=SUM(Leads!B5:B7)", "A8": "=SUM(Leads!$B$4:$B$8)", "A9": "=SUM(Stock[Count])",
        "A10": '=IF(Leads!B12>0,"Leads!B12",0)',
    }.items():
        summary.write_formula(cell, formula)
    for r in range(2, 7):
        summary.write_formula(f"D{r}", f"=Leads!C{r}*2")
    for r in range(2, 5):
        summary.write_formula(f"E{r}", f"=Leads!B{r + 18}+1")
    summary.write_array_formula("F1:F1", "{=SUM(Leads!B2:B20*Leads!C2:C20)}")
    summary.data_validation("G1", {"validate": "list", "source": "=Leads!$A$2:$A$12"})
    summary.conditional_format("A1", {"type": "formula", "criteria": "=Leads!$B$10>9",
                                      "format": book.add_format({"bold": True})})
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "=Leads!$B$1", "categories": "=Leads!$A$2:$A$12",
                      "values": "=Leads!$B$2:$B$12"})
    summary.insert_chart("H2", chart)
    book.close()
    _share(path)


def _share(path: Path) -> None:
    """Turn Summary!D2:D6, Summary!E2:E4 and Leads!E3:E10 into shared formula groups, as
    Excel writes a formula filled down (the writer above writes each one whole)."""
    groups = {"xl/worksheets/sheet3.xml": [("D", 2, 6, "0"), ("E", 2, 4, "1")],
              "xl/worksheets/sheet1.xml": [("E", 3, 10, "0")]}
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    for part, spans in groups.items():
        xml = parts[part].decode()
        for col, top, bottom, si in spans:
            for r in range(top, bottom + 1):
                pattern = rf'(<c r="{col}{r}"[^>]*>)<f>([^<]*)</f>'
                if r == top:
                    xml, n = re.subn(pattern, rf'\1<f t="shared" ref="{col}{top}:{col}{bottom}" '
                                     rf'si="{si}">\2</f>', xml)
                else:
                    xml, n = re.subn(pattern, rf'\1<f t="shared" si="{si}"/>', xml)
                assert n == 1, (part, col, r)
        parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def _values(path: Path) -> dict[str, dict[str, object]]:
    book = openpyxl.load_workbook(path, data_only=True)
    try:
        return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row
                           if c.value is not None} for ws in book.worksheets}
    finally:
        book.close()


def _formulas(path: Path, sheet: str) -> dict[str, str]:
    book = openpyxl.load_workbook(path)
    try:
        return {c.coordinate: c.value for row in book[sheet].iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")}
    finally:
        book.close()


def test_formulas_on_every_sheet_follow_the_rows_libreoffice_agrees(tmp_path: Path,
                                                                    office: Office) -> None:
    source = tmp_path / "crm.xlsx"
    _make(source)
    out = tmp_path / "removed.xlsx"
    with Package(source) as pkg:
        delete_rows(pkg, "Leads", [r - 1 for r in REMOVED])
        pkg.save(out)
    # the formulas as Excel rewrites them on deleting rows 5:7
    summary = _formulas(out, "Summary")
    assert {k: summary[k] for k in ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9",
                                    "A10")} == {
        "A1": "=Leads!B7", "A2": "=SUM(Leads!C2:C47)", "A3": "='My Sheet'!A5",
        "A4": "=#REF!", "A5": "=SUM(Leads!B:B)", "A6": "=Leads!B3", "A7": "=SUM(#REF!)",
        "A8": "=SUM(Leads!$B$4:$B$5)", "A9": "=SUM(Stock[Count])",
        "A10": '=IF(Leads!B9>0,"Leads!B12",0)'}
    with zipfile.ZipFile(out) as zf:
        sheet3 = zf.read("xl/worksheets/sheet3.xml").decode()
        sheet1 = zf.read("xl/worksheets/sheet1.xml").decode()
        chart = zf.read("xl/charts/chart1.xml").decode()
    # Summary!D2:D6 pointed at C2..C6, two of which went: the group breaks up, cell by cell
    assert 't="shared"' not in re.search(r'<c r="D2".*?</c>', sheet3).group(0)  # type: ignore[union-attr]
    assert [summary[f"D{r}"] for r in range(2, 7)] == [
        "=Leads!C2*2", "=Leads!C3*2", "=Leads!C4*2", "=#REF!*2", "=#REF!*2"]
    # Summary!E2:E4 pointed at B20..B22, which all moved up by three: still one shared group
    assert '<f t="shared" ref="E2:E4" si="1">Leads!B17+1</f>' in sheet3
    assert "<f t=\"array\" ref=\"F1\">SUM(Leads!B2:B17*Leads!C2:C17)</f>" in sheet3
    # a list of values kept on Leads, and a format that looks there, follow the rows too
    assert "<formula1>Leads!$A$2:$A$9</formula1>" in sheet3
    assert "<formula>Leads!$B$7&gt;9</formula>" in sheet3
    # on Leads: Total (one formula per row) moves with its row; the running total breaks at
    # the removed rows, as in Excel
    assert '<f t="shared"' not in sheet1
    leads = _formulas(out, "Leads")
    assert leads["D5"] == "=B5+C5" and leads["E4"] == "=E3+B4" and leads["E5"] == "=#REF!+B5"
    assert leads["E7"] == "=E6+B7"
    # the chart's series follow too: the name's cell stays, the ranges lose three rows
    assert re.findall(r"<c:f>([^<]*)</c:f>", chart) == [
        "Leads!$B$1", "Leads!$A$2:$A$9", "Leads!$B$2:$B$9"]
    # every other part byte for byte
    before, after = xlsx_parts(source), xlsx_parts(out)
    assert {n for n in before if before[n] != after[n]} == {
        "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml", "xl/charts/chart1.xml",
        "xl/tables/table1.xml", "xl/workbook.xml"}
    # LibreOffice recalculates the result: the values worked out by hand
    values = _values(office.convert(out, "xlsx", tmp_path / "lo"))
    s, ld = values["Summary"], values["Leads"]
    assert s["A1"] == 10  # Leads!B10, now B7: the same lead's Amount
    assert s["A2"] == 2 * (sum(range(2, 51)) - 5 - 6 - 7) == 2512
    assert s["A3"] == 1005
    assert s["A4"] == "#REF!" and s["A7"] == "#REF!"
    assert s["A5"] == sum(range(2, 51)) - 18 == 1256
    assert s["A6"] == 3
    assert s["A8"] == 4 + 8
    assert s["A9"] == 46  # 49 items of 1, three gone
    assert s["A10"] == "Leads!B12"  # text in quotes is no reference: it stays as written
    assert [s[f"D{r}"] for r in range(2, 7)] == [8, 12, 16, "#REF!", "#REF!"]
    assert [s[f"E{r}"] for r in range(2, 5)] == [21, 22, 23]
    assert s["F1"] == 2 * (sum(r * r for r in range(2, 21)) - 25 - 36 - 49) == 5518
    assert ld["B5"] == 8 and ld["D5"] == 24  # old row 8
    assert [ld[f"E{r}"] for r in range(2, 8)] == [2, 5, 9, "#REF!", "#REF!", "#REF!"]


def test_formula_text_is_read_with_a_tokenizer() -> None:
    shift = RowShift([5, 6, 7])
    # quoted names with quotes, text that looks like a reference, other workbooks, 3-D
    # references, row ranges, a range ending in a function, sheet names in any case
    assert shift_formula("'Bob''s'!A9+\"Leads!A9\"", shift, "Bob's", local=False) == \
        "'Bob''s'!A6+\"Leads!A9\""
    assert shift_formula("[1]Leads!A9+Leads:Other!A9+LEADS!A9", shift, "Leads",
                         local=False) == "[1]Leads!A9+Leads:Other!A9+LEADS!A6"
    assert shift_formula("SUM(Leads!$3:$9)+SUM(Leads!5:7)", shift, "Leads", local=False) == \
        "SUM(Leads!$3:$6)+SUM(#REF!)"
    assert shift_formula("SUM(A2:INDEX(A:A,9))", shift, "S", local=True) == \
        "SUM(A2:INDEX(A:A,9))"
    assert shift_formula("SUM(A9:INDEX(A:A,9))", shift, "S", local=True) == \
        "SUM(A6:INDEX(A:A,9))"
    assert shift_formula("{1,2;3,4}", shift, "S", local=True) == "{1,2;3,4}"
    assert shift_formula("Leads!B2:Leads!B9", shift, "Leads", local=False) == \
        "Leads!B2:Leads!B6"


def test_a_list_kept_on_the_sheet_in_an_excel_extension_follows_the_rows() -> None:
    """Excel 2010 and later write a validation list kept on another sheet as <xm:f>."""
    from lxml import etree

    from xlcrm.xlsx.formulas import rewrite_sheet_formulas

    root = etree.fromstring(
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData/>'
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"><x14:dataValidations '
        b'count="1"><x14:dataValidation type="list"><x14:formula1><xm:f>\'Lead list\'!$A$2:'
        b"$A$40</xm:f></x14:formula1><xm:sqref>C2:C9</xm:sqref></x14:dataValidation>"
        b"</x14:dataValidations></ext></extLst></worksheet>")
    assert rewrite_sheet_formulas(root, RowShift([3, 4]), "Lead list", local=False)
    f = root.find(".//{http://schemas.microsoft.com/office/excel/2006/main}f")
    assert f is not None and f.text == "'Lead list'!$A$2:$A$38"
    assert root.find(".//{http://schemas.microsoft.com/office/excel/2006/main}sqref").text \
        == "C2:C9"  # type: ignore[union-attr]  # on its own sheet: it stays



def test_the_same_values_as_when_libreoffice_deletes_the_rows_itself(
        tmp_path: Path, office: Office, uno_python: str) -> None:
    """The second opinion: LibreOffice deletes the same rows of the same workbook with its
    own Delete Rows; every value of every sheet, recalculated, is the same."""
    python = uno_python
    source = tmp_path / "crm.xlsx"
    _make(source)
    ours = tmp_path / "ours" / "crm.xlsx"
    ours.parent.mkdir()
    with Package(source) as pkg:
        delete_rows(pkg, "Leads", [r - 1 for r in REMOVED])
        pkg.save(ours)
    theirs = tmp_path / "theirs" / "crm.xlsx"
    theirs.parent.mkdir()
    with office.lock:
        subprocess.run([python, str(Path(__file__).with_name("lo_delete_rows.py")), str(source),
                        str(theirs), "Leads", ",".join(map(str, REMOVED)),
                        str(office.profile)], check=True, capture_output=True, timeout=300)
    # the same formulas, cell for cell, on every sheet
    for sheet in ("Leads", "My Sheet", "Summary"):
        assert _formulas(ours, sheet) == _formulas(theirs, sheet), sheet
    # and the same values; an error is an error (LibreOffice, right after its own deletion,
    # calls #REF!+1 #VALUE!; read again from the file, as Excel does, #REF!)
    mine, its = _values(office.convert(ours, "xlsx", tmp_path / "lo")), _values(theirs)

    def errors_alike(grid: dict[str, object]) -> dict[str, object]:
        return {k: "#ERROR" if isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?"))
                else v for k, v in grid.items()}

    assert {n: errors_alike(g) for n, g in mine.items()} == \
        {n: errors_alike(g) for n, g in its.items()}


#: real workbooks whose formulas point at the sheet rows are removed from: from other sheets
#: (over a thousand), through shared formulas, and from validations
ORACLE_BOOKS = {"closedxml__TryToLoad__TemplateWithTableSourcePivotTables.xlsx":
                "Hedge detail - Nominal",
                "poi__ConditionalFormattingSamples.xlsx": "Home",
                "poi__dataValidationTableRange.xlsx": "xdropdown"}


def _formula_or_value(path: Path) -> dict[tuple[str, str], object]:
    """Every cell's formula (as typed, ``TRUE()`` read as ``TRUE``, any case), else value."""
    with warnings.catch_warnings():  # openpyxl warns of the parts it does not read
        warnings.simplefilter("ignore", UserWarning)
        book = openpyxl.load_workbook(path)
    try:
        out: dict[tuple[str, str], object] = {}
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if isinstance(v, str) and v.startswith("="):
                        v = re.sub(r"(TRUE|FALSE)\(\)", r"\1", v).upper()
                        v = {"=TRUE": True, "=FALSE": False}.get(v, v)  # how each saves a bool
                    if v is not None and not hasattr(v, "text"):  # array formulas aside
                        out[(ws.title, c.coordinate)] = v
        return out
    finally:
        book.close()


@pytest.mark.parametrize("name", sorted(ORACLE_BOOKS))
def test_real_workbooks_get_the_formulas_libreoffice_writes_on_deleting_rows(
        name: str, tmp_path: Path, office: Office, uno_python: str) -> None:
    source = corpus_folder() / name
    if not source.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the corpus is missing {name}")
        pytest.skip("the corpus is not beside this checkout")
    python = uno_python
    sheet, rows = ORACLE_BOOKS[name], [3, 4, 10]
    ours, theirs = tmp_path / "ours" / name, tmp_path / "theirs" / name
    ours.parent.mkdir()
    theirs.parent.mkdir()
    with Package(source) as pkg:
        delete_rows(pkg, sheet, [r - 1 for r in rows])
        pkg.save(ours)
    with office.lock:
        subprocess.run([python, str(Path(__file__).with_name("lo_delete_rows.py")), str(source),
                        str(theirs), sheet, ",".join(map(str, rows)), str(office.profile)],
                       check=True, capture_output=True, timeout=300)
    mine, its = _formula_or_value(ours), _formula_or_value(theirs)
    formulas = [k for k, v in its.items() if isinstance(v, str) and v.startswith("=")]
    assert formulas  # the workbook has formulas to compare
    assert {k: mine.get(k) for k in formulas} == {k: its[k] for k in formulas}
