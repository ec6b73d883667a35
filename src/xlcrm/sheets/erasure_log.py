"""The owned *Erasure log* sheet: one line per erasure request carried out, without personal data.

``xlcrm forget`` adds a line (the day, the erased records' ids, how, the sheets touched, how
many cells and rows) below those already there, so the team can show what it did and when
without keeping what it erased. Layout only.
"""

from __future__ import annotations

from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, write_cells
from .words import in_every_language, owned_text

__all__ = ["ERASURE_HEADER", "erasure_log_builder", "read_erasure_log"]

#: the log's header in English; it is written in the workbook's language, and its first cell
#: in any language finds the log when read back
ERASURE_HEADER = ("Erased on", "Records", "How", "Sheets touched", "Cells erased",
                  "Rows removed", "Backups removed")


def read_erasure_log(rows: list[list[Any]]) -> list[list[Any]]:
    """The lines already in the log, to keep them when it is written afresh."""
    firsts = in_every_language("erasure_log_header", first_cell=True) | {ERASURE_HEADER[0]}
    start = next((i for i, r in enumerate(rows[:10]) if r and r[0] in firsts), None)
    if start is None:
        return []
    return [list(r[:len(ERASURE_HEADER)]) for r in rows[start + 1:]
            if r and any(v not in ("", None) for v in r)]


def erasure_log_builder(crm: Crm, rows: list[list[Any]]) -> SheetBuilder:
    """Lay out the Erasure log sheet with ``rows``: the lines already there, then the new one."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["erasure_log_title"], text["erasure_log_note"])
        ws.write_string(0, 0, text["erasure_log_banner"], f.banner)
        ws.write_row(3, 0, list(text.header("erasure_log_header")), f.head)
        for i, r in enumerate(rows, 4):
            write_cells(ws, i, list(r), f, {})
        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 2, 12)
        ws.set_column(3, 3, 40)
        ws.set_column(4, 6, 14)
        ws.freeze_panes(4, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    return build
