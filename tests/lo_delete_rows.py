"""Delete rows of a sheet in LibreOffice, as a person does (Delete Rows), then save as Excel.

Run with the system Python that has LibreOffice's ``uno`` module (Debian: python3-uno):

    /usr/bin/python3 tests/lo_delete_rows.py IN.xlsx OUT.xlsx SHEET ROWS [PROFILE]

ROWS are 1-based row numbers separated by commas (``5,6,7``). LibreOffice rewrites every
formula, name, validation and chart that points at them, as Excel does, and saves the values it
recalculated: the answer the writer's own row removal is compared with.
"""

from __future__ import annotations

import sys
from typing import Any

from lo_bridge import edit_in_office


def main(src: str, out: str, sheet_name: str, rows: str, given: str | None = None) -> None:
    def change(doc: Any) -> None:
        sheet = doc.Sheets.getByName(sheet_name)
        for row in sorted({int(r) for r in rows.split(",")}, reverse=True):  # bottom up
            sheet.Rows.removeByIndex(row - 1, 1)
        doc.calculateAll()

    edit_in_office(src, out, change, given)


if __name__ == "__main__":
    main(*sys.argv[1:6])
