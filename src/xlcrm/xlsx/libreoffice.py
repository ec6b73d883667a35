"""Run LibreOffice headless: convert workbooks (PDF, CSV) with every formula recalculated.

LibreOffice keeps the cached values of an .xlsx by default and recalculates nothing, so each
run gets a throwaway profile whose settings say "always recalculate on load". Tests use this
to check that the formulas xlcrm writes give the values xlcrm cached; reports use it for PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import WorkbookError

__all__ = ["convert", "find_soffice"]

_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">
  <prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """Return the path of LibreOffice's ``soffice``, or None when it isn't installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    mac = "/Applications/LibreOffice.app/Contents/MacOS/soffice"
    return mac if os.path.exists(mac) else None


def convert(path: str | Path, fmt: str, outdir: str | Path, *, recalc: bool = True,
            timeout: float = 300) -> Path:
    """Convert ``path`` with LibreOffice headless and return the converted file.

    Args:
        path: the workbook to convert.
        fmt: a LibreOffice filter spec, such as ``pdf`` or
            ``csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1``
            (the last field, -1, writes every sheet to its own CSV file).
        outdir: folder for the output.
        recalc: recalculate every formula on load (a fresh profile that says so).
        timeout: seconds before giving up.

    Raises:
        WorkbookError: LibreOffice is missing, failed, or wrote nothing.
    """
    soffice = find_soffice()
    if soffice is None:
        raise WorkbookError("LibreOffice is not installed (no soffice on PATH); install it "
                            "(Debian: apt-get install libreoffice-calc) to make PDFs")
    src = Path(path).resolve()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlcrm-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        if recalc:
            (user / "registrymodifications.xcu").write_text(_RECALC_ALWAYS, encoding="utf-8")
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
               "--norestore", "--nolockcheck", "--convert-to", fmt, "--outdir", str(out),
               str(src)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise WorkbookError(f"{src.name}: LibreOffice took over {timeout:.0f} s") from exc
    ext = fmt.split(":", 1)[0]
    produced = sorted(out.glob(f"{src.stem}*.{ext}"))
    if done.returncode != 0 or not produced:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise WorkbookError(f"{src.name}: LibreOffice could not convert it to {ext}"
                            + (f": {detail[-1]}" if detail else ""))
    return produced[0]
