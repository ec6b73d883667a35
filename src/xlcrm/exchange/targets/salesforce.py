"""Salesforce (Data Loader) takes numbers as digits and a dot, and External IDs without spaces.

Source: "Data Types Supported by Data Loader"
https://developer.salesforce.com/docs/atlas.en-us.188.0.dataLoader.meta/dataLoader/supported_data_types.htm
"""

from __future__ import annotations

import re

from ..mapping import ColumnSpec

_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def checks(spec: ColumnSpec) -> bool:
    """Tell whether :func:`check_value` looks at column ``spec`` at all."""
    return spec.header == "Amount" or spec.header.endswith("xlcrm_Id__c")


def check_value(spec: ColumnSpec, value: str) -> str | None:
    """Return why Data Loader would refuse ``value`` in column ``spec``, or None."""
    if not checks(spec):
        return None
    if spec.header == "Amount" and not _NUMBER.match(value):
        return f'"{value}" is not a number of digits and a dot'
    if spec.header.endswith("xlcrm_Id__c") and (not value or " " in value):
        return f'"{value}" can\'t be an External ID (no spaces)'
    return None
