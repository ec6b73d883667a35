"""Patch cells of a data sheet in place: new values, appended rows, tables that grow.

Used when the team asks xlcrm to edit its own data (an import, a clean-up): only the cells
named change; a new row takes the style of the row above, an Excel table the rows extend grows
with them, and the rest of the sheet stays as it was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..errors import TransplantError
from ..issues import column_index, column_letter
from .package import Package
from .parts import NS_MAIN, is_date1904

__all__ = ["patch_cells"]

_M = f"{{{NS_MAIN}}}"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _cells_by_column(row: etree._Element) -> dict[int, etree._Element]:
    """The <c> elements of a <row>, by 0-based column."""
    out = {}
    for cell in row.findall(_M + "c"):
        m = _CELL_REF.match(cell.get("r", ""))
        if m:
            out[column_index(m.group(1))] = cell
    return out


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _excel_serial(value: dt.date, date1904: bool) -> float:
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return (stamp - epoch).total_seconds() / 86400


def _set_cell(c: etree._Element, value: Any, date1904: bool) -> None:
    """Give a <c> element a value, keeping its style (s) attribute."""
    for child in list(c):
        c.remove(child)
    c.attrib.pop("t", None)
    if value is None or value == "":
        return
    if isinstance(value, bool):
        c.set("t", "b")
        etree.SubElement(c, _M + "v").text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        etree.SubElement(c, _M + "v").text = repr(float(value)) if isinstance(value, float) \
            else str(value)
    elif isinstance(value, (dt.date, dt.datetime)):
        etree.SubElement(c, _M + "v").text = repr(_excel_serial(value, date1904))
    else:
        c.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(c, _M + "is"), _M + "t")
        # a character XML can't hold (NUL, a control, U+FFFE) can't be in a cell: dropped
        t.text = _XML_ILLEGAL.sub("", str(value))
        if t.text != t.text.strip():
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def patch_cells(pkg: Package, sheet: str, cells: Mapping[tuple[int, int], Any]) -> None:
    """Set cell values of a sheet (``(row, column)`` 0-based -> value), touching nothing else.

    A new cell takes the style of the cell above it, so appended records look like the rest
    of the table; an Excel table that the new rows extend grows with them, and so does the
    sheet's dimension. Formula columns of a table get their calculated formula in new rows.
    """
    part = next((p for n, p, _ in pkg.sheets() if n == sheet), None)
    if part is None:
        raise TransplantError(f'{pkg.path.name}: no sheet named "{sheet}"')
    date1904 = is_date1904(pkg.peek("xl/workbook.xml"))
    root = pkg.tree(part)
    data = root.find(_M + "sheetData")
    assert data is not None
    rows = {int(r.get("r", "0")): r for r in data.findall(_M + "row")}
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), value in cells.items():
        by_row.setdefault(r + 1, {})[c] = value
    tables = [(rel.target, pkg.tree(rel.target)) for rel in pkg.rels(part)
              if rel.type.endswith("/table")]
    for r in sorted(by_row):
        row = rows.get(r)
        if row is None:
            row = _insert_in_order(data, rows, r, etree.Element(_M + "row", r=str(r)))
        existing = _cells_by_column(row)
        above = rows.get(r - 1)
        above_cells = {} if above is None else _cells_by_column(above)
        wanted = dict(by_row[r])
        for _, table in tables:
            _grow_table(table, r, wanted, above_cells)
        for col in sorted(wanted):
            cell = existing.get(col)
            if cell is None:
                cell = _insert_in_order(row, existing, col, etree.Element(
                    _M + "c", r=f"{column_letter(col)}{r}"))
                template = above_cells.get(col)
                if template is not None and template.get("s"):
                    cell.set("s", template.get("s", "0"))
            value = wanted[col]
            if isinstance(value, _Formula):
                for child in list(cell):
                    cell.remove(child)
                cell.attrib.pop("t", None)
                etree.SubElement(cell, _M + "f").text = value.text
            else:
                _set_cell(cell, value, date1904)
        row.attrib.pop("spans", None)  # optional, and now possibly wrong
    _grow_dimension(root, max(by_row), max(c for r in by_row.values() for c in r))
    pkg.request_full_recalculation()


def _insert_in_order(parent: etree._Element, siblings: dict[int, etree._Element], key: int,
                     element: etree._Element) -> etree._Element:
    """Insert ``element`` (row or cell number ``key``) before the next higher sibling."""
    later = [k for k in siblings if k > key]
    if later:
        siblings[min(later)].addprevious(element)
    else:
        parent.append(element)
    siblings[key] = element
    return element


@dataclass(frozen=True)
class _Formula:
    text: str


def _grow_table(table: etree._Element, row: int, wanted: dict[int, Any],
                above: Mapping[int, etree._Element]) -> None:
    """Extend a table whose last row is just above ``row``; fill its formula columns."""
    ref = table.get("ref", "")
    m = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", ref)
    if not m:
        return
    first_col, last_col = column_index(m.group(1)), column_index(m.group(3))
    top, bottom = int(m.group(2)), int(m.group(4))
    if not (row == bottom + 1 and any(first_col <= c <= last_col for c in wanted)):
        return
    new_ref = f"{m.group(1)}{top}:{m.group(3)}{row}"
    table.set("ref", new_ref)
    auto = table.find(_M + "autoFilter")
    if auto is not None:
        auto.set("ref", new_ref)
    columns = table.find(_M + "tableColumns")
    for i, column in enumerate(columns if columns is not None else []):
        formula = column.find(_M + "calculatedColumnFormula")
        col = first_col + i
        if formula is not None and formula.text and col not in wanted:
            wanted[col] = _Formula(formula.text)


def _grow_dimension(root: etree._Element, last_row: int, last_col: int) -> None:
    dim = root.find(_M + "dimension")
    if dim is None:
        return
    m = re.fullmatch(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?", dim.get("ref", ""))
    if not m:
        return
    end_col = column_index(m.group(3) or m.group(1))
    end_row = int(m.group(4) or m.group(2))
    dim.set("ref", f"{m.group(1)}{m.group(2)}:{column_letter(max(end_col, last_col))}"
                   f"{max(end_row, last_row)}")
