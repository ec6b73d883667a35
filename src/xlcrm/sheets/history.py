"""The Stage history sheet: every stage change xlcrm has seen, appended at each update.

The weekly run reads it back (:data:`xlcrm.week.HISTORY_HEADER` marks where it starts) to age
records from the day they entered their stage and to know where lost deals were lost from.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..xlsx.transplant import RowRenderer
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner
from .words import owned_text

__all__ = ["history_sheet"]

#: the header's words in ``[owned]`` (``history_<key>``), :data:`HISTORY_HEADER` in English;
#: the first is how the weekly run finds the table again
_HISTORY_KEYS = ("record", "from_stage", "to_stage", "changed_on")


def history_sheet(history: pd.DataFrame, crm: Crm) -> SheetBuilder:
    """Lay out the Stage history (the week's :attr:`~xlcrm.week.WeekResult.history`)."""
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> RowRenderer:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["history_title"], text["history_note"])
        ws.write_row(3, 0, [text[f"history_{key}"] for key in _HISTORY_KEYS], f.head)
        ws.set_column(0, 2, 20)
        ws.set_column(3, 3, 14)
        # the long table is rendered as XML directly: 100k rows in a fraction of a second
        ws.write_blank(2, 10, None, f.date)  # makes the date format part of the scratch book
        serial = ((pd.to_datetime(history["changed_on"]) - pd.Timestamp(1899, 12, 30))
                  / pd.Timedelta(days=1)).tolist()
        records = _xml_texts(history["record"].astype(str).tolist())
        befores, afters = _xml_stages(history["from_stage"]), _xml_stages(history["to_stage"])

        def rows(xf: Callable[[int], int]) -> bytes:
            date_style = xf(f.date._get_xf_index())  # known once the scratch book is closed
            parts = []
            for i, (record, before, after, day) in enumerate(
                    zip(records, befores, afters, serial), 5):
                cells = [f'<c r="A{i}" t="inlineStr"><is><t>{record}</t></is></c>']
                if before:
                    cells.append(f'<c r="B{i}" t="inlineStr"><is><t>{before}</t></is></c>')
                if after:
                    cells.append(f'<c r="C{i}" t="inlineStr"><is><t>{after}</t></is></c>')
                if day == day:  # not NaN
                    cells.append(f'<c r="D{i}" s="{date_style}"><v>{day!r}</v></c>')
                parts.append(f'<row r="{i}">{"".join(cells)}</row>')
            return "".join(parts).encode("utf-8")

        ws.freeze_panes(4, 0)
        return rows
    return build


def _xml_texts(texts: list[str]) -> list[str]:
    """Texts escaped for XML; 100k ids in one call when none holds a NUL (which XML can't)."""
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1:
        return xml_escape(joined).split("\x00")
    return [xml_escape(t) for t in texts]


def _xml_stages(stages: pd.Series) -> list[str]:
    """Stages escaped for XML ("" where there is none), each distinct one escaped once."""
    codes, distinct = pd.factorize(stages.to_numpy(dtype=object))
    escaped = np.array([xml_escape(v) if isinstance(v, str) else "" for v in distinct] + [""],
                       dtype=object)
    texts: list[str] = escaped[codes].tolist()
    return texts
