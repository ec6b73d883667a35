"""Find where things are in an .xlsx package, editing nothing: each sheet's part, the date
system, the custom document properties and the size of every part.

The reader asks this before it parses any sheet, and the lossless writer (:mod:`.package`)
names and resolves relationships with the same functions, so the two find the same part for a
sheet however a workbook spells its targets (relative, with ``../``, or absolute).
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..errors import UnreadableWorkbookError
from .crypto import source
from .identity import read_identities

__all__ = ["NS_CUSTOM", "NS_MAIN", "NS_PKG_REL", "NS_R", "NS_STRICT", "NS_VT", "REL_CUSTOM",
           "WORKBOOK", "Outline", "is_date1904", "read_outline", "rels_name", "resolve_target"]

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_CUSTOM = NS_R + "/custom-properties"
WORKBOOK = "xl/workbook.xml"
_DEFAULT_CUSTOM = "docProps/custom.xml"
_M = f"{{{NS_MAIN}}}"
# no entities, no network: safe_open has refused any part that declares a DOCTYPE already
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def rels_name(part: str) -> str:
    """Return the relationships part of ``part`` (``""``, the package itself: ``_rels/.rels``)."""
    if not part:
        return "_rels/.rels"
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(base_part: str, target: str) -> str:
    """Return the part a relationship of ``base_part`` points at (``target`` as written)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def is_date1904(workbook: etree._Element) -> bool:
    """Tell whether the workbook (its ``xl/workbook.xml`` root) counts dates from 1904."""
    pr = workbook.find(_M + "workbookPr")
    return pr is not None and pr.get("date1904", "false").lower() in ("1", "true")


@dataclass(frozen=True)
class Outline:
    """Where things are in a workbook package, as :func:`read_outline` found them."""

    sheet_parts: dict[str, str]  # sheet name -> its part, in tab order
    date1904: bool
    properties: dict[str, str]  # custom document properties, as text
    sizes: dict[str, int]  # part -> uncompressed bytes
    #: key -> sheet name, of the sheets the workbook records as xlcrm's (see :mod:`.identity`)
    identities: dict[str, str] = field(default_factory=dict)


def read_outline(path: str | Path) -> Outline:
    """Read a workbook package's outline: a few small parts, never a sheet.

    A sheet whose relationship is missing is left out.

    Raises:
        UnreadableWorkbookError: a part of the outline is missing or not well-formed XML, or
            the workbook is saved as Strict Open XML (its elements in another namespace).
    """
    name = Path(path).name
    try:
        outline = _read_outline(path)
    except etree.XMLSyntaxError as exc:
        raise UnreadableWorkbookError(f"{name}: is damaged: a part of its outline is not "
                                      f"well-formed XML ({exc}); open it in Excel and save it "
                                      "again") from None
    except KeyError as exc:
        raise UnreadableWorkbookError(f"{name}: is damaged: {exc.args[0] if exc.args else exc}"
                                      "; open it in Excel and save it again") from None
    return outline


def _read_outline(path: str | Path) -> Outline:
    with zipfile.ZipFile(source(path)) as zf:
        sizes = {info.filename: info.file_size for info in zf.infolist()}

        def relationships(part: str) -> list[etree._Element]:
            name = rels_name(part)
            if name not in sizes:
                return []
            return list(etree.fromstring(zf.read(name), _PARSER)
                        .iterfind(f"{{{NS_PKG_REL}}}Relationship"))

        custom = next((resolve_target("", rel.get("Target", "")) for rel in relationships("")
                       if rel.get("Type") == REL_CUSTOM), _DEFAULT_CUSTOM)
        properties: dict[str, str] = {}
        if custom in sizes:
            for prop in etree.fromstring(zf.read(custom), _PARSER).iterfind(
                    f"{{{NS_CUSTOM}}}property"):
                value = prop.find("*")  # <vt:lpwstr>, <vt:i4> ...
                if value is not None and value.text is not None:
                    properties[prop.get("name", "")] = value.text
        book = etree.fromstring(zf.read(WORKBOOK), _PARSER)
        if etree.QName(book).namespace == NS_STRICT:
            raise UnreadableWorkbookError(
                f"{Path(path).name}: is saved as Strict Open XML, which xlcrm does not read; "
                "save it from Excel as \"Excel Workbook (.xlsx)\" and try again")
        targets = {rel.get("Id"): resolve_target(WORKBOOK, rel.get("Target", ""))
                   for rel in relationships(WORKBOOK)}
        parts: dict[str, str] = {}
        seen: set[str] = set()
        for sheet in book.iterfind(f"{_M}sheets/{_M}sheet"):
            title = sheet.get("name", "")
            if title.lower() in seen:  # Excel forbids it; a reader would take either
                raise UnreadableWorkbookError(
                    f"{Path(path).name}: is damaged: two sheets are named \"{title}\"; open "
                    "it in Excel or LibreOffice and save it again")
            seen.add(title.lower())
            rid = sheet.get(f"{{{NS_R}}}id")
            if rid in targets:
                parts[sheet.get("name", "")] = targets[rid]
    return Outline(parts, is_date1904(book), properties, sizes, read_identities(book, parts))
