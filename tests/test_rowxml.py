"""The owned sheets' long tables written as row XML at once (xlcrm.sheets.rowxml: Lead scores,
RFM, Agenda) are the very bytes the cell-by-cell path writes: each test writes the same sheets
both ways into copies of one workbook and compares every part of the two files."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook
from xlsxwriter.worksheet import Worksheet

import xlcrm.sheets.agenda
import xlcrm.sheets.rfm
import xlcrm.sheets.scores
from xlcrm.commands.agenda import agenda
from xlcrm.commands.score import score
from xlcrm.schema import load_schema
from xlcrm.sheets.rowxml import row_renderer
from xlcrm.sheets.style import Formats, write_cells
from xlcrm.xlsx.transplant import RowRenderer
from xlcrm.xlsx.writer import write_owned_sheets

from ._helpers import copy_of

TODAY = dt.date(2026, 11, 23)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        # the agenda's note says when it was written: the minute may turn between two runs
        return {n: re.sub(rb"Written \d{4}-\d\d-\d\d \d\d:\d\d", b"Written -", z.read(n))
                for n in z.namelist()}


def _cell_by_cell(*_: object, **__: object) -> None:
    return None


@pytest.mark.parametrize("modules, run", [
    ((xlcrm.sheets.scores, xlcrm.sheets.rfm), lambda p: score(p, today=TODAY, backups=0)),
    ((xlcrm.sheets.agenda,), lambda p: agenda(p, day=dt.date(2026, 11, 24), backups=0)),
])
def test_long_sheets_are_the_cell_by_cell_bytes(
        tmp_path: Path, demo_book: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        modules: tuple[Any, ...], run: Callable[[Path], object]) -> None:
    fast = copy_of(demo_book("dealer", 300, 8), tmp_path / "fast")
    slow = copy_of(demo_book("dealer", 300, 8), tmp_path / "slow")
    run(fast)
    for module in modules:
        monkeypatch.setattr(module, "row_renderer", _cell_by_cell)
    run(slow)
    a, b = _parts(fast), _parts(slow)
    assert a.keys() == b.keys()
    assert [n for n in a if a[n] != b[n]] == []


# every kind of value write_cells takes, and texts at the edges of what XML and XlsxWriter keep
_TEXTS = [" lead space", "trail space ", "a & b < c > d", 'quote "x"', "Ümlaut Ξ 東京 😀",
          "two\nlines", "tab\there", "=SUM(A1)", "http://example.com", ""]
_ROWS: list[list[Any]] = [
    [f"L-{i}", _TEXTS[i % len(_TEXTS)], i * 1.5 if i % 4 else None, i, float("nan"),
     dt.datetime(2026, 11, 1 + i % 20, 9 * (i % 2)), dt.date(2026, 1, 1 + i % 28),
     bool(i % 3), "SQL" if i % 5 == 0 else "MQL" if i % 5 == 1 else "closed",
     _TEXTS[(i + 3) % len(_TEXTS)]]
    for i in range(40)]


def _table(fast: bool, rows: list[list[Any]]) -> Callable[[xlsxwriter.Workbook, Worksheet],
                                                          RowRenderer | None]:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer | None:
        f = Formats(book, load_schema("dealer"))
        hot = book.add_format({"bold": True, "bg_color": "#548235"})
        money = book.add_format({"num_format": "#,##0.00"})
        ws.write_string(0, 0, "Banner", f.banner)
        ws.write_blank(0, 11, None, f.banner)
        ws.write_row(2, 0, [f"col {c}" for c in range(10)], f.head)
        ws.set_column(3, 3, 12, money)  # a column format: its cells without one take it
        styles: list[Any] = [None, None, money, None, None, None, None, None,
                             lambda g: hot if g == "SQL" else None, None]
        columns = [list(c) for c in zip(*rows)]
        renderer = row_renderer(ws, columns, 3, styles, f.date, texts=(8, 9)) if fast else None
        if renderer is None:
            for r, (*values, grade, why) in enumerate(rows, 3):
                write_cells(ws, r, values, f, {2: money})
                ws.write_string(r, 8, grade, hot if grade == "SQL" else None)
                ws.write_string(r, 9, why)
        return renderer
    return build


@pytest.mark.parametrize("rows, renders", [
    (_ROWS, True),
    # texts XlsxWriter keeps in another form: the table goes cell by cell
    ([*_ROWS[:5], ["L-x", "bell\x07", 1, 1, None, None, None, None, "MQL", ""]], False),
    ([*_ROWS[:5], ["L-x", "_x0041_", 1, 1, None, None, None, None, "MQL", ""]], False),
    ([*_ROWS[:5], ["L-x", "cr\r", 1, 1, None, None, None, None, "MQL", ""]], False),
    ([*_ROWS[:5], ["L-x", "<r>rich</r>", 1, 1, None, None, None, None, "MQL", ""]], False),
])
def test_every_kind_of_value_is_the_cell_by_cell_bytes(
        tmp_path: Path, demo_book: Callable[..., Path], rows: list[list[Any]],
        renders: bool) -> None:
    source = demo_book("dealer", 120, 2)
    fast, slow = copy_of(source, tmp_path / "fast"), copy_of(source, tmp_path / "slow")
    seen: list[bool] = []

    def fast_table(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer | None:
        out = _table(True, rows)(book, ws)
        seen.append(out is not None)
        return out

    write_owned_sheets(fast, {"Lead scores": fast_table}, backups=0)
    write_owned_sheets(slow, {"Lead scores": _table(False, rows)}, backups=0)
    assert seen == [renders]
    a, b = _parts(fast), _parts(slow)
    assert [n for n in a if a[n] != b[n]] == []
    # and what a reader sees: the texts as written, yes/no, dates, numbers, nothing for NaN
    got = CalamineWorkbook.from_path(str(fast)).get_sheet_by_name("Lead scores").to_python()
    assert got[3][:4] == ["L-0", " lead space", "", 0.0]
    assert got[4][1:4] == ["trail space ", 1.5, 1.0]
    assert got[3][7] == "no" and got[4][7] == "yes"
    assert got[3][5] == dt.date(2026, 11, 1) and got[3][6] == dt.date(2026, 1, 1)  # dates
