"""A full disk while xlcrm writes: one line, exit 2, the workbook byte for byte as it was and no
partial file left beside it. Run on a real small tmpfs (needs the right to mount one, as root
in a container has); the simulated variant runs everywhere."""

from __future__ import annotations

import errno
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xlcrm.cli import app

from ._helpers import TODAY, copy_of


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``small_disk(kib)``: a tmpfs of that size, mounted for the test."""
    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs",
                               str(where)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"no right to mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=False)


def _outcome(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output and "This is a bug" not in result.output
    return result.exit_code, result.output


def test_full_disk_leaves_the_workbook_whole(small_disk: Callable[[int], Path],
                                             demo_book: Callable[..., Path],
                                             tmp_path: Path) -> None:
    source = demo_book("dealer", 120, 2, updated=False)
    size_kib = source.stat().st_size // 1024
    disk = small_disk(size_kib + 24)  # the workbook fits; a second copy of it does not
    book = disk / "crm.xlsx"
    shutil.copyfile(source, book)
    original = book.read_bytes()
    leads = tmp_path / "new.csv"
    leads.write_text("First name,Last name,E-mail\nAnna,Verdi,anna@example.com\n")
    today = TODAY.isoformat()
    for args in (["update", str(book), "--today", today], ["import", str(book), str(leads)],
                 ["clean", str(book), "--today", today],
                 ["score", str(book), "--today", today]):
        code, text = _outcome(args)
        assert code == 2, (args, text)
        assert "No space left on device" in text and text.count("\n") == 1, text
        assert book.read_bytes() == original
        assert sorted(p.name for p in disk.iterdir()) in (["crm.xlsx"],
                                                           [".xlcrm-backups", "crm.xlsx"])
        assert not list((disk / ".xlcrm-backups").glob("*")) if (
            disk / ".xlcrm-backups").exists() else True


def test_disk_full_while_writing_is_one_line_simulated(monkeypatch: pytest.MonkeyPatch,
                                                       demo_book: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    """The same promise where no tmpfs can be mounted: the package writer fails with ENOSPC
    half-way through writing the new version (as zipfile would on a full disk)."""
    from xlcrm.xlsx import package

    book = copy_of(demo_book("dealer", 60, 4, updated=False), tmp_path, "crm.xlsx")
    original = book.read_bytes()
    real_save = package.Package.save

    def full(self: package.Package, out: str | Path) -> None:
        real_save(self, out)
        data = Path(out).read_bytes()
        Path(out).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(package.Package, "save", full)
    code, text = _outcome(["update", str(book), "--today", TODAY.isoformat()])
    assert code == 2 and "No space left on device" in text
    assert book.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.xlsx"]
