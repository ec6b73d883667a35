"""kill -9 at random moments of update, import and clean --apply/--undo: the workbook is always
the version before or a complete new one, the undo data never lets --undo write anything but
the workbook before the merge, and the next run leaves no temporary file, lock file or scratch
folder behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import xlcrm
from xlcrm.commands.clean import clean
from xlcrm.xlsx.writer import patch_sheet

from ._helpers import TODAY, copy_of

SRC = str(Path(xlcrm.__file__).resolve().parents[1])


def _start(args: list[str], tmpdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmpdir)}
    return subprocess.Popen([sys.executable, "-c", "from xlcrm.cli import main; main()", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _mark_first_group(path: Path) -> None:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name("Data quality").to_python()
    finally:
        book.close()
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Group")
    merge = rows[head].index("Merge")
    first = rows[head + 1][0]
    cells = {(i, merge): "x" for i, r in enumerate(rows[head + 1:], head + 1)
             if r[0] == first}
    patch_sheet(path, "Data quality", cells, backups=0)


def _whole(path: Path, allowed: set[bytes]) -> None:
    """The workbook is one of the versions it may be, or a complete workbook xlcrm reads."""
    if path.read_bytes() in allowed:
        return
    crm = xlcrm.load(path)
    assert not [i for i in crm.issues if i.code in ("missing-sheet",)]


def _leftovers(folder: Path, tmpdir: Path) -> list[str]:
    beside = [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".xlcrm-lock"))]
    backups = folder / ".xlcrm-backups"
    if backups.is_dir():
        beside += [p.name for p in backups.iterdir() if p.name.endswith(".tmp")]
    return beside + [p.name for p in tmpdir.iterdir() if p.name.startswith("xlcrm-")]


def test_kill_nine_sweep(tmp_path: Path, demo_book: Callable[..., Path]) -> None:
    rng = random.Random(20261129)
    base = copy_of(demo_book("dealer", 120, 2, updated=False), tmp_path, "base.xlsx")
    clean(base, today=TODAY, backups=0)
    assert clean(base, today=TODAY, dry_run=True).groups  # the demo has duplicates to merge
    _mark_first_group(base)
    leads = tmp_path / "new.csv"
    leads.write_text("First name,Last name,E-mail\n" + "".join(
        f"New{i},Lead{i},new.{i}@example.com\n" for i in range(30)))
    today = TODAY.isoformat()
    runs = {"update": ["update", "{book}", "--today", today],
            "import": ["import", "{book}", str(leads)],
            "apply": ["clean", "{book}", "--apply", "--today", today],
            "undo": ["clean", "{book}", "--undo"]}
    kills, took = 0, {}  # each command's time when left to finish, measured first
    for n, (name, template) in enumerate([*runs.items(), *runs.items(), *runs.items()]):
        folder = tmp_path / f"run{n}"
        folder.mkdir()
        scratch = folder / "tmp"
        scratch.mkdir()
        book = copy_of(base, folder, "crm.xlsx")
        if name == "undo":
            clean(book, apply=True, today=TODAY)
        before = book.read_bytes()
        args = [a.replace("{book}", str(book)) for a in template]
        started = time.monotonic()
        proc = _start(args, scratch)
        if name in took:  # killed somewhere between start-up and the last rename
            time.sleep(rng.uniform(0.1, 0.8) * took[name])
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        proc.communicate(timeout=60)
        took.setdefault(name, time.monotonic() - started)
        _whole(book, {before})
        if name in ("apply", "undo"):
            # whatever the kill left, --undo restores the workbook before the merge or refuses
            after_kill = book.read_bytes()
            undo = _start(["clean", str(book), "--undo"], scratch)
            _, err = undo.communicate(timeout=120)
            assert undo.returncode in (0, 2), err
            assert b"Traceback" not in err and err.count(b"\n") <= 1, err
            if undo.returncode == 2:
                assert book.read_bytes() == after_kill
            else:  # the workbook as it was before the merge, byte for byte
                assert book.read_bytes() == base.read_bytes()
        else:  # the same run again completes, and cleans what the killed one left
            again = _start(args, scratch)
            _, err = again.communicate(timeout=120)
            assert again.returncode == 0, err
            assert not _leftovers(folder, scratch), _leftovers(folder, scratch)
    assert kills >= 5  # most of the eight runs timed to be killed really were, mid-way
