"""The command line's commands for shared copies of a workbook: ``diff`` and ``merge``.

Kept beside :mod:`xlcrm.cli` (which registers them on its app, with its own refusal handling
and console), as :mod:`xlcrm.cli_privacy` is, so the front door stays within one module's size.
"""

# no postponed annotations: typer evaluates string annotations on every run (see xlcrm.cli)
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

import xlcrm

from .cli_options import DONE, PROBLEMS, ForceOpt, PasswordOpt, password_from_env

__all__ = ["register_copies_commands"]

OptPath = Optional[Path]  # noqa: UP045 - typer needs Optional


def register_copies_commands(app: typer.Typer,
                             as_exit: Callable[[], contextlib.AbstractContextManager[None]],
                             console: Console) -> None:
    """Add ``diff`` and ``merge`` to ``app``; ``as_exit`` turns a refusal into one line and
    exit code 2, ``console`` prints."""

    @app.command()
    def diff(
        old: Annotated[Path, typer.Argument(help="The older version (with --since-backup: the "
                                                  "workbook).")],
        new: Annotated[OptPath, typer.Argument(help="The newer version.")] = None,
        output: Annotated[str, typer.Option("--format", "-f", help="text, json or html.")] = "text",
        since_backup: Annotated[Optional[int], typer.Option(  # noqa: UP045
            help="Compare the workbook with its N-th newest backup (1: newest).")] = None,
        password_env: PasswordOpt = None,
    ) -> None:
        """Show the records and Settings items added, removed and changed from OLD to NEW."""
        from . import terminal  # (imported when used: start-up stays quick)

        with as_exit():
            result = xlcrm.diff(old, new, since_backup=since_backup,
                                password=password_from_env(password_env))
            terminal.print_diff(console, result, output)
        raise typer.Exit(PROBLEMS if result.changed else DONE)


    @app.command()
    def merge(
        mine: Annotated[Path, typer.Argument(help="Your copy: the result is built on it.")],
        theirs: Annotated[Path, typer.Argument(help="The other copy: its records are taken.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="The merged workbook to write.")],
        base: Annotated[OptPath, typer.Option(help="The version both started from.")] = None,
        prefer: Annotated[str, typer.Option(help="mine, theirs or newer.")] = "mine",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
        output: Annotated[str, typer.Option("--format", "-f", help="text or json.")]
        = "text", force: ForceOpt = False, password_env: PasswordOpt = None,
    ) -> None:
        """Merge two copies record by record (see README); charts, pivots, macros and other sheets
        come from MINE. Exit code 1 when conflicts were settled (listed on the Conflicts sheet).
        Encrypted copies (--password-env) give an encrypted merged workbook."""
        with as_exit():
            result = xlcrm.merge(mine, theirs, out=out, base=base, prefer=prefer,  # type: ignore[arg-type]
                                 dry_run=dry_run, force=force,
                                 password=password_from_env(password_env))
        from . import terminal

        terminal.print_merge(console, result, output)
        raise typer.Exit(PROBLEMS if result.conflicts else DONE)
