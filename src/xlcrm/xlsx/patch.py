"""Patch cells of a data sheet in place: new values, appended rows, tables that grow.

Used when the team asks xlcrm to edit its own data (an import, a clean-up): only the cells
named change; a new row takes the style of the row above, an Excel table the rows extend grows
with them, and the rest of the sheet stays as it was, byte for byte: the sheet's XML is copied
in one pass (rows no patch names as they are), so a 100,000-row sheet costs a scan of its bytes,
not a tree of millions of elements.
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
from .package import Package, parse_xml, to_xml
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

    The sheet is copied in one pass over its bytes (a 100,000-row sheet is never a tree):
    rows no cell of ``cells`` names are copied as they are, a row that changes is parsed
    alone, and new rows are written as row XML in their place.
    """
    part = next((p for n, p, _ in pkg.sheets() if n == sheet), None)
    if part is None:
        raise TransplantError(f'{pkg.path.name}: no sheet named "{sheet}"')
    if not cells:
        return
    date1904 = is_date1904(pkg.peek("xl/workbook.xml"))
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), value in cells.items():
        by_row.setdefault(r + 1, {})[c] = value
    tables = [pkg.tree(rel.target) for rel in pkg.rels(part) if rel.type.endswith("/table")]
    data = _plain(pkg.read(part))
    pkg.write(part, _SheetSplice(data, by_row, tables, date1904).run())
    pkg.request_full_recalculation()


def _insert_in_order(parent: etree._Element, siblings: dict[int, etree._Element], key: int,
                     element: etree._Element) -> etree._Element:
    """Insert ``element`` (cell number ``key`` of a row) before the next higher sibling."""
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


def _grown_dimension(ref: str, last_row: int, last_col: int) -> str | None:
    """The dimension ``ref`` widened to take ``last_row`` and ``last_col`` (None: not a
    range xlcrm understands, left alone)."""
    m = re.fullmatch(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?", ref)
    if not m:
        return None
    end_col = column_index(m.group(3) or m.group(1))
    end_row = int(m.group(4) or m.group(2))
    return (f"{m.group(1)}{m.group(2)}:{column_letter(max(end_col, last_col))}"
            f"{max(end_row, last_row)}")


# ----- the one pass over a sheet's bytes ---------------------------------------------------------
# A start tag's attributes, quotes respected (a ">" may stand inside a value; a "<" may not, so
# outside comments and CDATA, which _plain takes away, every "<" starts markup).
_ATTRS = rb"""((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*"""
_SHEET_DATA = re.compile(rb"<((?:[\w.-]+:)?)sheetData\b" + _ATTRS + rb"(/?)>")
_ROOT = re.compile(rb"<([\w.:-]+)" + _ATTRS + rb">")
_ROW = re.compile(rb"<((?:[\w.-]+:)?)row\b" + _ATTRS + rb"(/?)>")
_ROW_NUMBER = re.compile(rb"""(?:^|\s)r\s*=\s*["'](\d+)""")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c\b" + _ATTRS + rb"/?>")
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\b[^>]*?\sref\s*=\s*(["'])([^"']*)\1""")
_DECLARED = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([^"']+)""")
_ODD = re.compile(rb"<!--|<!\[CDATA\[|<\?(?!xml\s)")
_PLAIN_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                                remove_comments=True, remove_pis=True, strip_cdata=True)


def _plain(data: bytes) -> bytes:
    """The sheet's XML as the one pass reads it: UTF-8, no comments, processing instructions
    or CDATA sections (Excel writes none; a sheet that has them is re-serialised once)."""
    start = data[:200].lstrip(b"\xef\xbb\xbf")
    declared = _DECLARED.match(start)
    utf8 = start.startswith(b"<") and (declared is None or
                                       declared.group(1).lower() in (b"utf-8", b"utf8"))
    if utf8 and _ODD.search(data) is None:
        return data
    return to_xml(etree.fromstring(data, _PLAIN_PARSER))


def _row_number(attrs: bytes) -> int | None:
    found = _ROW_NUMBER.search(attrs)
    return int(found.group(1)) if found else None


def _escape(text: str) -> str:
    """Text as lxml writes it in an element (a carriage return kept as a reference)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


class _SheetSplice:
    """One sheet's XML with ``by_row`` (1-based row -> 0-based column -> value) applied.

    Rows are visited in order; the last one written is remembered as it is *after* its own
    patch (the styles of its cells), which is what a new cell below it copies.
    """

    def __init__(self, data: bytes, by_row: dict[int, dict[int, Any]],
                 tables: list[etree._Element], date1904: bool) -> None:
        self.data, self.by_row, self.tables, self.date1904 = data, by_row, tables, date1904
        self.out: list[bytes | memoryview] = []
        self.above: tuple[int, dict[int, str]] = (0, {})  # last row written: number, styles
        self.prefix = ""
        self.wrap = (b"", b"")

    def run(self) -> bytes:
        """The patched sheet's XML."""
        data = self.data
        opening = _SHEET_DATA.search(data)
        if opening is None:
            raise TransplantError("a sheet to patch has no cell data (sheetData); open it in "
                                  "Excel and save it again")
        p = opening.group(1)
        self.prefix = p.decode()
        root = _ROOT.search(data, _first_element(data))
        assert root is not None
        self.wrap = (root.group(0), b"</" + root.group(1) + b">")
        self.out.append(self._dimension(data[:opening.start()]))
        if opening.group(3):  # <sheetData/>: no rows yet
            start = end = opening.end()
            self.out.append(b"<" + p + b"sheetData" + opening.group(2) + b">")
            tail = b"</" + p + b"sheetData>" + data[opening.end():]
        else:
            start = opening.end()
            self.out.append(data[opening.start():start])
            end = data.find(b"</" + p + b"sheetData>", start)
            if end < 0:
                raise TransplantError("a sheet to patch is cut short (no </sheetData>)")
            tail = data[end:]
        self._rows(start, end)
        self.out.append(tail)
        return b"".join(self.out)

    def _rows(self, start: int, end: int) -> None:
        data, view, targets = self.data, memoryview(self.data), sorted(self.by_row)
        last = self._last_row(start, end)
        if last is not None and self._rows_found(start, end, targets, last):
            return
        t, pos, copied, number = 0, start, start, 0
        while t < len(targets):
            if last is not None and targets[t] > last[0] and pos < last[1]:
                pos = last[1]  # nothing to patch above the last row: straight to it
            m = _ROW.search(data, pos, end)
            if m is None:
                break
            stated = _row_number(m.group(2))
            number = stated if stated is not None else number + 1
            pos = m.end() if m.group(3) else data.find(b"</" + m.group(1) + b"row>",
                                                        m.end()) + len(m.group(1)) + 6
            if targets[t] > number:  # not patched: copied later as it is
                if targets[t] == number + 1:
                    self.above = (number, self._styles(data[m.start():pos]))
                continue
            self.out.append(view[copied:m.start()])
            copied = m.start()
            while t < len(targets) and targets[t] < number:
                self._new_row(targets[t])
                t += 1
            if t < len(targets) and targets[t] == number:
                self._patch_row(number, data[m.start():pos])
                t += 1
                copied = pos
            elif t < len(targets) and targets[t] == number + 1:
                self.above = (number, self._styles(data[m.start():pos]))
        self.out.append(view[copied:end])
        for r in targets[t:]:
            self._new_row(r)

    def _rows_found(self, start: int, end: int, targets: list[int],
                    last: tuple[int, int]) -> bool:
        """The rows to patch found by their numbers, the rows between copied unread: when
        every row states its number first (``<row r="7"``, as spreadsheets write it) and
        each row to patch exists or comes after the last one. False (nothing done) else."""
        data, p = self.data, self.prefix.encode()
        tag = b"<" + p + b'row r="'
        if data.count(b"<" + p + b"row", start, end) != data.count(tag, start, end):
            return False
        found: list[tuple[int, int, int]] = []  # (row, start, end) of each existing target
        pos = start
        for t in targets:
            if t > last[0]:
                break
            at = data.find(tag + b'%d"' % t, pos, end)
            if at < 0:
                return False  # a new row between two others: the row-by-row pass places it
            pos = self._row_end(at)
            found.append((t, at, pos))
        view, copied = memoryview(data), start
        for t, at, stop in found:
            self._styles_above(t, copied, at)
            self.out.append(view[copied:at])
            self._patch_row(t, data[at:stop])
            copied = stop
        appended = targets[len(found):]
        if appended:
            self._styles_above(appended[0], copied, end)
        self.out.append(view[copied:end])
        for r in appended:
            self._new_row(r)
        return True

    def _row_end(self, at: int) -> int:
        m = _ROW.match(self.data, at)
        assert m is not None
        if m.group(3):
            return m.end()
        close = b"</" + m.group(1) + b"row>"
        return self.data.index(close, m.end()) + len(close)

    def _styles_above(self, r: int, start: int, end: int) -> None:
        """Remember the styles of row ``r - 1`` when it is an unpatched row in
        ``start``..``end`` (a patched or new one is remembered as it is written)."""
        if self.above[0] == r - 1:
            return
        at = self.data.rfind(b"<" + self.prefix.encode() + b'row r="%d"' % (r - 1), start, end)
        if at >= 0:
            self.above = (r - 1, self._styles(self.data[at:self._row_end(at)]))

    def _last_row(self, start: int, end: int) -> tuple[int, int] | None:
        """(number, position) of the sheet's last row, when it states its number."""
        at, tag = end, b"<" + self.prefix.encode() + b"row"
        while True:
            at = self.data.rfind(tag, start, at)
            if at < 0:
                return None
            m = _ROW.match(self.data, at)
            if m is not None:
                number = _row_number(m.group(2))
                return None if number is None else (number, at)

    @staticmethod
    def _styles(row: bytes) -> dict[int, str]:
        """The style of each cell of a row's XML that has one, by 0-based column."""
        out = {}
        for m in _CELL.finditer(row):
            attrs = {a.group(1): a.group(2) if a.group(2) is not None else a.group(3)
                     for a in _ATTR.finditer(m.group(1))}
            ref = _CELL_REF.match(attrs.get(b"r", b"").decode())
            style = attrs.get(b"s")
            if ref and style:
                out[column_index(ref.group(1))] = style.decode()
        return out

    def _wanted(self, r: int) -> dict[int, Any]:
        wanted = dict(self.by_row[r])
        for table in self.tables:
            _grow_table(table, r, wanted, {})
        return wanted

    def _template(self, r: int) -> dict[int, str]:
        number, styles = self.above
        return styles if number == r - 1 else {}

    def _new_row(self, r: int) -> None:
        p, styles = self.prefix, self._template(r)
        wanted = self._wanted(r)
        cells, kept = [], {}
        for col in sorted(wanted):
            style = styles.get(col)
            if style:
                kept[col] = style
            cells.append(self._cell(f"{column_letter(col)}{r}", style, wanted[col]))
        self.out.append(f'<{p}row r="{r}">{"".join(cells)}</{p}row>'.encode())
        self.above = (r, kept)

    def _cell(self, ref: str, style: str | None, value: Any) -> str:
        """A new cell's XML, as :func:`_set_cell` makes it."""
        p = self.prefix
        head = f'<{p}c r="{ref}"' + (f' s="{_escape(style)}"' if style else "")
        if isinstance(value, _Formula):
            return f"{head}><{p}f>{_escape(value.text)}</{p}f></{p}c>"
        if value is None or value == "":
            return head + "/>"
        if isinstance(value, bool):
            return f'{head} t="b"><{p}v>{"1" if value else "0"}</{p}v></{p}c>'
        if isinstance(value, (int, float)):
            number = repr(float(value)) if isinstance(value, float) else str(value)
            return f"{head}><{p}v>{number}</{p}v></{p}c>"
        if isinstance(value, (dt.date, dt.datetime)):
            return f"{head}><{p}v>{_excel_serial(value, self.date1904)!r}</{p}v></{p}c>"
        text = _XML_ILLEGAL.sub("", str(value))
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return (f'{head} t="inlineStr"><{p}is><{p}t{space}>{_escape(text)}</{p}t></{p}is>'
                f"</{p}c>")

    def _patch_row(self, r: int, xml: bytes) -> None:
        """An existing row with cells set: parsed alone (inside the sheet's root element, so
        its namespaces hold) and written back."""
        wrapper = parse_xml(self.wrap[0] + xml + self.wrap[1])
        row = wrapper[0]
        styles = self._template(r)
        existing = _cells_by_column(row)
        wanted = self._wanted(r)
        for col in sorted(wanted):
            cell = existing.get(col)
            if cell is None:
                cell = _insert_in_order(row, existing, col, etree.Element(
                    _M + "c", r=f"{column_letter(col)}{r}"))
                if styles.get(col):
                    cell.set("s", styles[col])
            value = wanted[col]
            if isinstance(value, _Formula):
                for child in list(cell):
                    cell.remove(child)
                cell.attrib.pop("t", None)
                etree.SubElement(cell, _M + "f").text = value.text
            else:
                _set_cell(cell, value, self.date1904)
        row.attrib.pop("spans", None)  # optional, and now possibly wrong
        text = etree.tostring(wrapper, encoding="UTF-8")
        body = text.index(b">", text.index(b"<" + self.wrap[1][2:-1])) + 1
        self.out.append(text[body:text.rindex(b"</")])
        self.above = (r, {col: str(c.get("s")) for col, c in _cells_by_column(row).items()
                          if c.get("s")})

    def _dimension(self, head: bytes) -> bytes:
        m = _DIMENSION.search(head)
        if m is None:
            return head
        ref = _grown_dimension(m.group(2).decode(), max(self.by_row),
                               max(c for cols in self.by_row.values() for c in cols))
        return head if ref is None else head[:m.start(2)] + ref.encode() + head[m.end(2):]


def _first_element(data: bytes) -> int:
    """Where the root element's start tag begins (after a BOM and the XML declaration)."""
    at = data.find(b"<")
    while data.startswith(b"<?", at):
        at = data.find(b"<", data.find(b"?>", at) + 2)
    return at
