"""Golden owned sheets: Tally, Dashboard and Funnel of a small fixed workbook, part by part.

A demo workbook of each preset (120 leads, seed 2, today 2026-11-23, updated once) is compared
with the reference files in ``tests/golden/<preset>/``: each owned sheet's XML part and the
parts it owns (its drawing and the drawing's charts), as XML, element by element, the way
XlsxWriter's own tests compare its files with files Excel made. Cell styles are compared by
what they are (number format, font, fill, border, alignment), read from each side's
styles.xml, not by their index. ``IGNORE`` lists what may differ: numbers that only tie parts
together or count objects across the workbook, and hints Excel recomputes.

The golden files change on purpose only, after a change meant to alter these sheets::

    XLCRM_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py

rewrites them from the code as it is; review ``git diff tests/golden`` before committing.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from ._helpers import PRESETS

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = os.environ.get("XLCRM_REGENERATE_GOLDEN") == "1"
SHEETS = ("Tally", "Dashboard", "Funnel")
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: (element's local name or "*", attribute) allowed to differ, and why
IGNORE: dict[tuple[str, str], str] = {
    ("*", f"{REL}id"): "relationship ids: the relationships themselves are followed",
    ("*", f"{REL}embed"): "relationship ids, as above",
    ("row", "spans"): "an optional hint of a row's filled columns",
    ("cNvPr", "id"): "drawing objects are numbered across the workbook",
    ("cNvPr", "name"): "and named after that number",
    ("axId", "val"): "chart axes are numbered across the workbook",
    ("crossAx", "val"): "the number of the axis crossed, as above",
}
_STYLE_REFS = {("c", "s"), ("row", "s"), ("col", "style"), ("cfRule", "dxfId")}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _canon(el: etree._Element) -> str:
    """An element as one compact line: name, sorted attributes, children; no whitespace."""
    attrs = "".join(f" {etree.QName(k).localname}={v!r}" for k, v in sorted(el.attrib.items()))
    text = (el.text or "").strip()
    inner = "".join(_canon(c) for c in el if isinstance(c.tag, str))
    return f"<{_local(el)}{attrs}>{text}{inner}</>" if inner or text else f"<{_local(el)}{attrs}/>"


class Styles:
    """What each style index of a styles.xml stands for, to compare styles by content."""

    def __init__(self, data: bytes) -> None:
        root = etree.fromstring(data)

        def kids(name: str) -> list[etree._Element]:
            found = [el for el in root if isinstance(el.tag, str) and _local(el) == name]
            return [c for c in found[0] if isinstance(c.tag, str)] if found else []

        formats = {el.get("numFmtId"): el.get("formatCode") for el in kids("numFmts")}
        fonts, fills, borders = kids("fonts"), kids("fills"), kids("borders")

        def describe(xf: etree._Element) -> str:
            fmt = xf.get("numFmtId", "0")
            text = [f"numFmt {formats.get(fmt, 'built-in ' + fmt)!r}"]
            for key, table in (("fontId", fonts), ("fillId", fills), ("borderId", borders)):
                text.append(_canon(table[int(xf.get(key, "0"))]))
            text += [_canon(c) for c in xf if isinstance(c.tag, str)]  # alignment, protection
            return " ".join(text)

        self.xf = [describe(xf) for xf in kids("cellXfs")]
        self.dxf = [_canon(dxf) for dxf in kids("dxfs")]

    def resolve(self, element: str, attr: str, value: str) -> str:
        table = self.dxf if attr == "dxfId" else self.xf
        return table[int(value)] if value.isdigit() and int(value) < len(table) else value


def owned_parts(path: Path) -> tuple[dict[str, tuple[str, bytes]], bytes]:
    """Each owned sheet's parts, named by role (``Dashboard.chart2.xml``), with the part's
    name in the package; and the package's styles.xml."""
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())

        def rels_of(part: str) -> list[tuple[str, str]]:
            folder, base = posixpath.split(part)
            rels = posixpath.join(folder, "_rels", base + ".rels")
            if rels not in names:
                return []
            root = etree.fromstring(zf.read(rels))
            found = []
            for rel in root:
                if rel.get("TargetMode") == "External":
                    continue
                target = posixpath.normpath(posixpath.join(folder, rel.get("Target", "")))
                found.append((rel.get("Id", ""), target))
            return found

        book = etree.fromstring(zf.read("xl/workbook.xml"))
        by_id = dict(rels_of("xl/workbook.xml"))
        parts: dict[str, tuple[str, bytes]] = {}
        for sheet in book.iter("{*}sheet"):
            name = sheet.get("name", "")
            if name not in SHEETS:
                continue
            part = by_id[sheet.get(f"{REL}id", "")]
            parts[f"{name}.xml"] = (part, zf.read(part))
            todo, counts = [part], {}  # the parts the sheet owns, breadth first
            while todo:
                for _, target in rels_of(todo.pop(0)):
                    kind = posixpath.basename(target).removesuffix(".xml").rstrip("0123456789")
                    counts[kind] = counts.get(kind, 0) + 1
                    parts[f"{name}.{kind}{counts[kind]}.xml"] = (target, zf.read(target))
                    todo.append(target)
        return parts, zf.read("xl/styles.xml")


def _pretty(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data), pretty_print=True,
                          xml_declaration=True, encoding="UTF-8", standalone=True)


def _path(el: etree._Element) -> str:
    steps = []
    while el is not None:
        parent = el.getparent()
        same = [] if parent is None else [c for c in parent if c.tag == el.tag]
        index = f"[{same.index(el) + 1}]" if len(same) > 1 else ""
        ref = f"[@r='{el.get('r')}']" if el.get("r") else ""
        steps.append(f"{_local(el)}{ref or index}")
        el = parent
    return "/" + "/".join(reversed(steps))


def _attributes(el: etree._Element, styles: Styles) -> dict[str, str]:
    name = _local(el)
    out = {}
    for key, value in el.attrib.items():
        if (name, key) in IGNORE or ("*", key) in IGNORE:
            continue
        short = etree.QName(key).localname
        out[short] = styles.resolve(name, short, value) if (name, short) in _STYLE_REFS \
            else value
    return out


def first_difference(got: etree._Element, want: etree._Element, got_styles: Styles,
                     want_styles: Styles) -> str | None:
    """Where and how two parts first differ (None when they agree), as XML elements."""
    if got.tag != want.tag:
        return f"{_path(want)}: element {_local(got)} where the golden file has {_local(want)}"
    a, b = _attributes(got, got_styles), _attributes(want, want_styles)
    for key in sorted(a.keys() | b.keys()):
        if a.get(key) != b.get(key):
            return (f"{_path(want)}: attribute {key} is {a.get(key)!r}, the golden file has "
                    f"{b.get(key)!r}")
    kids_a = [c for c in got if isinstance(c.tag, str)]
    kids_b = [c for c in want if isinstance(c.tag, str)]
    text_a, text_b = got.text or "", want.text or ""
    if kids_a or kids_b:  # indentation between children means nothing
        text_a, text_b = text_a.strip(), text_b.strip()
    if text_a != text_b:
        return f"{_path(want)}: text {text_a!r}, the golden file has {text_b!r}"
    for x, y in zip(kids_a, kids_b):
        found = first_difference(x, y, got_styles, want_styles)
        if found:
            return found
    if len(kids_a) != len(kids_b):
        extra = kids_a[len(kids_b):] or kids_b[len(kids_a):]
        side = "more" if len(kids_a) > len(kids_b) else "fewer"
        return (f"{_path(want)}: {len(kids_a)} children, {side} than the golden file's "
                f"{len(kids_b)} (first unmatched: {_local(extra[0])})")
    return None


@pytest.mark.parametrize("preset", PRESETS)
def test_owned_sheets_match_the_golden_files(preset: str,
                                             demo_book: Callable[..., Path]) -> None:
    parts, styles = owned_parts(demo_book(preset, 120, 2))
    folder = GOLDEN / preset
    if REGENERATE:
        for old in folder.glob("*.xml"):
            old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for role, (_, data) in parts.items():
            (folder / role).write_bytes(_pretty(data))
        (folder / "styles.xml").write_bytes(_pretty(styles))
    golden = {p.name for p in folder.glob("*.xml")} - {"styles.xml"}
    assert golden, f"no golden files in {folder}; make them with XLCRM_REGENERATE_GOLDEN=1"
    assert sorted(parts) == sorted(golden), "the owned sheets' parts are not those of the " \
        "golden files"
    for sheet in SHEETS:
        assert f"{sheet}.xml" in parts, sheet
    ours, theirs = Styles(styles), Styles((folder / "styles.xml").read_bytes())
    for role, (part, data) in sorted(parts.items()):
        found = first_difference(etree.fromstring(data),
                                 etree.fromstring((folder / role).read_bytes()), ours, theirs)
        if found:
            pytest.fail(f"{preset} {role} ({part}) differs from golden/{preset}/{role} at "
                        f"{found}", pytrace=False)


def test_the_comparison_sees_a_changed_number_and_style() -> None:
    """The comparison is not vacuous: it names the cell whose value or style changed, and
    lets pass what IGNORE allows."""
    styles = Styles(b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                    b'2006/main"><numFmts><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>'
                    b'<fonts><font/><font><b/></font></fonts><fills><fill/></fills><borders>'
                    b'<border/></borders><cellXfs><xf/><xf numFmtId="164"/><xf fontId="1"/>'
                    b'</cellXfs></styleSheet>')
    sheet = ('<worksheet><sheetData><row r="2" spans="{}"><c r="B2" s="{}"><v>{}</v></c></row>'
             '</sheetData></worksheet>')
    want = etree.fromstring(sheet.format("1:2", 1, 12))
    assert first_difference(etree.fromstring(sheet.format("1:5", 1, 12)), want, styles,
                            styles) is None
    changed = first_difference(etree.fromstring(sheet.format("1:2", 1, 13)), want, styles,
                               styles)
    assert changed == "/worksheet/sheetData/row[@r='2']/c[@r='B2']/v: text '13', the golden " \
        "file has '12'"
    restyled = first_difference(etree.fromstring(sheet.format("1:2", 2, 12)), want, styles,
                                styles)
    assert restyled is not None and "attribute s" in restyled and "0.0%" in restyled
