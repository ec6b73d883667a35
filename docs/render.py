"""Render the README's pictures of the demo workbook (needs LibreOffice and pdftoppm).

    python docs/render.py            # writes docs/leads.png and docs/settings.png

Each picture shows the top-left corner of one sheet as LibreOffice prints it: the sheet is
copied into a workbook of its own with a print area, converted to PDF, and the first page
turned into a PNG.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

import openpyxl

import xlcrm
from xlcrm.libreoffice import convert

DOCS = Path(__file__).parent
# sheet, last column, rows (None: from the top; a number: the newest rows, header repeated)
VIEWS = {"leads": ("Leads", "O", 28), "settings": ("Settings", "N", None)}


def _trim(png: Path, margin: int = 12) -> None:
    """Cut the empty page around the printed cells."""
    from PIL import Image, ImageOps

    image = Image.open(png).convert("RGB")
    box = ImageOps.invert(image).getbbox()
    if box:
        left, top, right, bottom = box
        image.crop((max(left - margin, 0), max(top - margin, 0), right + margin,
                    bottom + margin)).save(png)


def render(today: dt.date = dt.date(2026, 11, 23)) -> list[Path]:
    """Write one PNG per view into docs/ and return their paths."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        book = xlcrm.demo(tmp, preset="dealer", leads=1000, seed=7, today=today)
        for name, (sheet, last_col, newest) in VIEWS.items():
            wb = openpyxl.load_workbook(book)
            for other in list(wb.sheetnames):
                if other != sheet:
                    del wb[other]
            ws = wb[sheet]
            if newest:
                ws.print_area = f"A{ws.max_row - newest + 1}:{last_col}{ws.max_row}"
                ws.print_title_rows = "1:1"
            else:
                ws.print_area = f"A1:{last_col}20"
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.oddFooter.left.text = ws.oddFooter.right.text = ""
            view = Path(tmp) / f"{name}.xlsx"
            wb.save(view)
            pdf = convert(view, "pdf", Path(tmp) / "pdf")
            png = DOCS / name
            subprocess.run(["pdftoppm", "-png", "-r", "140", "-singlefile", "-f", "1", "-l", "1",
                            str(pdf), str(png)], check=True)
            _trim(png.with_suffix(".png"))
            written.append(png.with_suffix(".png"))
        written.append(_render_page(book, Path(tmp), "Where leads are lost", "dashboard"))
    return written


def _render_page(book: Path, tmp: Path, marker: str, name: str) -> Path:
    """Render the page of the whole workbook's PDF that holds ``marker`` (the charts need
    the sheets they draw from, so this sheet is not copied out on its own)."""
    pdf = convert(book, "pdf", tmp / "whole")
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    page = next(i for i, text in enumerate(pages, 1) if marker in text)
    png = DOCS / name
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", "-f", str(page), "-l",
                    str(page), str(pdf), str(png)], check=True)
    _trim(png.with_suffix(".png"))
    return png.with_suffix(".png")


if __name__ == "__main__":
    for path in render():
        print(path)
