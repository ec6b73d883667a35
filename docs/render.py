"""Render the README's pictures of the demo workbook (needs LibreOffice and pdftoppm).

    python docs/render.py    # writes docs/{leads,settings,dashboard}.png and the report's

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
from xlcrm.xlsx.libreoffice import convert

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
        written.append(_render_page(book, Path(tmp), "What happened in the last full week", "dashboard"))
        written.append(_render_italian_dashboard(Path(tmp), today))
        written += _render_report(book, Path(tmp), today)
    return written


def _render_report(book: Path, tmp: Path, today: dt.date) -> list[Path]:
    """The weekly report: its workbook's Summary sheet, every page of its PDF, and its HTML
    page at desktop and phone width (headless Chromium)."""
    from PIL import Image

    made = xlcrm.report(book, tmp / "report", html=True, pdf=True, today=today)
    assert made.pdf is not None and made.html is not None
    summary = DOCS / "report-workbook"
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", "-f", "1", "-l", "1",
                    str(made.pdf), str(summary)], check=True)
    _trim(summary.with_suffix(".png"))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(made.pdf), str(tmp / "page")],
                   check=True)
    pages = [Image.open(p).convert("RGB") for p in sorted(tmp.glob("page-*.png"))]
    w, h = max(p.width for p in pages), max(p.height for p in pages)
    cols = 4
    sheet = Image.new("RGB", (cols * (w + 12) + 12, -(-len(pages) // cols) * (h + 12) + 12),
                      "#d0d0d0")
    for i, page in enumerate(pages):
        sheet.paste(page, (12 + (i % cols) * (w + 12), 12 + (i // cols) * (h + 12)))
    sheet.save(DOCS / "report-pdf.png")
    shots = []
    for name, width, height in (("report-html", 1100, 1900), ("report-phone", 390, 1500)):
        wrapper = made.html.parent / f"{name}.html"
        wrapper.write_text(f'<!DOCTYPE html><body style="margin:0"><iframe src="'
                           f'{made.html.name}" style="width:{width}px;height:{height}px;'
                           f'border:0"></iframe></body>', encoding="utf-8")
        png = DOCS / f"{name}.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--allow-file-access-from-files",
                        f"--window-size={max(width, 600)},{height}", f"--screenshot={png}",
                        wrapper.as_uri()], check=True, capture_output=True)
        Image.open(png).crop((0, 0, width, height)).save(png)
        shots.append(png)
    return [summary.with_suffix(".png"), DOCS / "report-pdf.png", *shots]


def _render_italian_dashboard(tmp: Path, today: dt.date) -> Path:
    """The Dashboard of the same demo in Italian, for the README's side-by-side picture."""
    book = xlcrm.demo(tmp / "it", preset="dealer", leads=1000, seed=7, locale="it",
                      today=today)
    return _render_page(book, tmp / "it", "Tassi per settimana di arrivo", "dashboard-it")


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
