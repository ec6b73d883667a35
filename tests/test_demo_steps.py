"""The demo reads its data sheets once and lends them to each step: the workbook and the report
it leaves are those of the commands run one by one, each reading the file as a team runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

import xlcrm

from ._helpers import TODAY


def _cells(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for name in book.sheet_names}
    finally:
        book.close()


@pytest.mark.parametrize(("preset", "locale"), [("dealer", "en"), ("b2b", "en"),
                                                ("dealer", "it")])
def test_demo_is_its_commands_run_one_by_one(preset: str, locale: str, tmp_path: Path) -> None:
    demo = xlcrm.demo(tmp_path / "demo", preset=preset, locale=locale, leads=300, seed=11,
                      today=TODAY)
    # the same new workbook, then each command on its own, reading the file again
    alone = xlcrm.demo(tmp_path / "alone", preset=preset, locale=locale, leads=300, seed=11,
                       today=TODAY, run_update=False)
    xlcrm.update(alone, today=TODAY, backups=0)
    xlcrm.clean(alone, today=TODAY, backups=0)
    xlcrm.score(alone, today=TODAY, backups=0)
    xlcrm.report(alone, alone.parent, html=True, today=TODAY)

    by_demo, by_alone = _cells(demo), _cells(alone)
    assert list(by_demo) == list(by_alone)
    for name, rows in by_alone.items():
        assert by_demo[name] == rows, name
    # the owned sheets were written, not left as the new workbook had them
    scores = xlcrm.load(demo).sheet_names["lead_scores"]
    assert len(by_demo[scores]) > 300
    reports = sorted(p.name for p in alone.parent.iterdir() if "-report-" in p.name)
    assert reports == sorted(p.name for p in demo.parent.iterdir() if "-report-" in p.name)
    assert len(reports) == 2
    for name in reports:
        if name.endswith(".xlsx"):
            assert _cells(demo.parent / name) == _cells(alone.parent / name), name
        else:
            assert (demo.parent / name).read_bytes() == (alone.parent / name).read_bytes()
