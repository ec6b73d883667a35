"""Type one column of cells by the schema's column type, reporting each cell that can't be read.

A column that holds just what its type wants (texts in a text column, dates in a date column)
converts in bulk; only a column with something else in it is looked at cell by cell, through
:class:`~.cells.Coercer`, each distinct text once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..issues import TEXT_DATE, Issue, column_letter
from ..schema import Column
from .cells import PLAUSIBLE_YEARS, Coercer

__all__ = ["coerce_column", "empty_column"]

_TEXT_TYPES = frozenset({"id", "text", "longtext", "email", "phone", "url", "choice", "link"})
_NUMBER_TYPES = frozenset({"money", "number", "integer", "percent"})


def empty_column(col: Column, n: int) -> pd.Series:
    """A column of ``n`` blanks of the dtype its type reads as."""
    if col.type in ("date", "datetime"):
        return pd.Series([pd.NaT] * n, dtype="datetime64[ns]")
    if col.type in _NUMBER_TYPES:
        return pd.Series([float("nan")] * n, dtype="float64")
    if col.type == "flag":
        return pd.Series([pd.NA] * n, dtype="boolean")
    return pd.Series([None] * n, dtype=object)


def _fast_column(ctype: str, raw: Sequence[Any], kinds: set[type]) -> pd.Series | None:
    """Convert a column that holds just what its type wants (and blanks) in bulk; None when
    some cell needs a closer look."""
    if ctype in _TEXT_TYPES:
        return pd.Series([v.strip() or None for v in raw], dtype=object) if kinds <= {str} \
            else None
    temporal = ctype in ("date", "datetime")
    if not (temporal and kinds <= {dt.datetime, dt.date, str}) and \
            not (ctype in _NUMBER_TYPES and kinds <= {float, str}):
        return None
    if str in kinds and any(type(v) is str and v for v in raw):
        return None  # text among the values: parse cell by cell
    if not temporal:
        return pd.Series([v if v != "" else np.nan for v in raw] if str in kinds else raw,
                         dtype="float64")
    try:
        stamps = pd.DatetimeIndex(raw)  # "" is NaT; dates and datetimes convert in C
    except (ValueError, TypeError, OverflowError):  # out of pandas' range: check each cell
        return None
    years = stamps.year[~stamps.isna()]
    if len(years) and (years.min() < PLAUSIBLE_YEARS[0] or years.max() >= PLAUSIBLE_YEARS[1]):
        return None
    stamps = stamps.as_unit("ns")
    return pd.Series(stamps.normalize() if ctype == "date" else stamps)


def _fast_text(raw: Sequence[Any]) -> pd.Series | None:
    """Tidy a column of texts (and blanks) in one pass over its cells; None when some cell
    is a number, a date or a flag (only texts have ``strip``)."""
    try:
        values = np.fromiter((v.strip() or None for v in raw), dtype=object, count=len(raw))
    except AttributeError:
        return None
    return pd.Series(values, dtype=object, copy=False)


def coerce_column(col: Column, raw: Sequence[Any], coercer: Coercer, sheet: str, c: int,
                  sheet_rows: list[int], issues: list[Issue]) -> pd.Series:
    """Type a column's cells (``raw``; ``sheet_rows`` their sheet rows, ``c`` their 0-based
    sheet column), adding an issue for each cell that can't be read, which reads as blank."""
    ctype = col.type
    if ctype in _TEXT_TYPES:  # the most common columns: no separate look at the cells' types
        text = _fast_text(raw)
        if text is not None:
            return text
    kinds = set(map(type, raw))
    fast = _fast_column(ctype, raw, kinds)
    if fast is not None:
        return fast
    convert: Callable[[Any], tuple[Any, str | None]]
    if ctype in _TEXT_TYPES:
        convert = coercer.text
    elif ctype in _NUMBER_TYPES:
        convert = (lambda v: coercer.number(v, percent=True)) if ctype == "percent" \
            else coercer.number
    elif ctype in ("date", "datetime"):
        convert = coercer.date if ctype == "date" else coercer.datetime
    elif ctype == "time":
        convert = coercer.time
    else:
        convert = coercer.flag
    values = []
    memo: dict[str, tuple[Any, str | None]] = {}  # the same text in many rows ("Yes", "No")
    for v, r in zip(raw, sheet_rows):
        if type(v) is str:
            if v not in memo:
                memo[v] = convert(v)
            value, problem = memo[v]
        else:
            value, problem = convert(v)
        if ctype in ("date", "datetime") and type(v) is str and value is not None:
            # read, but Excel's own formulas (COUNTIFS) see text here: the tally leaves it
            # out and names it, and `clean --apply` makes it a real date
            issues.append(Issue(sheet, f"{column_letter(c)}{r}", "warning", TEXT_DATE,
                                f'{col.header.lower()} "{v.strip()}" is a date typed as '
                                "text: the tally leaves it out until it is a real date; "
                                "`xlcrm clean --apply` converts it", r, c))
        if problem:
            shown = v if isinstance(v, str) else str(v)
            hint = {"is not a date": "use a date cell or YYYY-MM-DD",
                    "is not a number": "type digits only, such as 1250.50",
                    "is not a time": "use a time such as 14:30",
                    "is not yes or no": "use Yes or No"}.get(problem, "")
            issues.append(Issue(sheet, f"{column_letter(c)}{r}", "error",
                                "bad-" + ctype, f'{col.header.lower()} "{shown}" {problem}'
                                + (f"; {hint}" if hint else ""), r, c))
        values.append(value)
    if ctype in ("date", "datetime"):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)),
                         dtype="datetime64[ns]")
    if ctype in _NUMBER_TYPES:
        return pd.Series([v if v is not None else float("nan") for v in values],
                         dtype="float64")
    if ctype == "flag":
        return pd.Series(values, dtype="boolean")
    return pd.Series(values, dtype=object)


