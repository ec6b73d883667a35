"""Constants and small helpers shared by the tests."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from xlcrm import available_locales, available_presets

TODAY = dt.date(2026, 11, 23)  # a Monday: tasks fall due on Sunday, Monday and Tuesday
PRESETS = available_presets()
#: the corpus fidelity test's outcome, printed at the end of the run (see conftest.py)
CORPUS_RESULTS: dict[str, list[str]] = {"passed": [], "refused": []}
LOCALES = available_locales()


def xlsx_parts(path: Path, *, ignore: tuple[str, ...] = ("docProps/core.xml",)) -> dict[str, bytes]:
    """Return every part of an xlsx package but those that hold a timestamp."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n not in ignore}


def corpus_files() -> list[Path]:
    """Real Excel-made workbooks from ../shared/corpus (present beside the checkout on CI)."""
    import os

    import pytest

    folder = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    files = sorted(p for p in folder.glob("*.xls*") if p.suffix in (".xlsx", ".xlsm"))
    if not files:
        if os.environ.get("CI"):
            pytest.fail(f"the real-workbook corpus is missing at {folder}")
        pytest.skip("the real-workbook corpus (../shared/corpus) is not beside this checkout")
    return files
