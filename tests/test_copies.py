"""Two people edit copies of one workbook at the same time; diff shows it, merge joins it.

The scenario, as a shared drive makes it: the team's ``crm.xlsx`` gets a lead imported and a
weekly update (each save keeps the previous version in ``.xlcrm-backups``); the sync then
leaves ``crm (conflicted copy).xlsx`` beside it. MINE (``crm.xlsx``) is edited in LibreOffice
through its Python bridge, THEIRS (the conflicted copy) with openpyxl:

- each adds a lead, both with the next id; THEIRS also logs an activity and a task for its;
- lead 5: MINE changes the phone, THEIRS the status (no conflict);
- lead 12: both change the status, differently (a conflict);
- lead 20: MINE deletes it, THEIRS edits its notes;
- THEIRS deletes lead 30, with its activities and tasks, which MINE leaves alone;
- THEIRS adds a source to the Settings Sources list.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import PROBLEMS, REFUSED, app

from ._helpers import TODAY, Office

STAGES = ["New", "Contacted", "Appointment set", "Shown", "Negotiation", "Sold", "Lost"]
MINE_PHONE = "+39 347 555 0101"
THEIRS_NOTE = "Called back: wants the estate version"
runner = CliRunner()



@dataclass
class Copies:
    """The two edited copies, the version they started from, and what each did."""

    folder: Path
    base: Path  # the backup both started from
    decoy: Path  # an older backup (before the import)
    mine: Path
    theirs: Path
    stage5: str  # THEIRS's status of lead 5
    stage12: tuple[str, str]  # MINE's and THEIRS's status of lead 12
    new_id: str  # the id both new leads got
    gone: str  # the lead THEIRS deleted
    gone_links: set[tuple[str, str]]  # its activities and tasks, (sheet, id), deleted too


def _other(*taken: Any) -> str:
    return next(s for s in STAGES if s not in taken)


def _append(ws: Any, values: dict[str, Any]) -> int:
    """Add a row to the sheet's table as a person does in Excel: below it, the table grown."""
    table = next(iter(ws.tables.values()))
    first, last = table.ref.split(":")
    row = int("".join(ch for ch in last if ch.isdigit())) + 1
    end_col = "".join(ch for ch in last if ch.isalpha())
    table.ref = f"{first}:{end_col}{row}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref
    cols = {c.value: c.column for c in ws[1]}
    for header, value in values.items():
        ws.cell(row, cols[header], value)
    return row


def _delete(ws: Any, ident: str) -> None:
    """Delete a record's row as Excel does: the rows below move up, the table shrinks."""
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == ident)
    ws.delete_rows(row)
    table = next(iter(ws.tables.values()))
    first, last = table.ref.split(":")
    end = int("".join(ch for ch in last if ch.isdigit())) - 1
    table.ref = f"{first}:{''.join(ch for ch in last if ch.isalpha())}{end}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def _sheet_part(path: Path, name: str) -> str:
    """The part of the sheet called ``name``."""
    from xlcrm.xlsx.parts import read_outline

    return read_outline(path).sheet_parts[name]


def _row(ws: Any, ident: str) -> dict[str, Any]:
    cols = {c.value: c.column for c in ws[1]}
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == ident:
            return {h: ws.cell(r, c) for h, c in cols.items()}
    raise AssertionError(f"no {ident} on {ws.title}")


@pytest.fixture(scope="module")
def copies(office: Office, uno_python: str, demo_book: Callable[..., Path],
           tmp_path_factory: pytest.TempPathFactory) -> Copies:
    python = uno_python
    folder = tmp_path_factory.mktemp("shared-drive")
    crm = Path(shutil.copyfile(demo_book("dealer", 60, 3), folder / "crm.xlsx"))
    leads_csv = folder / "web-form.csv"
    leads_csv.write_text("First name,Last name,E-mail,Source\nLuca,Ferri,luca.ferri@example.com,"
                         "Dealer website\n", encoding="utf-8")
    xlcrm.import_leads(crm, leads_csv)  # keeps the demo as it was: the older backup
    xlcrm.update(crm, today=TODAY)  # keeps the version with the import: the base
    decoy, base = sorted((folder / ".xlcrm-backups").iterdir())
    theirs = Path(shutil.copyfile(crm, folder / "crm (conflicted copy).xlsx"))
    start = xlcrm.load(crm)
    leads = start.tables["leads"].set_index("id")
    new_id = f"L-{len(leads) + 1:06d}"  # 61 leads: L-000062, on both sides
    stage5 = _other(leads.loc["L-000005", "stage"])
    stage12 = (_other(leads.loc["L-000012", "stage"]),
               _other(leads.loc["L-000012", "stage"], _other(leads.loc["L-000012", "stage"])))

    # MINE, in LibreOffice
    edits = {"set": [["Leads", "L-000005", "Phone", MINE_PHONE],
                     ["Leads", "L-000012", "Status", stage12[0]]],
             "add": [["Leads", {"ID": new_id, "Created": "2026-11-20 10:30", "First name":
                                "Marta", "Last name": "Neri", "E-mail": "marta.neri@example.com",
                                "Source": "Walk-in", "Salesperson": "", "Status": "New"}]],
             "delete": [["Leads", "L-000020"]]}
    edits_file = folder / "edits.json"
    edits_file.write_text(json.dumps(edits), encoding="utf-8")
    edited = folder / "lo" / "crm.xlsx"
    edited.parent.mkdir()
    with office.lock:
        subprocess.run([python, str(Path(__file__).with_name("lo_edit_records.py")), str(crm),
                        str(edited), str(edits_file), str(office.profile)], check=True,
                       capture_output=True, timeout=300)
        # and a sheet of MINE's own: a pivot table of the leads with its chart
        subprocess.run([python, str(Path(__file__).with_name("lo_pivot_chart.py")),
                        str(edited), str(crm), "Leads", str(office.profile)], check=True,
                       capture_output=True, timeout=300)

    # THEIRS, with openpyxl
    gone, acts, tasks = "L-000030", start.tables["activities"], start.tables["tasks"]
    gone_links = {("Activities", i) for i in acts.loc[acts["lead"] == gone, "id"]} | \
        {("Tasks", i) for i in tasks.loc[tasks["record"] == gone, "id"]}
    book = openpyxl.load_workbook(theirs)
    _delete(book["Leads"], gone)
    for sheet, ident in gone_links:
        _delete(book[sheet], ident)
    ws = book["Leads"]
    _row(ws, "L-000005")["Status"].value = stage5
    _row(ws, "L-000012")["Status"].value = stage12[1]
    _row(ws, "L-000020")["Notes"].value = THEIRS_NOTE
    rep = _row(ws, "L-000005")["Salesperson"].value
    _append(ws, {"ID": new_id, "Created": dt.datetime(2026, 11, 21, 9, 15),
                 "First name": "Paolo", "Last name": "Russo", "E-mail": "paolo.russo@example.com",
                 "Source": "Radio ad", "Salesperson": rep, "Status": "Contacted"})
    acts = book["Activities"]
    model = _row(acts, start.tables["activities"]["id"].iloc[-1])
    act_id = f"ACT-{len(start.tables['activities']) + 1:06d}"
    _append(acts, {"ID": act_id, "Date": dt.datetime(2026, 11, 21, 9, 40), "Lead": new_id,
                   "Type": model["Type"].value, "Direction": model["Direction"].value,
                   "Salesperson": rep, "Subject": "First call"})
    task_id = f"T-{len(start.tables['tasks']) + 1:06d}"
    _append(book["Tasks"], {"ID": task_id, "Due date": dt.datetime(2026, 11, 24),
                            "Salesperson": rep, "Lead": new_id, "Subject": "Send the quote"})
    settings = book["Settings"]
    sources = settings.tables["Sources"]
    first, last = sources.ref.split(":")
    row = int("".join(ch for ch in last if ch.isdigit())) + 1
    sources.ref = f"{first}:{''.join(ch for ch in last if ch.isalpha())}{row}"
    left = openpyxl.utils.column_index_from_string("".join(ch for ch in first
                                                           if ch.isalpha()))
    settings.cell(row, left, "Radio ad")
    settings.cell(row, left + 1, 12)
    book.save(theirs)
    return Copies(folder, base, decoy, crm, theirs, stage5, stage12, new_id, gone, gone_links)


def _changes(result: xlcrm.DiffResult) -> set[tuple[Any, ...]]:
    out: set[tuple[Any, ...]] = set()
    for c in result.records:
        out.add((c.sheet_name, c.record, c.kind, tuple(sorted(f.header for f in c.fields))))
    for s in result.settings:
        out.add(("Settings", s.title, s.item, s.kind))
    return out


@pytest.mark.libreoffice
def test_diff_lists_exactly_what_each_person_did(copies: Copies) -> None:
    new = copies.new_id
    mine = xlcrm.diff(copies.base, copies.mine)
    assert _changes(mine) == {
        ("Leads", new, "added", ()),
        ("Leads", "L-000005", "changed", ("Phone",)),
        ("Leads", "L-000012", "changed", ("Status",)),
        ("Leads", "L-000020", "removed", ()),
    }
    theirs = xlcrm.diff(copies.base, copies.theirs)
    assert _changes(theirs) == {
        ("Leads", new, "added", ()),
        ("Leads", "L-000005", "changed", ("Status",)),
        ("Leads", "L-000012", "changed", ("Status",)),
        ("Leads", "L-000020", "changed", ("Notes",)),
        ("Leads", copies.gone, "removed", ()),
        ("Activities", "ACT-000202", "added", ()),
        ("Tasks", "T-000039", "added", ()),
        ("Settings", "Sources", "Radio ad", "added"),
        *((sheet, ident, "removed", ()) for sheet, ident in copies.gone_links),
    }
    assert copies.gone_links  # the lead had activities or tasks
    phone = next(c for c in mine.records if c.record == "L-000005").fields[0]
    assert phone.new == MINE_PHONE
    data = json.loads(theirs.to_json())
    assert data["counts"]["Leads"] == {"added": 1, "removed": 1, "changed": 3}
    assert "Radio ad" in theirs.to_html() and "<script" not in theirs.to_html()
    assert not xlcrm.diff(copies.mine, copies.mine).changed
    shown = runner.invoke(app, ["diff", str(copies.base), str(copies.theirs)])
    assert shown.exit_code == PROBLEMS and "Radio ad" in shown.output


@pytest.mark.libreoffice
def test_merge_keeps_both_sides_work_and_lists_the_conflicts(copies: Copies,
                                                            tmp_path: Path) -> None:
    out = copies.folder / "crm merged.xlsx"
    plan = xlcrm.merge(copies.mine, copies.theirs, out=out, dry_run=True)
    assert plan.base.resolve() == copies.base.resolve()  # the newest backup both come from
    assert not out.exists()
    result = xlcrm.merge(copies.mine, copies.theirs, out=out)
    merged = xlcrm.load(out)
    leads = merged.tables["leads"].set_index("id")
    new, renumbered = copies.new_id, f"L-{int(copies.new_id[2:]) + 1:06d}"
    # one side's changes taken, both sides' on lead 5
    assert leads.loc["L-000005", "phone"] == MINE_PHONE
    assert leads.loc["L-000005", "stage"] == copies.stage5
    # the conflict: MINE kept (the default), both values listed with their files
    assert leads.loc["L-000012", "stage"] == copies.stage12[0]
    conflicts = {(c.record, c.field): c for c in result.conflicts}
    assert set(conflicts) == {("L-000012", "Status"), ("L-000020", "(whole record)")}
    status = conflicts[("L-000012", "Status")]
    assert (status.mine, status.theirs, status.kept) == (*copies.stage12, "mine")
    # deleted in MINE, edited in THEIRS: the edit is kept
    assert leads.loc["L-000020", "notes"] == THEIRS_NOTE
    # both new leads, with distinct ids; THEIRS's activity and task follow its lead
    assert leads.loc[new, "last_name"] == "Neri"
    assert leads.loc[renumbered, "last_name"] == "Russo"
    assert result.renumbered == {"Leads": {new: renumbered}}
    acts = merged.tables["activities"].set_index("id")
    tasks = merged.tables["tasks"].set_index("id")
    assert acts.loc["ACT-000202", "lead"] == renumbered
    assert tasks.loc["T-000039", "record"] == renumbered
    assert "Radio ad" in merged.settings.items("sources")
    # deleted in THEIRS, untouched in MINE: deleted (its row removed)
    assert copies.gone not in leads.index
    assert not any(i in merged.tables["activities"]["id"].values for _, i in copies.gone_links)
    assert len(leads) == 62  # 61 at the start, 2 added, 1 deleted, 1 deleted and put back
    # the deleted lead's row is gone, not left empty: the table holds exactly its records
    with zipfile.ZipFile(out) as z:
        refs = [re.search(rb' ref="([A-Z]+\d+:[A-Z]+\d+)"', z.read(n)) for n in z.namelist()
                if n.startswith("xl/tables/") and b'displayName="Leads"' in z.read(n)]
    assert len(refs) == 1 and refs[0] is not None
    assert refs[0].group(1).decode().endswith(f"{1 + 62}"), refs[0].group(1)
    # the Conflicts sheet lists both values and where each came from
    sheet = openpyxl.load_workbook(out, read_only=True)["Conflicts"]
    rows = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    line = next(r for r in rows if r[1] == "L-000012")
    assert line[2] == "Status" and tuple(line[4:6]) == copies.stage12
    assert line[6] == "MINE (crm.xlsx)"
    assert any("crm (conflicted copy).xlsx" in str(v) for r in rows for v in r if v)
    assert xlcrm.check(out).ok  # (the imported lead is dated today, after TODAY)
    # everything that is not records comes from MINE, byte for byte
    with zipfile.ZipFile(copies.mine) as a, zipfile.ZipFile(out) as b:
        mine_parts = {n: a.read(n) for n in a.namelist()}
        out_parts = {n: b.read(n) for n in b.namelist()}
    touched = {"xl/workbook.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels",
               "xl/styles.xml", "docProps/app.xml"}
    changed = {n for n in mine_parts if out_parts.get(n) != mine_parts[n]}
    data_parts = {n for n in changed if n.startswith(("xl/worksheets/", "xl/tables/"))}
    assert changed - data_parts <= touched, changed - data_parts
    assert len([n for n in data_parts if n.startswith("xl/worksheets/sheet")]) <= 4
    foreign = [n for n in mine_parts if n.startswith(
        ("xl/charts/", "xl/drawings/", "xl/media/", "xl/pivotTables/", "xl/pivotCache/"))]
    assert any("pivotTable" in n for n in foreign) and any("chart" in n for n in foreign)
    assert all(out_parts[n] == mine_parts[n] for n in foreign)
    pivot_sheet = _sheet_part(copies.mine, "Team pivot")
    assert out_parts[pivot_sheet] == mine_parts[pivot_sheet]
    # the weekly run works on it
    xlcrm.update(out, today=TODAY)
    assert xlcrm.check(out).ok  # (the imported lead is dated today, after TODAY)


@pytest.mark.libreoffice
def test_merge_prefer_theirs_and_the_command_line(copies: Copies, tmp_path: Path) -> None:
    out = tmp_path / "merged.xlsx"
    shown = runner.invoke(app, ["merge", str(copies.mine), str(copies.theirs), "--out",
                                str(out), "--prefer", "theirs", "--base", str(copies.base)])
    assert shown.exit_code == PROBLEMS, shown.output  # conflicts were settled
    assert "L-000012" in shown.output
    leads = xlcrm.load(out).tables["leads"].set_index("id")
    assert leads.loc["L-000012", "stage"] == copies.stage12[1]
    newer = xlcrm.merge(copies.mine, copies.theirs, out=out, prefer="newer", dry_run=True)
    status = next(c for c in newer.conflicts if c.field == "Status")
    assert status.kept == "mine" and status.why.startswith("newer")  # nobody called since
    plan = runner.invoke(app, ["merge", str(copies.mine), str(copies.theirs), "--out",
                               str(tmp_path / "plan.xlsx"), "--dry-run"])
    assert plan.exit_code == PROBLEMS and not (tmp_path / "plan.xlsx").exists()
    assert "Leads L-000005: update: Status:" in plan.output
    assert "Settings Sources: add item: \"Radio ad\"" in plan.output
    again = runner.invoke(app, ["merge", str(copies.mine), str(copies.theirs), "--out",
                                str(out)])
    assert again.exit_code == REFUSED and "already exists" in again.output


def test_merge_refuses_copies_of_different_presets(demo_book: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    dealer = shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "a.xlsx")
    b2b = shutil.copyfile(demo_book("b2b", 60, 3), tmp_path / "b.xlsx")
    result = runner.invoke(app, ["merge", str(dealer), str(b2b), "--out",
                                 str(tmp_path / "m.xlsx"), "--base", str(dealer)])
    assert result.exit_code == REFUSED
    assert "b2b" in result.output and result.output.strip().count("\n") == 0
    assert not (tmp_path / "m.xlsx").exists()


def test_diff_since_backup_compares_with_the_kept_version(demo_book: Callable[..., Path],
                                                          tmp_path: Path) -> None:
    crm = Path(shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "crm.xlsx"))
    leads = tmp_path / "leads.csv"
    leads.write_text("First name,Last name,E-mail,Source\nLuca,Ferri,luca@example.com,"
                     "Referral\n", encoding="utf-8")
    xlcrm.import_leads(crm, leads)
    result = xlcrm.diff(crm, since_backup=1)
    assert [(c.record, c.kind) for c in result.records] == [("L-000061", "added")]
    assert runner.invoke(app, ["diff", str(crm), "--since-backup", "2"]).exit_code == REFUSED


def test_merge_base_is_the_newest_backup_both_descend_from(demo_book: Callable[..., Path],
                                                           tmp_path: Path) -> None:
    """MINE saved twice after the copy was made: the backup between its two imports holds
    MINE's first lead, which THEIRS never had. It is as close to the two copies as the true
    base (one lead nearer MINE, one farther from THEIRS), so the older one is the base, and
    MINE's first lead is not taken for one THEIRS deleted."""
    crm = Path(shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "crm.xlsx"))
    theirs = Path(shutil.copyfile(crm, tmp_path / "crm (conflicted copy).xlsx"))
    book = openpyxl.load_workbook(theirs)
    _row(book["Leads"], "L-000005")["Phone"].value = "+39 347 555 0199"
    book.save(theirs)
    for n, name in enumerate(("Anna Bianchi", "Carlo Verdi")):
        first, last = name.split()
        csv = tmp_path / f"form{n}.csv"
        csv.write_text(f"First name,Last name,E-mail,Source\n{first},{last},{first}@example.com"
                       ",Referral\n", encoding="utf-8")
        xlcrm.import_leads(crm, csv)
    true_base, after_first = sorted((tmp_path / ".xlcrm-backups").iterdir())
    plan = xlcrm.merge(crm, theirs, out=tmp_path / "m.xlsx", dry_run=True)
    assert plan.base == true_base.resolve()
    assert [(s.record, s.action) for s in plan.steps] == [("L-000005", "update")]
    wrong = xlcrm.merge(crm, theirs, out=tmp_path / "m.xlsx", base=after_first, dry_run=True)
    assert ("L-000061", "delete") in [(s.record, s.action) for s in wrong.steps]


def test_records_without_an_id_are_matched_by_the_identity_rule(tmp_path: Path) -> None:
    old = xlcrm.init(tmp_path / "old.xlsx")
    book = openpyxl.load_workbook(old)
    leads = book["Leads"]
    people = [("Anna", "Rossi", "Anna.Rossi@Example.com", None),
              ("Bruno", "Neri", None, "+39 347 123 4567"),
              ("Carla", "Blu", None, None)]
    for first, last, mail, phone in people:
        _append(leads, {"Created": dt.datetime(2026, 11, 2, 9), "First name": first,
                        "Last name": last, "E-mail": mail, "Phone": phone,
                        "Source": "Referral"})
    book.save(old)
    new = Path(shutil.copyfile(old, tmp_path / "new.xlsx"))
    book = openpyxl.load_workbook(new)
    leads = book["Leads"]
    cols = {c.value: c.column for c in leads[1]}
    row = {leads.cell(r, cols["Last name"]).value: r for r in range(2, leads.max_row + 1)}
    # Anna's e-mail retyped in lower case (the same mailbox), her status set; Bruno's phone
    # written another way (the same number), his notes added; Carla's last name corrected
    leads.cell(row["Rossi"], cols["E-mail"], "anna.rossi@example.com")
    leads.cell(row["Rossi"], cols["Status"], "Contacted")
    leads.cell(row["Neri"], cols["Phone"], "0039 347 1234567")
    leads.cell(row["Neri"], cols["Notes"], "Wants a test drive")
    leads.cell(row["Blu"], cols["Last name"], "Bleu")
    book.save(new)
    result = xlcrm.diff(old, new)
    assert _changes(result) == {
        ("Leads", "e-mail anna.rossi@example.com", "changed", ("E-mail", "Status")),
        ("Leads", "phone +393471234567", "changed", ("Notes", "Phone")),
        # no e-mail, no phone: known by everything typed, so a correction is a new record
        ("Leads", next(c.record for c in result.records if c.kind == "removed"), "removed",
         ()),
        ("Leads", next(c.record for c in result.records if c.kind == "added"), "added", ()),
    }
    assert "Blu" in next(c.record for c in result.records if c.kind == "removed")


def test_merge_into_a_copy_open_in_excel_is_refused(demo_book: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    mine = Path(shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "crm.xlsx"))
    theirs = Path(shutil.copyfile(mine, tmp_path / "crm (conflicted copy).xlsx"))
    book = openpyxl.load_workbook(theirs)
    _row(book["Leads"], "L-000005")["Phone"].value = "+39 347 555 0199"
    book.save(theirs)
    (tmp_path / "~$crm.xlsx").write_bytes(b"")  # Excel's owner file: MINE is open there
    before = mine.read_bytes()
    result = runner.invoke(app, ["merge", str(mine), str(theirs), "--out", str(mine),
                                 "--base", str(demo_book("dealer", 60, 3))])
    assert result.exit_code == REFUSED and "open in Excel" in result.output, result.output
    assert mine.read_bytes() == before
    assert not (tmp_path / ".xlcrm-backups").exists()


def test_a_deleted_lead_that_the_other_side_still_links_to_is_kept(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    """THEIRS deletes lead 30 with its activities while MINE logs a call with it; MINE
    deletes lead 40 with its activities while THEIRS adds a task for it. Both leads stay,
    each listed as a conflict, and every link of the merged workbook points to a record."""
    base = demo_book("dealer", 60, 3)
    start = xlcrm.load(base)
    acts, tasks = start.tables["activities"], start.tables["tasks"]
    mine = Path(shutil.copyfile(base, tmp_path / "crm.xlsx"))
    theirs = Path(shutil.copyfile(base, tmp_path / "crm (conflicted copy).xlsx"))

    def delete_lead(path: Path, lead: str) -> None:
        book = openpyxl.load_workbook(path)
        _delete(book["Leads"], lead)
        for ident in acts.loc[acts["lead"] == lead, "id"]:
            _delete(book["Activities"], ident)
        for ident in tasks.loc[tasks["record"] == lead, "id"]:
            _delete(book["Tasks"], ident)
        book.save(path)

    delete_lead(theirs, "L-000030")
    delete_lead(mine, "L-000040")
    book = openpyxl.load_workbook(mine)
    model = _row(book["Activities"], acts["id"].iloc[-1])
    _append(book["Activities"], {"ID": "ACT-000202", "Date": dt.datetime(2026, 11, 21, 10),
                                 "Lead": "L-000030", "Type": model["Type"].value,
                                 "Direction": model["Direction"].value, "Subject": "Call"})
    book.save(mine)
    book = openpyxl.load_workbook(theirs)
    rep = _row(book["Tasks"], tasks["id"].iloc[-1])["Salesperson"].value
    _append(book["Tasks"], {"ID": "T-000039", "Due date": dt.datetime(2026, 11, 24),
                            "Salesperson": rep, "Lead": "L-000040", "Subject": "Call back"})
    book.save(theirs)
    out = tmp_path / "merged.xlsx"
    result = xlcrm.merge(mine, theirs, out=out, base=base)
    why = {c.record: c.why for c in result.conflicts}
    assert set(why) == {"L-000030", "L-000040"}
    assert why["L-000030"] == ("deleted in THEIRS, but Activities ACT-000202 links to it: "
                               "kept")
    assert why["L-000040"] == ("deleted in MINE, but Tasks T-000039 links to it: put back")
    merged = xlcrm.load(out)
    leads = merged.tables["leads"].set_index("id")
    assert {"L-000030", "L-000040"} <= set(leads.index)
    assert xlcrm.check(out, today=TODAY).ok
    # L-000030's other activities, deleted in THEIRS and untouched in MINE, are gone
    gone = set(acts.loc[acts["lead"] == "L-000030", "id"])
    assert gone and not gone & set(merged.tables["activities"]["id"])


def test_merge_without_a_backup_asks_for_the_base(demo_book: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    mine = shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "a.xlsx")
    theirs = shutil.copyfile(mine, tmp_path / "b.xlsx")
    result = runner.invoke(app, ["merge", str(mine), str(theirs), "--out",
                                 str(tmp_path / "m.xlsx")])
    assert result.exit_code == REFUSED and "--base" in result.output
    assert result.output.strip().count("\n") == 0


def test_a_deleted_record_leaves_with_its_row_and_the_teams_own_columns(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    from openpyxl.worksheet.table import TableColumn

    base = Path(shutil.copyfile(demo_book("dealer", 60, 3), tmp_path / "base.xlsx"))
    book = openpyxl.load_workbook(base)
    leads = book["Leads"]
    table = next(iter(leads.tables.values()))
    first, last = table.ref.split(":")
    column = leads.max_column + 1  # the team's own column, inside the table
    letter = openpyxl.utils.get_column_letter(column)
    end = int("".join(ch for ch in last if ch.isdigit()))
    table.ref = f"{first}:{letter}{end}"
    table.autoFilter.ref = table.ref
    table.tableColumns.append(TableColumn(id=column, name="Showroom visit"))
    leads.cell(1, column, "Showroom visit")
    for r in range(2, end + 1):
        leads.cell(r, column, "yes")
    book.save(base)
    mine = Path(shutil.copyfile(base, tmp_path / "crm.xlsx"))
    theirs = Path(shutil.copyfile(base, tmp_path / "theirs.xlsx"))
    start = xlcrm.load(base)
    gone, acts = "L-000030", start.tables["activities"]
    book = openpyxl.load_workbook(theirs)  # THEIRS deletes a lead and its activities
    _delete(book["Leads"], gone)
    for ident in acts.loc[acts["lead"] == gone, "id"]:
        _delete(book["Activities"], ident)
    book.save(theirs)
    out = tmp_path / "merged.xlsx"
    xlcrm.merge(mine, theirs, out=out, base=base)
    merged = openpyxl.load_workbook(out)["Leads"]
    row = next(r for r in range(2, end + 1)
               if start.tables["leads"].loc[r, "id"] == gone)
    # the row is removed whole, the team's own cell with it: the next lead moves up into it
    ids = [merged.cell(r, 1).value for r in range(2, end + 1)]
    assert gone not in ids
    assert merged.cell(row, 1).value == start.tables["leads"].loc[row + 1, "id"]
    assert [merged.cell(r, column).value for r in range(2, end)] == ["yes"] * (end - 2)
    assert merged.cell(end, column).value is None
    assert next(iter(merged.tables.values())).ref == f"{first}:{letter}{end - 1}"
    assert xlcrm.check(out, today=TODAY).ok
