"""Merge a scratch workbook's cell formats into a team's ``styles.xml`` without renumbering.

A sheet written in a scratch workbook points at that workbook's styles; before it goes into the
team's workbook, each format it uses is appended to the target's ``styles.xml`` (or found there
already), and the sheet's indexes are mapped to the target's.
"""

from __future__ import annotations

import copy

from lxml import etree

from .parts import NS_MAIN

__all__ = ["StyleMerger"]

_M = f"{{{NS_MAIN}}}"


def _canon(el: etree._Element) -> bytes:
    """A comparable form of a style entry (namespace prefixes and attribute order aside)."""
    return bytes(etree.tostring(el, method="c14n"))


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
