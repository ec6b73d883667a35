"""Pipedrive takes currency values without symbols or separators.

Source: https://support.pipedrive.com/hc/pt-br/articles/208039595
"""

from __future__ import annotations

import re

from ..mapping import ColumnSpec

_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def checks(spec: ColumnSpec) -> bool:
    """Tell whether :func:`check_value` looks at column ``spec`` at all."""
    return spec.header == "Value"


def check_value(spec: ColumnSpec, value: str) -> str | None:
    """Return why Pipedrive would refuse ``value`` in column ``spec``, or None."""
    if checks(spec) and not _NUMBER.match(value):
        return f'"{value}" is not a plain number'
    return None
