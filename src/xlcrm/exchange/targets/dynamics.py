"""Dynamics 365 keeps option-set (choice) columns to the labels the mapping lists.

Source: https://learn.microsoft.com/en-nz/power-apps/developer/data-platform/create-data-maps-for-import
(values that match no option label need a list-value mapping in the wizard).
"""

from __future__ import annotations

from ..mapping import ColumnSpec


def check_value(spec: ColumnSpec, value: str) -> str | None:
    """Return why the Import Data Wizard would refuse ``value`` in column ``spec``, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    return None
