"""The owned *Conflicts* sheet: what ``xlcrm merge`` had to decide, with both values.

One line per field both copies changed differently, and per record deleted in one copy and
edited in the other: the record, the field, the value both started from, MINE's and THEIRS's
values with the file each came from, which one the merged workbook holds and why. Written
afresh by every merge. Layout only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.threeway import Conflict
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, write_cells
from .words import in_every_language, owned_text

__all__ = ["CONFLICTS_HEADER", "CONFLICTS_SHEET", "OWNED_MARK", "conflicts_builder",
           "is_owned_mark"]

#: the sheet's name; a merge refuses a workbook whose own sheet of this name is not xlcrm's
CONFLICTS_SHEET = "Conflicts"
#: how the sheet's first cell starts in English: a sheet so marked (or with the banner of
#: any language, :func:`is_owned_mark`) is xlcrm's to rewrite
OWNED_MARK = "Owned by xlcrm"
CONFLICTS_HEADER = ("Sheet", "Record", "Field", "Before (base)", "MINE", "THEIRS", "Kept",
                    "Why")


def is_owned_mark(first: str) -> bool:
    """Whether a Conflicts sheet's first cell says xlcrm owns it, in any language."""
    return first.startswith(OWNED_MARK) or first in in_every_language("conflicts_banner")


def conflicts_builder(crm: Crm, conflicts: Sequence[Conflict], *, mine: str, theirs: str,
                      base: str, merged_on: str) -> SheetBuilder:
    """Lay out the Conflicts sheet for one merge.

    Args:
        crm: the workbook merged into (MINE), for its locale's formats.
        conflicts: what the merge decided.
        mine: MINE's file name; theirs: THEIRS's; base: the version both started from.
        merged_on: when the merge ran, as text.
    """
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["conflicts_title"],
               text.get("conflicts_note", on=merged_on, mine=mine, theirs=theirs, base=base))
        ws.write_string(0, 0, text["conflicts_banner"], f.banner)
        ws.write_row(3, 0, list(text.header("conflicts_header")), f.head)
        if not conflicts:
            ws.write_string(4, 0, text["conflicts_none"], f.note)
        # below the lines, so a long note never widens the printed page
        ws.write_string(len(conflicts) + 5, 0, text["conflicts_explained"], f.note)
        for i, c in enumerate(conflicts, 4):
            kept = f"MINE ({mine})" if c.kept == "mine" else f"THEIRS ({theirs})"
            row: list[Any] = [c.sheet, c.record, c.field, c.base, c.mine, c.theirs, kept,
                              c.why]
            write_cells(ws, i, row, f, {})
        for col, width in enumerate((12, 14, 18, 20, 24, 24, 30, 48)):
            ws.set_column(col, col, width)
        ws.freeze_panes(4, 0)
        ws.set_landscape()  # eight columns: printed across one page width
        ws.fit_to_pages(1, 0)
    return build
