"""Safe save: how every xlcrm command that changes a workbook writes it.

:func:`safe_save` guarantees, for a workbook such as ``crm.xlsx``:

- **One xlcrm writer at a time.** The write lock of :mod:`.lock` (the workbook itself, held
  with ``flock``; a lock file on Windows) serialises xlcrm runs on the same file, whichever
  process or thread they come from; a command that reads, changes and writes holds it around
  all three. The operating system drops the lock when its holder exits or is killed, so a
  crashed run never leaves the workbook locked, and no lock file is left beside it.
- **Never a read-only file.** A workbook without write permission is refused, not replaced.
- **Never under someone's feet.** While Excel or LibreOffice has the workbook open (their lock
  files ``~$crm.xlsx`` and ``.~lock.crm.xlsx#`` beside it) nothing is written, unless ``force``
  is given. This is checked before the new version is written and again just before it
  replaces the workbook.
- **All or nothing.** The new version is written to a temporary file in the same folder,
  flushed to disk, and renamed over the workbook in one step. A reader, a crash, a killed
  process or a power cut leaves either the previous version or the complete new one, never a
  mix or a truncated file. When anything fails, the temporary file is removed and the
  workbook is left byte for byte as it was. Temporary files left by a killed run are removed
  by the next save of the same workbook.
- **The previous version is kept.** It goes to ``.xlcrm-backups/crm.YYYYmmdd-HHMMSS-ffffff.xlsx``
  beside the workbook (a hard link when the file system allows it, so it costs no space and
  no time), and only the newest ``backups`` copies of this workbook are kept there.
- **Same permissions.** The new version gets the permission bits of the one it replaces (a new
  workbook gets those of any newly created file).

Limits: the rename makes the workbook a new file, so the owner (when saving another user's
file), extended attributes and ACLs beyond the permission bits are not carried over, nor are
hard links to it from elsewhere. A symbolic link is followed: the file it points to is
replaced and the link is kept. The write lock only coordinates xlcrm runs; it is as reliable
as the file locking of the share the workbook is on. Backups are told apart by file name, so
two workbooks with the same name should not share one ``backup_dir``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkbookError, WorkbookExistsError, WorkbookLockedError
from .crypto import Place, sealed_copy, write_sealed
from .lock import carry_lock, workbook_lock
from .opening import lock_files

__all__ = ["SaveResult", "backups_of", "prepare_target", "remove_durably", "safe_save",
           "write_durably"]

BACKUP_FOLDER = ".xlcrm-backups"
_STAMP = "%Y%m%d-%H%M%S-%f"


@dataclass(frozen=True)
class SaveResult:
    """What :func:`safe_save` wrote.

    Attributes:
        path: the workbook written (the file a symbolic link pointed to, for a link).
        backup: the copy of the previous version, ``None`` if there was none (a new workbook,
            or ``backups=0``).
    """

    path: Path
    backup: Path | None


def safe_save(target: str | Path, write: Callable[[Place], object], *, backups: int = 5,
              backup_dir: str | Path | None = None, force: bool = False,
              lock_timeout: float = 30.0) -> SaveResult:
    """Replace ``target`` with what ``write`` produces, atomically, keeping a backup.

    ``write`` is called once, under the write lock, with a temporary path beside ``target``;
    it must write the complete new workbook there (the file already exists, empty). While a
    password is active (:mod:`.crypto`) it is given an in-memory file instead, whose bytes are
    encrypted into the temporary file: ``write`` must then not ask it for a path. Read the
    current workbook inside ``write`` when the new version is derived from it, so that no other
    xlcrm run can change it in between.

    Args:
        target: the workbook to create or replace.
        write: writes the new version to the place it is given (a path or a memory file).
        backups: how many previous versions of this workbook to keep; ``0`` makes no backup
            and leaves earlier backups alone.
        backup_dir: where backups go; ``.xlcrm-backups`` beside the workbook by default.
            Created when needed.
        force: write even though Excel or LibreOffice has the workbook open.
        lock_timeout: seconds to wait for another xlcrm run that is writing the same workbook.

    Returns:
        The workbook written and the backup of its previous version.

    Raises:
        WorkbookBusyError: another xlcrm run held the write lock for ``lock_timeout`` seconds.
        WorkbookError: the workbook is read-only (no write permission).
        WorkbookLockedError: Excel or LibreOffice has the workbook open and ``force`` is false.
        WorkbookError: the folder is missing or not writable, ``write`` produced no file or an
            empty one, or the backup or the replacement failed. The workbook is unchanged.
        ValueError: ``backups`` or ``lock_timeout`` is negative.
        Exception: whatever ``write`` raises, unchanged; the workbook is unchanged.
    """
    if backups < 0:
        raise ValueError(f"backups must be 0 or more, not {backups}")
    if lock_timeout < 0:
        raise ValueError(f"lock_timeout must be 0 or more, not {lock_timeout}")
    given = Path(target).expanduser()
    path = Path(os.path.realpath(given)) if given.is_symlink() else given
    name = given.name
    if path.is_dir():
        raise WorkbookError(f"{name}: is a folder, not a workbook")
    if not path.parent.is_dir():
        raise WorkbookError(f"{name}: the folder {path.parent} does not exist")
    folder = Path(backup_dir).expanduser() if backup_dir is not None else \
        path.parent / BACKUP_FOLDER

    with workbook_lock(path, timeout=lock_timeout):
        _refuse_if_open(given, path, force)
        _remove_old_lock_file(path)
        _remove_stale_temps(path)
        with _os_step(name, "creating a temporary file beside it"):
            tmp, new_file_mode = _new_temp(path)
        backup: Path | None = None
        remember = None
        try:
            remember = write_sealed(write, tmp, name)  # encrypted when a password is given
            _finish_temp(tmp, name)
            _refuse_if_open(given, path, force)  # opened while the new version was written?
            with _os_step(name, "setting the permissions of the new version"):
                existing = _mode(path)
                os.chmod(tmp, new_file_mode if existing is None else existing)
            if existing is not None and backups > 0:
                with _os_step(name, f"keeping a backup of the previous version in {folder}"):
                    backup = _make_backup(path, folder)
            with _os_step(name, "replacing it with the new version"), carry_lock(path, tmp):
                os.replace(tmp, path)
            if remember is not None:
                remember(path)
        except BaseException:
            if backup is not None and os.path.lexists(tmp):  # the workbook was not replaced
                with contextlib.suppress(OSError):
                    backup.unlink()
            raise
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        _fsync_folder(path.parent)
        if backup is not None:
            _prune(backup.parent, path, keep=backups)
    return SaveResult(path=path, backup=backup)


# ----- the steps of a save ----------------------------------------------------------------
@contextlib.contextmanager
def _os_step(name: str, what: str) -> Iterator[None]:
    """Turn an operating-system error of one step into a one-line :class:`WorkbookError`."""
    try:
        yield
    except WorkbookError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkbookError(f"{name}: failed {what} ({reason}); the workbook is unchanged") \
            from exc


def _refuse_if_open(given: Path, path: Path, force: bool) -> None:
    """Raise :class:`WorkbookLockedError` when Excel or LibreOffice has the workbook open."""
    if force:
        return
    found = lock_files(path) if given == path else lock_files(given) + lock_files(path)
    if found:
        raise WorkbookLockedError(
            f"{given.name}: is open in Excel or LibreOffice (lock file {found[0].name}); "
            "save and close it there first, or use --force")


def _remove_old_lock_file(path: Path) -> None:
    """Remove the empty lock file earlier versions kept beside the workbook (not on Windows,
    where it is still the lock)."""
    if sys.platform != "win32":
        old = path.with_name(f".{path.name}.xlcrm-lock")
        with contextlib.suppress(OSError):
            if os.lstat(old).st_size == 0:
                old.unlink()


def _temp_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(path.stem)}\.[0-9a-f]{{12}}{re.escape(path.suffix)}\.tmp")


def _new_temp(path: Path) -> tuple[Path, int]:
    """Create an empty, uniquely named temporary file beside ``path``.

    Returns:
        Its path, and the permission bits the system gave it: those of any new file there.
    """
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}{path.suffix}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        try:
            return tmp, stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files a killed save of this workbook left (the caller holds the lock)."""
    pattern = _temp_pattern(path)
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _finish_temp(tmp: Path, name: str) -> None:
    """Check that ``write`` left a non-empty file at ``tmp``, and flush it to disk."""
    try:
        info = os.lstat(tmp)
    except FileNotFoundError:
        raise WorkbookError(f"{name}: the new version was not written (its temporary file is "
                            "missing); the workbook is unchanged") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        raise WorkbookError(f"{name}: the new version is empty or not a file; "
                            "the workbook is unchanged")
    with _os_step(name, "flushing the new version to disk"), tmp.open("rb+") as fh:
        fh.flush()
        _fsync(fh.fileno())


def _mode(path: Path) -> int | None:
    """The permission bits of ``path``, ``None`` when it does not exist."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _fsync(fd: int) -> None:
    """Flush ``fd`` to the disk itself (on macOS ``fsync`` alone stops at the drive's cache)."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:  # not every file system supports it
            pass
    os.fsync(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename or new name in ``folder`` durable, where the platform can."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            _fsync(fd)
        finally:
            os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing, as the workbook is saved: a temporary file in
    the same folder, flushed to disk, renamed over ``path``, the folder flushed. A crash leaves
    the old file or the complete new one.

    Raises:
        OSError: the file could not be written (``path`` is then unchanged).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with partial.open("wb") as fh:
            fh.write(data)
            fh.flush()
            _fsync(fh.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def remove_durably(*paths: Path) -> None:
    """Remove files (those missing are skipped) and flush their folders, so the removal
    survives a crash."""
    folders = set()
    for path in paths:
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in folders:
        _fsync_folder(folder)


# ----- backups ----------------------------------------------------------------------------
def _backups_of(folder: Path, path: Path) -> list[Path]:
    """The backups of ``path`` in ``folder``, oldest first."""
    pattern = re.compile(
        rf"{re.escape(path.stem)}\.[0-9]{{8}}-[0-9]{{6}}-[0-9]{{6}}{re.escape(path.suffix)}")
    try:
        names = [e.name for e in os.scandir(folder) if pattern.fullmatch(e.name)]
    except FileNotFoundError:
        return []
    return [folder / n for n in sorted(names)]  # same prefix, fixed-width stamp: sorts by time


def backups_of(path: Path, folder: Path | None = None) -> list[Path]:
    """Every copy of ``path`` kept in its backup folder, oldest first: the backups of each save
    and any other copy named after it there (``crm.before-merge.xlsx``)."""
    folder = folder if folder is not None else path.parent / BACKUP_FOLDER
    try:
        return sorted(folder / e.name for e in os.scandir(folder)
                      if e.name.startswith(f"{path.stem}.") and e.name.endswith(path.suffix))
    except FileNotFoundError:
        return []


def _make_backup(path: Path, folder: Path) -> Path:
    """Keep the current version of ``path`` in ``folder``; return the backup's path.

    The name carries the time; it is made later than every existing backup's, so the newest
    backup always sorts last even if the clock went back (summer time ending).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now()
    existing = _backups_of(folder, path)
    if existing:
        with contextlib.suppress(ValueError):  # a name that only looks like a time
            last = dt.datetime.strptime(existing[-1].name[len(path.stem) + 1:][:22], _STAMP)
            stamp = max(stamp, last + dt.timedelta(microseconds=1))
    shared = os.stat(path).st_nlink > 1  # a link would share the file with its other names
    sealed = sealed_copy(path)  # a plain workbook being protected: its backup is encrypted
    while True:
        backup = folder / f"{path.stem}.{stamp.strftime(_STAMP)}{path.suffix}"
        stamp += dt.timedelta(microseconds=1)
        if os.path.lexists(backup):
            continue
        if sealed is not None:
            _copy(path, backup, data=sealed)
            break
        if not shared:
            try:
                os.link(path, backup)
                break
            except FileExistsError:
                continue
            except OSError:  # no hard links on this file system, or another drive
                pass
        _copy(path, backup)
        break
    _fsync_folder(folder)
    return backup


def _copy(path: Path, backup: Path, *, data: bytes | None = None) -> None:
    """Copy ``path`` (or write ``data``) to ``backup`` so that ``backup`` never exists
    half-written."""
    partial = backup.with_name(f".{backup.name}.{secrets.token_hex(6)}.tmp")
    try:
        if data is None:
            shutil.copy2(path, partial)
        else:
            partial.write_bytes(data)
        with partial.open("rb+") as fh:
            _fsync(fh.fileno())
        os.replace(partial, backup)
    finally:
        partial.unlink(missing_ok=True)


def _prune(folder: Path, path: Path, *, keep: int) -> None:
    """Remove the oldest backups of ``path`` in ``folder`` beyond the newest ``keep``."""
    for old in _backups_of(folder, path)[:-keep]:
        with contextlib.suppress(OSError):  # best effort: the save itself has succeeded
            old.unlink()


def prepare_target(path: str | Path, *, force: bool) -> Path:
    """Check that a new workbook may be written at ``path`` and create its folder.

    Raises:
        WorkbookError: the name does not end in .xlsx.
        WorkbookExistsError: the file exists and ``force`` is false.
    """
    target = Path(path).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{target}: a CRM workbook must be an .xlsx file; "
                            f"name it {target.with_suffix('.xlsx').name}")
    if target.exists() and not force:
        raise WorkbookExistsError(f"{target} already exists; nothing was written. "
                                  "Choose another name or overwrite it with --force")
    if target.is_dir():
        raise WorkbookError(f"{target} is a folder; give a file name ending in .xlsx")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
