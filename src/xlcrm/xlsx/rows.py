"""Row-level edits of a package that must leave no trace: shared strings no cell uses any more.

A cell patched with a new value stops referring to its shared string, but the string stays in
``xl/sharedStrings.xml``, where anyone unzipping the file can read it. After erasing cells,
:func:`drop_unused_strings` blanks every shared string no cell of any sheet refers to; the
strings keep their positions, so no cell's index changes and no other part is touched.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from lxml import etree

from .package import Package
from .parts import NS_MAIN

__all__ = ["delete_rows", "drop_unused_strings"]

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


def delete_rows(pkg: Package, sheet: str, rows: Collection[int]) -> None:
    """Remove rows (0-based) of a sheet, moving the rows below up."""
    raise NotImplementedError
