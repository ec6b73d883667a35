"""The floor plan holds: arrows point down, no private names cross modules, rooms stay small.

docs/architecture.md draws the same plan; this test reads every module's imports (with ``ast``,
function-level imports included) and fails on the first arrow that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "xlcrm"

#: Floors from the top; a module may import from its own room or any floor below its own.
FLOORS: list[set[str]] = [
    {"cli", "macros"},                 # the two front doors: the terminal and Excel's buttons
    {"cli_privacy", "cli_copies"},     # the command line's personal-data and shared-copies commands
    {"cli_options"},                   # what every command shares: exit codes, options, refusals
    {"terminal"},                      # how the command line shows a result
    {"__init__"},                      # the facade: one typed twin per command
    {"commands"},                      # one module per command: read -> compute -> write
    {"reporting", "exchange", "excel"},  # the report, imports and exports, the macro workbook
    {"sheets"},                        # layouts: result + labels -> cells
    {"week", "demodata"},              # the week computed once; the demo's simulated records
    {"metrics"},                       # pure: DataFrames and Settings in, results out
    {"read"},                          # cells -> typed tables
    {"crm"},                           # the typed tables themselves
    {"xlsx"},                          # the package, knowing no CRM
    {"schema", "issues"},              # the declared sheets and columns; a problem's record
    {"errors", "_resources", "_version", "forked"},  # the ground everyone stands on
]
#: Rooms whose code does no I/O: they never import a reader, a writer or the file system.
PURE = {"metrics", "week", "crm"}
IO_MODULES = {"openpyxl", "xlsxwriter", "python_calamine", "zipfile", "shutil", "tempfile",
              "lxml"}
MAX_LINES = 600


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _floor(room: str) -> int:
    for i, rooms in enumerate(FLOORS):
        if room in rooms:
            return i
    raise AssertionError(f"room {room!r} is on no floor of the plan; add it to FLOORS and to "
                         "docs/architecture.md")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """Every ``from X import a, b`` and ``import X`` of a module, resolved to absolute names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
    return out


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_arrows_point_down(module: str) -> None:
    here = _room(module) if module != "xlcrm" else "__init__"
    for target, names, line in _imports(module, MODULES[module]):
        if not target.startswith("xlcrm"):
            continue
        targets = [target] if target != "xlcrm" else [f"xlcrm.{n}" for n in names]
        for t in targets:
            there = _room(t) if t != "xlcrm" else "__init__"
            if there == here:
                continue
            assert _floor(there) > _floor(here), (
                f"{MODULES[module].relative_to(SRC.parent)}:{line}: {here} imports {t}, "
                f"which is not below it")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_module(module: str) -> None:
    for target, names, line in _imports(module, MODULES[module]):
        if not target.startswith("xlcrm"):
            continue
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, (f"{MODULES[module].relative_to(SRC.parent)}:{line} imports "
                             f"{private} from {target}")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m) in PURE))
def test_pure_rooms_do_no_io(module: str) -> None:
    for target, _, line in _imports(module, MODULES[module]):
        top = target.split(".")[0]
        assert top not in IO_MODULES, f"{module}:{line} imports {target}"
        if target.startswith("xlcrm."):
            assert _room(target) not in {"read", "xlsx"}, f"{module}:{line} imports {target}"


def test_rooms_are_small() -> None:
    big = {str(p.relative_to(SRC.parent)): n for p in MODULES.values()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"
