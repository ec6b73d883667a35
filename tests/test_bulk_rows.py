"""A new workbook's data rows written in bulk (``sheets/bulk.py``) are the very bytes the
cell-by-cell writes give: every part of the file is compared, for both presets and for
records with odd values in every kind of column."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

import xlcrm.sheets.workbook as workbook
from xlcrm.demodata import generate_demo
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import TODAY


def _write(path: Path, preset: str, data: dict[str, dict[str, list[Any]]] | None = None,
           *, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    demo = generate_demo(preset, leads=200, seed=4, today=TODAY)
    with monkeypatch.context() as m:
        if not bulk:  # every row through XlsxWriter's cell writes, as before
            m.setattr(workbook, "write_rows_in_bulk", lambda ws, columns: False)
        write_new_workbook(path, demo.schema, data or demo.data, options=demo.options,
                           settings_rows=demo.settings_rows, active="dashboard")
    with zipfile.ZipFile(path) as zf:
        # the creation time is the only part that differs from one run to the next
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("preset", ["dealer", "b2b"])
def test_demo_rows_are_the_cell_writes_bytes(preset: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    bulk = _write(tmp_path / "bulk.xlsx", preset, bulk=True, monkeypatch=monkeypatch)
    cells = _write(tmp_path / "cells.xlsx", preset, bulk=False, monkeypatch=monkeypatch)
    assert bulk.keys() == cells.keys()
    assert [n for n in bulk if bulk[n] != cells[n]] == []
    if preset == "b2b":  # the deals' two formula columns, in every row, with cached values
        deals = next(v for n, v in bulk.items() if b"IFERROR(INDEX(" in v
                     and n.startswith("xl/worksheets/"))
        rows = CalamineWorkbook.from_path(str(tmp_path / "bulk.xlsx")).get_sheet_by_name(
            "Deals").to_python()
        assert deals.count(b"<f>IFERROR(INDEX(") == deals.count(b"<f>IF(ISNUMBER(") \
            == len(rows) - 1 > 20


def test_odd_values_in_every_kind_of_column(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    demo = generate_demo("dealer", leads=200, seed=4, today=TODAY)
    data = {k: {c: list(v) for c, v in cols.items()} for k, cols in demo.data.items()}
    leads = data["leads"]
    leads["created"][3] = "sometime in May"  # a text in a date column
    leads["created"][4] = 45000  # a serial number
    leads["first_contact"][5] = True  # write() makes it a boolean
    leads["first_name"][6] = 1234  # a number in a text column: written as text
    leads["amount"][7] = "about 20k"  # a text in a money column
    leads["trade_in"][8] = "perhaps"  # a flag that is not True/False
    leads["notes"][9] = "  spaced & <tagged>  "
    for c in leads:  # a row with nothing at all, and the last rows empty but for the id
        leads[c][10] = None
        if c != "id":
            leads[c][-1] = leads[c][-2] = None
    leads["appointment_date"][11] = dt.time(9, 30)
    bulk = _write(tmp_path / "bulk.xlsx", "dealer", data, bulk=True, monkeypatch=monkeypatch)
    cells = _write(tmp_path / "cells.xlsx", "dealer", data, bulk=False,
                   monkeypatch=monkeypatch)
    assert [n for n in bulk if bulk[n] != cells[n]] == []
    grid = CalamineWorkbook.from_path(str(tmp_path / "bulk.xlsx")).get_sheet_by_name(
        "Leads").to_python()
    assert grid[4][1] == "sometime in May" and grid[7][2] == "1234"
    assert grid[11] == [""] * len(grid[11])  # the empty row is no row


def test_values_the_cell_writes_check_go_cell_by_cell(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    demo = generate_demo("dealer", leads=200, seed=4, today=TODAY)
    data = {k: {c: list(v) for c, v in cols.items()} for k, cols in demo.data.items()}
    data["leads"]["notes"][2] = "x" * 20_000  # may pass Excel's limit: XlsxWriter decides
    taken: list[bool] = []
    real = workbook.write_rows_in_bulk

    def spy(ws: Any, columns: Any) -> bool:
        taken.append(real(ws, columns))
        return taken[-1]

    monkeypatch.setattr(workbook, "write_rows_in_bulk", spy)
    write_new_workbook(tmp_path / "long.xlsx", demo.schema, data, options=demo.options,
                       settings_rows=demo.settings_rows)
    assert taken[0] is False and all(taken[1:])  # Leads cell by cell, the others in bulk
    grid = CalamineWorkbook.from_path(str(tmp_path / "long.xlsx")).get_sheet_by_name(
        "Leads").to_python()
    assert len(grid) == len(data["leads"]["id"]) + 1 and "x" * 20_000 in grid[3]
