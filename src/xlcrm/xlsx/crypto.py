"""Password-protected workbooks: decrypted in memory only, written back encrypted.

Excel's "Encrypt with password" stores the workbook package inside an OLE file, encrypted with
ECMA-376 agile encryption (AES-256, SHA-512 key derivation); msoffcrypto-tool reads and writes
that format. This layer is thin on purpose: the rest of the package reads and writes workbooks
through a *place*, which is a path for a plain workbook and an in-memory file object
(:class:`MemoryFile`, an :class:`io.BytesIO`) for an encrypted one. zipfile, python-calamine
(``from_filelike``), openpyxl and XlsxWriter (``in_memory``) all take file objects, so one code
path serves Linux, Windows and macOS alike, and no plain byte of an encrypted workbook is ever
written to a disk, temporary files included.

- **In.** :func:`unlock` (called by the safe opening) decrypts an encrypted workbook into memory
  and remembers the plain bytes under the workbook's path. Every reader asks :func:`source` for
  what to read, which is a fresh file object over those bytes for an unlocked workbook (one per
  reader, so that threads never share a file position) and the workbook's path otherwise.
- **Out.** :func:`write_sealed` (called by the safe save) has the new version written into a
  :class:`MemoryFile`, encrypts its bytes and only then writes them to the save's temporary
  file. Backups of a plain workbook being protected are encrypted copies (:func:`sealed_copy`);
  backups of an encrypted one are the encrypted file itself. Scratch workbooks
  (:func:`scratch_path`) and answers written beside the workbook (:func:`sealed_output`: the
  report workbook, a person's data) are memory files too while a password is active.
- **Scope.** The password lives in a context variable for the length of one command
  (:func:`unlocked`, or the ``password=`` argument of a library twin, :func:`with_password`);
  every workbook saved meanwhile is encrypted with it, and the plain copies are dropped when
  the command ends. It is never written anywhere nor printed.

A :class:`MemoryFile` has no name on any disk: asking for one (``str()``) raises, so code that
would hand it to a program needing a file name fails loudly instead of writing a plain file by
that name. Limits: memory may still be swapped out by the operating
system, as any program's may, and Python gives no way to wipe a bytes object before it is
freed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeAlias, TypeVar

from ..errors import PasswordError

__all__ = ["OLE_MAGIC", "MemoryFile", "Place", "decrypt_bytes", "encrypt_bytes",
           "encrypt_pdf", "has_memory_folder", "is_encrypted", "keep_in_memory", "memory_file",
           "memory_folder", "opened", "password", "scratch_path", "sealed_copy",
           "sealed_output", "source", "unlock", "unlocked", "with_password", "write_sealed"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_password: ContextVar[str | None] = ContextVar("xlcrm_password", default=None)
_depth: ContextVar[int] = ContextVar("xlcrm_password_depth", default=0)
_lock = threading.Lock()

P = ParamSpec("P")
R = TypeVar("R")


class MemoryFile(io.BytesIO):
    """An in-memory workbook file: what is written to it stays in this process's memory.

    It answers the few path methods the writers use (``write_bytes``, ``read_bytes``,
    ``name``), so a function that writes a new version works on either place; it has no path
    (``str()`` raises, and it is no :class:`os.PathLike`), so it is never taken for a file name.
    """

    def __init__(self, name: str, data: bytes = b"") -> None:
        super().__init__(data)
        self.name = name

    def __str__(self) -> str:
        raise TypeError(f"{self.name}: an in-memory workbook has no path; pass the file object")

    def write_bytes(self, data: bytes) -> int:
        """Replace the content with ``data`` (as :meth:`pathlib.Path.write_bytes` does)."""
        self.seek(0)
        self.truncate()
        return self.write(data)

    def read_bytes(self) -> bytes:
        """The whole content, wherever the position is."""
        return self.getvalue()

    def reopened(self) -> MemoryFile:
        """A new file object over the same content, at its start (for one more reader)."""
        return MemoryFile(self.name, self.getvalue())


#: Where a workbook is read from or written to: a file, or an in-memory file when encrypted.
Place: TypeAlias = "Path | MemoryFile"


@dataclass
class _View:
    """The decrypted bytes of an unlocked workbook and the encrypted file they came from."""

    plain: bytes
    stamp: tuple[int, int, int] | None = None  # ino, size, mtime of the encrypted file


_views: dict[str, _View] = {}  # real path of an unlocked workbook -> its plain bytes


def password() -> str | None:
    """The password of the command running now, ``None`` when it works on plain files."""
    return _password.get()


@contextlib.contextmanager
def unlocked(secret: str | None) -> Iterator[None]:
    """Work on password-protected workbooks with ``secret`` for the body.

    ``None`` changes nothing (a nested call without a password keeps the outer one). When the
    outermost body ends, every plain copy made for it is dropped.
    """
    if secret is None:
        yield
        return
    if secret == "":
        raise PasswordError("the password is empty; put the workbook's password in the "
                            "environment variable given to --password-env")
    token, depth = _password.set(secret), _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(depth)
        _password.reset(token)
        if _depth.get() == 0:
            with _lock:
                _views.clear()


def with_password(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a library twin under :func:`unlocked` with its ``password=`` keyword argument."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        secret = kwargs.get("password")
        with unlocked(secret if isinstance(secret, str) else None):
            return fn(*args, **kwargs)

    return run


def memory_file(name: str, data: bytes = b"") -> MemoryFile:
    """Make an in-memory file named ``name`` (for messages only) holding ``data``."""
    return MemoryFile(name, data)


def opened(place: str | Path | MemoryFile) -> str | MemoryFile:
    """What a reader opens for ``place``: a file name, or a fresh in-memory file object."""
    return place.reopened() if isinstance(place, MemoryFile) else str(place)


def is_encrypted(path: Path) -> bool:
    """Tell whether ``path`` is an encrypted Office file (an OLE file with an encrypted package)."""
    with path.open("rb") as fh:
        if fh.read(len(OLE_MAGIC)) != OLE_MAGIC:
            return False
        fh.seek(0)
        msoffcrypto = _msoffcrypto(path.name)
        try:
            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
        except Exception:  # noqa: BLE001 - an OLE file msoffcrypto can't parse is no workbook
            return False


def _msoffcrypto(name: str) -> Any:
    """msoffcrypto-tool, imported when a workbook is encrypted (most never are)."""
    try:
        import msoffcrypto
    except ImportError:
        raise PasswordError(f"{name}: is encrypted, and reading encrypted workbooks needs "
                            "msoffcrypto-tool: pip install msoffcrypto-tool") from None
    return msoffcrypto


def decrypt_bytes(data: bytes, secret: str, name: str) -> bytes:
    """Decrypt an encrypted workbook's bytes.

    Raises:
        PasswordError: the password is wrong, or the file is not an encrypted workbook.
    """
    msoffcrypto = _msoffcrypto(name)
    from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        office.load_key(password=secret)
        out = io.BytesIO()
        office.decrypt(out)
    except InvalidKeyError:
        raise PasswordError(f"{name}: the password does not open it (wrong password); "
                            "nothing was changed") from None
    except (DecryptionError, FileFormatError, ValueError, AssertionError) as exc:
        raise PasswordError(f"{name}: can't be decrypted ({exc}); nothing was changed") from None
    return out.getvalue()


def encrypt_bytes(data: bytes, secret: str) -> bytes:
    """Encrypt a workbook package's bytes with ``secret`` (ECMA-376 agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(secret, out)
    return out.getvalue()


def _stamp(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns


def unlock(path: Path) -> Place:
    """Return what to read for ``path``: itself when plain, else its decrypted in-memory copy.

    Raises:
        PasswordError: the workbook is encrypted and no password, or a wrong one, was given.
    """
    if not is_encrypted(path):
        return path
    secret = _password.get()
    if secret is None:
        raise PasswordError(f"{path.name}: is encrypted (password-protected); give the name "
                            "of an environment variable that holds its password with "
                            "--password-env NAME")
    key, stamp = os.path.realpath(path), _stamp(path)
    with _lock:
        known = _views.get(key)
        if known is not None and known.stamp == stamp:
            return MemoryFile(path.name, known.plain)
    plain = decrypt_bytes(path.read_bytes(), secret, path.name)
    with _lock:
        _views[key] = _View(plain, stamp)
    return MemoryFile(path.name, plain)


def keep_in_memory(path: Path, plain: bytes) -> None:
    """Have readers of ``path`` read ``plain`` instead, until the command ends: a plain copy
    made of an unlocked workbook (one read without its far stray cells), which must not be
    written to ``path`` itself."""
    with _lock:
        _views[os.path.realpath(path)] = _View(plain)


def source(path: str | Path) -> str | MemoryFile:
    """What a reader opens for the workbook ``path``: a fresh in-memory file over its plain
    bytes when it was unlocked, else its file name. Each call gives a file object of its own
    (no copy is made: they share the bytes), so readers in other threads never share one."""
    if not _views:
        return str(path)
    with _lock:
        view = _views.get(os.path.realpath(path))
    return MemoryFile(Path(path).name, view.plain) if view is not None else str(path)


def write_sealed(write: Callable[[Place], object], tmp: Path, name: str
                 ) -> Callable[[Path], None] | None:
    """Have ``write`` write a new workbook version, encrypted when a password is active.

    Without a password, ``write`` writes ``tmp`` itself. With one, it writes a
    :class:`MemoryFile`, whose bytes are encrypted into ``tmp``: the plain version never
    reaches the disk.

    Returns:
        ``None`` for a plain save; else a function to call with the workbook's path once it
        has been replaced, so that later reads in the same command see the new version.
    """
    secret = _password.get()
    if secret is None:
        write(tmp)
        return None
    memory = MemoryFile(name)
    write(memory)
    plain = memory.getvalue()
    del memory
    if plain.startswith(OLE_MAGIC):  # a restored version, encrypted already (clean's undo)
        tmp.write_bytes(plain)
        plain = decrypt_bytes(plain, secret, name)
    elif plain:
        tmp.write_bytes(encrypt_bytes(plain, secret))

    def remember(path: Path) -> None:
        with _lock:
            _views[os.path.realpath(path)] = _View(plain, _stamp(path))

    return remember


def sealed_copy(path: Path) -> bytes | None:
    """The encrypted bytes a backup of ``path`` must hold, when that is not the file itself.

    ``None`` when no password is active or ``path`` is already encrypted (its backup is a plain
    copy or hard link of it); else ``path`` is a plain workbook about to be protected, and its
    backup must not be a plain copy.
    """
    secret = _password.get()
    if secret is None or is_encrypted(path):
        return None
    return encrypt_bytes(path.read_bytes(), secret)


@contextlib.contextmanager
def sealed_output(target: Path) -> Iterator[Place]:
    """Where to write a new file for ``target``: ``target`` itself, or, while a password is
    active, a :class:`MemoryFile` whose bytes are encrypted into ``target`` at the end (the
    report workbook, a person's data)."""
    secret = _password.get()
    if secret is None:
        yield target
        return
    memory = MemoryFile(target.name)
    yield memory
    target.write_bytes(encrypt_bytes(memory.getvalue(), secret))


@contextlib.contextmanager
def scratch_path(folder: Path, name: str) -> Iterator[Place]:
    """A place for a scratch workbook: in memory while a password is active, else in ``folder``.

    Scratch workbooks hold the owned sheets about to be written, names included, so they must
    not reach the disk of an encrypted workbook's user either.
    """
    if _password.get() is None:
        yield folder / name
        return
    yield MemoryFile(name)


#: folders whose files live in memory (tmpfs), first the user's own
_MEMORY_FOLDERS = ("XDG_RUNTIME_DIR", "/dev/shm")
_MEMORY_FILE_SYSTEMS = {"tmpfs", "ramfs"}


def _memory_parent() -> Path | None:
    """A folder of this system whose files live in memory, ``None`` when there is none."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:  # not Linux: Windows and macOS have no such folder by default
        return None
    kinds = {}
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3:
            kinds[fields[1].replace("\\040", " ")] = fields[2]
    for name in _MEMORY_FOLDERS:
        folder = os.environ.get(name, "") if name.isupper() else name
        if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            continue
        real = os.path.realpath(folder)
        mount = max((m for m in kinds if real == m or real.startswith(m.rstrip("/") + "/")),
                    key=len, default=None)
        if mount is not None and kinds[mount] in _MEMORY_FILE_SYSTEMS:
            return Path(real)
    return None


def has_memory_folder() -> bool:
    """Tell whether :func:`memory_folder` can make a folder here (Linux: yes)."""
    return _memory_parent() is not None


@contextlib.contextmanager
def memory_folder(what: str) -> Iterator[Path]:
    """A private folder whose files live in memory (tmpfs), removed with all it holds at the end.

    For the one case where another program (LibreOffice, printing the report to PDF) must read
    a plain workbook by name: the folder is the user's alone (mode 0700), in a file system
    kept in memory, and is removed as soon as the body ends, however it ends.

    Raises:
        PasswordError: the system has no such file system (Windows, macOS); ``what`` says
            what could not be done.
    """
    parent = _memory_parent()
    if parent is None:
        raise PasswordError(f"{what} of an encrypted workbook needs a folder kept in memory "
                            "(/dev/shm), which this system lacks; nothing was written")
    folder = Path(tempfile.mkdtemp(prefix="xlcrm-", dir=parent))  # mode 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def encrypt_pdf(data: bytes, secret: str) -> bytes:
    """Encrypt a PDF with ``secret`` (PDF standard security handler, AES-256, revision 6): a
    PDF reader asks for the password before it shows a page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=secret, owner_password=secret, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
