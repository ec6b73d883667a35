"""``safe_save``: backups, failures that leave the workbook as it was, Excel and LibreOffice lock
files, permissions, and real processes killed mid-save or racing for the same workbook."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xlcrm import WorkbookError, WorkbookLockedError
from xlcrm.xlsx.save import SaveResult, safe_save

BACKUP_NAME = re.compile(r"crm\.\d{8}-\d{6}-\d{6}\.xlsx")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and links")


def writer(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
    return write


def backups_in(folder: Path, stem: str = "crm") -> list[Path]:
    return sorted(p for p in folder.glob(f"{stem}.*.xlsx") if BACKUP_NAME.fullmatch(p.name))


def temps_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    path = tmp_path / "crm.xlsx"
    path.write_bytes(b"version 0")
    return path


# ----- backups ------------------------------------------------------------------------------
def test_first_save_of_a_new_workbook_has_no_backup(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    result = safe_save(target, writer(b"new"))
    assert result == SaveResult(path=target, backup=None)
    assert target.read_bytes() == b"new"
    assert not (tmp_path / ".xlcrm-backups").exists()
    if sys.platform != "win32":
        assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_three_saves_keep_the_two_newest_backups(book: Path) -> None:
    folder = book.parent / ".xlcrm-backups"
    folder.mkdir()
    oldest = folder / "crm.20200101-000000-000000.xlsx"  # a backup from an earlier run
    others = [folder / "other.20200101-000000-000000.xlsx",  # another workbook's
              folder / "crm.20200101-000000-000000.xlsm",   # same stem, another type
              folder / "crm.xlsx.bak", folder / "crm.xlsx"]
    for path in [oldest, *others]:
        path.write_bytes(b"not ours to prune")

    results = [safe_save(book, writer(f"version {n}".encode()), backups=2) for n in (1, 2, 3)]

    assert book.read_bytes() == b"version 3"
    assert all(r.path == book and r.backup is not None for r in results)
    kept = backups_in(folder)
    assert kept == [results[1].backup, results[2].backup]
    assert [p.read_bytes() for p in kept] == [b"version 1", b"version 2"]
    assert results[0].backup is not None and not results[0].backup.exists()
    assert not oldest.exists()
    assert all(p.read_bytes() == b"not ours to prune" for p in others)


def test_backup_dir_is_honoured_and_created(book: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive" / "crm"
    result = safe_save(book, writer(b"version 1"), backup_dir=archive)
    assert result.backup is not None and result.backup.parent == archive
    assert BACKUP_NAME.fullmatch(result.backup.name)
    assert result.backup.read_bytes() == b"version 0"
    assert not (tmp_path / ".xlcrm-backups").exists()


def test_backups_zero_keeps_none_and_leaves_old_ones(book: Path) -> None:
    folder = book.parent / ".xlcrm-backups"
    folder.mkdir()
    old = folder / "crm.20200101-000000-000000.xlsx"
    old.write_bytes(b"old")
    result = safe_save(book, writer(b"version 1"), backups=0)
    assert result.backup is None
    assert backups_in(folder) == [old]
    assert book.read_bytes() == b"version 1"


def test_negative_arguments_are_refused(book: Path) -> None:
    with pytest.raises(ValueError, match="backups"):
        safe_save(book, writer(b"x"), backups=-1)
    with pytest.raises(ValueError, match="lock_timeout"):
        safe_save(book, writer(b"x"), lock_timeout=-1)
    assert book.read_bytes() == b"version 0"


@posix_only
def test_workbook_with_other_hard_links_is_backed_up_by_copy(book: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.xlsx"
    os.link(book, elsewhere)  # a backup that is a link too would change with this file
    result = safe_save(book, writer(b"version 1"))
    assert result.backup is not None and result.backup.read_bytes() == b"version 0"
    assert not result.backup.samefile(elsewhere)
    with elsewhere.open("r+b") as fh:
        fh.write(b"edited in place")
    assert result.backup.read_bytes() == b"version 0"
    assert temps_in(result.backup.parent) == []


# ----- failures leave the workbook as it was ----------------------------------------------------
def test_failing_writer_leaves_the_workbook_and_no_temp_file(book: Path) -> None:
    before = sorted(p.name for p in book.parent.iterdir())

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"half a workb")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        safe_save(book, half_then_fail)
    assert book.read_bytes() == b"version 0"
    after = sorted(p.name for p in book.parent.iterdir())
    assert after == before  # no temp file, no backup, no lock file
    # the write lock was released: taking it again does not wait at all
    assert safe_save(book, writer(b"version 1"), lock_timeout=0).path == book


def test_writer_that_writes_nothing_is_refused(book: Path) -> None:
    with pytest.raises(WorkbookError, match=r"crm\.xlsx: the new version is empty"):
        safe_save(book, lambda tmp: None)
    assert book.read_bytes() == b"version 0"
    assert temps_in(book.parent) == []


def test_failed_backup_leaves_the_workbook(book: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_bytes(b"a file where the backup folder should be")
    with pytest.raises(WorkbookError, match=r"crm\.xlsx: failed keeping a backup .*unchanged"):
        safe_save(book, writer(b"version 1"), backup_dir=not_a_folder)
    assert book.read_bytes() == b"version 0"
    assert temps_in(tmp_path) == []


def test_temp_files_of_a_killed_save_are_removed(book: Path) -> None:
    stale = book.parent / ".crm.0123456789ab.xlsx.tmp"  # the shape of safe_save's temp files
    foreign = book.parent / ".crm.k2x_9qaz.xlsx.tmp"  # another tool's: left alone
    stale.write_bytes(b"half")
    foreign.write_bytes(b"busy")
    safe_save(book, writer(b"version 1"))
    assert not stale.exists()
    assert foreign.read_bytes() == b"busy"


# ----- Excel and LibreOffice ------------------------------------------------------------------
@pytest.mark.parametrize("lock_name", ["~$crm.xlsx", ".~lock.crm.xlsx#"],
                         ids=["excel", "libreoffice"])
def test_workbook_open_elsewhere_is_not_written(book: Path, lock_name: str) -> None:
    (book.parent / lock_name).write_text("someone,host,2026")
    called: list[Path] = []
    with pytest.raises(WorkbookLockedError) as info:
        safe_save(book, called.append)
    assert str(info.value) == (f"crm.xlsx: is open in Excel or LibreOffice (lock file {lock_name});"
                               " save and close it there first, or use --force")
    assert called == []
    assert book.read_bytes() == b"version 0"
    assert temps_in(book.parent) == []

    result = safe_save(book, writer(b"version 1"), force=True)
    assert book.read_bytes() == b"version 1"
    assert result.backup is not None and result.backup.read_bytes() == b"version 0"


def test_workbook_opened_while_writing_is_not_replaced(book: Path) -> None:
    def excel_opens_it_meanwhile(tmp: Path) -> None:
        tmp.write_bytes(b"version 1")
        (book.parent / "~$crm.xlsx").write_text("someone")

    with pytest.raises(WorkbookLockedError):
        safe_save(book, excel_opens_it_meanwhile)
    assert book.read_bytes() == b"version 0"
    assert temps_in(book.parent) == []
    assert backups_in(book.parent / ".xlcrm-backups") == []


# ----- the file itself ----------------------------------------------------------------------
@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664])
def test_permissions_are_kept(book: Path, mode: int) -> None:
    book.chmod(mode)
    safe_save(book, writer(b"version 1"))
    assert book.stat().st_mode & 0o777 == mode


@posix_only
def test_symbolic_link_is_kept_and_its_file_replaced(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "crm.xlsx"
    real.write_bytes(b"version 0")
    link = tmp_path / "crm.xlsx"
    link.symlink_to(real)
    result = safe_save(link, writer(b"version 1"))
    assert link.is_symlink() and link.read_bytes() == b"version 1"
    assert result.path == real
    assert result.backup is not None and result.backup.parent == shared / ".xlcrm-backups"


# ----- real processes -------------------------------------------------------------------------
CHUNK = 1 << 19
CRASH_CHILD = """
import hashlib, io, os, sys, time, zipfile
from pathlib import Path
from xlcrm.xlsx.save import safe_save

target, log = Path(sys.argv[1]), Path(sys.argv[2])
block = os.urandom(1 << 20)


def version(k):  # a real zip of about 20 MB, different for every child and every k
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("version.txt"), f"{log.name} {k}")
        for i in range(20):
            zf.writestr(zipfile.ZipInfo(f"xl/worksheets/sheet{i}.bin"), block)
    return buf.getvalue()


data = version(0)
print("ready", flush=True)
sys.stdin.readline()
k = 0
while True:
    with log.open("a") as fh:  # every version that may reach the disk is logged first
        fh.write(hashlib.sha256(data).hexdigest() + "\\n")

    def write(tmp, data=data):
        with tmp.open("wb") as fh:
            for i in range(0, len(data), CHUNK):
                fh.write(data[i:i + CHUNK])
                fh.flush()
                time.sleep(0.004)
        print("written", flush=True)

    safe_save(target, write, backups=2, lock_timeout=5)
    k += 1
    data = version(k)
""".replace("CHUNK", str(CHUNK))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def close(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_mid_save_leaves_old_or_new_complete_workbook(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("version.txt", "original")
        zf.writestr("xl/worksheets/sheet1.bin", os.urandom(20 << 20))
    # when each child is killed: seconds after it starts saving, or seconds after its first
    # new version is written (the kill then lands in the fsync, the backup or the rename)
    timed = [0.01 * (150 ** (i / 13)) for i in range(14)]  # 0.01 s ... 1.5 s
    after_write = [0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.015]
    plans = [("timed", d) for d in timed] + [("after write", d) for d in after_write]
    random.Random(5).shuffle(plans)  # short and long runs mixed: children import meanwhile

    now = sha256(target)
    everything = {now}  # every version any child may have written
    checked: set[str] = set()  # backups already found complete (a backup never changes)
    spawned: list[subprocess.Popen[str]] = []

    def spawn(run: int) -> tuple[subprocess.Popen[str], Path]:
        log = tmp_path / f"run{run}.log"
        proc = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(target), str(log)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        spawned.append(proc)
        return proc, log

    killed_mid_save = changed = 0
    try:
        waiting = deque(spawn(run) for run in range(3))  # started ahead: imports take a while
        for run, (how, delay) in enumerate(plans):
            proc, log = waiting.popleft()
            if run + 3 < len(plans):
                waiting.append(spawn(run + 3))
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline() == "ready\n"
            before = now
            proc.stdin.write("go\n")
            proc.stdin.flush()
            if how == "after write":
                assert proc.stdout.readline() == "written\n"
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL, f"run {run} ended on its own"

            written = set(log.read_text().split()) if log.exists() else set()
            everything |= written
            now = sha256(target)
            assert now in {before} | written, f"run {run} ({how} {delay:.3f} s): torn workbook"
            with zipfile.ZipFile(target) as zf:
                assert zf.testzip() is None
            for backup in backups_in(tmp_path / ".xlcrm-backups"):
                if backup.name not in checked:
                    assert sha256(backup) in everything, f"run {run}: torn {backup.name}"
                    checked.add(backup.name)
            killed_mid_save += bool(temps_in(tmp_path))
            changed += now != before
    finally:
        for proc in spawned:
            close(proc)

    # the kills did land both inside saves and after complete ones
    assert killed_mid_save >= 3 and changed >= 3, (killed_mid_save, changed)
    # the next save is not blocked by a dead run's lock, and clears its temporary files
    result = safe_save(target, writer(b"after the crashes"), backups=2, lock_timeout=1)
    assert target.read_bytes() == b"after the crashes"
    assert temps_in(tmp_path) == []
    assert result.backup is not None and sha256(result.backup) in everything
    assert len(backups_in(tmp_path / ".xlcrm-backups")) == 2


RACE_CHILD = """
import json, sys, time
from pathlib import Path
from xlcrm.errors import WorkbookBusyError
from xlcrm.xlsx.save import safe_save

target, content, timeout = Path(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3])
span = {}


def write(tmp):  # about one second, in ten pieces
    span["start"] = time.time()
    print("writing", flush=True)
    with tmp.open("wb") as fh:
        for _ in range(10):
            fh.write(content * 1000)
            fh.flush()
            time.sleep(0.1)
    span["end"] = time.time()


print("ready", flush=True)
sys.stdin.readline()
began = time.monotonic()
try:
    result = safe_save(target, write, backups=5, lock_timeout=timeout)
except WorkbookBusyError as exc:
    print(json.dumps({"busy": str(exc), "wrote": bool(span),
                      "waited": time.monotonic() - began}), flush=True)
    sys.exit(3)
print(json.dumps({"backup": str(result.backup), **span}), flush=True)
"""


def racer(target: Path, content: str, timeout: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", RACE_CHILD, str(target), content,
                             str(timeout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def report(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
    assert proc.stdout is not None
    lines = proc.stdout.read().splitlines()
    code = proc.wait()
    assert lines, f"the child process ended ({code}) without a report; see its stderr"
    return code, json.loads(lines[-1])


def test_two_saves_at_once_run_one_after_the_other(book: Path) -> None:
    procs = [racer(book, "A", 30), racer(book, "B", 30)]
    try:
        for proc in procs:
            go(proc)
        (code_a, a), (code_b, b) = (report(p) for p in procs)
    finally:
        for proc in procs:
            close(proc)
    assert code_a == code_b == 0
    first, second = (("A", a), ("B", b)) if a["start"] < b["start"] else (("B", b), ("A", a))
    assert first[1]["end"] < second[1]["start"]  # serialised by the write lock
    assert book.read_bytes() == second[0].encode() * 10_000  # one whole version, never a mix
    kept = backups_in(book.parent / ".xlcrm-backups")
    assert [p.read_bytes() for p in kept] == [b"version 0", first[0].encode() * 10_000]
    assert second[1]["backup"] == str(kept[-1])
    assert temps_in(book.parent) == []


def test_second_save_gives_up_after_lock_timeout(book: Path) -> None:
    procs = [racer(book, "A", 30), racer(book, "B", 0.2)]
    try:
        go(procs[0])
        assert procs[0].stdout is not None and procs[0].stdout.readline() == "writing\n"
        go(procs[1])  # A holds the lock for about a second more
        code_b, b = report(procs[1])
        code_a, a = report(procs[0])
    finally:
        for proc in procs:
            close(proc)
    assert code_b == 3 and code_a == 0
    assert b["busy"] == ("crm.xlsx: another xlcrm run is updating it; "
                         "try again when it has finished")
    assert b["wrote"] is False
    assert 0.2 <= b["waited"] < 0.9  # waited for the lock, and no longer than asked
    assert book.read_bytes() == b"A" * 10_000
    assert temps_in(book.parent) == []
