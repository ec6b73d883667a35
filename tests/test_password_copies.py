"""Two copies of an encrypted workbook: ``diff`` and ``merge`` read them with the password.

The scenario, as a shared drive makes it with a password-protected workbook: the team's
encrypted ``crm.xlsx`` gets a lead imported and a weekly update with ``--password-env`` (each
save keeps the previous version, encrypted, in ``.xlcrm-backups``); the sync then leaves
``crm (conflicted copy).xlsx`` beside it. MINE is edited with openpyxl on its decrypted bytes
and encrypted again with msoffcrypto-tool, as Excel saves an encrypted workbook; THEIRS gets a
lead through ``xlcrm import --password-env``. An audit hook lists every file the run opens for
writing, so a plain copy written and deleted again would be seen, not only what is left.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import DONE, PROBLEMS, REFUSED, app

from ._helpers import TODAY, Office
from ._sealed import OLE_MAGIC, ZIP_MAGIC, decrypt, watching_writes

runner = CliRunner()
SECRET = "shared drive 4 u"
MINE_PHONE = "+39 347 555 0144"
THEIRS_EMAIL = "paolo.russo@example.com"
PW = ["--password-env", "CRM_PASSWORD"]

def _encrypt(plain: bytes, out: Path) -> Path:
    """Encrypt a workbook package as Excel's "Encrypt with password" does."""
    with out.open("wb") as dest:
        OOXMLFile(io.BytesIO(plain)).encrypt(SECRET, dest)
    return out


def _leads(plain: bytes) -> dict[str, dict[str, Any]]:
    """The Leads sheet of a plain workbook package, read by python-calamine: id -> header ->
    value."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(plain))
    try:
        rows = book.get_sheet_by_name("Leads").to_python()
    finally:
        book.close()
    header = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(header, r)) for r in rows[1:] if r and r[0]}


@dataclass
class Copies:
    """The two encrypted copies, the plain workbook they come from, and what each did."""

    folder: Path
    mine: Path
    theirs: Path
    plain_start: bytes  # the version both started from, decrypted
    stage12: str  # MINE's status of lead 12


@pytest.fixture
def copies(demo_book: Callable[..., Path], tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Copies:
    folder = tmp_path / "shared-drive"
    folder.mkdir()
    crm = _encrypt(demo_book("dealer", 60, 3, updated=False).read_bytes(), folder / "crm.xlsx")
    form = tmp_path / "web-form.csv"
    form.write_text("First name,Last name,E-mail,Source\nLuca,Ferri,luca.ferri@example.com,"
                    "Dealer website\n", encoding="utf-8")
    xlcrm.import_leads(crm, form, password=SECRET)  # keeps the demo: an older backup
    xlcrm.update(crm, today=TODAY, password=SECRET)  # keeps the version with the import: the base
    theirs = Path(shutil.copyfile(crm, folder / "crm (conflicted copy).xlsx"))
    start = decrypt(crm, SECRET)

    # MINE: opened and saved again with openpyxl, encrypted again with msoffcrypto-tool
    book = openpyxl.load_workbook(io.BytesIO(start))
    ws = book["Leads"]
    cols = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    stage12 = "Negotiation" if ws.cell(rows["L-000012"], cols["Status"]).value != \
        "Negotiation" else "Shown"
    ws.cell(rows["L-000005"], cols["Phone"], MINE_PHONE)
    ws.cell(rows["L-000012"], cols["Status"], stage12)
    edited = io.BytesIO()
    book.save(edited)
    _encrypt(edited.getvalue(), crm)

    # THEIRS: a lead imported through the command line, with the password
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    other = tmp_path / "radio.csv"
    other.write_text(f"First name,Last name,E-mail,Source\nPaolo,Russo,{THEIRS_EMAIL},"
                     "Walk-in\n", encoding="utf-8")
    done = runner.invoke(app, ["import", str(theirs), str(other), *PW])
    assert done.exit_code == DONE, done.output
    assert crm.read_bytes()[:8] == theirs.read_bytes()[:8] == OLE_MAGIC
    return Copies(folder, crm, theirs, start, stage12)


def test_diff_of_two_encrypted_copies_names_the_changed_cells(copies: Copies,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    shown = runner.invoke(app, ["diff", str(copies.mine), str(copies.theirs), *PW],
                          terminal_width=200)
    assert shown.exit_code == PROBLEMS, shown.output
    lines = shown.output.splitlines()
    # from MINE to THEIRS: THEIRS has the old phone and status of leads 5 and 12, and a lead
    # MINE lacks (L-000062: 60 leads of the demo, Luca Ferri 61)
    start = _leads(copies.plain_start)
    assert "Leads L-000062 added (row 63): Paolo Russo" in lines
    assert f'    Phone: "{MINE_PHONE}" -> "{start["L-000005"]["Phone"]}"' in lines
    assert f'    Status: "{copies.stage12}" -> "{start["L-000012"]["Status"]}"' in lines
    assert lines[-1] == "Leads: 1 added, 2 changed"
    as_json = runner.invoke(app, ["diff", str(copies.mine), str(copies.theirs), *PW,
                                  "--format", "json"])
    assert as_json.exit_code == PROBLEMS, as_json.output
    data = json.loads(as_json.output)
    assert data["counts"] == {"Leads": {"added": 1, "removed": 0, "changed": 2}}
    changed = {(r["sheet"], r["record"], r["change"]):
               [(f["header"], f["old"], f["new"]) for f in r["fields"]] for r in data["records"]}
    assert changed == {
        ("Leads", "L-000062", "added"): [],
        ("Leads", "L-000005", "changed"): [("Phone", MINE_PHONE, start["L-000005"]["Phone"])],
        ("Leads", "L-000012", "changed"): [("Status", copies.stage12,
                                            start["L-000012"]["Status"])]}
    # the library twin, and the newest encrypted backup of THEIRS (before its import)
    since = xlcrm.diff(copies.theirs, since_backup=1, password=SECRET)
    assert [(c.record, c.kind) for c in since.records] == [("L-000062", "added")]
    # a plain copy beside an encrypted one is read as it is
    plain = copies.folder / "plain.xlsx"
    plain.write_bytes(copies.plain_start)
    mixed = xlcrm.diff(plain, copies.mine, password=SECRET)
    assert {(c.record, tuple(f.header for f in c.fields)) for c in mixed.records} == \
        {("L-000005", ("Phone",)), ("L-000012", ("Status",))}


def test_merge_of_two_encrypted_copies_stays_encrypted(copies: Copies, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       office: Office) -> None:
    scratch = tmp_path / "scratch"  # where every temporary file of the run goes
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    backups = copies.folder / ".xlcrm-backups"
    kept = set(backups.iterdir())
    with watching_writes() as recorded:
        merged = runner.invoke(app, ["merge", str(copies.mine), str(copies.theirs),
                                     "--out", str(copies.mine), *PW])
        checked = runner.invoke(app, ["check", str(copies.mine), *PW])
    written = list(recorded)
    assert merged.exit_code == DONE, merged.output
    assert ": 1 add; 0 conflicts; " in merged.output and " from base crm.2" in merged.output, \
        merged.output
    assert checked.exit_code == DONE, checked.output
    # MINE is encrypted, and holds both sides' work
    assert copies.mine.read_bytes()[:8] == OLE_MAGIC
    plain = decrypt(copies.mine, SECRET)
    leads = _leads(plain)
    start = _leads(copies.plain_start)
    assert leads["L-000005"]["Phone"] == MINE_PHONE
    assert leads["L-000012"]["Status"] == copies.stage12
    assert leads["L-000062"]["E-mail"] == THEIRS_EMAIL
    assert len(leads) == len(start) + 1 == 62
    # LibreOffice opens the decrypted result and shows the same leads
    opened = tmp_path / "opened"
    opened.mkdir()
    (opened / "merged.xlsx").write_bytes(plain)
    first_sheet = office.convert(opened / "merged.xlsx", "csv", tmp_path / "lo")
    # LibreOffice's CSV is in the system's 8-bit code page; the values checked are ASCII
    rows = list(csv.reader(first_sheet.read_text(encoding="latin-1").splitlines()))
    seen = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert len(seen) == 62
    assert seen["L-000005"]["Phone"] == MINE_PHONE
    assert seen["L-000012"]["Status"] == copies.stage12
    assert seen["L-000062"]["E-mail"] == THEIRS_EMAIL
    # the previous MINE was kept, encrypted; nothing written was a plain workbook, and no
    # file was written in the temporary folder at all
    new_backups = set(backups.iterdir()) - kept
    assert len(new_backups) == 1
    assert all(b.read_bytes()[:8] == OLE_MAGIC for b in backups.iterdir())
    assert written and [p for p in written if Path(p).is_relative_to(scratch)] == []
    assert [p for p in written if Path(p).is_file()
            and Path(p).read_bytes()[:4] == ZIP_MAGIC] == []


def test_merge_into_a_new_file_and_a_plain_theirs(copies: Copies, tmp_path: Path) -> None:
    """THEIRS given plain (decrypted by hand) is read as it is; the result is still encrypted
    with the password, and MINE is left as it was."""
    plain_theirs = tmp_path / "theirs.xlsx"
    plain_theirs.write_bytes(decrypt(copies.theirs, SECRET))
    before = copies.mine.read_bytes()
    out = copies.folder / "merged.xlsx"
    plan = xlcrm.merge(copies.mine, plain_theirs, out=out, password=SECRET, dry_run=True)
    assert [(s.record, s.action) for s in plan.steps] == [("L-000062", "add")]
    assert not out.exists()
    result = xlcrm.merge(copies.mine, plain_theirs, out=out, password=SECRET)
    assert result.base.parent.name == ".xlcrm-backups"
    assert [(s.record, s.action) for s in result.steps] == [("L-000062", "add")]
    assert out.read_bytes()[:8] == OLE_MAGIC
    assert _leads(decrypt(out, SECRET))["L-000062"]["E-mail"] == THEIRS_EMAIL
    assert copies.mine.read_bytes() == before
    assert xlcrm.check(out, password=SECRET).errors == 0


@pytest.mark.parametrize("env", [{"CRM_PASSWORD": "not it"}, {}])
def test_a_wrong_or_missing_password_is_refused(copies: Copies, env: dict[str, str]) -> None:
    before = {p: p.read_bytes() for p in copies.folder.rglob("*") if p.is_file()}
    out = copies.folder / "merged.xlsx"
    pw = PW if env else []
    for args in (["diff", str(copies.mine), str(copies.theirs), *pw],
                 ["diff", str(copies.mine), "--since-backup", "1", *pw],
                 ["merge", str(copies.mine), str(copies.theirs), "--out", str(out), *pw],
                 ["merge", str(copies.mine), str(copies.theirs), "--out", str(copies.mine),
                  *pw]):
        result = CliRunner(env=env).invoke(app, args)
        assert result.exit_code == REFUSED, (args, result.output)
        assert result.output.strip().count("\n") == 0, result.output
        assert ("wrong password" if env else "--password-env NAME") in result.output
        assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in copies.folder.rglob("*") if p.is_file()} == before
    unset = CliRunner(env={"CRM_PASSWORD": ""}).invoke(
        app, ["merge", str(copies.mine), str(copies.theirs), "--out", str(out), *PW])
    assert unset.exit_code == REFUSED and "is not set or empty" in unset.output
    assert not out.exists()
