"""What the tests of encrypted workbooks share: the two files' first bytes, opening an
encrypted workbook as Excel does (msoffcrypto-tool, independent of xlcrm), and a recorder of
every file a command opens for writing (to prove no plain copy reaches the disk)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import msoffcrypto

#: an .xlsx package (a zip) and an encrypted workbook (an OLE compound file)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: files opened for writing while ``_watching`` is on
_written: list[str] = []
_watching = False


def decrypt(path: Path, secret: str) -> bytes:
    """The plain package of the encrypted workbook ``path``."""
    office = msoffcrypto.OfficeFile(io.BytesIO(path.read_bytes()))
    office.load_key(password=secret)
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def _audit(event: str, args: tuple[object, ...]) -> None:
    """Record every file opened for writing (``open()`` and ``os.open`` both raise "open")."""
    if not _watching or event != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
        (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
    if writing and isinstance(path, (str, bytes, os.PathLike)):
        _written.append(os.fsdecode(path))


sys.addaudithook(_audit)  # audit hooks can't be removed; it does nothing unless watching


@contextlib.contextmanager
def watching_writes() -> Iterator[list[str]]:
    """Record every file opened for writing in the body (the list yielded)."""
    global _watching
    _written.clear()
    _watching = True
    try:
        yield _written
    finally:
        _watching = False
