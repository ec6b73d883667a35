"""Edit a workbook's records the way a person does: in LibreOffice, then save as Excel.

Run with the system Python that has LibreOffice's ``uno`` module (Debian: python3-uno):

    /usr/bin/python3 tests/lo_edit_records.py IN.xlsx OUT.xlsx EDITS.json [PROFILE]

EDITS.json holds ``{"set": [[sheet, id, header, text]], "add": [[sheet, {header: text}]],
"delete": [[sheet, id]]}``. Each text is typed into its cell as a person types it (a date
becomes a date); a record is added by inserting a row inside the sheet's table, above its last
record, and deleted by removing its row. It starts LibreOffice headless with a throwaway
profile (or the folder PROFILE, the test session's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lo_bridge import edit_in_office


def headers(sheet: Any) -> dict[str, int]:
    out = {}
    for c in range(60):
        text = sheet.getCellByPosition(c, 0).getString()
        if text:
            out[text] = c
    return out


def last_row(sheet: Any) -> int:
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    return int(cursor.RangeAddress.EndRow)


def row_of(sheet: Any, ident: str) -> int:
    for r in range(1, last_row(sheet) + 1):
        if sheet.getCellByPosition(0, r).getString() == ident:
            return r
    raise SystemExit(f"no record {ident}")


def edit(doc: Any, edits: dict[str, Any]) -> None:
    sheets = doc.Sheets
    for name, ident, header, text in edits.get("set", []):
        sheet = sheets.getByName(name)
        sheet.getCellByPosition(headers(sheet)[header], row_of(sheet, ident)).setFormula(text)
    for name, values in edits.get("add", []):
        sheet = sheets.getByName(name)
        row = last_row(sheet)
        sheet.Rows.insertByIndex(row, 1)  # inside the table: it grows
        cols = headers(sheet)
        for header, text in values.items():
            sheet.getCellByPosition(cols[header], row).setFormula(text)
    for name, ident in edits.get("delete", []):
        sheet = sheets.getByName(name)
        sheet.Rows.removeByIndex(row_of(sheet, ident), 1)


def main(src: str, out: str, edits_file: str, given: str | None = None) -> None:
    edits = json.loads(Path(edits_file).read_text(encoding="utf-8"))
    edit_in_office(src, out, lambda doc: edit(doc, edits), given)


if __name__ == "__main__":
    main(*sys.argv[1:5])
