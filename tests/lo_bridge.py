"""Drive LibreOffice through its Python bridge (``uno``): start it headless, open a workbook,
let a function change it as a person would, save it as an Excel workbook.

Shared by the scripts that edit test workbooks in LibreOffice (``lo_pivot_chart.py``,
``lo_edit_records.py``); run them with the system Python that has ``uno`` (python3-uno).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def prop(name: str, value: object) -> PropertyValue:
    """A named property, as LibreOffice's calls take their options."""
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def edit_in_office(src: str, out: str, change: Callable[[Any], None],
                   profile: str | None = None) -> None:
    """Open ``src`` in a headless LibreOffice, ``change(document)``, save it to ``out`` as an
    Excel workbook.

    Args:
        src: the workbook to open.
        out: where the changed workbook is saved.
        change: what a person would do to the open document.
        profile: a LibreOffice user profile folder already set up (the test session's);
            a throwaway one when None.
    """
    pipe = f"xlcrm_office_{os.getpid()}"
    with contextlib.ExitStack() as stack:
        folder = profile or stack.enter_context(tempfile.TemporaryDirectory())
        office = subprocess.Popen([
            "soffice", "--headless", "--norestore", "--nologo",
            f"-env:UserInstallation={Path(folder).as_uri()}",
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
            change(doc)
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
