"""Transplant sheets: copy whole sheets from a scratch workbook into a team's workbook.

New sheets are made in a scratch workbook (XlsxWriter) and *transplanted*: the sheet part and
the parts it needs (tables, drawings, charts) are copied in under fresh names, their styles
merged into the target's ``styles.xml`` without renumbering what is there (:mod:`.styles`),
their strings written inline. A sheet xlcrm owns is replaced in place, keeping its position, id
and anything referring to it; every other part of the target stays as it was (:mod:`.package`).
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

from ..errors import TransplantError
from .package import CT_SHEET, REL_SHEET, Package, parse_xml, relative_target, to_xml
from .parts import NS_MAIN, NS_PKG_REL, NS_R, rels_name
from .styles import StyleMerger

__all__ = ["RowRenderer", "transplant_sheets"]

_M = f"{{{NS_MAIN}}}"
# table attributes that point at a dxf (the last one names a cell style, not a dxf)
_DXF_ATTRS = ("dxfId", "dataDxfId", "headerRowDxfId", "totalsRowDxfId", "headerRowBorderDxfId",
              "tableBorderDxfId", "totalsRowBorderDxfId", "headerRowCellStyle")

#: Renders the bulk rows of a long sheet as ``<row>`` XML, given the function that turns a
#: scratch cell-format index into the target's.
RowRenderer = Callable[[Callable[[int], int]], bytes]


def transplant_sheets(target: Package, scratch: Package, names: Iterable[str], *,
                      replace: bool, names_map: Mapping[str, str] | None = None,
                      defined_names: bool = True,
                      extra_rows: Mapping[str, RowRenderer] | None = None) -> list[str]:
    """Copy sheets from ``scratch`` into ``target``.

    Args:
        target: the workbook being edited.
        scratch: a workbook made by xlcrm holding the new sheets.
        names: scratch sheet names to copy.
        replace: a target sheet of the same name is replaced in place (its position, id and
            anything referring to it kept); when false, a clash raises TransplantError.
        names_map: rename sheets on the way in.
        defined_names: copy the scratch workbook's defined names too.
        extra_rows: per scratch sheet name, rows to append to its data as XML (a long,
            plain table written without a spreadsheet library's per-cell cost).

    Returns:
        The names of the sheets written.
    """
    names = list(names)
    names_map = dict(names_map or {})
    styles = StyleMerger(target.tree("xl/styles.xml"), scratch.tree("xl/styles.xml"))
    strings = _shared_strings(scratch)
    scratch_sheets = {n: (p, el) for n, p, el in scratch.sheets()}
    scratch_order = [n for n, _, _ in scratch.sheets()]
    book = target.tree("xl/workbook.xml")
    sheets_el = target.workbook_child("sheets")
    existing = {n.lower(): (n, p, el) for n, p, el in target.sheets()}
    table_names = _table_names(target)
    next_table_id = max(_table_ids(target) + [0]) + 1
    written = []
    for name in names:
        new_name = names_map.get(name, name)
        src_part, _ = scratch_sheets[name]
        clash = existing.get(new_name.lower())
        if clash and not replace:
            raise TransplantError(
                f'{target.path.name}: already has a sheet named "{clash[0]}"; rename it or '
                "choose another name (xlcrm never overwrites a sheet it doesn't own)")
        if clash:
            part = clash[1]
            _remove_sheet_parts(target, part)
            table_names = _table_names(target)  # the old sheet's tables are gone
        else:
            part = target.free_name("xl/worksheets/sheet{}.xml")
            rid = target.add_rel("xl/workbook.xml", REL_SHEET, part)
            ids = [int(el.get("sheetId", "0")) for el in sheets_el]
            etree.SubElement(sheets_el, _M + "sheet",
                             {"name": new_name, "sheetId": str(max(ids + [0]) + 1),
                              f"{{{NS_R}}}id": rid})
            target.set_content_type(part, CT_SHEET)
        sheet_xml = _remap_sheet_bytes(scratch.read(src_part), styles, strings)
        if extra_rows and name in extra_rows:
            sheet_xml = _append_rows(sheet_xml, extra_rows[name](styles.xf))
        target.write(part, sheet_xml)
        # the parts the sheet refers to: tables, drawings and their charts
        for rel in scratch.rels(src_part):
            if rel.external:
                target.add_rel(part, rel.type, rel.target)
                continue
            new_part = _copy_subtree(target, scratch, rel.target, styles, table_names,
                                     next_table_id)
            if rel.type.endswith("/table"):
                next_table_id += 1
            root = target.rels_tree(part)
            etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship", Id=rel.id, Type=rel.type,
                             Target=relative_target(part, new_part))
        written.append(new_name)
        existing[new_name.lower()] = (new_name, part, sheets_el)
    if defined_names:
        _copy_defined_names(target, scratch, scratch_order, names, names_map)
    del book
    return written


def _table_names(pkg: Package) -> set[str]:
    names = set()
    for part in pkg.part_names():
        if part.startswith("xl/tables/") and part.endswith(".xml"):
            root = pkg.peek(part)
            names.add(root.get("name", "").lower())
            names.add(root.get("displayName", "").lower())
    return names


def _table_ids(pkg: Package) -> list[int]:
    ids = []
    for part in pkg.part_names():
        if part.startswith("xl/tables/") and part.endswith(".xml"):
            ids.append(int(pkg.peek(part).get("id", "0")))
    return ids


_PATTERNS = {"xl/tables/": "xl/tables/table{}.xml", "xl/drawings/": "xl/drawings/drawing{}.xml",
             "xl/charts/": "xl/charts/chart{}.xml"}


def _copy_subtree(target: Package, scratch: Package, src: str, styles: StyleMerger,
                  table_names: set[str], table_id: int) -> str:
    """Copy a part and everything it refers to; return its new name in ``target``."""
    folder = posixpath.dirname(src) + "/"
    pattern = (_PATTERNS.get(folder) if src.endswith(".xml") else None) or \
        re.sub(r"\d*\.(\w+)$", r"{}.\1", src)
    new = target.free_name(pattern)
    data = scratch.read(src)
    if folder == "xl/tables/":
        root = parse_xml(data)
        for attr in ("name", "displayName"):
            if root.get(attr, "").lower() in table_names:
                raise TransplantError(
                    f'{target.path.name}: already has a table named "{root.get(attr)}"; '
                    "rename that table in Excel (Table Design > Table Name) and try again")
        root.set("id", str(table_id))
        for el in root.iter():
            for attr in _DXF_ATTRS[:-1]:
                if el.get(attr) is not None:
                    el.set(attr, str(styles.dxf(int(el.get(attr, "0")))))
        table_names.update({root.get("name", "").lower(), root.get("displayName", "").lower()})
        data = to_xml(root)
    target.write(new, data)
    content_type = scratch.content_type(src)
    if content_type:
        target.set_content_type(new, content_type)
    for rel in scratch.rels(src):
        if rel.external:
            target.add_rel(new, rel.type, rel.target)
            continue
        child = _copy_subtree(target, scratch, rel.target, styles, table_names, table_id)
        root_rels = target.rels_tree(new)
        etree.SubElement(root_rels, f"{{{NS_PKG_REL}}}Relationship", Id=rel.id, Type=rel.type,
                         Target=relative_target(new, child))
    return new


_OWNED_FOLDERS = ("xl/tables/", "xl/drawings/", "xl/charts/", "xl/comments", "xl/printerSettings/",
                  "xl/media/")


def _remove_sheet_parts(pkg: Package, part: str) -> None:
    """Remove an owned sheet's parts (its tables, drawings, charts) before rewriting it."""
    referenced_elsewhere: dict[str, int] = {}
    for name in pkg.part_names():
        if name.endswith(".rels"):
            owner = posixpath.join(posixpath.dirname(posixpath.dirname(name)),
                                   posixpath.basename(name)[:-5])
            for rel in pkg.rels(owner):
                if not rel.external:
                    referenced_elsewhere[rel.target] = referenced_elsewhere.get(rel.target, 0) + 1

    def drop(p: str) -> None:
        for rel in pkg.rels(p):
            if not rel.external and rel.target.startswith(_OWNED_FOLDERS) and \
                    referenced_elsewhere.get(rel.target, 0) <= 1 and pkg.has(rel.target):
                drop(rel.target)
                pkg.remove_part(rel.target)
    drop(part)
    if pkg.has(rels_name(part)):
        pkg.delete(rels_name(part))


def _copy_defined_names(target: Package, scratch: Package, scratch_order: list[str],
                        names: list[str], names_map: Mapping[str, str]) -> None:
    src = scratch.tree("xl/workbook.xml").find(_M + "definedNames")
    if src is None:
        return
    positions = {n.lower(): i for i, (n, _, _) in enumerate(target.sheets())}
    container = target.workbook_child("definedNames")
    have = {(el.get("name", "").lower(), el.get("localSheetId")) for el in container}
    for el in src:
        local = el.get("localSheetId")
        new = copy.deepcopy(el)
        if local is not None:
            sheet = scratch_order[int(local)]
            if sheet not in names:
                continue
            new.set("localSheetId", str(positions[names_map.get(sheet, sheet).lower()]))
        key = (new.get("name", "").lower(), new.get("localSheetId"))
        if key in have:
            continue
        container.append(new)
        have.add(key)


# ----- the sheet's bytes -------------------------------------------------------------------
_STYLE_ATTR = re.compile(rb'(<(?:c|row)\b[^>]*?\ss=")(\d+)(")|(<col\b[^>]*?\sstyle=")(\d+)(")')
_SHARED_CELL = re.compile(rb'<c ([^>]*?)t="s"([^>]*)><v>(\d+)</v></c>')
_CF_DXF = re.compile(rb'(<cfRule\b[^>]*?\sdxfId=")(\d+)(")')


def _remap_sheet_bytes(data: bytes, styles: StyleMerger, strings: list[str]) -> bytes:
    """Point a transplanted sheet at the target's styles and write its strings inline.

    Works on the bytes of a sheet XlsxWriter wrote (a regular, known layout): a 100k-row
    owned sheet is rewritten in a fraction of a second, where walking it as a tree would not.
    """
    # each style number and each string is worked out once, however many cells use it
    xf: dict[bytes, bytes] = {}
    texts: dict[bytes, bytes] = {}

    def style(m: re.Match[bytes]) -> bytes:
        head, number, tail = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
        new = xf.get(number)
        if new is None:
            new = xf[number] = str(styles.xf(int(number))).encode()
        return head + new + tail

    def inline(m: re.Match[bytes]) -> bytes:
        index = m.group(3)
        body = texts.get(index)
        if body is None:
            text = strings[int(index)]
            space = b' xml:space="preserve"' if text != text.strip() else b""
            body = texts[index] = (b"><is><t" + space + b">" + xml_escape(text).encode("utf-8")
                                   + b"</t></is></c>")
        return b"<c " + m.group(1) + b't="inlineStr"' + m.group(2) + body

    data = _STYLE_ATTR.sub(style, data)
    data = _SHARED_CELL.sub(inline, data)
    data = _CF_DXF.sub(lambda m: m.group(1) + str(styles.dxf(int(m.group(2)))).encode()
                       + m.group(3), data)
    return data.replace(b' tabSelected="1"', b"")  # the team's active tab stays active


_LAST_ROW = re.compile(rb'<row r="(\d+)"')


def _append_rows(sheet: bytes, rows: bytes) -> bytes:
    """Append ``<row>`` elements to a sheet's data and widen its dimension to cover them."""
    if not rows:
        return sheet
    if b"<sheetData/>" in sheet:
        sheet = sheet.replace(b"<sheetData/>", b"<sheetData>" + rows + b"</sheetData>", 1)
    else:
        sheet = sheet.replace(b"</sheetData>", rows + b"</sheetData>", 1)
    # rows stand in ascending order (Excel requires it), so the last <row> is the bottom one:
    # found from the end, where scanning 100k rows for the largest number takes a while
    found = _LAST_ROW.match(sheet, sheet.rfind(b'<row r="'))
    assert found is not None
    last = int(found.group(1))
    return re.sub(rb'(<dimension ref="[A-Z]+\d+:[A-Z]+)\d+(")',
                  lambda m: m.group(1) + str(last).encode() + m.group(2), sheet, count=1)


def _shared_strings(pkg: Package) -> list[str]:
    if not pkg.has("xl/sharedStrings.xml"):
        return []
    root = pkg.tree("xl/sharedStrings.xml")
    return ["".join(si.itertext()) for si in root.findall(_M + "si")]

