"""An export's records read column by column, and the values one column spec takes from them.

:mod:`xlcrm.exchange.values` maps and checks the values; this module finds them: a column of
the record itself (``email``), of the record a link leads to (``lead.email``), several keys
joined (``first_name last_name``), with a fallback when the first is empty. At 300,000
activities a lookup per record and column costs seconds, so the answers are worked out for
whole columns: each distinct link followed once, each linked value fetched by its position.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any

import pandas as pd

from ..read import Crm
from ..schema import Column, load_schema

__all__ = ["Columns", "Records", "Row", "Spec", "columns_of", "is_empty", "joined", "same",
           "spec_values"]

#: (values, workbook column type(s), source column key(s)) of one spec, per kept record
Spec = tuple[list[Any], list[str] | str, list[str] | str]


def is_empty(v: Any) -> bool:
    """Tell whether a cell value counts as empty (None, NaT, NaN, blank text)."""
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


@cache
def _column_index(preset: str, locale: str) -> dict[str, dict[str, Column]]:
    schema = load_schema(preset, locale)
    return {s.key: {c.key: c for c in s.columns} for s in schema.data_sheets}


def columns_of(crm: Crm) -> dict[str, dict[str, Column]]:
    """Each data sheet's columns by key (looked up once, not once per cell)."""
    return _column_index(crm.schema.preset, crm.schema.locale.code)


#: the Python types ``DataFrame.to_dict("records")`` leaves as they are
_NATIVE = frozenset({str, int, float, bool, type(None), pd.Timestamp, type(pd.NaT), dt.datetime,
                     dt.date, dt.time})


class Columns:
    """A table's columns, each turned into the Python values ``table.to_dict("records")``
    gives the first time it is asked for: the same values at a fraction of the cost of a
    dict per record, and only for the columns an export uses."""

    def __init__(self, table: pd.DataFrame) -> None:
        self._table = table
        self._done: dict[str, list[Any] | None] = {}

    def get(self, key: str) -> list[Any] | None:
        """Column ``key``'s values, or None when the table has no such column."""
        try:
            return self._done[key]
        except KeyError:
            pass
        from pandas.api.extensions import ExtensionDtype
        from pandas.core.dtypes.cast import maybe_box_native

        values: list[Any] | None = None
        if key in self._table.columns:
            series = self._table[key]
            values = series.tolist()
            boxed = series.dtype == object or isinstance(series.dtype, ExtensionDtype)
            if boxed and not set(map(type, values)) <= _NATIVE:
                values = [maybe_box_native(v) for v in values]
        self._done[key] = values
        return values


class Row:
    """One record of a table read column by column: ``get`` as its dict would answer."""

    __slots__ = ("_at", "_columns")

    def __init__(self, columns: Columns, at: int) -> None:
        self._columns, self._at = columns, at

    def get(self, key: str, default: Any = None) -> Any:
        """The record's value in column ``key`` (``default`` when there is no such column)."""
        column = self._columns.get(key)
        return default if column is None else column[self._at]


class Records:
    """The workbook's records by ID, per sheet, for links (an index built on first use)."""

    def __init__(self, crm: Crm) -> None:
        self._crm = crm
        self._index: dict[str, tuple[Columns | None, dict[str, int]]] = {}

    def _sheet(self, sheet: str) -> tuple[Columns | None, dict[str, int]]:
        if sheet not in self._index:
            t = self._crm.tables.get(sheet)
            if t is None:
                self._index[sheet] = None, {}
            else:
                columns = Columns(t)
                ids = columns.get("id") or [None] * len(t)
                # a repeated ID links to its last record, as a dict of them would
                self._index[sheet] = columns, (
                    {v: k for k, v in enumerate(ids) if v.strip()}
                    if set(map(type, ids)) == {str} else
                    {str(v): k for k, v in enumerate(ids) if not is_empty(v)})
        return self._index[sheet]

    def columns(self, sheet: str) -> Columns | None:
        """The sheet's columns (None when the workbook has no such sheet)."""
        return self._sheet(sheet)[0]

    def position(self, sheet: str, record: str) -> int | None:
        """The position of the record with ID ``record`` in its sheet's table, or None."""
        return self._sheet(sheet)[1].get(record)

    def find(self, sheet: str, record: str) -> Row | None:
        """The record with ID ``record`` of ``sheet``, or None."""
        columns, index = self._sheet(sheet)
        at = index.get(record)
        return None if columns is None or at is None else Row(columns, at)


#: where each kept record's link leads: its sheet per record (one for all) and its position
#: there (-1: nowhere)
_Targets = tuple[list[str] | str, list[int]]


class _Links:
    """The values of the keys of one sheet's kept records, keys of the record itself or of a
    record one link away; ``targets`` keeps where each link leads, for the file's other
    columns through the same link."""

    def __init__(self, crm: Crm, sheet_key: str, columns: Columns, kept: list[int],
                 records: Records, targets: dict[str, _Targets]) -> None:
        self._crm, self._sheet, self._columns, self._kept = crm, sheet_key, columns, kept
        self._records, self._targets = records, targets

    def values(self, key: str, at: list[int] | None = None
               ) -> tuple[list[Any], list[str] | str] | None:
        """One key's raw values and types, as a record-by-record lookup gives them; None for
        a key two links away. ``at``: only these positions of the kept records."""
        link, _, field_key = key.partition(".")
        col = columns_of(self._crm)[self._sheet].get(link)
        values = self._columns.get(link)
        rows = self._kept if at is None else [self._kept[p] for p in at]
        if not field_key:
            return ([None] * len(rows) if values is None else [values[k] for k in rows],
                    col.type if col else "text")
        if "." in field_key:
            return None
        if col is None or values is None:
            return [None] * len(rows), "text"
        sheets, where = self.targets(link)
        if at is not None:
            where = [where[p] for p in at]
            sheets = sheets if isinstance(sheets, str) else [sheets[p] for p in at]
        found: dict[str, tuple[list[Any], str]] = {}
        for ref in dict.fromkeys([sheets] if isinstance(sheets, str) else sheets):
            ref_columns = self._records.columns(ref) if ref else None
            got = ref_columns.get(field_key) if ref_columns is not None else None
            ref_col = columns_of(self._crm)[ref].get(field_key) if ref else None
            # the last item stands for "no record": position -1 reads it
            size = len(ref_columns.get("id") or []) if ref_columns is not None else 0
            found[ref] = ([*got, None] if got is not None else [None] * (size + 1),
                          ref_col.type if ref_col else "text")
        if isinstance(sheets, str):
            column, ctype = found[sheets]
            raws = list(map(column.__getitem__, where))
            if -1 not in where:
                return raws, ctype
            return raws, same(["text" if w < 0 else ctype for w in where])
        raws = [found[s][0][w] for s, w in zip(sheets, where)]
        return raws, same(["text" if w < 0 else found[s][1] for s, w in zip(sheets, where)])

    def targets(self, link: str) -> _Targets:
        """Where each kept record's ``link`` leads, each distinct link followed once (the first
        of the link's sheets that holds the ID, as a record-by-record lookup does)."""
        if link in self._targets:
            return self._targets[link]
        refs = columns_of(self._crm)[self._sheet][link].ref
        column = self._columns.get(link) or []
        keys = _typed([column[k] for k in self._kept])
        memo: dict[Any, tuple[str, int]] = {}
        for key in dict.fromkeys(keys):
            v = key[1] if isinstance(key, tuple) else key
            memo[key] = ("", -1)
            if not is_empty(v):
                for ref in refs:
                    pos = self._records.position(ref, str(v))
                    if pos is not None:
                        memo[key] = (ref, pos)
                        break
        pairs = list(map(memo.__getitem__, keys))
        led: _Targets = (same([s for s, _ in pairs]), [w for _, w in pairs])
        self._targets[link] = led
        return led


def spec_values(crm: Crm, sheet_key: str, value: str, fallback: str | None, columns: Columns,
                kept: list[int], records: Records, targets: dict[str, _Targets]
                ) -> Spec | None:
    """The values, types and source keys of one column spec (``value`` with its
    ``fallback``) for every kept record; None for a key two links away.

    The same answers as looking each record up: a key of the record or of a linked one
    with its type, several keys joined as text, the fallback where the value is empty."""
    links = _Links(crm, sheet_key, columns, kept, records, targets)
    if " " in value:
        keys = value.split()
        parts = _parts(links, keys)
        return None if parts is None else (parts, "text", keys[0])
    got = links.values(value)
    if got is None:
        return None
    raws, ctypes = got
    src = value.partition(".")[0]
    if not fallback:
        return raws, ctypes, src
    blank = [p for p, r in enumerate(raws) if r is None or not r.strip()] if set(
        map(type, raws)) <= {str, type(None)} else [p for p, r in enumerate(raws) if is_empty(r)]
    if not blank:
        return raws, ctypes, src
    keys = fallback.split()
    instead = _parts(links, keys, blank)
    if instead is None:
        return None
    types = [ctypes] * len(raws) if isinstance(ctypes, str) else list(ctypes)
    srcs = [src] * len(raws)
    for p, text in zip(blank, instead):
        raws[p], types[p], srcs[p] = text, "text", keys[0]
    return raws, same(types), same(srcs)


def _parts(links: _Links, keys: list[str], at: list[int] | None = None
           ) -> list[str | None] | None:
    """Several keys' values joined as text per record (None when all are empty)."""
    link = keys[0].partition(".")[0]
    if at is None and all(k.count(".") == 1 and k.startswith(link + ".") for k in keys):
        # keys of one linked record (lead.first_name lead.last_name): joined once per record
        # linked to, from the first kept record that links to it
        sheets, where = links.targets(link)
        if isinstance(sheets, str):
            first = dict(zip(reversed(where), range(len(where) - 1, -1, -1)))
            texts = _parts(links, keys, list(first.values()))
            if texts is None:
                return None
            by_target = dict(zip(first, texts))
            return list(map(by_target.__getitem__, where))
    parts = [links.values(k, at) for k in keys]
    if any(p is None for p in parts):
        return None
    return joined([p[0] for p in parts if p is not None])


def joined(parts: list[list[Any]]) -> list[str | None]:
    """Each record's non-empty parts joined by spaces (None when all are empty); each
    distinct value written as text once (by type too: 1 is not 1.0), each distinct
    combination joined once."""
    texts = []
    for values in parts:
        keys = _typed(values)
        memo = {k: None if is_empty(v) else str(v).strip() for k in dict.fromkeys(keys)
                for v in [k[1] if isinstance(k, tuple) else k]}
        texts.append(list(map(memo.__getitem__, keys)))
    if len(texts) == 1:
        return [t or None for t in texts[0]]
    combos = list(zip(*texts))
    done = {c: " ".join(t for t in c if t is not None) or None for c in dict.fromkeys(combos)}
    return list(map(done.__getitem__, combos))


def _typed(values: list[Any]) -> list[Any]:
    """Keys telling ``values`` apart as text does: each value itself when all are text (or
    None), else ``(type, value)`` pairs, since 1, 1.0 and True are one key in a dict."""
    if set(map(type, values)) <= {str, type(None)}:
        return values
    return [(v.__class__, v) for v in values]


def same(values: list[str]) -> list[str] | str:
    """One value for all when the list holds one only (the list otherwise)."""
    return values[0] if values and values.count(values[0]) == len(values) else values
