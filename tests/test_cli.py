"""The command line wraps the library: results are checked through the library and the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and xlcrm.__version__ in result.output


def test_init_command_writes_workbook(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    result = runner.invoke(app, ["init", str(target), "--preset", "b2b", "--locale", "it"])
    assert result.exit_code == 0, result.output
    names = CalamineWorkbook.from_path(str(target)).sheet_names
    assert names == [s.name for s in xlcrm.load_schema("b2b", "it").sheets]


def test_init_command_refuses_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    target.write_bytes(b"keep me")
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 2  # refused: the file exists
    assert "already exists" in result.output and "--force" in result.output
    assert "Traceback" not in result.output
    assert target.read_bytes() == b"keep me"
    assert runner.invoke(app, ["init", str(target), "--force"]).exit_code == 0
    assert target.read_bytes() != b"keep me"


def test_init_command_unknown_preset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x.xlsx"), "--preset", "florist"])
    assert result.exit_code == 2
    assert "unknown preset 'florist'" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_demo_command(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path), "--leads", "50", "--seed", "2",
                                 "--preset", "b2b", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    book = CalamineWorkbook.from_path(str(tmp_path / "demo-b2b.xlsx"))
    contacts = book.get_sheet_by_name("Contacts").to_python()
    assert len(contacts) - 1 >= 50


def test_report_command_writes_the_week_and_explains_a_bad_week(
        tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    book = demo_book("dealer", 120, 2)
    result = runner.invoke(app, ["report", str(book), "--out", str(tmp_path / "r"), "--html",
                                 "--eml", "--week", "2026-W46", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "Weekly report, week 46 2026" in result.output
    for ext in ("xlsx", "html", "eml"):
        assert (tmp_path / "r" / f"demo-dealer-report-2026-W46.{ext}").exists()
    bad = runner.invoke(app, ["report", str(book), "--out", str(tmp_path / "r"), "--week",
                              "2026-47"])
    assert bad.exit_code == 2 and "YYYY-Www" in bad.output
