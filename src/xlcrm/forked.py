"""Work done beside the caller, in a forked copy of the process, on a second core.

After a whole workbook is read, a command's remaining work is pure Python over the same frames
(the week, the checks, the duplicate search), which one interpreter runs one step at a time.
:class:`Beside` starts one such function in a child process made by ``fork``: the child sees
the frames already read, without copying or pickling them (the system shares their memory
until one side changes it), and hands back only its answer, pickled through a pipe, while the
parent goes on with its own part.

Where a fork is not safe or not there (Windows, macOS, a process with other threads running,
the cyclic collector on, which would touch every object and so copy them all) the function
runs in the caller when its result is asked for: the same answer, one step after the other.
A thread that may stop for a moment (the command line's spinner) is registered with
:func:`pausing`: it is stopped while the child is made, and started again.
A child that fails in any way changes nothing either: the caller runs the function itself, so
a real error is raised where it would have been.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Beside", "can_fork", "give_back_memory", "one_process", "pausing"]

T = TypeVar("T")

_OFF = "XLCRM_NO_FORK"  # set (to anything) to run everything in one process
_PAUSES: list[tuple[Callable[[], None], Callable[[], None]]] = []
_SINGLE = False  # inside one_process()


@contextlib.contextmanager
def pausing(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[None]:
    """While inside, a fork first calls ``stop`` (which ends a thread of the caller's, such
    as a spinner's) and calls ``start`` once the child is made."""
    pair = (stop, start)
    _PAUSES.append(pair)
    try:
        yield
    finally:
        _PAUSES.remove(pair)


def can_fork() -> bool:
    """Whether work may go to a forked child here: Linux, this the only thread, the cyclic
    collector paused (see :func:`xlcrm.read.bulk_work`), not inside :func:`one_process` and
    not switched off by the ``XLCRM_NO_FORK`` environment variable."""
    return threading.active_count() == 1 and _may_fork()


def _may_fork() -> bool:
    """:func:`can_fork`, threads aside."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and not gc.isenabled()
            and not _SINGLE and not os.environ.get(_OFF))


class Beside(Generic[T]):
    """``fn()`` computed in a forked child while the caller goes on; :meth:`result` gives it.

    Use it as a context manager, so that a child whose answer is not asked for (the caller
    failed first) is stopped::

        with Beside(lambda: checks(crm)) as checked:
            week = compute_week(crm, today=day)
            found = checked.result()
    """

    def __init__(self, fn: Callable[[], T], *, fork: bool = True) -> None:
        """Start ``fn`` in a child (unless ``fork`` is false or a fork is not safe here: it
        then runs in the caller when :meth:`result` is called)."""
        self._fn = fn
        self._pid = 0
        self._fd = -1
        if not fork or not _may_fork():  # (no spinner stopped for nothing)
            return
        paused = list(_PAUSES)
        for stop, _ in paused:
            stop()
        if paused:  # a stopped thread ends at its next wake-up: wait for it, briefly
            for thread in threading.enumerate():
                if thread is not threading.current_thread():
                    thread.join(timeout=0.5)
        try:
            if can_fork():
                self._fork()
        finally:
            for _, start in reversed(paused):
                start()

    def _fork(self) -> None:
        give_back_memory()
        read_end, write_end = os.pipe()
        sys.stdout.flush()  # nothing buffered is written twice
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: answer, and leave without running anything of the parent's
            os.close(read_end)
            _answer(self._fn, write_end)
        os.close(write_end)
        self._pid, self._fd = pid, read_end

    def result(self) -> T:
        """The function's answer: the child's, or computed here when there is no child or it
        did not give one."""
        if self._pid:
            with os.fdopen(self._fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
            if os.waitstatus_to_exitcode(status) == 0 and data:
                with contextlib.suppress(Exception):
                    value: T = pickle.loads(data)
                    return value
        return self._fn()

    def close(self) -> None:
        """Stop a child whose answer was not asked for."""
        if self._pid:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._pid = 0

    def __enter__(self) -> Beside[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def give_back_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``; nothing to do
    on another C library): before a fork they would stay resident in both processes' count,
    and between the demo's steps in the next step's."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the process runs on
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to ask
        return
    trim(0)


@contextlib.contextmanager
def one_process() -> Iterator[None]:
    """Run everything inside in this process: where several commands already share one
    reading (the demo), their memory together is what counts, and a child would add its
    copy of every page it touches to it."""
    global _SINGLE
    was, _SINGLE = _SINGLE, True
    try:
        yield
    finally:
        _SINGLE = was


def _answer(fn: Callable[[], object], pipe: int) -> None:
    """In the child: write ``fn()`` pickled into ``pipe`` and end the process at once (no
    exit handlers, no buffers flushed: they are the parent's). Any failure ends it with 1 and
    nothing written, and the parent runs ``fn`` itself."""
    code = 1
    try:
        data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(pipe, "wb") as out:
            out.write(data)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent computes it again and sees why
        if os.environ.get("XLCRM_DEBUG"):
            import traceback

            traceback.print_exc()
    finally:
        os._exit(code)
