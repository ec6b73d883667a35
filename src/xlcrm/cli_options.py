"""What every command of the command line shares: the exit codes, the common options, the
consoles, and the one way a refusal becomes a line on stderr.

Below :mod:`xlcrm.cli` and the modules that register more commands on its app
(:mod:`xlcrm.cli_privacy`, :mod:`xlcrm.cli_copies`), so each of them says things the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ._resources import available_locales
from .errors import ArgumentError, XlcrmError

__all__ = ["DONE", "EXIT_CODES", "PROBLEMS", "REFUSED", "ForceOpt", "FormatOpt", "LocaleOpt",
           "OutputFormat", "PasswordOpt", "PresetOpt", "as_exit", "console", "err", "fail",
           "flag", "not_future", "password_from_env"]

console = Console(highlight=False, soft_wrap=True)  # long paths stay on one line
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: A boolean option is a flag: --help shows it bare, never as "--force <bool>"
flag = functools.partial(typer.Option, metavar="")
PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="dealer or b2b.")]
LocaleOpt = Annotated[str, typer.Option(
    "--locale", "-l", help=f"Language of labels: {', '.join(available_locales())}.")]
ForceOpt = Annotated[bool, flag(
    "--force", help="Write even though Excel or LibreOffice has it open.")]
#: Every command that reads or writes a workbook takes it (tests/test_commands_contract.py)
PasswordOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--password-env", metavar="NAME",
    help="The workbook is encrypted: its password is in this environment variable.")]


class OutputFormat(str, Enum):
    """How a command prints what it found."""

    text = "text"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f",
                                                 help="text for people, json for programs.")]


#: The exit codes, the same for every command (README "Exit codes" repeats this table).
DONE, PROBLEMS, REFUSED = 0, 1, 2
EXIT_CODES = {
    DONE: "done",
    PROBLEMS: "problems found: check found errors, export's validation report lists errors, "
              "diff found differences, merge settled conflicts (listed on the Conflicts sheet)",
    REFUSED: "refused, one line on stderr: a file that can't be read or isn't a workbook, a "
             "team's own workbook given to a command that writes (attach or adopt it first), a "
             "workbook open in Excel or LibreOffice or being written by another run, a file "
             "that exists, an unknown preset, language, target, week or rep, a bad argument",
}
def fail(message: object, code: int = REFUSED) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


@contextlib.contextmanager
def busy(text: str) -> Iterator[None]:
    """A spinner with ``text`` while a long command works; its thread stops for the moment
    the command hands work to a second core (:mod:`xlcrm.forked`)."""
    from .forked import pausing

    with console.status(text) as status, pausing(status.stop, status.start):
        yield


@contextlib.contextmanager
def as_exit() -> Iterator[None]:
    """Turn anything that stops a command into one line on stderr and exit code 2.

    What xlcrm refuses on purpose is an :class:`~xlcrm.errors.XlcrmError` whose message says
    where and how to fix it; the operating system's refusals (a folder that can't be written,
    a full disk) name the file. Anything else is a bug in xlcrm: still one line, never a
    traceback, unless ``XLCRM_DEBUG`` is set.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except XlcrmError as exc:
        raise fail(escape(str(exc))) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(escape(f"{where}{exc.strerror or exc}")) from None
    except Exception as exc:
        if os.environ.get("XLCRM_DEBUG"):
            raise
        raise fail(escape(f"{type(exc).__name__}: {exc}. This is a bug in xlcrm; please "
                           "report it with the output of the same command run with "
                           "XLCRM_DEBUG=1")) from None


def password_from_env(name: str | None) -> str | None:
    """The password held by the environment variable ``name`` (never given on the command
    line, where other users and the shell's history would see it).

    Raises:
        ArgumentError: the variable is not set or empty.
    """
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ArgumentError(f"--password-env {name}: the environment variable {name} "
                            "is not set or empty; set it to the workbook's password")
    return value


def not_future(day: dt.datetime | None, option: str) -> dt.date | None:
    """Return ``day`` as a date; warn in one line when it is after today (a typo of the year
    counts weeks that have not happened, and every figure of them is empty)."""
    if day is not None and day.date() > dt.date.today():
        err.print(f"[bold yellow]warning:[/] {option} {day:%Y-%m-%d} is in the future (today "
                  f"is {dt.date.today():%Y-%m-%d}); counting as if it were that day")
    return day.date() if day is not None else None
