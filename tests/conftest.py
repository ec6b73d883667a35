"""Shared fixtures: workbooks built in code, LibreOffice when present (required on CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xlcrm import generate_demo
from xlcrm.sheets.workbook import write_new_workbook
from xlcrm.xlsx.libreoffice import find_soffice

from ._helpers import CORPUS_RESULTS, PRESETS, TODAY


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the corpus fidelity counts, and each refusal with its reason."""
    if not (CORPUS_RESULTS["passed"] or CORPUS_RESULTS["refused"]):
        return
    terminalreporter.section("corpus fidelity")
    terminalreporter.line(f"{len(CORPUS_RESULTS['passed'])} workbooks kept every part through "
                          f"attach and two updates; {len(CORPUS_RESULTS['refused'])} refused:")
    for line in CORPUS_RESULTS["refused"]:
        terminalreporter.line(f"  {line}")
