"""The write lock of a workbook: one xlcrm run reads, changes and writes it at a time.

:func:`workbook_lock` is held around a whole read-modify-write command (an import reads the
lead sheet, decides which rows are new and appends them; a second import must see the first
one's rows), and :func:`~xlcrm.xlsx.save.safe_save` takes it too, so a save is always
serialised. The lock is re-entrant within one thread: the command's saves run under it.

How it is held:

- **On Linux and macOS the workbook file itself is locked** (``flock``), so nothing is left
  beside it. Because a save renames a new file over the workbook, the lock follows the name:
  whoever takes it checks that the file it locked is still the one of that name (and tries
  again when it is not), and a save locks its new version before renaming it into place
  (:func:`carry_lock`), so the name never points at an unlocked file while the run holds it.
  A workbook that does not exist yet (``init``) is covered by its folder's lock.
- **On Windows** a lock file ``.crm.xlsx.xlcrm-lock`` beside the workbook is locked
  (``msvcrt.locking``): Windows locks are mandatory, and a lock on the workbook would stop
  xlcrm itself reading it. That empty file stays (removing it would let two runs lock two
  files of one name).

The operating system drops the lock when its holder exits or is killed, so a crashed run
never leaves the workbook locked. The lock only coordinates xlcrm runs; it is as reliable as
the file locking of the share the workbook is on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from ..errors import WorkbookBusyError, WorkbookError

__all__ = ["carry_lock", "locked_command", "refuse_read_only", "workbook_lock"]

_F = TypeVar("_F", bound=Callable[..., Any])

_POLL_SECONDS = 0.05


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def _key(path: Path) -> str:
    return os.path.realpath(path)


def refuse_read_only(path: Path, name: str) -> None:
    """Refuse a workbook marked read-only (no write permission bit) before anything is done.

    Raises:
        WorkbookError: the file is read-only; nothing was written.
    """
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_IMODE(os.stat(path).st_mode) & 0o222:
            raise WorkbookError(f"{name}: is read-only; nothing was written. Make it "
                                "writable (file properties, or chmod u+w) and try again")


@contextlib.contextmanager
def workbook_lock(path: str | Path, *, timeout: float = 30.0) -> Iterator[None]:
    """Hold the write lock of the workbook ``path`` for the body (re-entrant in one thread).

    Args:
        path: the workbook (a symbolic link locks the file it points to).
        timeout: seconds to wait for another xlcrm run that holds it.

    Raises:
        WorkbookBusyError: another run held it for ``timeout`` seconds.
        WorkbookError: the workbook is read-only, or its lock can't be taken.
    """
    target = Path(path).expanduser()
    name = target.name
    key = _key(target)
    me = threading.get_ident()
    with _GUARD:
        held = _HELD.get(key)
        if held is not None and held.thread == me:
            held.depth += 1
            mine = True
        else:
            mine = False
    if mine:
        try:
            yield
        finally:
            with _GUARD:
                _HELD[key].depth -= 1
        return
    refuse_read_only(Path(key), name)
    fd = _acquire(Path(key), name, timeout)
    with _GUARD:
        _HELD[key] = _Held(fd, me, 1)
    try:
        yield
    finally:
        with _GUARD:
            fd = _HELD.pop(key).fd
        _unlock(fd)
        os.close(fd)


def locked_command(writes: Callable[[dict[str, Any]], bool], *, timeout: float = 120.0
                   ) -> Callable[[_F], _F]:
    """Run a read-modify-write command (first argument: the workbook) under its write lock.

    The lock is taken before the command reads the workbook and released after its last
    save, so two runs at once serialise and the second reads what the first wrote.

    Args:
        writes: given the command's keyword arguments, tells whether this call writes (a dry
            run only reads, and takes no lock).
        timeout: seconds to wait for another run.
    """
    def wrap(command: _F) -> _F:
        @functools.wraps(command)
        def locked(path: str | Path, *args: Any, **kwargs: Any) -> Any:
            if not writes(kwargs):
                return command(path, *args, **kwargs)
            with workbook_lock(path, timeout=timeout):
                return command(path, *args, **kwargs)
        return cast(_F, locked)
    return wrap


def carry_lock(path: Path, new_version: Path) -> contextlib.AbstractContextManager[None]:
    """Move a held lock of ``path`` onto ``new_version`` as it is renamed over ``path``.

    Used by the save around ``os.replace(new_version, path)``: the new file is locked before
    the rename, and the old one unlocked after it, so no run can lock the new version in
    between. Does nothing on Windows (the lock file does not move) or when no lock is held.
    """
    return _carry(path, new_version)


@contextlib.contextmanager
def _carry(path: Path, new_version: Path) -> Iterator[None]:
    key = _key(path)
    with _GUARD:
        held = _HELD.get(key)
    if sys.platform == "win32" or held is None or held.thread != threading.get_ident():
        yield
        return
    fd = os.open(new_version, os.O_RDWR)
    try:
        if not _try_lock(fd):  # a fresh private file: nobody else can hold it
            raise WorkbookError(f"{path.name}: could not lock its new version")
        yield
    except BaseException:
        os.close(fd)
        raise
    old = held.fd
    held.fd = fd
    _unlock(old)
    os.close(old)


def _acquire(path: Path, name: str, timeout: float) -> int:
    """Take the lock; return the descriptor holding it."""
    deadline = time.monotonic() + timeout
    while True:
        fd = _open_lockable(path, name)
        if _try_lock(fd):
            if sys.platform == "win32" or _same_file(fd, path):
                return fd
            # the workbook was replaced while we waited: lock the file now of that name
            _unlock(fd)
            os.close(fd)
            continue
        os.close(fd)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkbookBusyError(f"{name}: another xlcrm run is updating it; "
                                    "try again when it has finished")
        time.sleep(min(_POLL_SECONDS, remaining))


def _open_lockable(path: Path, name: str) -> int:
    """Open what is locked for ``path``: the workbook, its folder, or (Windows) a lock file."""
    try:
        if sys.platform == "win32":
            lock_path = path.with_name(f".{path.name}.xlcrm-lock")
            try:
                return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except PermissionError:  # made by another user: reading is enough to lock it
                return os.open(lock_path, os.O_RDONLY)
        try:
            return os.open(path, os.O_RDWR)
        except FileNotFoundError:  # a new workbook: its folder stands for it
            return os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except (PermissionError, IsADirectoryError):
            return os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise WorkbookError(f"{name}: failed taking its write lock "
                            f"({exc.strerror or exc}); nothing was written") from exc


def _same_file(fd: int, path: Path) -> bool:
    """True when ``fd`` is the file (or, for a new workbook, the folder) of ``path`` now."""
    mine = os.fstat(fd)
    try:
        now = os.stat(path)
    except FileNotFoundError:
        # the workbook was removed while we waited: its folder's lock stands for it
        return stat.S_ISDIR(mine.st_mode)
    if stat.S_ISDIR(mine.st_mode):
        return False  # the workbook appeared while we waited for its folder
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _try_lock(fd: int) -> bool:
    """Try once to take the exclusive lock on ``fd``; say whether it was taken."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)  # locks the first byte, even of an empty file
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    else:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _unlock(fd: int) -> None:
    """Release the lock taken by :func:`_try_lock` (closing ``fd`` releases it too)."""
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
