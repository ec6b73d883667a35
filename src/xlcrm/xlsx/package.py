"""The xlsx package as parts: read, edit and write a workbook's zip part by part.

A :class:`Package` holds a workbook's parts, their relationships and content types, and the few
parts of ``workbook.xml`` every edit needs (sheets, ``calcPr``, custom properties). Saving copies
every part not edited as its raw compressed bytes, in its original order, so what xlcrm does not
model (charts, pivot caches, slicers, images, extensions) stays byte for byte. The edits built on
it live beside it: :mod:`.transplant` (whole sheets in), :mod:`.patch` (cells of a data sheet),
:mod:`.styles` (cell formats merged).
"""

from __future__ import annotations

import copy
import posixpath
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import TransplantError, UnreadableWorkbookError
from .crypto import MemoryFile, opened, source
from .identity import record_identities, sort_defined_names
from .parts import (
    NS_CUSTOM,
    NS_MAIN,
    NS_PKG_REL,
    NS_R,
    NS_STRICT,
    NS_VT,
    REL_CUSTOM,
    rels_name,
    resolve_target,
)

__all__ = ["CT_SHEET", "REL_SHEET", "Package", "Rel", "parse_xml", "relative_target", "to_xml"]

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


def parse_xml(data: bytes) -> etree._Element:
    """Parse a part with a parser that resolves no entities and fetches nothing."""
    return etree.fromstring(data, _PARSER)


def to_xml(root: etree._Element) -> bytes:
    """Serialise a part as Excel writes it: UTF-8 with a standalone declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def relative_target(from_part: str, to_part: str) -> str:
    """Return the relationship target of ``to_part`` as seen from ``from_part``."""
    return posixpath.relpath(to_part, posixpath.dirname(from_part))


@dataclass
class Rel:
    """One relationship of a part."""

    id: str
    type: str
    target: str  # resolved part name, or the raw target when external
    external: bool = False


class Package:
    """An xlsx package opened for surgical edits; :meth:`save` writes the edited copy."""

    def __init__(self, path: str | Path | MemoryFile) -> None:
        # a scratch workbook of an encrypted one is an in-memory file, named for messages
        self.path = Path(path.name) if isinstance(path, MemoryFile) else Path(path)
        try:  # an encrypted workbook is read from its plain copy in memory
            self._zip = zipfile.ZipFile(opened(path) if isinstance(path, MemoryFile)
                                        else source(self.path))
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
            return to_xml(self._trees[name])
        if name in self._changed:
            return self._changed[name]
        try:
            return self._zip.read(name)
        except KeyError:
            raise UnreadableWorkbookError(f"{self.path.name}: is damaged: part {name} is "
                                          "missing; open it in Excel and save it again") from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise UnreadableWorkbookError(f"{self.path.name}: is damaged: part {name} can't be "
                                          f"unpacked ({exc})") from None

    def peek(self, name: str) -> etree._Element:
        """Return a part parsed for reading only (it stays byte for byte as it was)."""
        if name in self._trees:
            return self._trees[name]
        return self._parsed(name)

    def tree(self, name: str) -> etree._Element:
        """Return a part parsed for editing; edits to it are saved."""
        if name not in self._trees:
            self._trees[name] = self._parsed(name)
        return self._trees[name]

    def _parsed(self, name: str) -> etree._Element:
        try:
            return parse_xml(self.read(name))
        except etree.XMLSyntaxError as exc:
            raise UnreadableWorkbookError(f"{self.path.name}: is damaged: part {name} is not "
                                          f"well-formed XML ({exc}); open it in Excel and save "
                                          "it again") from None

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
    def rels(self, part: str) -> list[Rel]:
        """The relationships of a part (empty when it has none)."""
        name = rels_name(part)
        if not self.has(name):
            return []
        out = []
        for rel in self.peek(name):
            external = rel.get("TargetMode") == "External"
            target = rel.get("Target", "")
            out.append(Rel(rel.get("Id", ""), rel.get("Type", ""),
                           target if external else resolve_target(part or "/", target)
                           if part else target.lstrip("/"), external))
        return out

    def rels_tree(self, part: str) -> etree._Element:
        """Return a part's relationships parsed for editing, created empty if it has none."""
        name = rels_name(part)
        if not self.has(name):
            self.write(name, to_xml(etree.Element(f"{{{NS_PKG_REL}}}Relationships",
                                                  nsmap={None: NS_PKG_REL})))
        return self.tree(name)

    def add_rel(self, part: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from ``part`` to ``target_part``; return its new id."""
        root = self.rels_tree(part)
        used = {r.get("Id") for r in root}
        k = len(used) + 1
        while f"rId{k}" in used:
            k += 1
        target = relative_target(part, target_part) if part else target_part
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

    def record_sheet_identities(self, identities: Mapping[str, str]) -> None:
        """Record which sheets are xlcrm's (key -> sheet name), see :mod:`.identity`."""
        if identities:
            record_identities(self.workbook_child("definedNames"), identities)

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
            self.write(part, to_xml(root))
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
    def save(self, out: str | Path | MemoryFile) -> None:
        """Write the edited package to ``out`` (never the source file itself).

        Untouched parts are copied as their raw compressed bytes, in their original order.
        """
        book = self._trees.get("xl/workbook.xml")
        names = book.find(_M + "definedNames") if book is not None else None
        if names is not None:  # names added by several edits end in Excel's one order
            sort_defined_names(names)
        for name, root in self._trees.items():
            self._changed[name] = to_xml(root)
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
