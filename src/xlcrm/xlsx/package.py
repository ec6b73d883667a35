"""The lossless writer: edit an .xlsx package part by part, leaving the rest byte for byte.

openpyxl's load and save rewrites every part and drops what it does not model (charts,
pivot caches, slicers, images, extensions), so xlcrm never round-trips a team's workbook through
it. Instead, new sheets are made in a scratch workbook (XlsxWriter) and *transplanted*: the
sheet part and the parts it needs (tables, drawings, charts) are copied in under fresh names,
their styles merged into the target's ``styles.xml`` without renumbering what is there, their
strings written inline. Every part not named in the edit is copied as its raw compressed bytes,
in its original order. ``calcChain.xml`` is dropped and Excel is asked to recalculate on load.

Parts that change, and how: ``[Content_Types].xml`` (overrides added or removed),
``xl/workbook.xml`` (sheets, defined names, ``calcPr``), ``xl/_rels/workbook.xml.rels``,
``xl/styles.xml`` (entries appended), ``docProps/custom.xml`` (xlcrm's properties), and the
sheets being written. Each keeps every element it had.
"""

from __future__ import annotations

import copy
import datetime as dt
import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

from ..errors import UnreadableWorkbookError, WorkbookError
from ..issues import column_index, column_letter
from .parts import (
    NS_CUSTOM,
    NS_MAIN,
    NS_PKG_REL,
    NS_R,
    NS_VT,
    REL_CUSTOM,
    is_date1904,
    rels_name,
    resolve_target,
)

__all__ = ["Package", "TransplantError", "patch_cells", "transplant_sheets"]

NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_SHEET = NS_R + "/worksheet"
REL_CALC_CHAIN = NS_R + "/calcChain"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
_M = f"{{{NS_MAIN}}}"
# CT_Workbook children in schema order: new elements must go in their place
_WORKBOOK_ORDER = ("fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews",
                   "sheets", "functionGroups", "externalReferences", "definedNames", "calcPr",
                   "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
                   "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                          remove_blank_text=False)


class TransplantError(WorkbookError, ValueError):
    """A sheet can't be written into this workbook as asked (a name clash ...)."""


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, _PARSER)


def _xml(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _canon(el: etree._Element) -> bytes:
    """A comparable form of a style entry (namespace prefixes and attribute order aside)."""
    return bytes(etree.tostring(el, method="c14n"))


def _relative(from_part: str, to_part: str) -> str:
    return posixpath.relpath(to_part, posixpath.dirname(from_part))


@dataclass
class _Rel:
    id: str
    type: str
    target: str  # resolved part name, or the raw target when external
    external: bool = False


class Package:
    """An xlsx package opened for surgical edits; :meth:`save` writes the edited copy."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise UnreadableWorkbookError(f"{self.path.name}: is damaged: {exc}") from exc
        self._infos = self._zip.infolist()
        self._names = {i.filename for i in self._infos}
        self._changed: dict[str, bytes] = {}
        self._added: list[str] = []
        self._deleted: set[str] = set()
        self._trees: dict[str, etree._Element] = {}
        book = self.tree("xl/workbook.xml")
        if etree.QName(book).namespace == NS_STRICT:
            raise TransplantError(
                f"{self.path.name}: is saved as Strict Open XML, which xlcrm does not edit; "
                "save it from Excel as \"Excel Workbook (.xlsx)\" and try again")

    # ----- parts ------------------------------------------------------------------------
    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the source file."""
        self._zip.close()

    def has(self, name: str) -> bool:
        """Tell whether the package (as edited) holds part ``name``."""
        return (name in self._names or name in self._changed) and name not in self._deleted

    def read(self, name: str) -> bytes:
        """Return a part's bytes as edited so far."""
        if name in self._trees:
            return _xml(self._trees[name])
        if name in self._changed:
            return self._changed[name]
        return self._zip.read(name)

    def peek(self, name: str) -> etree._Element:
        """Return a part parsed for reading only (it stays byte for byte as it was)."""
        if name in self._trees:
            return self._trees[name]
        return _parse(self.read(name))

    def tree(self, name: str) -> etree._Element:
        """Return a part parsed for editing; edits to it are saved."""
        if name not in self._trees:
            self._trees[name] = _parse(self.read(name))
        return self._trees[name]

    def write(self, name: str, data: bytes) -> None:
        """Replace or add a part."""
        self._trees.pop(name, None)
        self._deleted.discard(name)
        if name not in self._names and name not in self._added:
            self._added.append(name)
        self._changed[name] = data

    def delete(self, name: str) -> None:
        """Remove a part (and forget any edit of it)."""
        self._trees.pop(name, None)
        self._changed.pop(name, None)
        self._deleted.add(name)

    def part_names(self) -> list[str]:
        """Every part of the edited package, in order."""
        names = [i.filename for i in self._infos] + self._added
        return [n for n in names if n not in self._deleted]

    def free_name(self, pattern: str, reserved: Iterable[str] = ()) -> str:
        """Return the first unused name like ``xl/tables/table{}.xml``."""
        taken = {n.lower() for n in self.part_names()} | {n.lower() for n in reserved}
        k = 1
        while pattern.format(k).lower() in taken:
            k += 1
        return pattern.format(k)

    # ----- relationships -------------------------------------------------------------------
    def rels(self, part: str) -> list[_Rel]:
        """The relationships of a part (empty when it has none)."""
        name = rels_name(part)
        if not self.has(name):
            return []
        out = []
        for rel in self.peek(name):
            external = rel.get("TargetMode") == "External"
            target = rel.get("Target", "")
            out.append(_Rel(rel.get("Id", ""), rel.get("Type", ""),
                            target if external else resolve_target(part or "/", target)
                            if part else target.lstrip("/"), external))
        return out

    def _rels_tree(self, part: str) -> etree._Element:
        name = rels_name(part)
        if not self.has(name):
            self.write(name, _xml(etree.Element(f"{{{NS_PKG_REL}}}Relationships",
                                                nsmap={None: NS_PKG_REL})))
        return self.tree(name)

    def add_rel(self, part: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from ``part`` to ``target_part``; return its new id."""
        root = self._rels_tree(part)
        used = {r.get("Id") for r in root}
        k = len(used) + 1
        while f"rId{k}" in used:
            k += 1
        target = _relative(part, target_part) if part else target_part
        etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship",
                         Id=f"rId{k}", Type=rel_type, Target=target)
        return f"rId{k}"

    def remove_rels(self, part: str, keep: Any) -> None:
        """Remove the relationships of ``part`` for which ``keep(rel)`` is false."""
        name = rels_name(part)
        if not self.has(name):
            return
        root = self.tree(name)
        for el, rel in zip(list(root), self.rels(part)):
            if not keep(rel):
                root.remove(el)

    # ----- content types -------------------------------------------------------------------
    def set_content_type(self, part: str, content_type: str) -> None:
        """Declare ``part``'s content type (an Override), replacing any earlier one."""
        root = self.tree("[Content_Types].xml")
        for el in root.findall(f"{{{NS_CT}}}Override"):
            if el.get("PartName", "").lstrip("/").lower() == part.lower():
                el.set("ContentType", content_type)
                return
        etree.SubElement(root, f"{{{NS_CT}}}Override", PartName="/" + part,
                         ContentType=content_type)

    def content_type(self, part: str) -> str | None:
        """Return the declared content type of a part."""
        root = self.tree("[Content_Types].xml")
        for el in root.findall(f"{{{NS_CT}}}Override"):
            if el.get("PartName", "").lstrip("/").lower() == part.lower():
                return str(el.get("ContentType"))
        ext = part.rsplit(".", 1)[-1].lower()
        for el in root.findall(f"{{{NS_CT}}}Default"):
            if el.get("Extension", "").lower() == ext:
                return str(el.get("ContentType"))
        return None

    def ensure_default(self, extension: str, content_type: str) -> None:
        """Declare a Default content type for an extension when none is declared."""
        root = self.tree("[Content_Types].xml")
        if any(el.get("Extension", "").lower() == extension.lower()
               for el in root.findall(f"{{{NS_CT}}}Default")):
            return
        el = etree.Element(f"{{{NS_CT}}}Default", Extension=extension, ContentType=content_type)
        root.insert(0, el)

    def _drop_content_type(self, part: str) -> None:
        root = self.tree("[Content_Types].xml")
        for el in root.findall(f"{{{NS_CT}}}Override"):
            if el.get("PartName", "").lstrip("/").lower() == part.lower():
                root.remove(el)

    def remove_part(self, part: str) -> None:
        """Delete a part, its relationships file and its content type override."""
        self.delete(part)
        if self.has(rels_name(part)):
            self.delete(rels_name(part))
        self._drop_content_type(part)

    # ----- the workbook --------------------------------------------------------------------
    def sheets(self) -> list[tuple[str, str, etree._Element]]:
        """(name, part, <sheet> element) of every sheet, in tab order."""
        book = self.tree("xl/workbook.xml")
        targets = {r.id: r.target for r in self.rels("xl/workbook.xml")}
        out = []
        sheets = book.find(_M + "sheets")
        for el in sheets if sheets is not None else []:
            out.append((el.get("name", ""), targets.get(el.get(f"{{{NS_R}}}id", ""), ""), el))
        return out

    def workbook_child(self, tag: str) -> etree._Element:
        """Return ``<tag>`` of workbook.xml, created in its schema position if missing."""
        book = self.tree("xl/workbook.xml")
        found = book.find(_M + tag)
        if found is not None:
            return found
        el = etree.Element(_M + tag)
        rank = _WORKBOOK_ORDER.index(tag)
        position = 0
        for i, child in enumerate(book):
            name = etree.QName(child).localname
            if name in _WORKBOOK_ORDER and _WORKBOOK_ORDER.index(name) < rank:
                position = i + 1
        book.insert(position, el)
        return el

    def request_full_recalculation(self) -> None:
        """Drop calcChain and ask Excel (and LibreOffice) to recalculate on load."""
        for rel in self.rels("xl/workbook.xml"):
            if rel.type == REL_CALC_CHAIN:
                self.remove_part(rel.target)
        self.remove_rels("xl/workbook.xml", lambda r: r.type != REL_CALC_CHAIN)
        if self.has("xl/calcChain.xml"):
            self.remove_part("xl/calcChain.xml")
        self.workbook_child("calcPr").set("fullCalcOnLoad", "1")

    def set_custom_properties(self, props: Mapping[str, str | int]) -> None:
        """Set custom document properties (docProps/custom.xml), keeping the others."""
        part = next((r.target for r in self.rels("") if r.type == REL_CUSTOM), None)
        if part is None:
            part = "docProps/custom.xml"
            root = etree.Element(f"{{{NS_CUSTOM}}}Properties",
                                 nsmap={None: NS_CUSTOM, "vt": NS_VT})
            self.write(part, _xml(root))
            self.add_rel("", REL_CUSTOM, part)
            self.set_content_type(part, CT_CUSTOM)
        root = self.tree(part)
        existing = {el.get("name"): el for el in root}
        pids = [int(el.get("pid", "1")) for el in root] or [1]
        for name, value in props.items():
            el = existing.get(name)
            if el is None:
                el = etree.SubElement(root, f"{{{NS_CUSTOM}}}property", fmtid=CUSTOM_FMTID,
                                      pid=str(max(pids) + 1), name=name)
                pids.append(max(pids) + 1)
            for child in list(el):
                el.remove(child)
            kind = "i4" if isinstance(value, int) else "lpwstr"
            etree.SubElement(el, f"{{{NS_VT}}}{kind}").text = str(value)

    # ----- saving ------------------------------------------------------------------------
    def save(self, out: str | Path) -> None:
        """Write the edited package to ``out`` (never the source file itself).

        Untouched parts are copied as their raw compressed bytes, in their original order.
        """
        for name, root in self._trees.items():
            self._changed[name] = _xml(root)
        self._trees.clear()
        src = self._zip.fp
        assert src is not None
        with zipfile.ZipFile(out, "w", allowZip64=True) as zout:
            for info in self._infos:
                name = info.filename
                if name in self._deleted:
                    continue
                if name in self._changed:
                    clone = zipfile.ZipInfo(name, date_time=info.date_time)
                    clone.compress_type = info.compress_type or zipfile.ZIP_DEFLATED
                    clone.external_attr = info.external_attr
                    clone.create_system = info.create_system
                    zout.writestr(clone, self._changed[name])
                    continue
                _copy_raw(src, info, zout)
            for name in self._added:
                if name in self._deleted:
                    continue
                zout.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                              self._changed[name], compress_type=zipfile.ZIP_DEFLATED)


def _copy_raw(src: Any, info: zipfile.ZipInfo, zout: zipfile.ZipFile) -> None:
    """Copy one entry's local header and compressed data as they are."""
    src.seek(info.header_offset)
    header = src.read(30)
    if header[:4] != b"PK\x03\x04":
        raise UnreadableWorkbookError(f"part {info.filename} has a damaged zip header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    local = header + src.read(name_len + extra_len)
    data = src.read(info.compress_size)
    tail = b""
    if info.flag_bits & 0x08:  # a data descriptor follows the data
        sig = src.read(4)
        size = 12 + (8 if info.compress_size >= 0xFFFFFFFF or info.file_size >= 0xFFFFFFFF
                     else 0)
        tail = sig + src.read(size) if sig == b"PK\x07\x08" else sig + src.read(size - 4)
    assert zout.fp is not None
    offset = zout.fp.tell()
    zout.fp.write(local + data + tail)
    clone = copy.copy(info)
    clone.header_offset = offset
    zout.filelist.append(clone)
    zout.NameToInfo[clone.filename] = clone
    zout.start_dir = zout.fp.tell()


# ----- styles ----------------------------------------------------------------------------
class StyleMerger:
    """Copy cell formats (and dxfs) from a scratch workbook's styles into the target's.

    Existing entries keep their indexes; equal entries are reused, so running the same update
    twice does not grow ``styles.xml``.
    """

    def __init__(self, target: etree._Element, source: etree._Element) -> None:
        self.t, self.s = target, source
        self.xf_map: dict[int, int] = {}
        self.dxf_map: dict[int, int] = {}
        self._numfmt: dict[int, int] = {}

    def _list(self, root: etree._Element, tag: str, create: bool = False) -> etree._Element:
        el = root.find(_M + tag)
        if el is None and create:
            order = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs",
                     "cellStyles", "dxfs", "tableStyles", "colors", "extLst")
            el = etree.Element(_M + tag)
            position = 0
            for i, child in enumerate(root):
                if etree.QName(child).localname in order[:order.index(tag)]:
                    position = i + 1
            root.insert(position, el)
        return el

    def _append_unique(self, tag: str, entry: etree._Element) -> int:
        container = self._list(self.t, tag, create=True)
        key = _canon(entry)
        for i, existing in enumerate(container):
            if _canon(existing) == key:
                return i
        container.append(copy.deepcopy(entry))
        container.set("count", str(len(container)))
        return len(container) - 1

    def _num_fmt(self, source_id: int) -> int:
        if source_id < 164:
            return source_id
        if source_id in self._numfmt:
            return self._numfmt[source_id]
        src = self._list(self.s, "numFmts")
        code = next(el.get("formatCode") for el in src if el.get("numFmtId") == str(source_id))
        tgt = self._list(self.t, "numFmts", create=True)
        # formats may also sit inside mc:AlternateContent: every numFmt counts for the ids
        every = list(self.t.iter(_M + "numFmt"))
        for el in tgt:
            if el.get("formatCode") == code:
                self._numfmt[source_id] = int(el.get("numFmtId", "0"))
                return self._numfmt[source_id]
        new_id = max([int(el.get("numFmtId", "0")) for el in every] + [163]) + 1
        etree.SubElement(tgt, _M + "numFmt", numFmtId=str(new_id), formatCode=code or "General")
        tgt.set("count", str(len(tgt)))
        self._numfmt[source_id] = new_id
        return new_id

    def xf(self, source_index: int) -> int:
        """Return the target cellXfs index for a source cellXfs index."""
        if source_index in self.xf_map:
            return self.xf_map[source_index]
        xf = copy.deepcopy(self._list(self.s, "cellXfs")[source_index])
        for attr, tag in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            if xf.get(attr) is not None:
                entry = self._list(self.s, tag)[int(xf.get(attr, "0"))]
                xf.set(attr, str(self._append_unique(tag, entry)))
        if xf.get("numFmtId") is not None:
            xf.set("numFmtId", str(self._num_fmt(int(xf.get("numFmtId", "0")))))
        xf.set("xfId", "0")  # the Normal cell style every workbook has
        self.xf_map[source_index] = self._append_unique("cellXfs", xf)
        return self.xf_map[source_index]

    def dxf(self, source_index: int) -> int:
        """Return the target dxfs index for a source dxfs index."""
        if source_index not in self.dxf_map:
            entry = copy.deepcopy(self._list(self.s, "dxfs")[source_index])
            fmt = entry.find(_M + "numFmt")
            if fmt is not None:
                fmt.set("numFmtId", str(self._num_fmt(int(fmt.get("numFmtId", "0")))))
            self.dxf_map[source_index] = self._append_unique("dxfs", entry)
        return self.dxf_map[source_index]


_DXF_ATTRS = ("dxfId", "dataDxfId", "headerRowDxfId", "totalsRowDxfId", "headerRowBorderDxfId",
              "tableBorderDxfId", "totalsRowBorderDxfId", "headerRowCellStyle")


_STYLE_ATTR = re.compile(rb'(<(?:c|row)\b[^>]*?\ss=")(\d+)(")|(<col\b[^>]*?\sstyle=")(\d+)(")')
_SHARED_CELL = re.compile(rb'<c ([^>]*?)t="s"([^>]*)><v>(\d+)</v></c>')
_CF_DXF = re.compile(rb'(<cfRule\b[^>]*?\sdxfId=")(\d+)(")')


def _remap_sheet_bytes(data: bytes, styles: StyleMerger, strings: list[str]) -> bytes:
    """Point a transplanted sheet at the target's styles and write its strings inline.

    Works on the bytes of a sheet XlsxWriter wrote (a regular, known layout): a 100k-row
    owned sheet is rewritten in a fraction of a second, where walking it as a tree would not.
    """
    def style(m: re.Match[bytes]) -> bytes:
        if m.group(1):
            return m.group(1) + str(styles.xf(int(m.group(2)))).encode() + m.group(3)
        return m.group(4) + str(styles.xf(int(m.group(5)))).encode() + m.group(6)

    def inline(m: re.Match[bytes]) -> bytes:
        text = strings[int(m.group(3))]
        space = b' xml:space="preserve"' if text != text.strip() else b""
        escaped = xml_escape(text).encode("utf-8")
        return (b"<c " + m.group(1) + b't="inlineStr"' + m.group(2) + b"><is><t" + space
                + b">" + escaped + b"</t></is></c>")

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


_TABLE_ID = re.compile(rb'(<table\b[^>]*?\bid=")(\d+)(")')


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
            root = target._rels_tree(part)
            etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship", Id=rel.id, Type=rel.type,
                             Target=_relative(part, new_part))
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
        root = _parse(data)
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
        data = _xml(root)
    target.write(new, data)
    content_type = scratch.content_type(src)
    if content_type:
        target.set_content_type(new, content_type)
    for rel in scratch.rels(src):
        if rel.external:
            target.add_rel(new, rel.type, rel.target)
            continue
        child = _copy_subtree(target, scratch, rel.target, styles, table_names, table_id)
        root_rels = target._rels_tree(new)
        etree.SubElement(root_rels, f"{{{NS_PKG_REL}}}Relationship", Id=rel.id, Type=rel.type,
                         Target=_relative(new, child))
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


# ----- patching the cells of a data sheet --------------------------------------------------
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _cells_by_column(row: etree._Element) -> dict[int, etree._Element]:
    """The <c> elements of a <row>, by 0-based column."""
    out = {}
    for cell in row.findall(_M + "c"):
        m = _CELL_REF.match(cell.get("r", ""))
        if m:
            out[column_index(m.group(1))] = cell
    return out


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
        t.text = str(value)
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
