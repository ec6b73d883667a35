"""Password-protected workbooks: the weekly routine on an encrypted file, nothing plain on disk."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import REFUSED, app

from ._helpers import TODAY, Office, copy_of
from ._sealed import OLE_MAGIC, ZIP_MAGIC, decrypt

runner = CliRunner()
SECRET = "correct horse 7"


def _encrypt(plain: Path, out: Path, secret: str = SECRET) -> Path:
    """Encrypt a workbook as Excel's "Encrypt with password" does, with msoffcrypto-tool."""
    with plain.open("rb") as fh, out.open("wb") as dest:
        OOXMLFile(fh).encrypt(secret, dest)
    return out


def _plain_zips(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.read_bytes()[:4] == ZIP_MAGIC]


def test_encrypted_workbook_goes_through_the_weekly_routine(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        office: Office) -> None:
    work = tmp_path / "work"
    work.mkdir()
    crm = _encrypt(demo_book("dealer", 120, 2, updated=False), work / "crm.xlsx")
    scratch = tmp_path / "scratch"  # where every temporary file of the run goes
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    day = TODAY.isoformat()
    pw = ["--password-env", "CRM_PASSWORD"]
    check = runner.invoke(app, ["check", str(crm), *pw])
    assert check.exit_code in (0, 1), check.output
    assert "encrypted" not in check.output
    for args in (["update", str(crm), "--today", day],
                 ["report", str(crm), "--out", str(work / "report"), "--today", day, "--html"],
                 ["export", str(crm), "--to", "hubspot", "--out", str(work / "export")]):
        result = runner.invoke(app, [*args, *pw])
        assert result.exit_code == 0, (args[0], result.output)
    # nothing written during the run is a plain workbook: not the workbook, not its backup,
    # not the report workbook, not a temporary file
    assert _plain_zips(tmp_path) == []
    backups = list((work / ".xlcrm-backups").iterdir())
    assert len(backups) == 1 and backups[0].read_bytes()[:8] == OLE_MAGIC
    report_book = next((work / "report").glob("*.xlsx"))
    assert report_book.read_bytes()[:4] != ZIP_MAGIC
    assert (work / "export" / "contacts.csv").is_file()
    # the result decrypts to a workbook calamine and LibreOffice read, with the week tallied
    opened = tmp_path / "opened"
    opened.mkdir()
    plain = opened / "crm.xlsx"
    plain.write_bytes(decrypt(crm, SECRET))
    book = CalamineWorkbook.from_path(str(plain))
    assert "Tally" in book.sheet_names
    tally = book.get_sheet_by_name("Tally").to_python()
    assert len(tally) > 5
    (opened / "report.xlsx").write_bytes(decrypt(report_book, SECRET))
    converted = office.convert_many([plain, opened / "report.xlsx"], "csv", tmp_path / "lo")
    assert all(p.stat().st_size > 0 for p in converted)


def test_wrong_or_missing_password_is_refused_and_changes_nothing(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = _encrypt(demo_book("dealer", 120, 2, updated=False), tmp_path / "crm.xlsx")
    before = crm.read_bytes()
    monkeypatch.setenv("WRONG", "not it")
    for args in (["update", str(crm), "--password-env", "WRONG"],
                 ["update", str(crm)],
                 ["check", str(crm), "--password-env", "UNSET_VARIABLE"],
                 ["export", str(crm), "--to", "hubspot", "--password-env", "WRONG"]):
        result = runner.invoke(app, args)
        assert result.exit_code == REFUSED, (args, result.output)
        assert result.output.strip().count("\n") == 0, result.output
        assert "Traceback" not in result.output
    assert crm.read_bytes() == before
    assert not (tmp_path / ".xlcrm-backups").exists()


def test_protect_encrypts_workbook_and_backups_and_unprotect_reverses_it(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    crm = copy_of(demo_book("dealer", 120, 2, updated=False), tmp_path, "crm.xlsx")
    original = crm.read_bytes()
    xlcrm.score(crm, today=TODAY)  # a save: leaves a plain backup behind
    assert _plain_zips(tmp_path / ".xlcrm-backups")
    xlcrm.protect(crm, password=SECRET)
    assert _plain_zips(tmp_path) == []  # the workbook and every backup are encrypted now
    copies = sorted((tmp_path / ".xlcrm-backups").iterdir())
    assert len(copies) == 2
    assert decrypt(copies[0], SECRET) == original  # the oldest backup, the same workbook, encrypted
    with pytest.raises(xlcrm.PasswordError):
        xlcrm.check(crm)
    with pytest.raises(xlcrm.PasswordError):
        xlcrm.check(crm, password="wrong")
    assert xlcrm.check(crm, password=SECRET).records
    with pytest.raises(xlcrm.UnreadableWorkbookError, match="already encrypted"):
        xlcrm.protect(crm, password=SECRET)
    xlcrm.unprotect(crm, password=SECRET)
    assert crm.read_bytes()[:4] == ZIP_MAGIC
    assert xlcrm.check(crm).records


def test_new_workbooks_and_answers_are_encrypted_too(tmp_path: Path) -> None:
    made = xlcrm.init(tmp_path / "new.xlsx", password=SECRET)
    assert made.read_bytes()[:8] == OLE_MAGIC
    assert xlcrm.check(made, password=SECRET).records == {"Leads": 0, "Activities": 0,
                                                          "Tasks": 0, "Plans": 0}
    answer = xlcrm.person(made, email="nobody@example.org", out=tmp_path / "answer.xlsx",
                          password=SECRET)
    assert answer.out is not None and answer.out.read_bytes()[:8] == OLE_MAGIC
    report = xlcrm.report(made, tmp_path / "r", pdf=True, password=SECRET)
    assert report.pdf is not None and b"/Encrypt" in report.pdf.read_bytes()
    assert report.workbook.read_bytes()[:8] == OLE_MAGIC


def test_a_restored_encrypted_version_is_written_as_it_is(tmp_path: Path) -> None:
    """Clean's undo puts back the encrypted file it kept: byte for byte, not encrypted twice."""
    from xlcrm.xlsx.crypto import unlocked
    from xlcrm.xlsx.save import safe_save

    made = xlcrm.init(tmp_path / "crm.xlsx", password=SECRET)
    kept = made.read_bytes()
    xlcrm.score(made, password=SECRET, today=TODAY)
    assert made.read_bytes() != kept
    with unlocked(SECRET):
        safe_save(made, lambda tmp: tmp.write_bytes(kept))
    assert made.read_bytes() == kept
