"""Encrypt a workbook with a password, or remove it: the twins of ``xlcrm protect`` and
``xlcrm unprotect``.

Protecting replaces the workbook, atomically, by its encrypted version (Excel's "Encrypt with
password", ECMA-376 agile encryption) and encrypts every copy of it in ``.xlcrm-backups``,
so no plain copy of the data stays beside it. The previous, plain version's backup is itself
encrypted. Unprotecting writes the plain workbook back (its backup is the encrypted file).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ArgumentError, UnreadableWorkbookError
from ..read import require_xlcrm_file
from ..xlsx.crypto import decrypt_bytes, encrypt_bytes, is_encrypted, unlocked
from ..xlsx.opening import safe_open
from ..xlsx.save import SaveResult, backups_of, safe_save

__all__ = ["protect", "unprotect"]


def _required(password: str | None, name: str) -> str:
    if not password:
        raise ArgumentError(f"{name}: give the password with --password-env NAME (the name of "
                            "an environment variable that holds it)")
    return password


def protect(path: str | Path, *, password: str | None = None, force: bool = False,
            backups: int = 5) -> SaveResult:
    """Encrypt the workbook at ``path`` in place with ``password``, and its backups.

    Args:
        path: a plain .xlsx or .xlsm workbook.
        password: the password to encrypt it with (Excel asks for it when opening the file).
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep (the plain one is kept encrypted).

    Returns:
        The workbook written and the (encrypted) backup of its plain version.

    Raises:
        ArgumentError: no password was given.
        UnreadableWorkbookError: the file is already encrypted or is no workbook.
        WorkbookLockedError: Excel or LibreOffice has it open.
    """
    target = Path(path).expanduser()
    secret = _required(password, target.name)
    if target.is_file() and is_encrypted(target):
        raise UnreadableWorkbookError(f"{target.name}: is already encrypted; unprotect it "
                                      "first to change its password")
    target, _ = safe_open(target, for_writing=True, force=force)
    require_xlcrm_file(target)  # a team's own workbook is never written: attach or adopt it
    with unlocked(secret):
        data = target.read_bytes()
        saved = safe_save(target, lambda tmp: tmp.write_bytes(data), force=force,
                          backups=backups)
        for copy in backups_of(saved.path):
            _seal_in_place(copy, secret)
    return saved


def unprotect(path: str | Path, *, password: str | None = None, force: bool = False,
              backups: int = 5) -> SaveResult:
    """Remove the password of the workbook at ``path``: write it back plain.

    Args:
        path: an encrypted workbook.
        password: its password.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep (the encrypted one is kept as it is).

    Raises:
        ArgumentError: no password was given.
        PasswordError: the password is wrong.
        UnreadableWorkbookError: the file is not encrypted, or is no workbook.
    """
    target = Path(path).expanduser()
    secret = _required(password, target.name)
    if not (target.is_file() and is_encrypted(target)):
        require_xlcrm_file(target)  # no such file, not a workbook, not xlcrm's: that first
        raise UnreadableWorkbookError(f"{target.name}: is not encrypted; nothing to remove")
    with unlocked(secret):
        target, _ = safe_open(target, for_writing=True, force=force)  # checks the password
        require_xlcrm_file(target)
    plain = decrypt_bytes(target.read_bytes(), secret, target.name)
    return safe_save(target, lambda tmp: tmp.write_bytes(plain), force=force, backups=backups)


def _seal_in_place(copy: Path, secret: str) -> None:
    """Replace a plain copy of the workbook by its encrypted version, atomically."""
    if not copy.is_file() or is_encrypted(copy):
        return
    sealed = encrypt_bytes(copy.read_bytes(), secret)
    partial = copy.with_name(f".{copy.name}.sealing.tmp")
    try:
        partial.write_bytes(sealed)
        os.replace(partial, copy)
    finally:
        partial.unlink(missing_ok=True)
