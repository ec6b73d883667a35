"""Parse a workbook's sheets on two worker threads, each with its own workbook handle.

calamine releases the GIL while it parses, so on two cores one sheet is parsed while the
caller types the last one. Where calamine can't be installed the openpyxl stand-in answers
instead (:func:`~xlcrm.xlsx.cells.workbook_reader`); where threads can't start (xlwings
Lite), :class:`InlineExecutor` parses each sheet when it is asked for.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnreadableWorkbookError
from ..xlsx.bounds import fits
from ..xlsx.cells import errors_in, read_book, read_part, workbook_reader
from .grid import Plan, Projected, project
from .headers import Merged
from .settings import TableSpan

if TYPE_CHECKING:  # the reader itself is imported where it runs (see workbook_reader)
    from python_calamine import CalamineWorkbook

__all__ = ["Books", "InlineExecutor", "TooBig", "bulk_work", "fetch_cells", "fetch_settings",
           "fetch_sheet", "sheet_pool"]


class TooBig(Exception):  # noqa: N818 - a signal to read a bounded copy, not an error shown
    """A sheet's cells reach so far that the reader's grid would be enormous: the caller reads
    a copy without the far cells instead (:func:`~xlcrm.xlsx.bounds.bounded_copy`)."""


class Books:
    """One workbook handle per worker thread, opened once for the sheets that thread parses.

    A calamine workbook can't serve two threads at once, and opening one reads all the shared
    strings again, which on a big workbook costs as much as parsing a sheet. A thread closes
    its handle as soon as no sheet is left to start, so the copies of the strings don't stay
    in memory beside the sheets being typed.
    """

    def __init__(self, path: Path, sheets: int, parts: dict[str, str] | None = None, *,
                 bounded: bool = False) -> None:
        self.path = path
        self.parts = parts or {}  # sheet name -> part, of the sheets to look at before parsing
        self.bounded = bounded  # a copy already without its far cells: no need to measure
        self._too_big = threading.Event()  # a sheet was: the others need not be parsed
        self._local = threading.local()
        self._opened: list[CalamineWorkbook] = []
        self._unstarted = sheets
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def book(self) -> Iterator[CalamineWorkbook]:
        """The calling thread's workbook handle, for parsing one sheet."""
        with self._lock:
            self._unstarted -= 1
        book: CalamineWorkbook | None = getattr(self._local, "book", None)
        if book is None:
            book = read_book(self.path, load_tables=True)
            self._local.book = book
            self._opened.append(book)
        try:
            yield book
        finally:
            with self._lock:
                last = self._unstarted <= 0
            if last:
                book.close()
                self._local.book = None
                self._opened.remove(book)

    def close(self) -> None:
        """Close the handles still open (a thread had no sheet left, or reading failed)."""
        for book in self._opened:
            book.close()
        self._opened.clear()

    def look(self, name: str) -> dict[tuple[int, int], str]:
        """Look at a sheet's XML before it is parsed, on the worker that parses it: raise
        :class:`TooBig` when its cells reach too far for the reader's grid; else return its
        error cells, which the reader reads as empty. One unpacking serves both."""
        if self._too_big.is_set():
            raise TooBig(name)  # the workbook is read again from a bounded copy anyway
        part = self.parts.get(name)
        data = read_part(self.path, part) if part else None
        if data is None:
            return {}
        if not self.bounded and not fits(data):
            self._too_big.set()
            raise TooBig(name)
        return errors_in(data)


def fetch_sheet(books: Books, name: str, key: str, plan: Plan
                ) -> tuple[list[list[Any]] | Projected, Merged, dict[tuple[int, int], str]]:
    """Parse one data sheet with the calling thread's workbook handle: the columns the plan
    wants of it once Settings is read, or the whole grid."""
    errors = books.look(name)
    with books.book() as book, _naming(books.path, name):
        sheet = book.get_sheet_by_name(name)
        merged = list(sheet.merged_cell_ranges or [])
        taken = project(sheet, key, plan, merged)
        rows = taken if taken is not None else sheet.to_python(skip_empty_area=False)
    return rows, merged, errors


def fetch_settings(books: Books, name: str | None, wanted: Collection[str]
                   ) -> tuple[list[list[Any]], dict[str, TableSpan]]:
    """Parse the Settings sheet's cells and find where its tables (those of ``wanted`` the
    workbook has) are. Run on a worker like the other sheets; also the first sign that the
    file can't be read at all."""
    with books.book() as book:
        if name is None:
            return [], {}
        books.look(name)
        with _naming(books.path, name):
            grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        spans: dict[str, TableSpan] = {}
        for table in set(book.table_names or []) & set(wanted):
            # calamine reads the table's whole sheet to find it: ask only for Settings' own
            t = book.get_table_by_name(table)
            if t.start is not None and t.end is not None:
                spans[table] = (t.sheet, t.start, t.end)
    return grid, spans


def fetch_cells(books: Books, name: str) -> list[list[Any]]:
    """Parse one sheet's cells as they are (an owned sheet read back, not typed)."""
    books.look(name)
    with books.book() as book, _naming(books.path, name):
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


@contextlib.contextmanager
def _naming(path: Path, sheet: str) -> Iterator[None]:
    """Name the sheet in the one line a damaged sheet's reading error becomes."""
    errors = workbook_reader()[1]
    try:
        yield
    except errors as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableWorkbookError(f"{path.name}: sheet {sheet} is damaged and can't be "
                                      f"read ({first}); open the workbook in Excel and save it "
                                      "again") from None


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Pause the cyclic garbage collector around work on whole sheets.

    Reading and tallying make millions of small objects and no reference cycles: the
    collector would only rescan them again and again (a third of the time on 100k rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class InlineExecutor:
    """Runs each task at once: where threads can't start (xlwings Lite), sheets are parsed one
    after the other."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed back through the future
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Nothing is left running."""


def sheet_pool() -> ThreadPoolExecutor | InlineExecutor:
    """The pool the sheets are parsed on: two threads, or none where threads can't start."""
    if sys.platform == "emscripten":  # Pyodide (xlwings Lite) starts no threads
        return InlineExecutor()
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="xlcrm-read")
