"""Neutralise cells a spreadsheet would run as a formula (CSV / formula injection).

The rule, applied to every exported text value:

1. A value whose first character is ``=``, ``+``, ``-``, ``@``, tab, carriage return, line
   feed or NUL is *dangerous*: Excel, LibreOffice and Google Sheets may evaluate it as a
   formula when the file is opened (OWASP ASVS 5.0 requirement 1.2.10; CWE-1236). Quoting
   the CSV field (RFC 4180) does not help: the quotes are removed before evaluation.
2. A dangerous value is prefixed with a single quote (``'=HYPERLINK(...)`` stays text).
3. Except values that are plainly data and that a CRM importer must receive unchanged,
   because a stray quote would break them as keys: a phone number in E.164 form
   (``+393456211018``: a ``+`` and 6 to 15 digits, nothing else) in a phone column, and a
   number (``-500``, ``-12.5``) in a numeric column. Neither can run: a formula needs a
   function name, a reference or an operator between operands, which these shapes exclude
   (the exporter writes phones without spaces, which Excel would read as an operator).

The importer undoes rule 2 (a leading quote followed by a trigger character is dropped), so a
round trip gives back what the workbook held.
"""

from __future__ import annotations

import re

__all__ = ["TRIGGERS", "is_dangerous", "neutralize", "unneutralize"]

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_PHONE = re.compile(r"^\+[0-9]{6,15}$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def is_dangerous(text: str) -> bool:
    """Tell whether a spreadsheet could run ``text`` as a formula."""
    return text.startswith(TRIGGERS)


def neutralize(text: str, *, kind: str = "text") -> str:
    """Return ``text`` safe to open in a spreadsheet (see the module docstring for the rule).

    Args:
        text: the exported value.
        kind: ``phone`` and ``number`` keep their plain-data shapes; anything else is text.
    """
    if not is_dangerous(text):
        return text
    if kind == "phone" and _PHONE.match(text):
        return text
    if kind == "number" and _NUMBER.match(text):
        return text
    return "'" + text


def unneutralize(text: str) -> str:
    """Undo :func:`neutralize`: drop a leading quote that guards a trigger character."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(TRIGGERS):
        return text[1:]
    return text
