"""Safe opening, shared by every command: check a workbook file before any reader touches it.

Refused, with one readable line (:class:`~xlcrm.errors.UnreadableWorkbookError`): a path that
isn't an .xlsx/.xlsm, a file that isn't a zip (a CSV or an old .xls renamed), an encrypted
workbook without its password or with a wrong one (with it, its copy decrypted in memory by
:mod:`.crypto` is checked), a damaged zip, a zip bomb (absurd total size, entry count or
compression ratio), XML
parts that declare a DOCTYPE or entities (the billion-laughs family). A file held open in Excel
or LibreOffice (their lock files beside it) is a warning when reading and an error when writing.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import UnreadableWorkbookError, WorkbookLockedError
from ..issues import Issue
from .crypto import unlock

__all__ = ["Limits", "check_package", "check_zip", "lock_files", "safe_open"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """What a sane workbook package stays within; far beyond any real CRM workbook."""

    max_total_bytes: int = 2 * 2**30  # uncompressed, all parts together
    max_entries: int = 20_000
    max_ratio: float = 250.0  # uncompressed / compressed, for parts over ``ratio_floor``
    ratio_floor: int = 4 * 2**20
    xml_head_bytes: int = 4096  # a DOCTYPE must come before the root element


def lock_files(path: Path) -> list[Path]:
    """Return the lock files Excel (``~$name``) or LibreOffice (``.~lock.name#``) left beside
    ``path``, which mean someone has the workbook open."""
    candidates = [path.with_name(f"~${path.name}"), path.with_name(f".~lock.{path.name}#")]
    if len(path.name) > 2:  # Excel shortens long names: ~$ replaces the first two characters
        candidates.append(path.with_name(f"~${path.name[2:]}"))
    return [p for p in candidates if p.exists()]


def _sniff(path: Path) -> str | None:
    """Say what a file that isn't a zip looks like, for the error message."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in head:
            return "is encrypted (password-protected); give the name of an environment " \
                   "variable that holds its password with --password-env NAME"
        return "is an old-style .xls workbook or another Office file renamed; " \
               "open it in Excel or LibreOffice and save it as .xlsx"
    if not head:
        return "is empty (0 bytes)"
    if b"\x00" not in head[:4096]:
        return "is a text file (CSV?) renamed, not a workbook; " \
               "open it in Excel or LibreOffice and save it as .xlsx"
    return None


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ROOT = re.compile(rb"<[A-Za-z_]")


def _prolog(part: IO[bytes], chunk: int) -> bytes:
    """What comes before a part's root element (where a DOCTYPE would be), comments dropped:
    read chunk by chunk, however long the comments or blanks before the root are."""
    buf = b""
    while True:
        data = part.read(chunk)
        buf += data
        text = _COMMENT.sub(b"", buf)
        root = _ROOT.search(text)
        if root or not data:
            return text[:root.start()] if root else text


def check_zip(path: Path, limits: Limits = Limits(), *, what: str = "workbook") -> None:
    """Refuse a zip file (a lead file, an OpenDocument sheet) that would unpack to absurd
    sizes or holds an XML part declaring a DOCTYPE: the limits of :func:`check_package`.

    Raises:
        UnreadableWorkbookError: with the reason.
    """
    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            _check_entries(name, zf, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, UnreadableWorkbookError):
            raise
        raise UnreadableWorkbookError(f"{name}: is a damaged {what}: {exc}") from exc


def _check_entries(name: str, zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnreadableWorkbookError(
            f"{name}: refused: {len(infos):,} parts in the package (a zip bomb?)")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise UnreadableWorkbookError(
            f"{name}: refused: it would unpack to {total / 2**30:.1f} GiB (a zip bomb?)")
    for info in infos:
        if info.file_size > limits.ratio_floor and \
                info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise UnreadableWorkbookError(
                f"{name}: refused: part {info.filename} is compressed "
                f"{info.file_size / max(info.compress_size, 1):,.0f} to 1 (a zip bomb?)")
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise UnreadableWorkbookError(
                f"{name}: is damaged: part {info.filename} appears twice in the package")
        seen.add(info.filename)
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with zf.open(info) as part:
            head = _prolog(part, limits.xml_head_bytes)
        if _DTD.search(head):
            raise UnreadableWorkbookError(
                f"{name}: refused: part {info.filename} declares a DOCTYPE or entities, "
                "which workbooks never need (an XML bomb?)")


def check_package(path: Path, limits: Limits = Limits()) -> None:
    """Refuse a file that is not a workbook package a reader can safely open.

    Raises:
        UnreadableWorkbookError: with the reason and what to do.
    """
    name = path.name
    if not path.exists():
        raise UnreadableWorkbookError(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableWorkbookError(f"{path}: is a folder, not a workbook")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise UnreadableWorkbookError(f"{name}: not an .xlsx or .xlsm workbook")
    plain = unlock(path)  # an encrypted workbook: its decrypted copy, in memory only
    if not zipfile.is_zipfile(plain):
        what = _sniff(path) or "is damaged: not a complete zip package (truncated or corrupt)"
        raise UnreadableWorkbookError(f"{name}: {what}")
    try:
        with zipfile.ZipFile(plain) as zf:
            _check_entries(name, zf, limits)
            names = set(zf.namelist())
            if "[Content_Types].xml" not in names or not any(
                    n in names for n in ("xl/workbook.xml", "xl/workbook.bin")):
                raise UnreadableWorkbookError(
                    f"{name}: is a zip file but not a workbook (no xl/workbook.xml)")
            if "xl/workbook.bin" in names:
                raise UnreadableWorkbookError(
                    f"{name}: is a binary workbook (.xlsb) renamed; open it in Excel and save "
                    "it as Excel Workbook (.xlsx)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, UnreadableWorkbookError):
            raise
        raise UnreadableWorkbookError(f"{name}: is damaged: {exc}") from exc


def safe_open(path: str | Path, *, for_writing: bool = False, force: bool = False,
              limits: Limits = Limits()) -> tuple[Path, list[Issue]]:
    """Check ``path`` before reading (or writing) it; return it with any warnings.

    Args:
        path: the workbook.
        for_writing: the caller will replace the file: a lock file is then an error.
        force: write even though a lock file says the workbook is open.
        limits: zip-bomb limits.

    Raises:
        UnreadableWorkbookError: the file is not a workbook that can be read safely.
        WorkbookLockedError: writing was asked while Excel or LibreOffice has it open.
    """
    target = Path(path).expanduser()
    check_package(target, limits)
    issues = []
    locks = lock_files(target)
    if locks:
        message = (f"is open in Excel or LibreOffice (lock file {locks[0].name}); "
                   "save and close it there first")
        if for_writing and not force:
            raise WorkbookLockedError(f"{target.name}: {message}, or use --force")
        issues.append(Issue(sheet="", cell="", severity="warning", code="file-open",
                            message=f"{target.name} {message}; reading the last saved version"))
    return target, issues
