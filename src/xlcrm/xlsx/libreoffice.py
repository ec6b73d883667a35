"""Run LibreOffice headless: convert workbooks (PDF, CSV) with every formula recalculated.

LibreOffice keeps the cached values of an .xlsx by default and recalculates nothing, so each
run gets a throwaway profile whose settings say "always recalculate on load". Tests use this
to check that the formulas xlcrm writes give the values xlcrm cached; reports use it for PDF.
A caller converting many files can make one profile (:func:`office_profile`) and convert them
in one run (:func:`convert_many`): each start of LibreOffice costs seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import WorkbookError

__all__ = ["convert", "convert_many", "convert_privately", "find_soffice", "office_profile"]

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


@contextlib.contextmanager
def office_profile(*, recalc: bool = True, parent: Path | None = None) -> Iterator[Path]:
    """Make a throwaway LibreOffice profile, to pass as ``profile`` to many conversions.

    A fresh profile costs LibreOffice a first-start set-up; one made here is set up once.
    Only one LibreOffice may use a profile at a time.

    Args:
        recalc: the profile says "recalculate every formula on load".
        parent: the folder to make it in (default: the system's temporary folder).

    Yields:
        The profile's folder, deleted on exit.
    """
    with tempfile.TemporaryDirectory(prefix="xlcrm-lo-", dir=parent) as folder:
        user = Path(folder) / "user"
        user.mkdir()
        if recalc:
            (user / "registrymodifications.xcu").write_text(_RECALC_ALWAYS, encoding="utf-8")
        yield Path(folder)


def convert(path: str | Path, fmt: str, outdir: str | Path, *, recalc: bool = True,
            timeout: float = 300, profile: str | Path | None = None,
            tmpdir: Path | None = None) -> Path:
    """Convert ``path`` with LibreOffice headless and return the converted file.

    Args:
        path: the workbook to convert.
        fmt: a LibreOffice filter spec, such as ``pdf`` or
            ``csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1``
            (the last field, -1, writes every sheet to its own CSV file).
        outdir: folder for the output.
        recalc: recalculate every formula on load (a fresh profile that says so).
        timeout: seconds before giving up.
        profile: a profile from :func:`office_profile` to use instead of a fresh one (its
            settings then decide whether formulas are recalculated).
        tmpdir: the folder for LibreOffice's own temporary files (default: the system's).

    Raises:
        WorkbookError: LibreOffice is missing, failed, or wrote nothing.
    """
    return convert_many([path], fmt, outdir, recalc=recalc, timeout=timeout,
                        profile=profile, tmpdir=tmpdir)[0]


def convert_many(paths: Sequence[str | Path], fmt: str, outdir: str | Path, *,
                 recalc: bool = True, timeout: float = 300,
                 profile: str | Path | None = None, tmpdir: Path | None = None
                 ) -> list[Path]:
    """Convert several files in one LibreOffice run; return each one's output, in order.

    Arguments as for :func:`convert`; ``timeout`` is for the whole run. The files' names
    (without their suffix) must differ, since each output is named after its input.

    Raises:
        WorkbookError: LibreOffice is missing, failed, or wrote nothing for one of the files.
        ValueError: two files have the same name.
    """
    soffice = find_soffice()
    if soffice is None:
        raise WorkbookError("LibreOffice is not installed (no soffice on PATH); install it "
                            "(Debian: apt-get install libreoffice-calc) to make PDFs")
    sources = [Path(p).resolve() for p in paths]
    stems = [src.stem for src in sources]
    if len(set(stems)) != len(stems):
        raise ValueError(f"files to convert in one run need different names: {stems}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        folder = Path(profile) if profile is not None else stack.enter_context(
            office_profile(recalc=recalc))
        cmd = [soffice, f"-env:UserInstallation={folder.resolve().as_uri()}", "--headless",
               "--norestore", "--nolockcheck", "--convert-to", fmt, "--outdir", str(out),
               *(str(src) for src in sources)]
        env = None if tmpdir is None else {**os.environ, **dict.fromkeys(
            ("TMPDIR", "TMP", "TEMP"), str(tmpdir))}
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False, env=env)
        except subprocess.TimeoutExpired as exc:
            names = ", ".join(src.name for src in sources)
            raise WorkbookError(f"{names}: LibreOffice took over {timeout:.0f} s") from exc
    ext = fmt.split(":", 1)[0]
    results = []
    for src in sources:
        # one sheet per CSV file is named <stem>-<sheet>.csv
        exact = out / f"{src.stem}.{ext}"
        produced = [exact] if exact.exists() else sorted(out.glob(f"{src.stem}-*.{ext}"))
        if done.returncode != 0 or not produced:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise WorkbookError(f"{src.name}: LibreOffice could not convert it to {ext}"
                                + (f": {detail[-1]}" if detail else ""))
        results.append(produced[0])
    return results


def convert_privately(plain: bytes, name: str, fmt: str, *, timeout: float = 300) -> bytes:
    """Convert a plain workbook held in memory (an encrypted workbook's report) and return the
    converted file's bytes, leaving no plain file on a disk.

    LibreOffice reads files by name only, so the workbook, LibreOffice's profile and its own
    temporary files all go to a private folder kept in memory
    (:func:`~xlcrm.xlsx.crypto.memory_folder`), removed as soon as the conversion ends; no
    password is ever given to LibreOffice (a command line is visible to every user).

    Raises:
        PasswordError: the system has no folder kept in memory (Windows, macOS).
        WorkbookError: LibreOffice is missing or failed.
    """
    from .crypto import memory_folder

    with memory_folder(f"{name}: printing the report to {fmt.split(':', 1)[0].upper()}") \
            as folder:
        src = folder / name
        fd = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(plain)
        with office_profile(parent=folder) as profile:
            made = convert(src, fmt, folder / "out", timeout=timeout, profile=profile,
                           tmpdir=folder)
        return made.read_bytes()
