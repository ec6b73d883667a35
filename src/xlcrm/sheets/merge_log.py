"""The owned *Merge log* sheet: every value of every merged record, and what became of it.

Append-only: ``xlcrm clean --apply`` adds its lines (see :mod:`xlcrm.metrics.merge`) below
those already there, so nothing typed is lost. Layout only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value
from .words import in_every_language, owned_text

__all__ = ["LOG_HEADER", "log_starts", "merge_log_builder"]

#: the log's header in English; it is written in the workbook's language, and its first cell
#: in any language finds the log when read back (:func:`log_starts`)
LOG_HEADER = ("Merged on", "Sheet", "Kept", "Merged", "Field", "Value", "What happened")


def log_starts(first: Any) -> bool:
    """Whether a row's first cell is the log header's, in any language."""
    return first in in_every_language("merge_log_header", first_cell=True) or first == LOG_HEADER[0]


def merge_log_builder(crm: Crm, rows: list[list[Any]]) -> SheetBuilder:
    """Lay out the Merge log sheet with ``rows``: the lines already there, then the new ones."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["merge_log_title"], text["merge_log_note"],
               key="merge_log")
        ws.write_row(3, 0, list(text.header("merge_log_header")), f.head)
        for i, r in enumerate(rows, 4):
            for c, v in enumerate(r):
                value = cell_value(v)
                if isinstance(value, dt.datetime):
                    ws.write_datetime(i, c, value, f.date)
                elif isinstance(value, bool):
                    ws.write_boolean(i, c, value)
                elif isinstance(value, (int, float)):
                    ws.write_number(i, c, value)
                elif value != "":
                    ws.write_string(i, c, str(value))
        ws.set_column(0, 0, 12)
        ws.set_column(1, 3, 12)
        ws.set_column(4, 4, 22)
        ws.set_column(5, 5, 34)
        ws.set_column(6, 6, 40)
        ws.freeze_panes(4, 0)
    return build
