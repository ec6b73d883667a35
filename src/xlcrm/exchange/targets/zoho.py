"""Zoho CRM drops dates in any other format than the one declared (MM/dd/yyyy here).

Source: https://support.crmasiasolutions.com/portal/en/kb/articles/rules-for-data-importing-in-zoho-crm
"""

from __future__ import annotations

import re

from ..mapping import ColumnSpec

_DATE = re.compile(r"^(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/[0-9]{4}$")


def checks(spec: ColumnSpec) -> bool:
    """Tell whether :func:`check_value` looks at column ``spec`` at all."""
    return spec.kind == "date"


def check_value(spec: ColumnSpec, value: str) -> str | None:
    """Return why Zoho would ignore ``value`` in column ``spec``, or None."""
    if checks(spec) and not _DATE.match(value):
        return f'"{value}" is not a MM/dd/yyyy date'
    return None
