"""The cell patcher (``xlsx/patch.py``) on hand-made sheets: rows copied through as they are,
rows patched in place, new rows inserted in order with the style of the row above, the table
and the dimension grown, whatever prefix the sheet's XML uses."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from xlcrm.errors import TransplantError
from xlcrm.xlsx.package import Package
from xlcrm.xlsx.patch import patch_cells

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _styles() -> str:
    # three cell formats: 0 general, 1 a date (d/m/yyyy, built-in 14), 2 bold
    return (f'<styleSheet xmlns="{MAIN}"><fonts count="2"><font/><font><b/></font></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="3"><xf/>'
            '<xf numFmtId="14" applyNumberFormat="1"/><xf fontId="1" applyFont="1"/></cellXfs>'
            "</styleSheet>")


def _book(path: Path, sheet_xml: str, table_ref: str | None = None) -> Path:
    """A minimal workbook of one sheet "Leads" whose XML is ``sheet_xml`` (and a table)."""
    parts = {
        "[Content_Types].xml":
            f'<Types xmlns="{CT}"><Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_CT}"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + ('<Override PartName="/xl/tables/table1.xml" ContentType="application/'
               'vnd.openxmlformats-officedocument.spreadsheetml.table+xml"/>'
               if table_ref else "") + "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/'
                       'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet '
                           'name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" '
            'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{REL}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": _styles(),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if table_ref:
        parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/table" '
            'Target="../tables/table1.xml"/></Relationships>')
        parts["xl/tables/table1.xml"] = (
            f'<table xmlns="{MAIN}" id="1" name="Leads" displayName="Leads" ref="{table_ref}">'
            f'<autoFilter ref="{table_ref}"/><tableColumns count="3">'
            '<tableColumn id="1" name="Name"/><tableColumn id="2" name="Created"/>'
            '<tableColumn id="3" name="Days"><calculatedColumnFormula>TODAY()-[@Created]'
            "</calculatedColumnFormula></tableColumn></tableColumns></table>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        + text)
    return path


def _sheet(rows: str, prefix: str = "", dimension: str = "A1:C3") -> str:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (f'<{p}worksheet {ns} xmlns:r="{REL}"><{p}dimension ref="{dimension}"/>'
            f"<{p}sheetData>{rows}</{p}sheetData>"
            f'<{p}pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            f'footer="0.3"/></{p}worksheet>')


# three rows: a header in bold, two records whose Created cells have the date style (1)
ROWS = ('<row r="1" spans="1:3"><c r="A1" s="2" t="inlineStr"><is><t>Name</t></is></c>'
        '<c r="B1" s="2" t="inlineStr"><is><t>Created</t></is></c>'
        '<c r="C1" s="2" t="inlineStr"><is><t>Days</t></is></c></row>'
        '<row r="2" spans="1:3"><c r="A2" t="inlineStr"><is><t>Rossi &amp; figli</t></is></c>'
        '<c r="B2" s="1"><v>46000</v></c><c r="C2"><f>TODAY()-B2</f><v>350</v></c></row>'
        '<row r="3" spans="1:3"><c r="A3" t="inlineStr"><is><t>Bianchi</t></is></c>'
        '<c r="B3" s="1"><v>46001</v></c><c r="C3"><f>TODAY()-B3</f><v>349</v></c></row>')


def _patched(path: Path, cells: dict[tuple[int, int], object]) -> bytes:
    out = path.with_name("out-" + path.name)
    with Package(path) as pkg:
        patch_cells(pkg, "Leads", cells)
        pkg.save(out)
    with zipfile.ZipFile(out) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


def _grid(path: Path) -> list[list[object]]:
    out = path.with_name("out-" + path.name)
    return CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Leads").to_python(
        skip_empty_area=False)


def test_appended_rows_take_the_style_above_and_grow_table_and_dimension(
        tmp_path: Path) -> None:
    book = _book(tmp_path / "a.xlsx", _sheet(ROWS), table_ref="A1:C3")
    xml = _patched(book, {(3, 0): "Verdi", (3, 1): dt.date(2026, 1, 5),
                          (4, 0): " Neri ", (4, 1): dt.date(2026, 1, 6)})
    # rows 1-3 come through byte for byte
    assert ROWS.encode() in xml
    # 2026-01-05 is day 46027 from 1899-12-30; the date style (1) of B3 goes down to B4, B5;
    # the table's formula column fills C4 and C5; a text with spaces keeps them
    assert (b'<row r="4"><c r="A4" t="inlineStr"><is><t>Verdi</t></is></c>'
            b'<c r="B4" s="1"><v>46027.0</v></c><c r="C4"><f>TODAY()-[@Created]</f></c>'
            b"</row>") in xml
    assert b'<t xml:space="preserve"> Neri </t>' in xml and b'<c r="B5" s="1"><v>46028.0' in xml
    assert b'<dimension ref="A1:C5"/>' in xml
    with zipfile.ZipFile(tmp_path / "out-a.xlsx") as zf:
        table = zf.read("xl/tables/table1.xml")
    assert b'ref="A1:C5"' in table and b'<autoFilter ref="A1:C5"/>' in table
    grid = _grid(book)
    assert [row[0] for row in grid] == ["Name", "Rossi & figli", "Bianchi", "Verdi", " Neri "]
    assert grid[3][1] == dt.date(2026, 1, 5)


def test_rows_in_place_and_between_and_a_prefixed_sheet(tmp_path: Path) -> None:
    # rows 1, 2 and 5 exist (row 3 and 4 do not); the sheet writes its namespace as "x:"
    rows = re.sub(r"<(/?)(row|c|is|t|v|f)\b", r"<\1x:\2", ROWS).replace('r="3"', 'r="5"') \
        .replace("A3", "A5").replace("B3", "B5").replace("C3", "C5")
    book = _book(tmp_path / "b.xlsx", _sheet(rows, prefix="x", dimension="A1:C5"))
    xml = _patched(book, {(1, 0): "Rossi", (1, 3): 7, (2, 1): dt.date(2026, 1, 7),
                          (4, 0): None, (5, 2): True})
    # row 2 patched: A2 a new text, D2 a new cell in order, the spans (now wrong) gone
    assert (b'<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>Rossi</x:t></x:is></x:c>'
            b'<x:c r="B2" s="1"><x:v>46000</x:v></x:c>') in xml
    assert b'<x:c r="D2"><x:v>7</x:v></x:c></x:row><x:row r="3">' in xml
    # row 3 new, between 2 and 5, its B cell styled as B2; row 5 emptied in A; row 6 appended
    assert b'<x:row r="3"><x:c r="B3" s="1"><x:v>46029.0</x:v></x:c></x:row><x:row r="5"' \
        in xml
    assert b'<x:c r="A5" t="inlineStr"' not in xml and b'<x:c r="A5"/>' in xml
    assert xml.endswith(b'<x:row r="6"><x:c r="C6" t="b"><x:v>1</x:v></x:c></x:row>'
                        b'</x:sheetData><x:pageMargins left="0.7" right="0.7" top="0.75" '
                        b'bottom="0.75" header="0.3" footer="0.3"/></x:worksheet>')
    assert b'<x:dimension ref="A1:D6"/>' in xml
    grid = _grid(book)
    assert grid[1][:4] == ["Rossi", dt.date(2025, 12, 9), 350.0, 7.0]
    assert grid[2][1] == dt.date(2026, 1, 7) and grid[5][2] is True


def test_an_empty_sheet_and_one_with_comments(tmp_path: Path) -> None:
    empty = _book(tmp_path / "c.xlsx", _sheet("").replace("<sheetData></sheetData>",
                                                          "<sheetData/>"))
    xml = _patched(empty, {(0, 0): "Name", (1, 0): 3.5})
    assert b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>' \
           b'<row r="2"><c r="A2"><v>3.5</v></c></row></sheetData>' in xml
    # a comment (which no spreadsheet writes) holding what looks like a row is not a row
    commented = _book(tmp_path / "d.xlsx", _sheet(ROWS.replace(
        '<row r="2"', '<!-- <row r="9"></row> --><row r="2"')))
    _patched(commented, {(1, 0): "Gallo", (3, 0): "Costa"})
    assert [row[0] for row in _grid(commented)] == ["Name", "Gallo", "Bianchi", "Costa"]


def test_no_sheet_data_is_refused(tmp_path: Path) -> None:
    book = _book(tmp_path / "e.xlsx", f'<worksheet xmlns="{MAIN}"/>')
    with pytest.raises(TransplantError, match="sheetData"):
        _patched(book, {(0, 0): "x"})
