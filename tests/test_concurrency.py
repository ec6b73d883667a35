"""Two xlcrm runs on one workbook at once serialise and neither's work is lost; the write lock
leaves nothing beside the workbook; a read-only workbook is refused, not replaced."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import xlcrm
from xlcrm.errors import WorkbookError

from ._helpers import TODAY, copy_of

SRC = str(Path(xlcrm.__file__).resolve().parents[1])


def xlcrm_cli(*args: str | Path) -> subprocess.Popen[str]:
    """Start the command line in its own process (as a user's shell would)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", "from xlcrm.cli import main; main()",
                             *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lead_file(path: Path, tag: str, n: int) -> Path:
    lines = ["First name,Last name,E-mail"]
    lines += [f"{tag.title()}{i},Person{i},{tag}.{i}@example.com" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _emails(book: Path) -> set[str]:
    leads = xlcrm.load(book)["leads"]
    return {str(e) for e in leads["email"].dropna()}


def test_two_imports_at_once_both_land(tmp_path: Path,
                                       demo_book: Callable[..., Path]) -> None:
    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    before = _emails(book)
    a, b = lead_file(tmp_path / "a.csv", "alpha", 40), lead_file(tmp_path / "b.csv", "beta", 40)
    runs = [xlcrm_cli("import", book, a), xlcrm_cli("import", book, b)]
    outs = [run.communicate(timeout=240) for run in runs]
    for run, (out, err) in zip(runs, outs):
        assert run.returncode == 0, err
        assert "added 40" in out
    after = _emails(book)
    assert after - before == ({f"alpha.{i}@example.com" for i in range(40)}
                              | {f"beta.{i}@example.com" for i in range(40)})
    assert len(xlcrm.load(book)["leads"]) == 60 + 80
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == [".xlcrm-backups"]  # no lock file, no temporary file beside the workbook


def test_read_only_workbook_is_refused_and_unchanged(tmp_path: Path,
                                                     demo_book: Callable[..., Path]) -> None:
    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    original = book.read_bytes()
    book.chmod(0o444)
    try:
        with pytest.raises(WorkbookError, match=r"crm\.xlsx: is read-only; nothing was written"):
            xlcrm.update(book, today=TODAY)
        run = xlcrm_cli("import", book, lead_file(tmp_path / "a.csv", "alpha", 3))
        out, err = run.communicate(timeout=120)
        assert run.returncode == 2 and err.strip().count("\n") == 0
        assert "read-only" in err
        assert book.read_bytes() == original
        assert xlcrm.update(book, today=TODAY, dry_run=True).sheets  # reading still works
    finally:
        book.chmod(0o644)


def test_imports_racing_for_the_workbook_serialise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   demo_book: Callable[..., Path]) -> None:
    """The race made certain: each import waits half a second between reading the workbook
    and writing it, so without one lock around both the second would overwrite the first."""
    import threading
    import time

    from xlcrm.exchange import importer

    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    real = importer.patch_sheet

    def slow_patch(*args: object, **kwargs: object) -> object:
        time.sleep(0.5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "patch_sheet", slow_patch)
    files = [lead_file(tmp_path / f"{t}.csv", t, 10) for t in ("alpha", "beta")]
    results: list[object] = []
    threads = [threading.Thread(target=lambda f=f: results.append(
        xlcrm.import_leads(book, f, backups=0))) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2
    assert len(xlcrm.load(book)["leads"]) == 60 + 20
