"""Export to a CRM, then import those files into a fresh workbook: the data comes back equal."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from xlcrm import export, import_leads, init, load
from xlcrm.exchange.mapping import ColumnSpec, Mapping_, load_mapping
from xlcrm.exchange.roundtrip import carries_value
from xlcrm.metrics.identity import phone_key, stored_email
from xlcrm.read import Crm
from xlcrm.schema import item_labels, normalize_header

from ._helpers import PRESETS

TARGETS = ["dynamics", "hubspot", "pipedrive", "salesforce", "zoho"]


def _empty(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or v == ""


def _stage_target(spec: Mapping_, col: ColumnSpec, value: Any) -> str | None:
    """The target's value for a workbook stage: what "equal through the mapping" compares."""
    if _empty(value):
        return None
    wanted = normalize_header(str(value))
    for key, target in spec.values[col.values_table].items():
        if wanted in {normalize_header(x) for x in [key, *item_labels(str(col.map), key)]}:
            return target
    raise AssertionError(f"stage {value!r} not in the mapping")


def _expected(crm: Crm, spec: Mapping_, col: ColumnSpec, ctype: str, value: Any) -> Any:
    if _empty(value):
        return None
    if col.map == "reps":  # the fresh workbook has no reps: the owner comes back as e-mail
        reps = crm.settings.lists["reps"]
        return dict(zip(reps.iloc[:, 0], reps["email"])).get(value, value)
    if col.map:
        return _stage_target(spec, col, value)
    kind = col.kind or ctype
    if kind == "date":
        return pd.Timestamp(value).date()
    if kind == "datetime":
        return pd.Timestamp(value).floor("min")
    if ctype in ("money", "number", "integer", "percent"):
        return round(float(value), 2)
    if ctype == "phone":
        return phone_key(str(value), str(crm.settings.options["phone_region"]))
    if ctype == "email":
        return stored_email(str(value))
    return str(value).strip()


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("target", TARGETS)
def test_round_trip_through_target(demo_books: dict[str, Path], tmp_path: Path, target: str,
                                   preset: str) -> None:
    out = tmp_path / "export"
    export(demo_books[preset], target, out)
    fresh = init(tmp_path / "fresh.xlsx", preset=preset)
    result = import_leads(fresh, out)
    original, back = load(demo_books[preset]), load(fresh)
    spec = load_mapping(target)
    compared: dict[str, int] = {}
    for fs in spec.files_for(preset):
        a = original.tables[fs.sheet].set_index("id")
        b = back.tables[fs.sheet].set_index("id")
        assert sorted(b.index) == sorted(a.index), f"{fs.file}: records differ"
        sheet = original.schema.sheet(fs.sheet)
        for col in fs.columns:
            if not carries_value(col) or col.value == "id":
                continue
            key = str(col.value)
            ctype = sheet.column(key).type
            for ident in a.index:
                want = _expected(original, spec, col, ctype, a.at[ident, key])
                got = b.at[ident, key]
                got = _expected(back, spec, col, ctype, got) if col.map != "reps" else (
                    None if _empty(got) else got)
                assert got == want, f"{fs.file} {col.header} {ident}: {got!r} != {want!r}"
            compared[key] = compared.get(key, 0) + 1
    # the promise covers ids, names, e-mails, phones, amounts, stages, dates and links
    assert {"last_name", "email", "phone", "stage"} <= set(compared)
    # the marketing consent's date and source come back from their own columns
    assert {"marketing_consent", "consent_source"} <= set(compared)
    if preset == "b2b":
        assert {"name", "account", "amount"} <= set(compared)
    # a second-step file (records to close) only repeats what the first step carried for the
    # records whose stage its table maps the same: nothing new, counted as skipped
    second = {fs.file for fs in spec.files_for(preset) if fs.step > 1}
    assert all(r.file in second for r in result.rows if r.severity == "skipped"), result.rows[:3]
    assert back.errors == []
    again = import_leads(fresh, out)
    assert (again.added, again.updated) == (0, 0)


def test_one_file_of_an_export_is_read_back_through_its_mapping(demo_books: dict[str, Path],
                                                                tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(demo_books["b2b"], "salesforce", out)
    fresh = init(tmp_path / "fresh.xlsx", preset="b2b")
    result = import_leads(fresh, out / "Account.csv")
    back, original = load(fresh), load(demo_books["b2b"])
    assert result.added == len(original.tables["accounts"]) and result.mapping == []
    assert sorted(back.tables["accounts"]["id"]) == sorted(original.tables["accounts"]["id"])
    assert back.tables["contacts"].empty
