"""Shared fixtures: workbooks built in code, LibreOffice when present (required on CI).

LibreOffice runs with one profile for the whole session (``office``), and tests hand it many
files per run: each start costs seconds. Demo workbooks are made once per session
(``demo_books``, ``demo_book``); a test that changes one works on its own copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import xlcrm
from xlcrm import generate_demo
from xlcrm.sheets.workbook import write_new_workbook
from xlcrm.xlsx.libreoffice import find_soffice, office_profile

from ._helpers import CORPUS_RESULTS, PRESETS, TODAY, Office


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice's soffice; missing it fails on CI and skips only on a developer's machine."""
    found = find_soffice()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) must be installed on CI; .ci/run installs it")
        pytest.skip("LibreOffice not installed")
    return found


@pytest.fixture(scope="session")
def uno_python() -> str:
    """The system Python with LibreOffice's uno module, which drives LibreOffice as a person
    would (CI installs python3-uno); missing it fails on CI and skips elsewhere."""
    for python in ("/usr/bin/python3", "python3"):
        found = shutil.which(python)
        if found and subprocess.run([found, "-c", "import uno"], capture_output=True,
                                    check=False).returncode == 0:
            return found
    if os.environ.get("CI"):
        pytest.fail("python3-uno must be installed on CI; .ci/run installs it")
    pytest.skip("LibreOffice's Python (python3-uno) is not installed")


@pytest.fixture(scope="session")
def office(soffice: str) -> Iterator[Office]:
    """LibreOffice with one throwaway profile that recalculates every formula on load."""
    with office_profile(recalc=True) as profile:
        yield Office(profile)


@pytest.fixture(scope="session")
def demo_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small populated workbook per preset, written once for the session."""
    out = tmp_path_factory.mktemp("demo")
    books = {}
    for preset in PRESETS:
        data = generate_demo(preset, leads=300, seed=11, today=TODAY)
        books[preset] = write_new_workbook(out / f"{preset}.xlsx", data.schema, data.data,
                                           options=data.options,
                                           settings_rows=data.settings_rows)
    return books


#: a demo workbook: preset, leads, seed, and whether the weekly run (update) has run on it
DemoKey = tuple[str, int, int, bool]


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``demo_book(preset, leads, seed, updated=True)``: a demo workbook (today is TODAY, no
    report) made once per session and shared; it must not be changed (copy it first, see
    ``_helpers.copy_of``)."""
    made: dict[DemoKey, Path] = {}

    def get(preset: str = "dealer", leads: int = 120, seed: int = 2,
            updated: bool = True) -> Path:
        key = (preset, leads, seed, updated)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"demo-{preset}-{leads}-{seed}")
            made[key] = xlcrm.demo(folder, preset=preset, leads=leads, seed=seed, today=TODAY,
                                   run_update=updated, run_report=False)
        return made[key]

    return get


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the corpus fidelity counts, and each refusal with its reason."""
    if not (CORPUS_RESULTS["passed"] or CORPUS_RESULTS["refused"]):
        return
    terminalreporter.section("corpus fidelity")
    terminalreporter.line(f"{len(CORPUS_RESULTS['passed'])} workbooks kept every part through "
                          f"attach and two updates; {len(CORPUS_RESULTS['refused'])} refused:")
    for line in CORPUS_RESULTS["refused"]:
        terminalreporter.line(f"  {line}")
