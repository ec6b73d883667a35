"""The command line's commands for personal data: ``protect``, ``unprotect``, ``person`` and
``forget`` (``--password-env``, which every command takes, is in :mod:`xlcrm.cli_options`).

Kept beside :mod:`xlcrm.cli` (which registers these commands on its app, with its own
refusal handling and console) so the front door stays one page of parsing and exit codes.
"""

# no postponed annotations: typer evaluates string annotations on every run (see xlcrm.cli)
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

import xlcrm

from .cli_options import ForceOpt, PasswordOpt, password_from_env

__all__ = ["PasswordOpt", "password_from_env", "register_privacy_commands"]

EmailOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--email", help="The person's e-mail (matched as imports and clean-ups match).")]
PhoneOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--phone", help="The person's phone (matched in the workbook's phone region).")]
IdOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--id", help="The id of one of the person's records (L-000123).")]


def register_privacy_commands(app: typer.Typer,
                              as_exit: Callable[[], contextlib.AbstractContextManager[None]],
                              console: Console) -> None:
    """Add ``protect``, ``unprotect``, ``person`` and ``forget`` to ``app``; ``as_exit``
    turns a refusal into one line and exit code 2, ``console`` prints."""

    @app.command()
    def protect(
        path: Annotated[Path, typer.Argument(help="The workbook to encrypt in place.")],
        password_env: PasswordOpt = None,
        force: ForceOpt = False,
        backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
    ) -> None:
        """Encrypt a workbook with a password (Excel's "Encrypt with password"), its backups too."""
        with as_exit():
            result = xlcrm.protect(path, password=password_from_env(password_env), force=force,
                                   backups=backups)
        console.print(f"Encrypted {result.path} and its backups"
                      + (f" (previous version kept, encrypted, as {result.backup})"
                         if result.backup else ""))


    @app.command()
    def unprotect(
        path: Annotated[Path, typer.Argument(help="The encrypted workbook.")],
        password_env: PasswordOpt = None,
        force: ForceOpt = False,
        backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
    ) -> None:
        """Remove a workbook's password: write it back as a plain workbook."""
        with as_exit():
            result = xlcrm.unprotect(path, password=password_from_env(password_env), force=force,
                                     backups=backups)
        console.print(f"Removed the password of {result.path}"
                      + (f" (encrypted version kept as {result.backup})" if result.backup else ""))




    @app.command()
    def person(
        path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
        email: EmailOpt = None,
        phone: PhoneOpt = None,
        record_id: IdOpt = None,
        out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
            "--out", help="Write the answer to FILE.json or FILE.xlsx.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
        password_env: PasswordOpt = None,
    ) -> None:
        """Gather every row on every sheet that refers to one person (an access request)."""
        with as_exit():
            result = xlcrm.person(path, email=email, phone=phone, record_id=record_id, out=out,
                                  force=force, password=password_from_env(password_env))
        found = result.found
        if not found.records:
            console.print(f"No record in {result.path.name} matches; it holds nothing on them.")
            return
        for sheet in found.sheets():
            rows = [f for f in found.findings if f.sheet == sheet]
            console.print(f"[bold]{escape(sheet)}[/]: {len(rows)} row{'s' * (len(rows) != 1)}",
                          markup=True)
            for f in rows:
                shown = "; ".join(f"{k}: {v}" for k, v in list(f.values.items())[:8])
                console.print(f"  row {f.row} ({f.why}) {escape(shown)}", markup=True)
        console.print(f"{len(found.findings)} rows on {len(found.sheets())} sheets refer to "
                      f"{', '.join(found.records)}"
                      + (f"; written to {result.out}" if result.out else ""))


    @app.command()
    def forget(
        path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
        email: EmailOpt = None,
        phone: PhoneOpt = None,
        record_id: IdOpt = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="List every cell it would change; write nothing.")] = False,
        delete: Annotated[bool, typer.Option(
            "--delete", help="Remove the person's rows instead of anonymising them.")] = False,
        force: ForceOpt = False,
        password_env: PasswordOpt = None,
    ) -> None:
        """Erase one person (an erasure request): anonymise their rows on every sheet, or remove
        them with --delete; remove the backups that still hold them; log it without personal
        data."""
        with as_exit():
            result = xlcrm.forget(path, email=email, phone=phone, record_id=record_id,
                                  dry_run=dry_run, delete=delete, force=force,
                                  password=password_from_env(password_env))
        for change in result.changes:
            console.print(escape(str(change)))
        for sheet, rows in result.deleted.items():
            console.print(f"{escape(sheet)}: row{'s' * (len(rows) != 1)} "
                          f"{', '.join(map(str, rows))} removed" if not dry_run else
                          f"{escape(sheet)}: would remove row{'s' * (len(rows) != 1)} "
                          f"{', '.join(map(str, rows))}")
        what = f"{len(result.changes)} cells" + (
            f" and {sum(map(len, result.deleted.values()))} rows" if result.deleted else "")
        if dry_run:
            console.print(f"Dry run: would erase {what} of {', '.join(result.records)} in "
                          f"{result.path}; nothing was written")
            return
        for backup in result.backups_removed:
            console.print(f"Removed backup {backup} (it held the person)")
        console.print(f"Erased {what} of {', '.join(result.records)} in {result.path}; "
                      "logged on the Erasure log sheet")
