"""Row-level edits of a package: rows removed (:func:`delete_rows`), and shared strings no cell
uses any more blanked (:func:`drop_unused_strings`).

Removing rows of a sheet moves the rows below up and updates what points at them: the sheet's
dimension, merged ranges, hyperlinks, data validations and conditional formats, its tables'
ranges, the workbook's defined names, and every formula that refers to the sheet by address,
on any sheet, and every chart series over it (:mod:`.formulas`, shared formulas included). A
range that loses some of its rows shrinks; one that loses all of them goes (a formula's
reference to a removed cell becomes ``#REF!``, as in Excel). Every other part stays byte for
byte.

A cell patched with a new value stops referring to its shared string, but the string stays in
``xl/sharedStrings.xml``, where anyone unzipping the file can read it. After erasing cells,
:func:`drop_unused_strings` blanks every shared string no cell of any sheet refers to; the
strings keep their positions, so no cell's index changes and no other part is touched.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection
from xml.sax.saxutils import escape

from lxml import etree

from ..errors import TransplantError
from .formulas import names_other_sheet, rewrite_chart_refs, rewrite_sheet_formulas
from .formulas import shift_formula as _shift_formula
from .package import Package, to_xml
from .parts import NS_MAIN

__all__ = ["RowShift", "delete_rows", "drop_unused_strings"]

_M = f"{{{NS_MAIN}}}"
_SHARED_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*\bt="s"[^>]*>\s*<(?:\w+:)?v>(\d+)<')


def _shared_strings_part(pkg: Package) -> str | None:
    for rel in pkg.rels("xl/workbook.xml"):
        if rel.type.endswith("/sharedStrings") and not rel.external:
            return rel.target
    return None


def drop_unused_strings(pkg: Package) -> int:
    """Blank the shared strings no cell refers to; return how many were blanked.

    Every sheet part is read as edited so far (patched sheets included) and scanned, not
    parsed, so the untouched ones stay byte for byte.
    """
    part = _shared_strings_part(pkg)
    if part is None or not pkg.has(part):
        return 0
    used: set[int] = set()
    for _, sheet_part, _ in pkg.sheets():
        if sheet_part and pkg.has(sheet_part):
            used.update(int(m.group(1)) for m in _SHARED_REF.finditer(pkg.read(sheet_part)))
    root = pkg.peek(part)
    items = root.findall(_M + "si")
    unused = [i for i, si in enumerate(items) if i not in used and "".join(si.itertext())]
    if not unused:
        return 0
    root = pkg.tree(part)
    items = root.findall(_M + "si")
    for i in unused:
        si = items[i]
        for child in list(si):
            si.remove(child)
        etree.SubElement(si, _M + "t")
    return len(unused)



class RowShift:
    """Where each row of a sheet goes when some of its rows (1-based) are removed."""

    def __init__(self, removed: Collection[int]) -> None:
        self.removed = sorted(set(removed))
        self._set = set(self.removed)

    def row(self, r: int) -> int | None:
        """The new number of row ``r``, ``None`` when it is removed."""
        if r in self._set:
            return None
        return r - bisect.bisect_left(self.removed, r)

    def span(self, top: int, bottom: int) -> tuple[int, int] | None:
        """The rows ``top..bottom`` become, ``None`` when all of them are removed."""
        gone = bisect.bisect_right(self.removed, bottom) - bisect.bisect_left(self.removed, top)
        if gone == bottom - top + 1:
            return None
        new_top = top - bisect.bisect_left(self.removed, top)
        return new_top, new_top + (bottom - top) - gone


_A1_RANGE = re.compile(r"^(\$?)([A-Z]{1,3})(\$?)(\d+)(?::(\$?)([A-Z]{1,3})(\$?)(\d+))?$")


def shift_range(ref: str, shift: RowShift) -> str | None:
    """An A1 cell or range (``B5``, ``$A$2:$C$40``) after the rows are removed; ``None`` when
    all its rows go. Whole columns and anything else are returned as they are."""
    m = _A1_RANGE.match(ref)
    if not m:
        return ref
    d1, c1, d2, r1, d3, c2, d4, r2 = m.groups()
    top, bottom = int(r1), int(r2 or r1)
    span = shift.span(top, bottom)
    if span is None:
        return None
    if r2 is None:
        return f"{d1}{c1}{d2}{span[0]}"
    return f"{d1}{c1}{d2}{span[0]}:{d3}{c2}{d4}{span[1]}"


def _shift_sqref(sqref: str, shift: RowShift) -> str:
    return " ".join(r for r in (shift_range(p, shift) for p in sqref.split()) if r)


# a reference in a formula: optionally sheet-qualified, a cell or a range of cells
_FORMULA_REF = re.compile(
    r"(?<![\w.!\]])((?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?"
    r"(\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)(?![\w(\[])")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def shift_formula(formula: str, shift: RowShift, sheet: str, *, local: bool) -> str:
    """A formula after rows of ``sheet`` are removed (:func:`.formulas.shift_formula`).

    Args:
        formula: the formula text (without ``=``).
        shift: the rows removed.
        sheet: the sheet they were removed from.
        local: the formula lives on that sheet (its unqualified references point there).
    """
    return _shift_formula(formula, shift, sheet, local=local)


def delete_rows(pkg: Package, sheet: str, rows: Collection[int]) -> None:
    """Remove rows (0-based) of a sheet, moving the rows below up.

    Raises:
        TransplantError: the workbook has no such sheet.
    """
    if not rows:
        return
    found = next(((p, el) for n, p, el in pkg.sheets() if n == sheet), None)
    if found is None:
        raise TransplantError(f'{pkg.path.name}: no sheet named "{sheet}"')
    part = found[0]
    shift = RowShift([r + 1 for r in rows])
    root = pkg.tree(part)
    data = root.find(_M + "sheetData")
    assert data is not None
    # formulas first, while every cell is still where its formula was written
    rewrite_sheet_formulas(root, shift, sheet, local=True, row_of=shift.row)
    for row in list(data.findall(_M + "row")):
        new = shift.row(int(row.get("r", "0")))
        if new is None:
            data.remove(row)
            continue
        row.set("r", str(new))
        for cell in row.findall(_M + "c"):
            ref = cell.get("r", "")
            m = re.match(r"([A-Z]+)(\d+)$", ref)
            if m:
                cell.set("r", f"{m.group(1)}{new}")
            f = cell.find(_M + "f")
            if f is not None and f.get("ref"):  # an array formula's or a shared group's range
                moved = shift_range(f.get("ref", ""), shift)
                if moved is None:
                    f.attrib.pop("ref")
                else:
                    f.set("ref", moved)
    _shift_sheet_ranges(root, shift, sheet)
    for rel in pkg.rels(part):
        if rel.type.endswith("/table") and not rel.external:
            peeked = pkg.peek(rel.target)
            if _table_ref(peeked, shift) == peeked.get("ref"):
                continue  # a table above the removed rows: its part stays byte for byte
            table = pkg.tree(rel.target)
            for el in (table, table.find(_M + "autoFilter")):
                if el is not None and el.get("ref"):
                    el.set("ref", _table_ref(el, shift))
    book = pkg.tree("xl/workbook.xml")
    names = book.find(_M + "definedNames")
    for name in names if names is not None else []:
        if name.text:
            name.text = shift_formula(name.text, shift, sheet, local=False)
    _rewrite_other_sheets(pkg, part, shift, sheet)
    rewrite_chart_refs(pkg, shift, sheet)


def _rewrite_other_sheets(pkg: Package, part: str, shift: RowShift, sheet: str) -> None:
    """Rewrite the formulas of the other sheets that refer to ``sheet`` by address; a sheet
    none of whose formulas change stays byte for byte."""
    name = escape(sheet).lower()
    marks = (f"{name}!".encode(), f"'{name.replace(chr(39), chr(39) * 2)}'!".encode())
    for _, other, _ in pkg.sheets():
        if not other or other == part or not pkg.has(other):
            continue
        data = pkg.read(other).lower()
        if not any(mark in data for mark in marks):  # most sheets never name it: not parsed
            continue
        root = pkg.peek(other)
        if rewrite_sheet_formulas(root, shift, sheet, local=False):
            pkg.write(other, to_xml(root))


def _table_ref(el: etree._Element, shift: RowShift) -> str:
    """A table's (or its filter's) range after the rows go; it keeps its header row and at
    least one data row, as Excel requires."""
    ref = str(el.get("ref", ""))
    moved = shift_range(ref, shift)
    m = _A1_RANGE.match(moved or "")
    if moved is None or m is None or m.group(8) is None:
        return ref
    if int(m.group(8)) <= int(m.group(4)):  # only the header left: keep one empty row
        moved = f"{m.group(2)}{m.group(4)}:{m.group(6)}{int(m.group(4)) + 1}"
    return moved


def _shift_sheet_ranges(root: etree._Element, shift: RowShift, sheet: str) -> None:
    dim = root.find(_M + "dimension")
    if dim is not None and dim.get("ref"):
        dim.set("ref", shift_range(dim.get("ref", ""), shift) or "A1")
    merged = root.find(_M + "mergeCells")
    if merged is not None:
        for mc in list(merged):
            moved = shift_range(mc.get("ref", ""), shift)
            if moved is None or ":" not in moved or moved.split(":")[0] == moved.split(":")[1]:
                merged.remove(mc)
            else:
                mc.set("ref", moved)
        if len(merged) == 0:
            root.remove(merged)
        else:
            merged.set("count", str(len(merged)))
    links = root.find(_M + "hyperlinks")
    if links is not None:
        for link in list(links):
            moved = shift_range(link.get("ref", ""), shift)
            if moved is None:
                links.remove(link)  # (its relationship stays, unused, as Excel tolerates)
            else:
                link.set("ref", moved)
        if len(links) == 0:
            root.remove(links)
    for tag in ("conditionalFormatting", "dataValidations"):
        for holder in root.iter(_M + tag):
            items = [holder] if tag == "conditionalFormatting" else list(holder)
            for item in items:
                old = item.get("sqref", "")
                new = _shift_sqref(old, shift)
                if not new:
                    item.getparent().remove(item)
                    continue
                first_old, first_new = old.split()[0], new.split()[0]
                item.set("sqref", new)
                for f in item.iter(_M + "formula", _M + "formula1", _M + "formula2"):
                    if f.text:
                        f.text = _relative_formula(f.text, shift, sheet, first_old, first_new)
            if tag == "dataValidations":
                if len(holder) == 0:
                    root.remove(holder)
                else:
                    holder.set("count", str(len(holder)))


def _relative_formula(text: str, shift: RowShift, sheet: str, old_anchor: str,
                      new_anchor: str) -> str:
    """A validation's or conditional format's formula after the rows are removed.

    Its relative references are relative to the range's first cell: when that cell moves up,
    they move up with it. Its absolute references (``$5``) follow their rows.
    """
    a, b = _A1_RANGE.match(old_anchor), _A1_RANGE.match(new_anchor)
    up = int(a.group(4)) - int(b.group(4)) if a and b else 0

    def endpoint(m: re.Match[str]) -> str:
        dc, col, dr, row = m.group(1), m.group(2), m.group(3), int(m.group(4))
        if dr:
            row -= bisect.bisect_left(shift.removed, row)  # a removed row: the next one
        else:
            row = max(row - up, 1)
        return f"{dc}{col}{dr}{row}"

    def one(m: re.Match[str]) -> str:
        qual, ref = m.group(1), m.group(2)
        if qual and names_other_sheet(qual, sheet):
            return m.group(0)
        return (qual or "") + _CELL.sub(endpoint, ref)

    out, last = [], 0
    for q in _STRING.finditer(text):
        out.append(_FORMULA_REF.sub(one, text[last:q.start()]))
        out.append(q.group(0))
        last = q.end()
    out.append(_FORMULA_REF.sub(one, text[last:]))
    return "".join(out)


_CELL = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")
