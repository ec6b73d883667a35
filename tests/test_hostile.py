"""Hostile and damaged inputs, generated from a good workbook, through every command: each
ends in one line (exit 0, 1 or 2 as the contract says), never a traceback, a crash of the
reader or a hang, and no byte of an input is changed unless the command wrote it on purpose."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xlcrm.cli import app

from ._helpers import TODAY, copy_of

Edit = Callable[[dict[str, bytes]], dict[str, bytes] | bytes]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(parts: dict[str, bytes], out: Path, *, extra: list[tuple[str, bytes]] = ()) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        for name, data in extra:
            zf.writestr(name, data)
    return out


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    book = parts["xl/workbook.xml"].decode()
    rid = re.search(rf'<sheet name="{sheet}" sheetId="\d+" r:id="(rId\d+)"', book)
    assert rid, sheet
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
    assert target
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


def _replace(part: str, old: bytes, new: bytes) -> Edit:
    def edit(p: dict[str, bytes]) -> dict[str, bytes]:
        assert old in p[part], (part, old)
        return {**p, part: p[part].replace(old, new, 1)}
    return edit


def _in_sheet(sheet: str, old: bytes, new: bytes, *, count: int = 1) -> Edit:
    def edit(p: dict[str, bytes]) -> dict[str, bytes]:
        part = _sheet_part(p, sheet)
        return {**p, part: re.sub(old, new, p[part], count=count, flags=re.DOTALL)}
    return edit


def _drop(part: str) -> Edit:
    return lambda p: {k: v for k, v in p.items() if k != part}


#: damaged and hostile workbooks: name -> edit of a good workbook's parts (or its bytes)
WORKBOOKS: dict[str, Edit] = {
    "workbook-xml-malformed": _replace("xl/workbook.xml", b"</sheets>", b"</sheetz>"),
    "workbook-rels-malformed": _replace("xl/_rels/workbook.xml.rels", b"</Relationships>",
                                        b"<Relationship"),
    "custom-xml-malformed": _replace("docProps/custom.xml", b"</Properties>", b"<"),
    "styles-missing": _drop("xl/styles.xml"),
    "styles-malformed": _replace("xl/styles.xml", b"</styleSheet>", b"</sty"),
    "xlsb-renamed": lambda p: {**_drop("xl/workbook.xml")(p), "xl/workbook.bin": b"\x83\x01\x00"},
    "strict-ooxml": _replace("xl/workbook.xml",
                             b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                             b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    "two-sheets-one-name": _replace("xl/workbook.xml", b'name="Plans"', b'name="LEADS"'),
    "settings-renamed": _replace("xl/workbook.xml", b'name="Settings"', b'name="Setup"'),
    "leads-renamed": _replace("xl/workbook.xml", b'name="Leads"', b'name="Prospects"'),
    "created-column-deleted": _in_sheet("Leads", rb"<t>Created</t>|>Created<", b"><"),
    "far-cell": _in_sheet("Leads", rb"</sheetData>", b'<row r="1048576"><c r="XFD1048576" '
                          b't="inlineStr"><is><t>far</t></is></c></row></sheetData>'),
    "stray-cell": _in_sheet("Leads", rb'(<row r="2"[^>]*>.*?)(</row>)',
                            rb'\1<c r="XFD2" t="inlineStr"><is><t>x</t></is></c>\2'),
    "sheet-stream-damaged": _in_sheet("Leads", rb"</sheetData>", b"<row r=3D></sheetData>"),
    "doctype-after-comments": _replace(
        "xl/styles.xml", b"<styleSheet",
        b"<!--" + b" " * 6000 + b"-->" + b'<!DOCTYPE x [<!ENTITY a "aaaa">]><styleSheet'),
    "zip-bomb": lambda p: {**p, "xl/media/bomb.xml": b"<a>" + b"\0" * (60 * 2**20) + b"</a>"},
    "duplicate-entry": lambda p: _bytes_with_duplicate(p),
    "truncated": lambda p: _bytes(p)[: len(_bytes(p)) // 2],
    "empty": lambda p: b"",
    "csv-renamed": lambda p: b"First name,Last name\nAnna,Verdi\n",
    "encrypted": lambda p: (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
                            + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512),
}


def _bytes(parts: dict[str, bytes]) -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def _bytes_with_duplicate(parts: dict[str, bytes]) -> bytes:
    import io
    import warnings

    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # the duplicate is the point
        for name, data in parts.items():
            zf.writestr(name, data)
        zf.writestr(_sheet_part(parts, "Leads"), parts[_sheet_part(parts, "Leads")])
    return out.getvalue()


LEAD_FILES: dict[str, Callable[[Path], bytes]] = {
    "nul-and-controls.csv": lambda _: ("First name,Last name,E-mail\n"
                                       "An\x00na,Ve\x01rdi\ufffe,anna@example.com\n"
                                       ).encode("utf-8"),
    "field-over-128k.csv": lambda _: ("First name,Last name,Notes\nAnna,Verdi,"
                                      + "x" * 200_000 + "\n").encode("utf-8"),
    "damaged.xlsx": lambda good: good.read_bytes()[:3000],
    "csv-renamed.xlsx": lambda _: b"First name,Last name\nAnna,Verdi\n",
    "encrypted.xlsx": lambda _: WORKBOOKS["encrypted"]({}),  # type: ignore[return-value]
    "bomb.xlsx": lambda good: _bytes({**_parts(good), "xl/media/b.xml":
                                      b"<a>" + b"\0" * (60 * 2**20) + b"</a>"}),
    "far-cell.xlsx": lambda good: _bytes(WORKBOOKS["far-cell"](_parts(good))),  # type: ignore[arg-type]
}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory,
         demo_book: Callable[..., Path]) -> Path:
    folder = tmp_path_factory.mktemp("good")
    return copy_of(demo_book("dealer", 40, 3, updated=True), folder, "good.xlsx")


def _hostile(good: Path, kind: str, folder: Path) -> Path:
    made = WORKBOOKS[kind](_parts(good))
    out = folder / "crm.xlsx"
    if isinstance(made, bytes):
        out.write_bytes(made)
    else:
        _zip(made, out)
    return out


def _commands(book: Path, folder: Path) -> list[list[str]]:
    leads = folder / "new.csv"
    leads.write_text("First name,Last name,E-mail\nAnna,Verdi,anna@example.com\n")
    today = TODAY.isoformat()
    return [["check", str(book)], ["update", str(book), "--today", today],
            ["import", str(book), str(leads)], ["clean", str(book), "--today", today],
            ["clean", str(book), "--apply", "--today", today], ["clean", str(book), "--undo"],
            ["score", str(book), "--today", today], ["agenda", str(book)],
            ["assign", str(book), "--apply"],
            ["report", str(book), "--out", str(folder / "out"), "--today", today],
            ["adopt", str(book), str(folder / "adopted.xlsx")]]


def _one_line_outcome(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    text = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, repr(result.exception))
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, text)
    assert "Traceback" not in text and "This is a bug" not in text, (args, text)
    if result.exit_code == 2:
        errors = [ln for ln in text.splitlines() if ln.startswith("error")]
        assert len(errors) == 1, (args, text)
    return result.exit_code, text


@pytest.mark.parametrize("kind", sorted(WORKBOOKS))
def test_hostile_workbook_through_every_command(kind: str, good: Path, tmp_path: Path) -> None:
    book = _hostile(good, kind, tmp_path)
    for args in _commands(book, tmp_path):
        before = book.read_bytes()
        code, text = _one_line_outcome(args)
        if code == 2 or args[0] in ("check", "report", "adopt") or "--undo" in args:
            assert book.read_bytes() == before, (kind, args, text)


@pytest.mark.parametrize("name", sorted(LEAD_FILES))
def test_hostile_lead_file_through_import_and_adopt(name: str, good: Path,
                                                    tmp_path: Path) -> None:
    book = copy_of(good, tmp_path, "crm.xlsx")
    lead = tmp_path / name
    lead.write_bytes(LEAD_FILES[name](good))
    original = lead.read_bytes()
    for args in (["import", str(book), str(lead)],
                 ["adopt", str(lead), str(tmp_path / "adopted.xlsx"), "--force"]):
        before = book.read_bytes()
        code, text = _one_line_outcome(args)
        if code == 2:
            assert book.read_bytes() == before, (name, args, text)
        assert lead.read_bytes() == original


def test_damaged_sheet_and_twin_names_are_named(good: Path, tmp_path: Path) -> None:
    book = _hostile(good, "sheet-stream-damaged", tmp_path)
    code, text = _one_line_outcome(["check", str(book)])
    assert code == 2 and "crm.xlsx: sheet Leads is damaged" in text
    book = _hostile(good, "two-sheets-one-name", tmp_path)
    code, text = _one_line_outcome(["check", str(book)])
    assert code == 2 and 'two sheets are named "LEADS"' in text


def test_smtp_port_that_is_no_number_is_one_line(good: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(good), "--out", str(tmp_path), "--eml",
                                      "--smtp", "host:notaport", "--mail-to", "a@example.com"])
    assert result.exit_code == 2 and "is not a port number" in result.output
    assert "Traceback" not in result.output
