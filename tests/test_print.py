"""Sheets a person prints: Settings on landscape pages that never cut a table in two, and
columns wide enough for what they hold."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from xlcrm.sheets.workbook import settings_page_breaks

from ._helpers import Office


def test_settings_pages_break_between_tables_only() -> None:
    # widths in characters become 7 px each plus 5; a table of widths (16, 44, 14) is
    # 117 + 313 + 103 = 533 px, the empty column after it 64 px: 597 px in all
    blocks = [(0, [16, 44, 14]), (4, [16, 20, 12, 20]), (9, [18]), (11, [18, 13])]
    # milestones: 117 + 145 + 89 + 145 = 496 px; 597 + 496 > 960: a new page at column 4;
    # then 496 + 64 = 560, + 131 (18 chars) = 691 fits, + 64 = 755, + 131 + 96 = 982 > 960
    assert settings_page_breaks(blocks, page_px=960) == [4, 11]
    # a page wide enough for everything: no break
    assert settings_page_breaks(blocks, page_px=5000) == []
    # a table wider than a page still starts its own page, and is never split by us
    assert settings_page_breaks([(0, [60, 60]), (3, [60, 60])], page_px=400) == [3]


def test_settings_prints_every_table_whole(demo_book: Callable[..., Path], office: Office,
                                           tmp_path: Path) -> None:
    """LibreOffice prints Settings: each table's title and all its headers on one page."""
    book = demo_book("dealer", 120, 2, False)
    wb = load_workbook(book, read_only=False)
    ws = wb["Settings"]
    tables = []  # (title, headers) per table, read from the sheet itself
    for table in ws.tables.values():
        first = table.ref.split(":")[0]
        header_row = ws[first].row
        cells = ws[table.ref][0]
        title = ws.cell(header_row - 1, cells[0].column).value
        tables.append((str(title), [str(c.value) for c in cells]))
    # keep only Settings, so the PDF holds only its pages
    for other in [s for s in wb.sheetnames if s != "Settings"]:
        del wb[other]
    wb.save(tmp_path / "settings.xlsx")
    pdf = office.convert(tmp_path / "settings.xlsx", "pdf", tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert 2 <= len(pages) <= 9, "Settings should print on a handful of pages"
    for title, headers in tables:
        holding = [p for p in pages if title in p]
        assert holding, f"{title} not printed"
        page = holding[0]
        for header in headers:
            assert header in page, f"{title}: header {header} printed on another page"


def test_text_columns_fit_their_values(demo_book: Callable[..., Path]) -> None:
    wb = load_workbook(demo_book("dealer", 120, 2, False), read_only=False)
    ws = wb["Leads"]
    headers = {c.value: c.column_letter for c in ws[1]}
    longest = max(len(str(c.value)) for (c,) in ws.iter_rows(
        min_row=2, min_col=ws[headers["Vehicle of interest"] + "1"].column,
        max_col=ws[headers["Vehicle of interest"] + "1"].column) if c.value)
    assert ws.column_dimensions[headers["Vehicle of interest"]].width >= longest
    reps = wb["Settings"]
    for table in reps.tables.values():
        if table.name != "Reps":
            continue
        cells = reps[table.ref]
        email_col = [c.value for c in cells[0]].index("E-mail")
        letter = cells[0][email_col].column_letter
        widest = max(len(str(row[email_col].value or "")) for row in cells[1:])
        assert reps.column_dimensions[letter].width >= widest


def test_tally_prints_each_long_table_under_its_own_header(demo_book: Callable[..., Path]
                                                           ) -> None:
    """No repeated title rows (Excel would repeat the weekly header over every later table);
    instead the cohort table and the source and rep tables each start a printed page."""
    book = demo_book("dealer", 120, 2, True)
    wb = load_workbook(book)
    ws = wb["Tally"]
    assert not ws.print_title_rows
    titles = {row[0].value: row[0].row for row in ws.iter_rows(max_col=1) if row[0].value}
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    # a break after row N starts row N + 1 on a new page: the cohort title's row, and the
    # by-source title's
    cohort = next(r for t, r in titles.items() if str(t).startswith("By lead cohort"))
    source = next(r for t, r in titles.items() if str(t).startswith("By source"))
    assert breaks == [cohort - 1, source - 1]
    # the notes wrap within the tables instead of running on across the page
    assert any(str(m).startswith("A4:") for m in ws.merged_cells.ranges)


def test_dashboard_prints_its_charts_whole(demo_book: Callable[..., Path]) -> None:
    book = demo_book("dealer", 120, 2, True)
    ws = load_workbook(book)["Dashboard"]
    # the lower charts sit at row 21 and are 300 px (15 rows of 20 px) tall; the trend chart
    # at column G is 620 px (about 10 columns of 64 px) wide
    assert ws.print_area == "'Dashboard'!$A$1:$Q$37"
