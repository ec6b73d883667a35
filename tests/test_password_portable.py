"""Encrypted workbooks work where the system has no anonymous in-memory files (Windows, macOS).

Linux's ``memfd_create`` is taken away for these tests; every command then has to keep the
decrypted workbook in Python's memory. An audit hook lists every file the run opens for
writing, so a plain copy that is written and deleted again is seen too, not only the files
left at the end.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from pypdf import PasswordType, PdfReader
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import REFUSED, app

from ._helpers import TODAY, Office
from ._sealed import OLE_MAGIC, ZIP_MAGIC, decrypt, watching_writes

runner = CliRunner()
SECRET = "Tr0ub4dor & 3"

@pytest.fixture
def no_memfd(monkeypatch: pytest.MonkeyPatch) -> None:
    """A system without anonymous in-memory files."""
    monkeypatch.delattr(os, "memfd_create", raising=False)


def _cells(path: Path) -> tuple[set[str], list[str]]:
    """A workbook's sheet names and every cell's text."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        return set(book.sheet_names), [str(v) for n in book.sheet_names
                                       for row in book.get_sheet_by_name(n).to_python()
                                       for v in row]
    finally:
        book.close()


def _someone(plain: Path) -> tuple[str, str, str]:
    """A lead's id, e-mail and last name, from the plain demo."""
    crm = xlcrm.load(plain)
    leads = crm["leads"]
    counts = leads["last_name"].value_counts()
    for _, rec in leads.iterrows():
        if isinstance(rec["email"], str) and counts[rec["last_name"]] == 1 and \
                len(str(rec["last_name"])) > 4:
            return str(rec["id"]), str(rec["email"]), str(rec["last_name"])
    raise AssertionError("the demo has nobody to forget")


def test_every_command_works_on_an_encrypted_workbook_without_memfd(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        office: Office, no_memfd: None) -> None:
    assert not hasattr(os, "memfd_create")
    plain = demo_book("dealer", 120, 2, updated=False)
    who, email, last_name = _someone(plain)
    work = tmp_path / "work"
    work.mkdir()
    crm = work / "crm.xlsx"
    with plain.open("rb") as fh, crm.open("wb") as dest:
        OOXMLFile(fh).encrypt(SECRET, dest)
    scratch = tmp_path / "scratch"  # where every temporary file of the run goes
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    pw = ["--password-env", "CRM_PASSWORD"]
    day = TODAY.isoformat()
    steps: list[tuple[list[str], tuple[int, ...]]] = [
        (["check", str(crm)], (0, 1)),
        (["update", str(crm), "--today", day], (0,)),
        (["score", str(crm), "--today", day], (0,)),
        (["agenda", str(crm), "--date", day, "--out", str(work / "agenda.html")], (0,)),
        (["report", str(crm), "--out", str(work / "report"), "--today", day, "--html"], (0,)),
        (["export", str(crm), "--to", "hubspot", "--out", str(work / "export")], (0,)),
        (["clean", str(crm), "--today", day], (0, 1)),
        (["clean", str(crm), "--apply", "--today", day], (0, 1)),
        (["person", str(crm), "--email", email, "--out", str(work / "answer.xlsx")], (0,)),
        (["forget", str(crm), "--email", email], (0,)),
        (["unprotect", str(crm)], (0,)),
        (["protect", str(crm)], (0,)),
    ]
    with watching_writes() as recorded:
        for args, codes in steps:
            result = runner.invoke(app, [*args, *pw])
            assert result.exit_code in codes, (args[0], result.output)
            assert "Traceback" not in result.output
            if args[0] == "unprotect":  # a plain workbook for a moment, as asked
                assert crm.read_bytes()[:4] == ZIP_MAGIC
    written = list(recorded)
    # the workbook is encrypted again, and holds the week's work and the erasure
    assert crm.read_bytes()[:8] == OLE_MAGIC
    opened = tmp_path / "opened"
    opened.mkdir()
    (opened / "crm.xlsx").write_bytes(decrypt(crm, SECRET))
    names, cells = _cells(opened / "crm.xlsx")
    assert {"Tally", "Agenda"} <= names
    assert who in cells
    assert not any(email.lower() in c.lower() or last_name in c for c in cells)
    # the person's data, asked for before the erasure, was written encrypted
    answer = work / "answer.xlsx"
    assert answer.read_bytes()[:8] == OLE_MAGIC
    (opened / "answer.xlsx").write_bytes(decrypt(answer, SECRET))
    assert email in _cells(opened / "answer.xlsx")[1]
    converted = office.convert(opened / "crm.xlsx", "pdf", tmp_path / "lo")
    assert converted.stat().st_size > 0
    # nothing the run wrote was plain: no file left is a zip, and no file was written in the
    # temporary folder at all (XlsxWriter writes each part there first unless kept in memory)
    assert written and [p for p in written if Path(p).is_relative_to(scratch)] == []
    assert [p for p in written if Path(p).exists() and Path(p).is_file()
            and Path(p).read_bytes()[:4] == ZIP_MAGIC] == []
    backups = list((work / ".xlcrm-backups").iterdir())
    assert backups and all(b.read_bytes()[:8] == OLE_MAGIC for b in backups)


def test_a_wrong_password_is_refused_without_memfd(demo_book: Callable[..., Path],
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   no_memfd: None) -> None:
    crm = tmp_path / "crm.xlsx"
    with demo_book("dealer", 120, 2, updated=False).open("rb") as fh, crm.open("wb") as dest:
        OOXMLFile(fh).encrypt(SECRET, dest)
    before = crm.read_bytes()
    monkeypatch.setenv("WRONG", "not it")
    result = runner.invoke(app, ["update", str(crm), "--password-env", "WRONG"])
    assert result.exit_code == REFUSED
    assert "wrong password" in result.output and result.output.strip().count("\n") == 0
    assert crm.read_bytes() == before
    assert not (tmp_path / ".xlcrm-backups").exists()


def _pdf_text(pdf: Path, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pdftotext", "-layout", *(["-upw", secret] if secret else []),
                           str(pdf), "-"], capture_output=True, text=True, check=False)


def test_report_pdf_of_an_encrypted_workbook_is_printed_in_memory_and_encrypted(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) must be installed; .ci/run does it")
    plain = demo_book("dealer", 120, 2)
    crm = tmp_path / "crm.xlsx"
    with plain.open("rb") as fh, crm.open("wb") as dest:
        OOXMLFile(fh).encrypt(SECRET, dest)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with watching_writes() as recorded:
        made = xlcrm.report(crm, tmp_path / "out", pdf=True, password=SECRET, today=TODAY)
    written = [Path(p) for p in recorded]
    assert made.pdf is not None and made.pdf.parent == tmp_path / "out"
    # the plain report workbook reached a folder kept in memory only, removed at once; every
    # other file written is in the answer's folder, and encrypted
    memory = [p for p in written if not p.is_relative_to(tmp_path)]
    assert memory and all(_file_system(p) == "tmpfs" and not p.exists() for p in memory)
    assert not any(p.parent.exists() for p in memory)
    assert {p for p in written if p.is_relative_to(tmp_path)} == {made.workbook, made.pdf}
    assert made.workbook.read_bytes()[:8] == OLE_MAGIC
    # the PDF opens with the workbook's password only (AES-256), not without, not with another
    reader = PdfReader(made.pdf)
    assert reader.is_encrypted
    assert reader.decrypt("not it") == PasswordType.NOT_DECRYPTED
    assert reader.decrypt(SECRET) != PasswordType.NOT_DECRYPTED
    assert "/AESV3" in str(reader.trailer["/Encrypt"]["/CF"])
    assert _pdf_text(made.pdf).returncode != 0
    opened = _pdf_text(made.pdf, SECRET)
    assert opened.returncode == 0, opened.stderr
    # its text is the report of the plain workbook, number for number
    twin = xlcrm.report(plain, tmp_path / "plain", pdf=True, today=TODAY)
    assert twin.pdf is not None
    assert opened.stdout.replace("crm.xlsx", plain.name).split() == \
        _pdf_text(twin.pdf).stdout.split()  # word for word; columns move with the name's length
    leads = int(made.report.summary.at["leads", "this_week"])
    assert any(line.split()[:2] == ["Leads", str(leads)] for line in opened.stdout.splitlines())


def test_report_pdf_is_refused_where_no_folder_is_kept_in_memory(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlcrm.xlsx import crypto

    monkeypatch.setattr(crypto, "_MEMORY_FOLDERS", ())  # as on Windows and macOS
    crm = tmp_path / "crm.xlsx"
    with demo_book("dealer", 120, 2).open("rb") as fh, crm.open("wb") as dest:
        OOXMLFile(fh).encrypt(SECRET, dest)
    monkeypatch.setenv("CRM_PASSWORD", SECRET)
    result = runner.invoke(app, ["report", str(crm), "--out", str(tmp_path / "out"), "--pdf",
                                 "--password-env", "CRM_PASSWORD"])
    assert result.exit_code == REFUSED
    assert "/dev/shm" in result.output and result.output.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


def _file_system(path: Path) -> str:
    """The type of the file system ``path`` is on (Linux's mount table)."""
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    real = os.path.realpath(path.parent.parent if not path.parent.exists() else path.parent)
    best = max((m for m in mounts if real == m[1] or real.startswith(m[1].rstrip("/") + "/")),
               key=lambda m: len(m[1]))
    return best[2]


def test_a_far_stray_cell_of_an_encrypted_workbook_is_left_out_in_memory(
        demo_book: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        no_memfd: None) -> None:
    """A value far from the table makes the reader work on a copy without it: for an
    encrypted workbook that copy stays in memory as well."""
    with zipfile.ZipFile(demo_book("dealer", 120, 2)) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    leads = "xl/worksheets/sheet1.xml"
    parts[leads] = parts[leads].replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t>'
        b"</is></c></row></sheetData>", 1)
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    crm = tmp_path / "crm.xlsx"
    with crm.open("wb") as dest:
        OOXMLFile(io.BytesIO(plain.getvalue())).encrypt(SECRET, dest)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with watching_writes() as recorded:
        found = xlcrm.check(crm, password=SECRET)
        xlcrm.score(crm, password=SECRET, today=TODAY)
    assert any(i.code == "far-cell" and i.cell == "XFD1048576" for i in found.issues)
    assert found.records["Leads"] > 100
    assert [p for p in recorded if Path(p).is_relative_to(scratch)] == []
    assert [p for p in recorded if Path(p).is_file() and
            Path(p).read_bytes()[:4] == ZIP_MAGIC] == []
    assert crm.read_bytes()[:8] == OLE_MAGIC
