"""HubSpot's importer refuses an invalid company domain and unparseable numbers.

Source: "Review and troubleshoot import errors"
https://knowledge.hubspot.com/import-and-export/troubleshoot-import-errors (invalid domain,
unable to parse number).
"""

from __future__ import annotations

import re

from ..mapping import ColumnSpec

_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def checks(spec: ColumnSpec) -> bool:
    """Tell whether :func:`check_value` looks at column ``spec`` at all."""
    return spec.kind == "domain" or spec.header == "Amount"


def check_value(spec: ColumnSpec, value: str) -> str | None:
    """Return why HubSpot would refuse ``value`` in column ``spec``, or None."""
    if not checks(spec):
        return None
    if spec.kind == "domain" and not _DOMAIN.match(value):
        return f'"{value}" is not a domain name (like example.com)'
    if spec.header == "Amount" and not _NUMBER.match(value):
        return f'"{value}" is not a plain number'
    return None
