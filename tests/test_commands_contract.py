"""One contract for every command: a typed library twin, help text, one exit-code table.

As sqlite-utils tests that every command is documented, these tests list the command line's
commands and hold each to its twin in ``xlcrm.__all__``, to its ``--help`` and to the README's
exit-code table; then they run every command once as a user would and check the code it ends
with: 0 done, 1 problems found, 2 refused with one line on stderr and the workbook untouched.
"""

from __future__ import annotations

import inspect
import re
import shutil
import typing
from pathlib import Path

import openpyxl
import pytest
import typer
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import DONE, PROBLEMS, REFUSED, TWINS, app, exit_codes

from ._helpers import TODAY

README = Path(__file__).parents[1] / "README.md"
#: the password the encrypted workbooks of these runs have (protect, unprotect)
TEST_PASSWORD = "contract test"
runner = CliRunner(env={"XLCRM_TEST_PASSWORD": TEST_PASSWORD})


def _commands() -> dict[str, typing.Any]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_a_typed_public_twin() -> None:
    commands = _commands()
    assert set(commands) == set(TWINS), "a command without a twin, or a twin without a command"
    for command, twin in TWINS.items():
        assert twin in xlcrm.__all__, f"xlcrm {command}: its twin {twin} is not public"
        function = getattr(xlcrm, twin)
        assert inspect.isfunction(function), f"xlcrm.{twin} is not a function"
        assert function.__doc__ and function.__doc__.strip(), f"xlcrm.{twin} has no docstring"
        hints = typing.get_type_hints(function)
        params = inspect.signature(function).parameters
        assert "return" in hints, f"xlcrm.{twin} has no return type"
        missing = [p for p in params if p not in hints]
        assert not missing, f"xlcrm.{twin}: parameters without a type: {missing}"


def test_every_command_has_help_and_its_exit_codes() -> None:
    for name, command in _commands().items():
        assert command.help and command.help.strip(), f"xlcrm {name} has no help text"
        shown = runner.invoke(app, [name, "--help"], terminal_width=200)
        assert shown.exit_code == 0, shown.output
        text = " ".join(shown.output.split())
        assert "Exit codes: 0 done" in text, f"xlcrm {name} --help does not list exit codes"
        for code in exit_codes(name):
            assert f"{code} " in text.split("Exit codes:")[1]


def test_readme_exit_code_table_matches_the_command_line() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `xlcrm ([a-z]+)` \| ([0-9, ]+) \|", section, re.M))
    assert set(rows) == set(TWINS), "README's exit-code table must list every command"
    for command, codes in rows.items():
        assert [int(c) for c in codes.split(",")] == list(exit_codes(command)), command
    for code in (DONE, PROBLEMS, REFUSED):
        assert f"| {code} |" in section, f"README does not explain exit code {code}"


#: Commands that take a file path but no --password-env, each with the reason it needs none.
#: Empty on purpose: ``init`` and ``demo`` make new workbooks and take it too (the new
#: workbook is written encrypted with it), so that "every command that reads or writes a
#: workbook takes --password-env" holds without a footnote.
NO_PASSWORD: dict[str, str] = {}


def _path_parameters(command: typer.models.CommandInfo) -> list[str]:
    """The parameters of a command's function typed as a path (optional or not)."""
    hints = typing.get_type_hints(command.callback, include_extras=True)
    found = []
    for name, hint in hints.items():
        base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
        if Path in (base, *typing.get_args(base)):
            found.append(name)
    return found


def test_every_command_that_takes_a_workbook_offers_password_env() -> None:
    """A new command that reads or writes a workbook cannot forget encrypted workbooks: it
    takes --password-env (the shared option, same words in --help) and its twin ``password=``."""
    commands = _commands()
    shared = next(p for p in commands["check"].params if "--password-env" in p.opts)
    checked = []
    for info in app.registered_commands:
        assert info.callback is not None
        name = info.name or info.callback.__name__.rstrip("_").replace("_", "-")
        if not _path_parameters(info) or name in NO_PASSWORD:
            continue
        options = [p for p in commands[name].params if "--password-env" in p.opts]
        assert options, f"xlcrm {name} takes a path but no --password-env"
        assert options[0].help == shared.help and options[0].metavar == "NAME", name
        twin = inspect.signature(getattr(xlcrm, TWINS[name])).parameters
        assert "password" in twin and twin["password"].kind is inspect.Parameter.KEYWORD_ONLY \
            and twin["password"].default is None, f"xlcrm.{TWINS[name]} has no password="
        checked.append(name)
    assert {"diff", "merge", "init", "demo", "check", "update"} <= set(checked)
    assert set(checked) | set(NO_PASSWORD) == set(commands), "a command takes no path at all?"


def test_all_lists_exactly_the_public_names() -> None:
    """As httpx does: ``__all__`` is sorted and is every public name of the package (once
    each lazily imported name has been asked for)."""
    for name in xlcrm.__all__:
        getattr(xlcrm, name)
    public = sorted(
        name for name, value in vars(xlcrm).items()
        if (not name.startswith("_") or name == "__version__")
        and not inspect.ismodule(value))
    assert xlcrm.__all__ == sorted(xlcrm.__all__)
    assert sorted(xlcrm.__all__) == public


def test_no_module_is_shadowed_by_a_function() -> None:
    """``xlcrm.agenda`` is the function; no module of that name hides behind it."""
    import pkgutil

    for info in pkgutil.walk_packages(xlcrm.__path__, "xlcrm."):
        parent, _, last = info.name.rpartition(".")
        module = __import__(info.name, fromlist=["_"])
        owner = __import__(parent, fromlist=["_"])
        assert getattr(owner, last) is module, f"{info.name} is hidden by {parent}.{last}"


# ----- every command, run once: its exit code and its refusals --------------------------------
@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contract")
    return xlcrm.demo(folder, leads=60, seed=3, today=TODAY, run_report=False)


def _copy(book: Path, folder: Path, name: str = "crm.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(book, folder / name))


def _team_sheet(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Clients"
    sheet.append(["Name", "E-mail", "Phone"])
    sheet.append(["Anna Rossi", "anna@example.com", "+39 345 621 1018"])
    book.save(path)
    return path


def _runs(book: Path, tmp: Path) -> dict[str, list[str]]:
    """Arguments that make each command do its job once on a copy of ``book``."""
    leads = tmp / "leads.csv"
    leads.write_text("First name,Last name,E-mail\nAnna,Bianchi,anna.b@example.com\n",
                     encoding="utf-8")
    day = TODAY.isoformat()
    return {
        "init": [str(tmp / "init" / "new.xlsx")],
        "demo": [str(tmp / "demo"), "--leads", "30", "--today", day],
        "attach": [str(_team_sheet(tmp / "team.xlsx"))],
        "update": [str(_copy(book, tmp / "update")), "--today", day],
        "baseline": [str(_copy(book, tmp / "baseline")), "--from", "2026-06-01", "--to",
                     "2026-08-31"],
        "check": [str(book)],
        "macros": [str(_copy(book, tmp / "macros"))],
        "report": [str(book), "--out", str(tmp / "report"), "--today", day],
        "agenda": [str(_copy(book, tmp / "agenda")), "--date", day],
        "export": [str(book), "--to", "hubspot", "--out", str(tmp / "export")],
        "import": [str(_copy(book, tmp / "import")), str(leads)],
        "adopt": [str(_team_sheet(tmp / "old.xlsx")), str(tmp / "adopted.xlsx")],
        "clean": [str(_copy(book, tmp / "clean")), "--today", day],
        "score": [str(_copy(book, tmp / "score")), "--today", day],
        "assign": [str(_copy(book, tmp / "assign"))],
        "protect": [str(_copy(book, tmp / "protect")), "--password-env", "XLCRM_TEST_PASSWORD"],
        "unprotect": [str(_protected(book, tmp / "unprotect")), "--password-env",
                      "XLCRM_TEST_PASSWORD"],
        "person": [str(book), "--id", "L-000001", "--out", str(tmp / "person.json")],
        "forget": [str(_copy(book, tmp / "forget")), "--id", "L-000001"],
        "diff": [str(book), str(_copy(book, tmp / "diff"))],
        "merge": [str(_copy(book, tmp / "merge", "mine.xlsx")),
                  str(_copy(book, tmp / "merge", "theirs.xlsx")), "--base", str(book),
                  "--out", str(tmp / "merge" / "merged.xlsx")],
    }


def _protected(book: Path, folder: Path) -> Path:
    path = _copy(book, folder)
    xlcrm.protect(path, password=TEST_PASSWORD, backups=0)
    return path


def test_every_command_ends_with_a_code_of_the_table(small_demo: Path, tmp_path: Path) -> None:
    runs = _runs(small_demo, tmp_path)
    assert set(runs) == set(TWINS)
    for command, args in runs.items():
        result = runner.invoke(app, [command, *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command, result.output)
        assert result.exit_code in exit_codes(command), (command, result.output)
        assert "Traceback" not in result.output, command
        if command not in ("check", "export"):
            assert result.exit_code == DONE, (command, result.output)


def test_check_and_export_say_problems_with_1(tmp_path: Path) -> None:
    path = xlcrm.init(tmp_path / "crm.xlsx")
    book = openpyxl.load_workbook(path)
    leads = book["Leads"]
    headers = [c.value for c in leads[1]]
    leads.cell(2, headers.index("Created") + 1, "31/02/2026")
    leads.cell(2, headers.index("Last name") + 1, "Rossi")
    book.save(path)
    assert runner.invoke(app, ["check", str(path)]).exit_code == PROBLEMS
    fine = xlcrm.init(tmp_path / "fine.xlsx")
    assert runner.invoke(app, ["check", str(fine)]).exit_code == DONE


@pytest.mark.parametrize("command", sorted(set(TWINS) - {"init", "demo", "adopt"}))
def test_a_file_that_is_not_a_workbook_is_refused_with_2(command: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.xlsx"
    notes.write_text("not a workbook\n", encoding="utf-8")
    args = {"baseline": ["--from", "2026-06-01", "--to", "2026-08-31"],
            "export": ["--to", "hubspot", "--out", str(tmp_path / "x")],
            "import": [str(tmp_path / "notes.xlsx")],
            "report": ["--out", str(tmp_path / "r")],
            "diff": [str(notes)],
            "merge": [str(notes), "--out", str(tmp_path / "merged.xlsx")]}.get(command, [])
    result = runner.invoke(app, [command, str(notes), *args])
    assert result.exit_code == REFUSED, (command, result.output)
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output  # one line
    assert notes.read_text(encoding="utf-8") == "not a workbook\n"


@pytest.mark.parametrize("command", ["update", "baseline", "clean", "score", "import",
                                     "agenda", "attach"])
def test_a_workbook_open_in_excel_is_refused_with_2(command: str, small_demo: Path,
                                                    tmp_path: Path) -> None:
    runs = _runs(small_demo, tmp_path)
    path = Path(runs[command][0])
    (path.parent / f"~${path.name}").write_bytes(b"")  # Excel's owner file beside it
    before = path.read_bytes()
    result = runner.invoke(app, [command, *runs[command]])
    assert result.exit_code == REFUSED, (command, result.output)
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


_FOREIGN_RUNS = [
    ("update", []), ("update", ["--dry-run"]),
    ("baseline", ["--from", "2026-06-01", "--to", "2026-08-31"]),
    ("clean", []), ("clean", ["--dry-run"]), ("score", []), ("score", ["--dry-run"]),
    ("agenda", []), ("agenda", ["--no-sheet"]), ("assign", []), ("assign", ["--apply"]),
    ("import", ["LEADS"]), ("import", ["LEADS", "--dry-run"]), ("check", []),
    ("report", ["--out", "OUT"]), ("export", ["--to", "hubspot", "--out", "OUT"]),
    ("macros", []), ("person", ["--id", "L-000001"]), ("forget", ["--id", "L-000001"]),
    ("protect", ["--password-env", "XLCRM_TEST_PASSWORD"]),
    ("unprotect", ["--password-env", "XLCRM_TEST_PASSWORD"]), ("diff", ["SELF"]),
    ("merge", ["SELF", "--out", "OUTX"]),
]


@pytest.mark.parametrize(("command", "args"), _FOREIGN_RUNS)
def test_a_teams_own_workbook_is_never_written(command: str, args: list[str],
                                               tmp_path: Path) -> None:
    """Every command, the ones that only read too, refuses a workbook that is not xlcrm's
    with one line pointing to attach and adopt, and writes nothing anywhere."""
    assert {c for c, _ in _FOREIGN_RUNS} == set(TWINS) - {"init", "demo", "attach", "adopt"}
    team = _team_sheet(tmp_path / "team.xlsx")
    leads = tmp_path / "leads.csv"
    leads.write_text("First name,Last name\nAnna,Bianchi\n", encoding="utf-8")
    before = team.read_bytes()
    args = [str(leads) if a == "LEADS" else str(tmp_path / "out") if a == "OUT" else
            str(tmp_path / "out.xlsx") if a == "OUTX" else str(team) if a == "SELF" else a
            for a in args]
    result = runner.invoke(app, [command, str(team), *args])
    assert result.exit_code == REFUSED, (command, result.output)
    assert "not an xlcrm workbook" in result.output and "xlcrm attach" in result.output
    assert "xlcrm adopt" in result.output
    assert result.output.strip().count("\n") == 0, result.output  # one line
    assert team.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv", "team.xlsx"]


@pytest.mark.parametrize(("command", "args"), [
    ("init", ["--preset", "florist"]),
    ("demo", ["--preset", "florist"]),
    ("adopt", []),
])
def test_bad_names_and_taken_files_are_refused_with_2(command: str, args: list[str],
                                                      tmp_path: Path) -> None:
    taken = tmp_path / "taken.xlsx"
    xlcrm.init(taken)
    before = taken.read_bytes()
    target = {"init": [str(tmp_path / "new.xlsx")], "demo": [str(tmp_path / "d")],
              "adopt": [str(_team_sheet(tmp_path / "old.xlsx")), str(taken)]}[command]
    result = runner.invoke(app, [command, *target, *args])
    assert result.exit_code == REFUSED, (command, result.output)
    assert "Traceback" not in result.output
    assert taken.read_bytes() == before
    existing = runner.invoke(app, ["init", str(taken)])
    assert existing.exit_code == REFUSED and "already exists" in existing.output
