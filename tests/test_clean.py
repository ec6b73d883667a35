"""``xlcrm clean``: duplicates found on a labelled demo, merges that lose nothing, undo, and the
other findings on a small hand-made workbook whose every problem is written below."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.commands.clean import clean
from xlcrm.metrics.duplicates import find_duplicates, group_pairs, pairs_within
from xlcrm.metrics.identity import email_key, phone_key
from xlcrm.metrics.quality import find_groups
from xlcrm.sheets.workbook import write_new_workbook
from xlcrm.xlsx.writer import patch_sheet

from ._helpers import TODAY

T = dt.datetime


# ----- normalisation: real-world formats from several countries -----------------------------
@pytest.mark.parametrize(("text", "region", "expected"), [
    ("347 123 4567", "IT", "+393471234567"),  # Italian mobile as dialled at home
    ("+39 347 123 4567", "US", "+393471234567"),
    ("0039 347-123-4567", "US", "+393471234567"),
    ("02 1234 5678", "IT", "+390212345678"),  # Milan landline keeps its zero
    ("(415) 555-2671", "US", "+14155552671"),
    ("415.555.2671", "US", "+14155552671"),
    ("+1-415-555-2671", "IT", "+14155552671"),
    ("07911 123456", "GB", "+447911123456"),  # UK mobile, trunk zero dropped
    ("+44 (0)20 7946 0958", "IT", "+442079460958"),
    ("030 901820", "DE", "+4930901820"),  # Berlin
    ("+49 151 23456789", "IT", "+4915123456789"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("+33 6 12 34 56 78", "DE", "+33612345678"),
    ("612 34 56 78", "ES", "+34612345678"),  # Spain: no trunk zero
    ("tel:+34-612-345-678", "IT", "+34612345678"),
    ("12345", "IT", None),
    ("347-12", "IT", None),
    ("n/a", "IT", None),
    ("0000000000", "IT", None),  # placeholders typed to get past a required field
    ("123-456-7890", "US", None),
    ("", "IT", None),
])
def test_phone_numbers_become_e164(text: str, region: str, expected: str | None) -> None:
    assert phone_key(text, region) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Mario.Rossi@Gmail.com", "mariorossi@gmail.com"),  # Gmail ignores dots and case
    ("mario.rossi+auto@googlemail.com", "mariorossi@gmail.com"),
    ("  m.rossi@libero.it ", "m.rossi@libero.it"),  # Libero: dots matter
    ("m.rossi+news@libero.it", "m.rossi+news@libero.it"),  # and a plus is part of the name
    ("John.Smith+crm@outlook.com", "john.smith@outlook.com"),  # Outlook drops the tag only
    ("hans.mueller+shop@gmx.de", "hans.mueller+shop@gmx.de"),
    ("<claire.dupont@orange.fr>", "claire.dupont@orange.fr"),
    ("mailto:Ana.Garcia@Telefonica.net", "ana.garcia@telefonica.net"),
    ("jane+x@icloud.com", "jane@icloud.com"),
    ("mario.rossi@@gmail.com", None),
    ("mario.rossi@gmail", None),
    ("mario rossi@gmail.com", None),
    ("", None),
])
def test_email_addresses_are_normalised(text: str, expected: str | None) -> None:
    assert email_key(text) == expected


# ----- duplicates on the labelled demo -----------------------------------------------------
@pytest.mark.parametrize(("preset", "seed"), [("dealer", 21), ("b2b", 21), ("b2b", 4)])
def test_duplicates_found_with_precision_and_recall(preset: str, seed: int) -> None:
    data = xlcrm.generate_demo(preset, leads=4000, seed=seed, today=TODAY)
    for sheet, truth in data.duplicates.items():
        assert len(truth) >= 5, sheet
        frame = pd.DataFrame(data.data[sheet])
        if sheet == "contacts":
            names = dict(zip(data.data["accounts"]["id"], data.data["accounts"]["name"]))
            frame["company"] = frame["account"].map(names)
        found = find_duplicates(frame, kind="company" if sheet == "accounts" else "person",
                                region=str(data.schema.option("phone_region")))
        predicted = pairs_within(group_pairs(found.pairs))
        expected = pairs_within([list(pair) for pair in truth])
        hits = len(predicted & expected)
        precision = hits / len(predicted)
        recall = hits / len(expected)
        assert precision >= 0.95, (sheet, precision, sorted(predicted - expected)[:5])
        assert recall >= 0.90, (sheet, recall, sorted(expected - predicted)[:5])
        assert found.compared < len(frame) * 2  # blocking: nowhere near all pairs


def test_swapped_names_and_reformatted_phone_are_one_person() -> None:
    frame = pd.DataFrame({
        "id": ["L-1", "L-2", "L-3"],
        "first_name": ["Giulia", "Ferrari", "Giulia"],
        "last_name": ["Ferrari", "Giulia", "Ferraris"],
        "email": ["g.ferrari@libero.it", None, "giulia.ferraris@gmail.com"],
        "phone": ["+39 347 555 0101", "3475550101", "+39 333 000 1111"],
    })
    found = find_duplicates(frame, region="IT")
    assert list(zip(found.pairs["a"], found.pairs["b"])) == [("L-1", "L-2")]
    assert "same phone +393475550101" in found.pairs["reason"][0]


# ----- the Data quality sheet, merge and undo ------------------------------------------------
def _sheet(path: Path, name: str) -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    finally:
        book.close()


def _mark(path: Path, groups: set[int]) -> None:
    """Do what a person does: put x in the Merge column beside the records of some groups."""
    rows = _sheet(path, "Data quality")
    head = next(i for i, r in enumerate(rows) if r[0] == "Group")
    merge = rows[head].index("Merge")
    cells = {}
    for i, r in enumerate(rows[head + 1:], head + 1):
        if r[0] == "":
            break
        if int(r[0]) in groups:
            cells[(i, merge)] = "x"
    patch_sheet(path, "Data quality", cells, backups=0)


@pytest.fixture()
def b2b_book(tmp_path: Path) -> tuple[Path, xlcrm.DemoData]:
    data = xlcrm.generate_demo("b2b", leads=600, seed=13, today=TODAY)
    path = write_new_workbook(tmp_path / "crm.xlsx", data.schema, data.data,
                              options=data.options, settings_rows=data.settings_rows)
    return path, data


def test_clean_writes_data_quality_sheet_and_json(b2b_book: tuple[Path, xlcrm.DemoData]
                                                   ) -> None:
    path, data = b2b_book
    result = clean(path, today=TODAY)
    assert "Data quality" in result.sheets
    rows = _sheet(path, "Data quality")
    listed = {str(r[2]) for r in rows if r and r[1] in ("Contacts", "Accounts")}
    for sheet in ("contacts", "accounts"):
        for a, b in data.duplicates[sheet]:
            assert {a, b} <= listed, (a, b)
    import json

    report = json.loads(result.to_json())
    assert report["duplicate_groups"] and all(g["score"] >= 0.8 and g["reasons"]
                                              for g in report["duplicate_groups"])
    checks = {f["check"] for f in report["findings"]}
    assert {"dead", "no-owner", "bad-phone", "no-contact-data", "territory-mismatch"} <= checks
    assert all("!" in f["where"] and f["record"] for f in report["findings"])


def test_merge_keeps_links_and_values_and_undo_restores_bytes(
        b2b_book: tuple[Path, xlcrm.DemoData]) -> None:
    path, _ = b2b_book
    clean(path, today=TODAY, backups=0)
    before_merge = xlcrm.load(path)
    groups = clean(path, today=TODAY, dry_run=True).groups
    chosen = {i for i, g in enumerate(groups, 1) if g.sheet in ("contacts", "accounts")}
    _mark(path, chosen)
    marked_bytes = path.read_bytes()
    # marks survive a plain re-run of clean
    rerun = clean(path, today=TODAY, dry_run=True)
    assert sum(len(g.marked) for g in rerun.groups) == sum(len(groups[i - 1].ids)
                                                           for i in chosen)
    errors_before = {(i.sheet, i.cell, i.code) for i in xlcrm.check(path, today=TODAY).issues
                     if i.severity == "error"}
    result = clean(path, apply=True, today=TODAY)
    assert result.merged_groups == len(chosen)
    after = xlcrm.load(path)
    # the merged rows are removed, not left empty: each sheet is shorter by its merged records
    # and its rows stay consecutive from the header down
    for key in ("contacts", "accounts"):
        gone = sum(len(groups[i - 1].ids) - 1 for i in chosen if groups[i - 1].sheet == key)
        assert len(after.tables[key]) == len(before_merge.tables[key]) - gone, key
        rows = list(after.tables[key].index)
        assert rows == list(range(rows[0], rows[0] + len(rows))), key
    errors_after = {(i.sheet, i.cell, i.code) for i in xlcrm.check(path, today=TODAY).issues
                    if i.severity == "error"}
    assert errors_after <= errors_before  # no dangling link, duplicate id or missing value
    assert not {code for _, _, code in errors_after} & {"dangling-link", "duplicate-id"}
    # every non-empty value of a merged record is in the kept record or in the merge log
    log = _sheet(path, "Merge log")
    logged = {(str(r[3]), str(r[4])) for r in log[4:] if r and r[0] != ""}
    for i in chosen:
        group = groups[i - 1]
        frame, old = after.tables[group.sheet], before_merge.tables[group.sheet]
        assert set(frame["id"]) & set(group.ids) == {group.kept}
        kept = frame[frame["id"] == group.kept].iloc[0]
        sheet = before_merge.schema.sheet(group.sheet)
        for other in group.ids[1:]:
            rec = old[old["id"] == other].iloc[0]
            for col in sheet.columns:
                value = rec[col.key]
                if col.key == "id" or value is None or (isinstance(value, float) and
                                                        pd.isna(value)) or value is pd.NaT:
                    continue
                assert (other, col.header) in logged or kept[col.key] == value, (other, col.key)
        for link_sheet, column in (("deals", "contact"), ("activities", "contact"),
                                   ("tasks", "record"), ("contacts", "account")):
            assert not set(after.tables[link_sheet][column].dropna()) & set(group.ids[1:])
    # nothing merged twice: the groups are gone from the Data quality sheet
    assert not {g.kept for g in find_groups(after)[0]} & {groups[i - 1].kept
                                                                       for i in chosen}
    undone = clean(path, undo=True)
    assert undone.undone
    assert path.read_bytes() == marked_bytes
    with pytest.raises(xlcrm.WorkbookError, match="no merge to undo"):
        clean(path, undo=True)


def test_apply_without_marks_changes_no_data(b2b_book: tuple[Path, xlcrm.DemoData]) -> None:
    path, _ = b2b_book
    clean(path, today=TODAY, backups=0)
    before = xlcrm.load(path)
    result = clean(path, apply=True, today=TODAY)
    assert result.merged_groups == 0
    after = xlcrm.load(path)
    for key in ("contacts", "accounts", "deals"):
        pd.testing.assert_frame_equal(before.tables[key], after.tables[key])


# ----- the other findings on a hand-made workbook ---------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    schema = xlcrm.load_schema("b2b")
    accounts = {
        "id": ["ACC-1", "ACC-2", "ACC-3", "ACC-4", "ACC-5", "ACC-6"],
        "name": ["Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
        "parent": [None, "ACC-1", "ACC-9", "ACC-5", "ACC-4", None],
        "territory": ["North", "South", "North", "North", "North", "North"],
        "owner": ["Anna", "Anna", "Anna", "Anna", "Anna", "Anna"],
        "created": [T(2026, 11, 1)] * 5 + [T(2025, 1, 10)],
    }
    contacts = {
        "id": ["CON-1", "CON-2", "CON-3", "CON-4", "CON-5"],
        "created": [T(2026, 11, 2), T(2026, 11, 3), T(2026, 11, 4), T(2024, 5, 1),
                    T(2026, 11, 5)],
        "last_name": ["Rossi", "Bianchi", "Verdi", "Neri", "Gallo"],
        "account": ["ACC-1", "ACC-1", "ACC-2", "ACC-3", "ACC-4"],
        "email": ["rossi@alfa.it", None, "verdi@@beta.it", "neri@gamma.it", "gallo@delta.it"],
        "phone": [None, None, "+39 02 1234 5678", "12345", None],
        "source": ["Referral"] * 5,
        "owner": ["Anna", "Anna", None, "Bruno", "Carla"],
    }
    path = tmp_path_factory.mktemp("clean") / "crm.xlsx"
    write_new_workbook(path, schema, {"accounts": accounts, "contacts": contacts},
                       settings_rows={"reps": [("Anna", "", "North", True),
                                               ("Carla", "", "North", False)]})
    return path


def test_findings_point_at_the_cells_to_fix(small: Path) -> None:
    found = {(f.check, f.record, f.cell) for f in clean(small, today=TODAY,
                                                          dry_run=True).findings}
    assert found == {
        ("territory-mismatch", "ACC-2", "F3"),  # South under a North parent
        ("orphan", "ACC-3", "C4"),  # ACC-9 doesn't exist
        ("cycle", "ACC-4", "C5"),  # ACC-4 -> ACC-5 -> ACC-4
        ("dead", "ACC-6", "A7"),  # created 2025-01-10, nothing since, 365 days allowed
        ("no-contact-data", "CON-2", "G3"),
        ("bad-email", "CON-3", "G4"),
        ("no-owner", "CON-3", "K4"),
        ("bad-phone", "CON-4", "H5"),
        ("dead", "CON-4", "A5"),  # created 2024-05-01
        ("unknown-owner", "CON-4", "K5"),
        ("inactive-owner", "CON-5", "K6"),
    }


def test_clean_command_json_and_undo_without_merge(small: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from typer.testing import CliRunner

    from xlcrm.cli import app

    path = tmp_path / "copy.xlsx"
    shutil.copy(small, path)
    out = CliRunner().invoke(app, ["clean", str(path), "--format", "json",
                                   "--today", TODAY.isoformat()])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {"ACC-3", "CON-4"} <= {f["record"] for f in data["findings"]}
    assert xlcrm.load(path).sheet_names["data_quality"] == "Data quality"
    undo = CliRunner().invoke(app, ["clean", str(path), "--undo"])
    assert undo.exit_code == 2 and "no merge to undo" in undo.output


def test_dealer_leads_without_salesperson_point_at_that_column(tmp_path: Path) -> None:
    schema = xlcrm.load_schema("dealer")
    leads = {"id": ["L-1", "L-2"], "created": [T(2026, 11, 2), T(2026, 11, 3)],
             "last_name": ["Rossi", "Bianchi"], "phone": ["+39 347 123 4567", "347 765 4321"],
             "source": ["Walk-in", "Walk-in"], "rep": ["Anna", None]}
    path = write_new_workbook(tmp_path / "crm.xlsx", schema, {"leads": leads},
                              settings_rows={"reps": [("Anna", "", "", True)]})
    found = clean(path, today=TODAY, dry_run=True)
    assert [(f.check, f.where) for f in found.findings] == [("no-owner", "Leads!L3")]
    assert found.groups == [] and found.sheets == ["Data quality"]
