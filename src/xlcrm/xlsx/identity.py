"""Which sheets are xlcrm's, as the workbook records it: one hidden defined name per sheet.

xlcrm writes, when it makes or attaches a workbook (and when it first writes a sheet), a
workbook-level defined name ``_xlcrm_sheet_<key>`` referring to ``'Sheet name'!$A$1``, hidden
from Excel's Name box. Excel and LibreOffice rewrite the reference when the sheet is renamed
and drop it (``#REF!``) when the sheet is deleted, so the name follows the sheet and not its
title: a team's own sheet called "Dashboard" is never taken for xlcrm's, whatever language
xlcrm's labels are in. Nothing here knows a CRM: a key is any word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from lxml import etree

__all__ = ["IDENTITY_PREFIX", "identity_formula", "read_identities", "record_identities",
           "sort_defined_names"]

IDENTITY_PREFIX = "_xlcrm_sheet_"
_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?A\$?1$")


def identity_formula(sheet: str) -> str:
    """The reference a sheet's identity name holds: ``'Sheet name'!$A$1``."""
    return "'" + sheet.replace("'", "''") + "'!$A$1"


def read_identities(workbook: etree._Element, sheets: Iterable[str]) -> dict[str, str]:
    """Key -> sheet name, for each identity name of ``workbook`` (``xl/workbook.xml``'s root)
    that points at one of ``sheets``; a name left dangling by a deleted sheet is skipped."""
    present = set(sheets)
    found: dict[str, str] = {}
    names = workbook.find(_M + "definedNames")
    for el in names if names is not None else ():
        name = el.get("name", "")
        if not name.startswith(IDENTITY_PREFIX) or el.get("localSheetId") is not None:
            continue
        m = _REF.match((el.text or "").strip())
        if not m:
            continue
        sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
        if sheet in present:
            found.setdefault(name[len(IDENTITY_PREFIX):], sheet)
    return found


def record_identities(definitions: etree._Element, identities: Mapping[str, str]) -> None:
    """Set the identity names of ``identities`` (key -> sheet name) in a ``<definedNames>``
    element, replacing the ones of those keys; names of other keys stay."""
    wanted = {IDENTITY_PREFIX + key: sheet for key, sheet in identities.items()}
    for el in list(definitions):
        if el.get("name") in wanted and el.get("localSheetId") is None:
            definitions.remove(el)
    for name, sheet in sorted(wanted.items()):
        el = etree.SubElement(definitions, _M + "definedName", name=name, hidden="1")
        el.text = identity_formula(sheet)
    sort_defined_names(definitions)


def sort_defined_names(definitions: etree._Element) -> None:
    """Put a ``<definedNames>`` element's names in the order Excel keeps them: by name
    (case-insensitively), then by sheet; Excel repairs a file whose names are out of order,
    and the same names always give the same bytes."""
    ordered = sorted(definitions, key=lambda e: (str(e.get("name", "")).lower(),
                                                 int(e.get("localSheetId", "-1"))))
    for el in ordered:
        definitions.append(el)
