"""What changed between two versions of a workbook, record by record and field by field.

Two versions of a record are the same record when they carry the same **id**; a record without
an id is known by the identity rule (:mod:`xlcrm.metrics.identity`: its e-mail's mailbox key,
else its phone's E.164 key), and one with neither by everything typed in it. A record is
*added* when only the newer version has it, *removed* when only the older one has it, and
*changed* when a field holds another value (a text's surrounding spaces, a number's last binary
digit and a cell emptied versus never filled are not changes). Columns that hold a formula
compute what the others say and are not compared. The Settings lists are compared item by
item (an item is its first column, as the dropdowns show it), and the Options by key.

Pure: two loaded workbooks in, typed changes out. ``xlcrm diff`` prints them and ``xlcrm
merge`` builds its three-way plan on the same record maps (:mod:`xlcrm.metrics.threeway`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ..crm import Crm
from .identity import email_key, phone_key

__all__ = ["FieldChange", "RecordChange", "Records", "SettingsChange", "compare_records",
           "compare_settings", "compared_columns", "field_changes", "norm", "normalized",
           "record_label", "record_maps", "same", "settings_items"]

Kind = Literal["added", "removed", "changed"]
#: a sheet's records: key (id, or identity) -> (1-based sheet row, column key -> value)
Records = dict[str, tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class FieldChange:
    """One field of a record that holds another value: ``Phone: "+39 347 ..." -> "+39 ..."``."""

    field: str  # the column key (an extra column: its header)
    header: str  # the column's header, as a person reads it
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON takes it."""
        return {"field": self.field, "header": self.header, "old": _plain(self.old),
                "new": _plain(self.new)}


@dataclass(frozen=True)
class RecordChange:
    """A record added, removed or changed on a data sheet."""

    sheet: str  # the data sheet's key ("leads")
    sheet_name: str  # its name in the newer workbook (in the older one, when removed)
    record: str  # its id, or ``e-mail ...``/``phone ...``/``row N`` for a record without one
    kind: Kind
    fields: tuple[FieldChange, ...] = ()
    old_row: int | None = None  # 1-based sheet row in the older workbook
    new_row: int | None = None
    name: str = ""  # the name a person reads: "Laura Diaz", a deal's or task's subject

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON takes it."""
        return {"sheet": self.sheet_name, "record": self.record, "name": self.name,
                "change": self.kind, "old_row": self.old_row, "new_row": self.new_row,
                "fields": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True)
class SettingsChange:
    """An item added to, removed from or changed in a Settings list, or an option changed."""

    part: str  # the list's key ("sources"), or "options"
    title: str  # its title on the Settings sheet
    item: str  # the item (its first column), or the option's key
    kind: Kind
    fields: tuple[FieldChange, ...] = ()
    values: tuple[tuple[str, Any], ...] = ()  # the item's columns, as the newer version has them

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON takes it."""
        return {"settings": self.title, "item": self.item, "change": self.kind,
                "fields": [f.to_dict() for f in self.fields]}


# ----- values ---------------------------------------------------------------------------------
def norm(v: Any) -> Any:
    """A cell's value as compared: None for nothing, plain Python, text without outer spaces."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    return v


def same(a: Any, b: Any) -> bool:
    """Tell whether two normalised values are the same (numbers to nine significant digits)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs((a - b).total_seconds()) < 0.5  # a serial's rounding is not an edit
    return bool(a == b)


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    return v


# ----- records ---------------------------------------------------------------------------------
def compared_columns(crm: Crm, sheet_key: str) -> list[tuple[str, str]]:
    """(column key, header) of the columns of a data sheet that are compared: every column
    the schema gives it but the formula columns, then the extra columns under their header."""
    sheet = crm.schema.sheet(sheet_key)
    cols = [(c.key, c.header) for c in sheet.columns if not c.formula]
    return cols + [(h, h) for h in crm.extras.get(sheet_key, [])]


def record_maps(crm: Crm, sheet_key: str, columns: Iterable[str] | None = None) -> Records:
    """Each record of a data sheet by its key: the id, else the identity rule's key.

    A record without an id is known by its e-mail's mailbox key, else its phone's E.164 key
    (read with the Settings phone region), else by all its values; a key met twice gets
    ``#2``, ``#3`` ... in row order, so no record is lost.
    """
    table = crm.tables.get(sheet_key)
    if table is None or table.empty:
        return {}
    keys = list(columns) if columns is not None else [k for k, _ in
                                                     compared_columns(crm, sheet_key)]
    empty = [None] * len(table)
    lists = [normalized(table[k]) if k in table.columns else empty for k in keys]
    region = str(crm.settings.options.get("phone_region") or "US")
    out: Records = {}
    width = len(keys)
    for row, cells in zip(table.index, zip(*lists)):
        if cells.count(None) == width:
            continue  # an emptied row is no record
        values = dict(zip(keys, cells))
        key = _key(values, region)
        unique, n = key, 1
        while unique in out:
            n += 1
            unique = f"{key}#{n}"
        out[unique] = (int(row), values)
    return out


def normalized(column: pd.Series) -> list[Any]:
    """A column's values as :func:`norm` gives them, typed column by column (fast)."""
    if column.dtype.kind in "fiumM":  # numbers, dates: nothing to strip
        return [None if pd.isna(v) else v
                for v in column.astype(object).where(column.notna(), None).tolist()]
    na, nat = pd.NA, pd.NaT
    # norm() inlined for the common cases: this runs once per cell of every record
    return [(v.strip() or None) if type(v) is str else
            None if v is None or v is na or v is nat or (type(v) is float and v != v) else
            v if type(v) in (bool, int, float) else norm(v)
            for v in column.tolist()]


def _key(values: dict[str, Any], region: str) -> str:
    ident = values.get("id")
    if isinstance(ident, (str, int, float)) and str(ident).strip():
        return str(ident).strip()
    mail = email_key(values.get("email")) if isinstance(values.get("email"), str) else None
    if mail:
        return f"e-mail {mail}"
    phone = phone_key(values.get("phone"), region) if isinstance(values.get("phone"),
                                                                 str) else None
    if phone:
        return f"phone {phone}"
    return "values " + "|".join(repr(_plain(v)) for v in values.values())


def record_label(values: dict[str, Any]) -> str:
    """The name a person reads for a record: its names, else its name, else its subject."""
    names = " ".join(str(values[k]) for k in ("first_name", "last_name")
                     if values.get(k) is not None)
    for text in (names, values.get("name"), values.get("subject")):
        if text:
            return str(text)
    return ""


def field_changes(old: dict[str, Any], new: dict[str, Any],
                  headers: dict[str, str]) -> tuple[FieldChange, ...]:
    """The fields whose values differ, in column order."""
    return tuple(FieldChange(k, headers.get(k, k), old.get(k), new.get(k))
                 for k in headers if not same(old.get(k), new.get(k)))


def compare_records(old: Crm, new: Crm, *,
                    cache: dict[tuple[int, str], Records] | None = None) -> list[RecordChange]:
    """Every record added, removed or changed between two versions, sheet by sheet.

    Only the data sheets both versions have are compared (owned sheets, Settings and the
    team's own sheets never); within a sheet, removed and changed records come in the older
    version's row order, then the added ones in the newer version's.

    Args:
        old: the older version.
        new: the newer version.
        cache: record maps already made, by ``(id(crm), sheet key)``, kept for the next call
            (a merge compares each backup with the same two copies).
    """
    cache = {} if cache is None else cache

    def maps(crm: Crm, key: str, headers: dict[str, str]) -> Records:
        if (id(crm), key) not in cache:
            cache[(id(crm), key)] = record_maps(crm, key, headers)
        return cache[(id(crm), key)]

    out: list[RecordChange] = []
    for sheet in new.schema.data_sheets:
        if sheet.key not in new.sheet_names or sheet.key not in old.sheet_names:
            continue
        headers = dict(compared_columns(old, sheet.key))
        headers.update(compared_columns(new, sheet.key))
        before, after = maps(old, sheet.key, headers), maps(new, sheet.key, headers)
        name = new.sheet_names[sheet.key]
        for key, (row, values) in before.items():
            if key not in after:
                out.append(RecordChange(sheet.key, old.sheet_names[sheet.key], key, "removed",
                                        old_row=row, name=record_label(values)))
                continue
            new_row, new_values = after[key]
            if values == new_values:  # most records: nothing to look at field by field
                continue
            fields = field_changes(values, new_values, headers)
            if fields:
                out.append(RecordChange(sheet.key, name, key, "changed", fields, row, new_row,
                                        record_label(new_values)))
        out += [RecordChange(sheet.key, name, key, "added", new_row=row,
                             name=record_label(values))
                for key, (row, values) in after.items() if key not in before]
    return out


# ----- Settings --------------------------------------------------------------------------------
def settings_items(crm: Crm, list_key: str) -> dict[str, dict[str, Any]]:
    """A Settings list's items by their first column (as typed, trimmed): column -> value."""
    frame = crm.settings.lists.get(list_key)
    if frame is None or frame.empty:
        return {}
    first = frame.columns[0]
    out: dict[str, dict[str, Any]] = {}
    for rec in frame.to_dict("records"):
        item = norm(rec.get(first))
        if item is not None:
            out.setdefault(str(item), {str(k): norm(v) for k, v in rec.items()})
    return out


def compare_settings(old: Crm, new: Crm) -> list[SettingsChange]:
    """The items added, removed or changed in each Settings list, and the options changed."""
    out: list[SettingsChange] = []
    for lst in new.schema.lists:
        before, after = settings_items(old, lst.key), settings_items(new, lst.key)
        headers = {c.key: c.header for c in lst.columns}
        for item, values in before.items():
            if item not in after:
                out.append(SettingsChange(lst.key, lst.title, item, "removed",
                                          values=tuple(values.items())))
            elif fields := field_changes(values, after[item], headers):
                out.append(SettingsChange(lst.key, lst.title, item, "changed", fields,
                                          tuple(after[item].items())))
        out += [SettingsChange(lst.key, lst.title, item, "added", values=tuple(values.items()))
                for item, values in after.items() if item not in before]
    opts_old, opts_new = old.settings.options, new.settings.options
    labels = {o.key: o.label for o in new.schema.options}
    for key in labels:
        a, b = norm(opts_old.get(key)), norm(opts_new.get(key))
        if not same(a, b):
            out.append(SettingsChange("options", "Options", key, "changed",
                                      (FieldChange(key, labels[key], a, b),)))
    return out
