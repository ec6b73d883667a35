"""Read a folder written by ``xlcrm export`` back into a workbook: the round trip.

The export's ``manifest.json`` names the target and the files; each file is read through the
same mapping that wrote it, in load order, into its sheet: list values and reps are turned back
into the workbook's items, dates and numbers parsed in the target's formats. Records are told
apart by id, so exporting and importing again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ImportFileError
from ..read import Crm
from ..schema import Sheet, item_labels, normalize_header
from .mapping import ColumnSpec, FileSpec, Mapping_, load_mapping
from .safety import unneutralize
from .sources import RawTable, read_table
from .upsert import ImportResult, ImportRow, SheetUpsert, filled

__all__ = ["carries_value", "exported_files", "import_export_folder"]


def _reverse(spec: Mapping_, col: ColumnSpec, text: str, crm: Crm,
             sheet: Sheet) -> Any:
    text = unneutralize(text)
    if not text:
        return None
    if col.map == "reps":
        frame = crm.settings.lists.get("reps")
        if frame is not None and "email" in frame:
            for rep, email in zip(frame.iloc[:, 0], frame["email"]):
                if filled(email) and str(email).lower() == text.lower():
                    return str(rep)
        return text
    if col.map:
        table = spec.values.get(col.values_table, {})
        for item in crm.settings.items(col.map):
            for key, target in table.items():
                if target == text and normalize_header(item) in {
                        normalize_header(x) for x in [key, *item_labels(col.map, key)]}:
                    return item
        found = next((k for k, v in table.items() if v == text), None)
        return crm.schema.locale.value(col.map, found) if found else text
    column = sheet.column(str(col.value))
    kind = col.kind or column.type
    if kind in ("date", "datetime"):
        fmt = spec.date_format if kind == "date" or col.kind == "date" else spec.datetime_format
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            return pd.Timestamp(text).to_pydatetime()
    if column.type in ("money", "number", "integer", "percent"):
        return float(text)
    if column.type == "flag":
        return text.lower() == spec.true.lower()
    return text


def _reverse_item(spec: Mapping_, given: list[tuple[ColumnSpec, str]], crm: Crm) -> Any:
    """The workbook list item (a stage) whose every mapped target value matches the file's.

    A stage can go out in several columns (Pipedrive's stage and status): the item that gives
    all of them back is the one meant; the first in Settings order wins a tie.
    """
    texts = [(col, unneutralize(text)) for col, text in given if unneutralize(text)]
    if not texts:
        return None
    list_key = str(texts[0][0].map)
    keys = list(crm.schema.settings_list(list_key).item_keys)
    for col, _ in texts:
        keys += [k for k in spec.values.get(col.values_table, {}) if k not in keys]
    for item in [*crm.settings.items(list_key), *keys]:
        wanted = normalize_header(item)
        key = next((k for k in keys if wanted in {
            normalize_header(x) for x in [k, *item_labels(list_key, k)]}), None)
        if key is not None and all(spec.values.get(col.values_table, {}).get(key) == text
                                   for col, text in texts):
            return item if item not in keys else crm.schema.locale.value(list_key, item)
    return _reverse(spec, texts[0][0], texts[0][1], crm, crm.schema.sheet(
        next(f.sheet for f in spec.files if texts[0][0] in f.columns)))


def carries_value(col: ColumnSpec) -> bool:
    """Tell whether a column carries one workbook value back unchanged (not a name lookup).

    A ``consent`` column says only yes or no: the consent date comes back from its own column.
    """
    return (col.const is None and bool(col.value) and " " not in str(col.value)
            and "." not in str(col.value) and col.fallback is None
            and col.kind not in ("domain", "consent"))


def exported_files(manifest_path: Path) -> set[str]:
    """Return the file names an export's manifest lists (none when it can't be read)."""
    try:
        return {f["file"] for f in json.loads(manifest_path.read_text(encoding="utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _set_later(folder: Path, entries: list[dict[str, Any]], files: dict[str, FileSpec]
               ) -> dict[str, dict[str, set[str]]]:
    """Per sheet and record id, the values a second-step file of the export sets."""
    found: dict[str, dict[str, set[str]]] = {}
    for entry in entries:
        fs = files.get(entry.get("spec", ""))
        if fs is None or fs.step == 1:
            continue
        keys = {str(c.value) for c in fs.columns if carries_value(c) and c.value != "id"}
        id_header = next(c.header for c in fs.columns if c.value == "id")
        table = read_table(folder / entry["file"])
        k = table.header.index(id_header)
        for _, cells in table.rows:
            found.setdefault(fs.sheet, {}).setdefault(unneutralize(cells[k]), set()).update(keys)
    return found


def import_export_folder(crm: Crm, manifest_path: Path, *, now: dt.datetime,
                         only: str | None = None) -> ImportResult:
    """Upsert the files an export's manifest lists (or only the one named) into their sheets."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    spec = load_mapping(manifest["target"])
    folder = manifest_path.parent
    if manifest["preset"] != crm.schema.preset:
        raise ImportFileError(f"{manifest_path}: an export of a {manifest['preset']} workbook; "
                           f"import it into a {manifest['preset']} workbook")
    result = ImportResult(crm.path, [], encoding=manifest["encoding"], delimiter=",")
    states: dict[str, SheetUpsert] = {}
    files: dict[str, FileSpec] = {f.file: f for f in spec.files_for(crm.schema.preset)}
    first = {f.object: f for f in reversed(spec.files_for(crm.schema.preset))}
    later = _set_later(folder, manifest["files"], files) if only is None else {}
    for entry in sorted(manifest["files"], key=lambda f: (f["load_order"], f["part"])):
        if only is not None and entry["file"] != only:
            continue
        # an older manifest names only the object: its first file
        fs = files.get(entry.get("spec", ""), first.get(entry["object"]))
        if fs is None:
            raise ImportFileError(f"{manifest_path}: {entry['file']} is not a file of the "
                                  f"{spec.name} mapping")
        sheet = crm.schema.sheet(fs.sheet)
        if fs.sheet not in states:
            states[fs.sheet] = SheetUpsert(crm, fs.sheet)
        state = states[fs.sheet]
        path = folder / entry["file"]
        result.files.append(path)
        table: RawTable = read_table(path)
        by_header = {c.header: c for c in fs.columns}
        carried = {h for h, c in by_header.items() if carries_value(c)}
        for line, cells in table.rows:
            values: dict[str, Any] = {}
            listed: dict[str, list[tuple[ColumnSpec, str]]] = {}
            for h, text in zip(table.header, cells):
                col = by_header.get(h)
                if col is not None and h in carried and col.map not in (None, "reps"):
                    listed.setdefault(str(col.value), []).append((col, text))
                    continue
                if col is None or h not in carried or str(col.value) in values:
                    continue
                try:
                    values[str(col.value)] = _reverse(spec, col, text, crm, sheet)
                except ValueError as exc:
                    result.rows.append(ImportRow(path.name, line, "warning",
                                                 f'{h} "{text}" can\'t be read ({exc})'))
            for key, given in listed.items():
                if key not in values:  # a column with the value as typed beats a picklist's
                    values[key] = _reverse_item(spec, given, crm)
            if fs.step == 1:  # a closing step sets these values exactly: don't guess them here
                for key in later.get(fs.sheet, {}).get(str(values.get("id")), set()):
                    values.pop(key, None)
            outcome, row, how = state.upsert(values, stamp={"created": now},
                                             by_id_only=filled(values.get("id")))
            if outcome == "added":
                result.added += 1
            elif outcome == "updated":
                result.updated += 1
            else:
                result.skipped += 1
                result.rows.append(ImportRow(path.name, line, "skipped",
                                             f"already in {state.name} row {row} (same {how}), "
                                             "nothing new"))
    result.pending = list(states.values())
    return result
