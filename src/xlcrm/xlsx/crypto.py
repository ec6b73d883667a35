"""Password-protected workbooks: decrypted in memory only, written back encrypted.

Excel's "Encrypt with password" stores the workbook package inside an OLE file, encrypted with
ECMA-376 agile encryption (AES-256, SHA-512 key derivation); msoffcrypto-tool reads and writes
that format. This layer is thin on purpose: the rest of the package opens and saves
workbooks by path, and this module gives them a path that never touches a disk.

- **In.** :func:`unlock` (called by the safe opening) decrypts an encrypted workbook into an
  anonymous in-memory file (``memfd_create``; it has no name in any folder and vanishes with
  the process) and remembers it under the workbook's path. Every reader asks :func:`source`
  for the file to read, which is that in-memory copy for an unlocked workbook and the
  workbook itself otherwise.
- **Out.** :func:`write_sealed` (called by the safe save) has the new version written into a
  fresh in-memory file, encrypts it and only then writes the encrypted bytes to the save's
  temporary file. Backups of a plain workbook being protected are encrypted copies
  (:func:`sealed_copy`); backups of an encrypted one are the encrypted file itself.
- **Scope.** The password lives in a context variable for the length of one command
  (:func:`unlocked`, or the ``password=`` argument of a library twin, :func:`with_password`);
  every workbook saved meanwhile is encrypted with it, and the in-memory copies are closed when
  the command ends. It is never written anywhere nor printed.

Limits: in-memory files are a Linux facility; elsewhere an encrypted workbook is refused with
one line. Memory may still be swapped out by the operating system, as any program's may.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..errors import PasswordError

__all__ = ["MemoryFile", "decrypt_bytes", "encrypt_bytes", "is_encrypted", "memory_file",
           "password", "scratch_path", "sealed_copy", "sealed_output", "source", "unlock",
           "unlocked", "with_password", "write_sealed"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_password: ContextVar[str | None] = ContextVar("xlcrm_password", default=None)
_depth: ContextVar[int] = ContextVar("xlcrm_password_depth", default=0)
_lock = threading.Lock()

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class MemoryFile:
    """An anonymous in-memory file and a path other code (and other threads) can open it by."""

    fd: int
    path: Path
    stamp: tuple[int, int, int] | None = None  # the encrypted file it came from: ino, size, mtime

    def read(self) -> bytes:
        """The file's whole content."""
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, size, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


_views: dict[str, MemoryFile] = {}  # real path of an unlocked workbook -> its plain copy
_scratch: list[MemoryFile] = []  # files made while a password is active, closed at its end


def password() -> str | None:
    """The password of the command running now, ``None`` when it works on plain files."""
    return _password.get()


@contextlib.contextmanager
def unlocked(secret: str | None) -> Iterator[None]:
    """Work on password-protected workbooks with ``secret`` for the body.

    ``None`` changes nothing (a nested call without a password keeps the outer one). When the
    outermost body ends, every in-memory copy made for it is closed.
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
                for view in [*_views.values(), *_scratch]:
                    view.close()
                _views.clear()
                _scratch.clear()


def with_password(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a library twin under :func:`unlocked` with its ``password=`` keyword argument."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        secret = kwargs.get("password")
        with unlocked(secret if isinstance(secret, str) else None):
            return fn(*args, **kwargs)

    return run


def memory_file(name: str, data: bytes = b"") -> MemoryFile:
    """Make an anonymous in-memory file holding ``data``.

    Raises:
        PasswordError: the platform has no in-memory files (only Linux has them).
    """
    make = getattr(os, "memfd_create", None)
    if make is None:
        raise PasswordError(f"{name}: password-protected workbooks are worked on in memory, "
                            "which needs Linux; remove the password in Excel to use it here")
    fd = make(name, getattr(os, "MFD_CLOEXEC", 1))
    if data:
        os.write(fd, data)
    return MemoryFile(fd, Path(f"/proc/{os.getpid()}/fd/{fd}"))


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


def unlock(path: Path) -> Path:
    """Return the file to read for ``path``: itself when plain, else its decrypted in-memory copy.

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
            return known.path
    plain = decrypt_bytes(path.read_bytes(), secret, path.name)
    view = memory_file(path.name, plain)
    view.stamp = stamp
    with _lock:
        old = _views.pop(key, None)
        if old is not None:
            _scratch.append(old)  # a reader may still hold it open: closed at the end
        _views[key] = view
    return view.path


def source(path: str | Path) -> str:
    """The file a reader opens for the workbook ``path`` (its in-memory copy when unlocked)."""
    if not _views:
        return str(path)
    with _lock:
        view = _views.get(os.path.realpath(path))
    return str(view.path) if view is not None else str(path)


def write_sealed(write: Callable[[Path], object], tmp: Path, name: str
                 ) -> Callable[[Path], None] | None:
    """Have ``write`` write a new workbook version, encrypted when a password is active.

    Without a password, ``write`` writes ``tmp`` itself. With one, it writes an in-memory file,
    whose bytes are encrypted into ``tmp``: the plain version never reaches the disk.

    Returns:
        ``None`` for a plain save; else a function to call with the workbook's path once it
        has been replaced, so that later reads in the same command see the new version.
    """
    secret = _password.get()
    if secret is None:
        write(tmp)
        return None
    view = memory_file(name)
    try:
        write(view.path)
        plain = view.read()
        if plain.startswith(OLE_MAGIC):  # a restored version, encrypted already (clean's undo)
            tmp.write_bytes(plain)
            view.close()
            view = memory_file(name, decrypt_bytes(plain, secret, name))
        elif plain:
            tmp.write_bytes(encrypt_bytes(plain, secret))
    except BaseException:
        view.close()
        raise

    def remember(path: Path) -> None:
        view.stamp = _stamp(path)
        with _lock:
            old = _views.pop(os.path.realpath(path), None)
            if old is not None:
                _scratch.append(old)
            _views[os.path.realpath(path)] = view

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
def sealed_output(target: Path) -> Iterator[Path]:
    """A path to write a new workbook for ``target`` to, encrypted into ``target`` at the end
    when a password is active (a report workbook). Without one, ``target`` itself."""
    secret = _password.get()
    if secret is None:
        yield target
        return
    view = memory_file(target.name)
    try:
        yield view.path
        target.write_bytes(encrypt_bytes(view.read(), secret))
    finally:
        view.close()


@contextlib.contextmanager
def scratch_path(folder: Path, name: str) -> Iterator[Path]:
    """A path for a scratch workbook: in memory while a password is active, else in ``folder``.

    Scratch workbooks hold the owned sheets about to be written, names included, so they must
    not reach the disk of an encrypted workbook's user either.
    """
    if _password.get() is None:
        yield folder / name
        return
    view = memory_file(name)
    try:
        yield view.path
    finally:
        view.close()

