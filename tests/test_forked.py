"""Work handed to a second core gives the same answer as work done in one process.

``xlcrm.forked.Beside`` runs a function in a forked child; wherever that is not safe, or the
child fails, the caller computes the function itself. The report uses it for its clean-up
findings, and its page must not change by a character either way.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest

import xlcrm
from xlcrm.forked import Beside, can_fork, one_process, pausing
from xlcrm.read import bulk_work
from xlcrm.reporting.html import render_report

T = TypeVar("T")

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux")


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


@linux
def test_function_runs_in_a_child_process_while_the_caller_goes_on() -> None:
    with bulk_work():
        assert can_fork()
        with Beside(lambda: _pid_and_square(12)) as beside:
            own = _pid_and_square(3)
            child_pid, square = beside.result()
    assert square == 144 and own[1] == 9
    assert child_pid != os.getpid()  # computed elsewhere: in the forked child


def test_without_a_safe_fork_the_caller_computes_it() -> None:
    # the cyclic collector on (outside bulk_work): a child would copy every object it scans
    assert not can_fork()
    beside = Beside(lambda: _pid_and_square(5))
    assert beside.result() == (os.getpid(), 25)


@linux
def test_inside_one_process_nothing_is_forked() -> None:
    with bulk_work():
        with one_process():
            assert not can_fork()
            assert Beside(lambda: _pid_and_square(6)).result() == (os.getpid(), 36)
        assert can_fork()


@linux
def test_another_thread_running_keeps_the_work_in_this_process() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with bulk_work():
            assert not can_fork()
            assert Beside(lambda: _pid_and_square(4)).result() == (os.getpid(), 16)
    finally:
        stop.set()
        other.join()


@linux
def test_a_paused_thread_is_stopped_for_the_fork_and_started_again() -> None:
    state = {"thread": None, "starts": 0, "stops": 0}
    halt = threading.Event()

    def start() -> None:
        halt.clear()
        thread = threading.Thread(target=halt.wait)
        thread.start()
        state["thread"], state["starts"] = thread, state["starts"] + 1

    def stop() -> None:
        halt.set()  # the thread ends at its next wake-up, as a spinner's does
        state["stops"] += 1

    start()
    try:
        with bulk_work(), pausing(stop, start), Beside(lambda: _pid_and_square(7)) as beside:
            child_pid, square = beside.result()
        assert square == 49 and child_pid != os.getpid()
        assert (state["stops"], state["starts"]) == (1, 2)
        assert state["thread"].is_alive()  # type: ignore[attr-defined]
    finally:
        halt.set()


class Refused(Exception):
    pass


def _fails() -> int:
    raise Refused("the same error, from the caller")


@linux
def test_a_child_that_fails_leaves_the_caller_to_raise_the_same_error() -> None:
    with bulk_work(), Beside(_fails) as beside, pytest.raises(Refused, match="from the caller"):
        beside.result()


@linux
def test_an_answer_that_cant_be_pickled_is_computed_by_the_caller() -> None:
    with bulk_work(), Beside(lambda: (os.getpid(), lambda: 1)) as beside:
        pid, fn = beside.result()
    assert pid == os.getpid() and fn() == 1


@linux
def test_a_child_whose_answer_is_not_asked_for_is_stopped() -> None:
    halt = threading.Event()
    with bulk_work(), Beside(lambda: halt.wait(60)) as beside:
        child = beside._pid
        assert child
    with pytest.raises(ChildProcessError):  # killed and reaped: no such child any more
        os.waitpid(child, os.WNOHANG)


def _demo(folder: Path) -> Path:
    return xlcrm.demo(folder, leads=400, seed=3, today=dt.date(2026, 11, 23), run_update=False)


def _one_core_then_two(monkeypatch: pytest.MonkeyPatch, run: Callable[[str], T]) -> list[T]:
    """``run(off)`` with forking switched off, then on; on Linux the second run must fork."""
    forks: list[str] = []
    real_fork = os.fork
    now = {"off": ""}
    monkeypatch.setattr(os, "fork", lambda: forks.append(now["off"]) or real_fork())
    made = []
    for off in ("1", ""):
        now["off"] = off
        monkeypatch.setenv("XLCRM_NO_FORK", off)
        made.append(run(off))
    if sys.platform.startswith("linux"):
        assert forks == [""]  # the second run did share its work
    return made


def test_report_is_the_same_made_on_one_core_or_two(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    book = _demo(tmp_path)
    one, two = _one_core_then_two(
        monkeypatch, lambda _: xlcrm.make_report(book, today=dt.date(2026, 11, 23)))
    # the demo's dirt was found: what the child computes (duplicates among the clean-up
    # findings) and what the caller does (check's warnings)
    kinds = set(one.quality["kind"])
    assert any("duplicate" in k for k in kinds) and any("phone" in k for k in kinds)
    pd.testing.assert_frame_equal(one.quality, two.quality)
    pd.testing.assert_frame_equal(one.worst, two.worst)
    assert render_report(one) == render_report(two)


@pytest.mark.parametrize("target", ["pipedrive", "salesforce"])
def test_export_files_are_the_same_made_on_one_core_or_two(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    book = _demo(tmp_path / "demo")

    def export(off: str) -> Path:
        folder = tmp_path / f"out-{bool(off)}"
        made = xlcrm.export(book, to=target, out=folder)
        assert len({f.file for f in made.files}) > 1  # work that two cores can share
        return folder

    folders = _one_core_then_two(monkeypatch, export)
    one, two = ({p.relative_to(f): p.read_bytes() for p in sorted(f.rglob("*")) if p.is_file()}
                for f in folders)
    assert one.keys() == two.keys()
    for name in one:  # the zip's timestamps aside, every file the same to the byte
        if name.suffix != ".zip":
            assert one[name] == two[name], name


def test_export_columns_cross_between_processes_unchanged() -> None:
    from xlcrm.exchange.export import _packed, _unpacked

    columns = [["a", "", "b c"], [""], [], ["x\x00y", "z"], ["1", "2"]]
    made = {3: ((["A", "B", "C", "D", "E"], columns, [("Leads", 2)]), [])}
    packed = _packed(made)
    kinds = [type(c) for c in packed[3][0][1]]
    assert kinds == [str, str, list, list, str]  # a NUL inside, or no rows: kept as a list
    assert _unpacked(packed) == made
