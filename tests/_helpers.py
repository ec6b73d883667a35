"""Constants and small helpers shared by the tests."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xlcrm import available_locales, available_presets
from xlcrm.xlsx.libreoffice import convert_many

TODAY = dt.date(2026, 11, 23)  # a Monday: tasks fall due on Sunday, Monday and Tuesday
PRESETS = available_presets()
#: the corpus fidelity test's outcome, printed at the end of the run (see conftest.py)
CORPUS_RESULTS: dict[str, list[str]] = {"passed": [], "refused": []}
LOCALES = available_locales()


def xlsx_parts(path: Path, *, ignore: tuple[str, ...] = ("docProps/core.xml",)) -> dict[str, bytes]:
    """Return every part of an xlsx package but those that hold a timestamp."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n not in ignore}


def copy_of(book: Path, folder: Path, name: str | None = None) -> Path:
    """A copy of a shared workbook, for a test that changes it."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(book, folder / (name or book.name)))


def corpus_folder() -> Path:
    """Where the real-workbook corpus is: ``$XLCRM_CORPUS``, else ../shared/corpus."""
    import os

    return Path(os.environ.get("XLCRM_CORPUS")
                or Path(__file__).resolve().parents[2] / "shared" / "corpus")


def corpus_names() -> list[str]:
    """The corpus's workbook names, for parametrising (empty when the corpus is missing)."""
    return sorted(p.name for p in corpus_folder().glob("*.xls*")
                  if p.suffix in (".xlsx", ".xlsm"))


def corpus_files() -> list[Path]:
    """Real Excel-made workbooks from ../shared/corpus (present beside the checkout on CI)."""
    import os

    import pytest

    folder = corpus_folder()
    files = [folder / name for name in corpus_names()]
    if not files:
        if os.environ.get("CI"):
            pytest.fail(f"the real-workbook corpus is missing at {folder}")
        pytest.skip("the real-workbook corpus (../shared/corpus) is not beside this checkout")
    return files


@dataclass
class Office:
    """LibreOffice headless with one profile for the session (the ``office`` fixture).

    The profile says "recalculate every formula on load", so a converted workbook holds
    LibreOffice's own results. Hand it many files at once where a test can: one start of
    LibreOffice costs seconds, one more file a fraction of that.
    """

    profile: Path
    #: held while LibreOffice runs: one LibreOffice at a time may use a profile
    lock: threading.Lock = field(default_factory=threading.Lock)

    def convert(self, path: Path, fmt: str, outdir: Path) -> Path:
        """Convert one file (``fmt`` as for ``xlcrm.xlsx.libreoffice.convert``)."""
        return self.convert_many([path], fmt, outdir)[0]

    def convert_many(self, paths: Sequence[Path], fmt: str, outdir: Path) -> list[Path]:
        """Convert several files (with different names) in one run; outputs in order."""
        with self.lock:
            return convert_many(paths, fmt, outdir, profile=self.profile, timeout=1200)
