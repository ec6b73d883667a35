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

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


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
    pipe = f"xlcrm_edit_{os.getpid()}"
    with contextlib.ExitStack() as stack:
        profile = given or stack.enter_context(tempfile.TemporaryDirectory())
        office = subprocess.Popen([
            "soffice", "--headless", "--norestore", "--nologo",
            f"-env:UserInstallation={Path(profile).as_uri()}",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"])
        try:
            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext(
                "com.sun.star.bridge.UnoUrlResolver", local)
            for _ in range(300):
                try:
                    ctx = resolver.resolve(
                        f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                    break
                except Exception:  # noqa: BLE001 - LibreOffice is still starting
                    time.sleep(0.2)
            else:
                raise SystemExit("LibreOffice did not start")
            desktop = ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", ctx)
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                               (prop("Hidden", True),))
            edit(doc, edits)
            doc.storeToURL(uno.systemPathToFileUrl(str(Path(out).resolve())),
                           (prop("FilterName", "Calc MS Excel 2007 XML"),))
            doc.close(True)
            with contextlib.suppress(Exception):  # the bridge closes as LibreOffice exits
                desktop.terminate()
        finally:
            try:
                office.wait(timeout=30)
            except subprocess.TimeoutExpired:
                office.kill()


if __name__ == "__main__":
    main(*sys.argv[1:5])
