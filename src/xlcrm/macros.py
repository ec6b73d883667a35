"""The Excel buttons: xlwings entry points that run xlcrm on the workbook that is open in Excel.

While Excel holds the workbook, nothing may rewrite its file on disk. So each entry point
reads the sheets through xlwings, runs exactly what the command line runs, and writes the
owned sheets back through xlwings, then says what it did in the status cell of the control
sheet and in a message box.

Two small back ends share one interface (:class:`Sheets`: list the sheets, read a sheet's
values, write a block of values and formulas): :class:`ExcelSheets` over an xlwings ``Book``,
and :class:`FileSheets` over a workbook file. The metrics never know which one they run on: the
sheets are read into a private workbook file that the library reads as it reads any other,
and the owned sheets the library writes there are copied back, cell for cell (a formula as
its formula), through the same interface.

xlwings and the readers are imported only when needed, so the metrics run where only pandas
exists.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ExcelSheets", "FileSheets", "Sheets", "agenda_tomorrow", "check_data",
           "import_leads", "owned_sheet_cells", "run_on_copy", "weekly_report",
           "weekly_update"]

Grid = list[list[Any]]


class Sheets(Protocol):
    """What xlcrm needs from a workbook back end."""

    def sheet_names(self) -> list[str]:
        """The sheets, in workbook order."""

    def read(self, sheet: str) -> Grid:
        """A sheet's values from A1: rows of cells, None for an empty cell, numbers as floats,
        dates as datetimes."""

    def write(self, sheet: str, rows: Grid, number_formats: dict[tuple[int, int], str]
              | None = None) -> None:
        """Replace a sheet's cells with ``rows`` from A1 (a string starting with ``=`` is a
        formula), adding the sheet when it is missing."""


class FileSheets:
    """The back end over a workbook file: reads with python-calamine (owned sheets are written
    through the lossless writer, never through this class)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def sheet_names(self) -> list[str]:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(self.path))
        try:
            return list(book.sheet_names)
        finally:
            book.close()

    def read(self, sheet: str) -> Grid:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(self.path))
        try:
            rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        finally:
            book.close()
        return [[_from_calamine(v) for v in row] for row in rows]

    def write(self, sheet: str, rows: Grid, number_formats: dict[tuple[int, int], str]
              | None = None) -> None:
        raise NotImplementedError("a workbook file's owned sheets are written by "
                                  "xlcrm.xlsx.writer.write_owned_sheets")


def _from_calamine(value: Any) -> Any:
    """A calamine value as xlwings gives it: empty is None, numbers are floats, a date is a
    datetime."""
    if value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


class ExcelSheets:
    """The back end over a workbook open in Excel, through xlwings.

    Uses only the documented basics of xlwings: ``book.sheets`` (iterate, index by name,
    ``add``), ``sheet.used_range``, ``sheet.range``, ``range.options(ndim=2).value``,
    ``range.value = rows``, ``range.resize``, ``range.number_format``,
    ``sheet.clear_contents()`` and ``book.app.alert``.
    """

    def __init__(self, book: Any) -> None:
        self.book = book

    @property
    def name(self) -> str:
        """The workbook's file name."""
        return str(self.book.name)

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def read(self, sheet: str) -> Grid:
        used = self.book.sheets[sheet].used_range
        values = used.options(ndim=2).value or []
        top, left = used.row - 1, used.column - 1
        width = left + max((len(r) for r in values), default=0)
        grid: Grid = [[None] * width for _ in range(top)]
        for row in values:
            grid.append([None] * left + list(row))
        if len(grid) == 1 and all(v is None for v in grid[0]):
            return []
        return grid

    def write(self, sheet: str, rows: Grid, number_formats: dict[tuple[int, int], str]
              | None = None) -> None:
        names = self.sheet_names()
        if sheet in names:
            target = self.book.sheets[sheet]
            target.clear_contents()
        else:
            target = self.book.sheets.add(sheet, after=self.book.sheets[names[-1]])
        width = max((len(r) for r in rows), default=0)
        if rows and width:
            block = [list(r) + [None] * (width - len(r)) for r in rows]
            target.range((1, 1)).resize(len(block), width).value = block
        for (r, c, height), fmt in _format_runs(number_formats or {}).items():
            target.range((r + 1, c + 1)).resize(height, 1).number_format = fmt

    def status(self, text: str) -> None:
        """Write ``text`` into the control sheet's status cell (C2), if there is one."""
        from .excel.macrobook import CONTROL_SHEET

        if CONTROL_SHEET in self.sheet_names():
            self.book.sheets[CONTROL_SHEET].range((2, 3)).value = text

    def alert(self, text: str) -> None:
        """Show ``text`` in a message box."""
        self.book.app.alert(text, title="xlcrm")


def _format_runs(formats: dict[tuple[int, int], str]) -> dict[tuple[int, int, int], str]:
    """Group cell formats into runs down a column: (row, column, height) -> format, so Excel
    is asked once per run instead of once per cell."""
    runs: dict[tuple[int, int, int], str] = {}
    for (r, c), fmt in sorted(formats.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        last = next(((rr, cc, h) for (rr, cc, h), f in runs.items()
                     if cc == c and rr + h == r and f == fmt), None) if runs else None
        if last:
            runs[(last[0], c, last[2] + 1)] = runs.pop(last)
        else:
            runs[(r, c, 1)] = fmt
    return runs


# ----- the bridge: sheets read through a back end, into a workbook file the library reads ----
#: the day Excel gives a time-only cell (its serial is below 1)
_TIME_ONLY = (dt.date(1899, 12, 30), dt.date(1899, 12, 31))

def _copy_to_file(sheets: Sheets, path: Path) -> Path:
    """Write every sheet's values into a new workbook at ``path``: dates keep a date format,
    so the reader types them as it types a file's dates."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_urls": False})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    clock = book.add_format({"num_format": "hh:mm"})
    try:
        for name in sheets.sheet_names():
            ws = book.add_worksheet(name)
            for r, row in enumerate(sheets.read(name)):
                for c, value in enumerate(row):
                    if value is None:
                        continue
                    if isinstance(value, dt.datetime):
                        if value.date() in _TIME_ONLY:  # Excel's time-only cells
                            ws.write_datetime(r, c, value.time(), clock)
                        else:
                            ws.write_datetime(r, c, value, day if value.time() == dt.time()
                                              else stamp)
                    elif isinstance(value, dt.time):
                        ws.write_datetime(r, c, value, clock)
                    elif isinstance(value, bool):
                        ws.write_boolean(r, c, value)
                    elif isinstance(value, (int, float)):
                        ws.write_number(r, c, value)
                    else:
                        ws.write_string(r, c, str(value))
    finally:
        book.close()
    return path


#: first characters that make Excel read a value assigned to a range as a formula (or, with
#: a leading quote, as text with the quote dropped)
_TEXT_TRIGGERS = ("=", "+", "-", "@", "'", "\t", "\r", "\n")


def owned_sheet_cells(path: str | Path, sheet: str) -> tuple[Grid, dict[tuple[int, int], str]]:
    """A sheet's cells as a back end writes them: values, formulas as ``=...`` text, and the
    number format of every cell that has one."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = book[sheet]
        rows: Grid = []
        formats: dict[tuple[int, int], str] = {}
        for r, row in enumerate(ws.iter_rows()):
            out = []
            for c, cell in enumerate(row):
                value = getattr(cell, "value", None)
                if isinstance(value, str) and getattr(cell, "data_type", "s") != "f" and \
                        value.startswith(_TEXT_TRIGGERS):
                    # Excel runs a text "=..." assigned to a range: the leading quote keeps
                    # it text (Excel's prefix character), as a lead named "=..." must stay
                    value = "'" + value
                out.append(value)
                fmt = getattr(cell, "number_format", "General")
                if value is not None and fmt and fmt != "General":
                    formats[(r, c)] = fmt
            rows.append(out)
    finally:
        book.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows, formats


def run_on_copy(sheets: Sheets, name: str, action: Callable[[Path], Any], *,
                write_back: Iterable[str] = ()) -> Any:
    """Copy the workbook's sheets into a private file named like ``name``, run ``action`` on
    it, then write the owned sheets ``write_back`` lists (by key: ``"tally"``, ``"agenda"``)
    back through ``sheets``, cell for cell as the library wrote them in the file. Returns what
    ``action`` returned."""
    with tempfile.TemporaryDirectory(prefix="xlcrm-excel-") as tmp:
        path = _copy_to_file(sheets, Path(tmp) / (Path(name).stem + ".xlsx"))
        result = action(path)
        keys = list(write_back)
        if keys:
            for sheet in _owned_names(path, keys):
                rows, formats = owned_sheet_cells(path, sheet)
                sheets.write(sheet, rows, formats)
    return result


def _book(book: Any) -> ExcelSheets:
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    return book if isinstance(book, ExcelSheets) else ExcelSheets(book)


def _owned_names(path: Path, keys: Sequence[str]) -> list[str]:
    from .read import load

    crm = load(path)
    names = []
    for key in keys:
        name = crm.sheet_names.get(key) or next(
            (s.name for s in crm.schema.owned_sheets if s.key == key), None)
        if name:
            names.append(name)
    return names


def _done(excel: ExcelSheets, text: str) -> str:
    stamp = dt.datetime.now().strftime("%H:%M")
    excel.status(f"{stamp} {text}")
    excel.alert(text)
    return text


def _guard(excel: ExcelSheets, work: Callable[[], str]) -> str:
    """Run a button's work; any failure ends in the status cell and a message, not a
    traceback window."""
    from .errors import XlcrmError

    try:
        return work()
    except (XlcrmError, ValueError, OSError) as exc:
        return _done(excel, f"Could not finish: {exc}")


# ----- the buttons ---------------------------------------------------------------------------
def weekly_update(book: Any = None, *, today: dt.date | None = None) -> str:
    """The *Weekly update* button: tally, baseline, funnel, dashboard and stage history,
    written into the open workbook's owned sheets.

    Args:
        book: an xlwings ``Book`` (default: the workbook whose button was pressed).
        today: the day of the run (default: today).

    Returns:
        The message shown.
    """
    excel = _book(book)

    def work() -> str:
        from .commands.update import update

        result = run_on_copy(excel, excel.name,
                             lambda path: update(path, today=today, backups=0),
                             write_back=("tally", "baseline", "funnel", "dashboard",
                                         "stage_history"))
        week = f"week of {result.this_week:%d %b %Y}" if result.this_week is not None \
            else "no full week yet"
        changes = result.stage_changes
        return _done(excel, f"Weekly update done ({week}): {', '.join(result.sheets)} "
                            f"rewritten, {changes} stage change{'s' * (changes != 1)} recorded.")
    return _guard(excel, work)


def weekly_report(book: Any = None, *, out: str | Path | None = None,
                  today: dt.date | None = None) -> str:
    """The *Weekly report* button: the last full week's report workbook and HTML page, in a
    ``reports`` folder beside the workbook (or ``out``)."""
    excel = _book(book)

    def work() -> str:
        from .commands.report import report

        folder = Path(out) if out is not None else _beside(excel, "reports")
        made = run_on_copy(excel, excel.name,
                           lambda path: report(path, folder, html=True, today=today))
        return _done(excel, f"{made.report.title}: wrote {made.workbook.name} and "
                            f"{made.html.name if made.html else ''} in {folder}")
    return _guard(excel, work)


def agenda_tomorrow(book: Any = None, *, now: dt.datetime | None = None) -> str:
    """The *Agenda for tomorrow* button: fills the Agenda sheet of the open workbook."""
    excel = _book(book)

    def work() -> str:
        from .commands.agenda import agenda

        result = run_on_copy(excel, excel.name, lambda path: agenda(path, now=now, backups=0),
                             write_back=("agenda",))
        counts = result.items["section"].value_counts()
        return _done(excel, f"Agenda for {result.day:%A %d %B}: {int(counts.get('due', 0))} "
                            f"tasks due, {int(counts.get('overdue', 0))} overdue, "
                            f"{len(result.reps)} salespeople.")
    return _guard(excel, work)


def check_data(book: Any = None, *, today: dt.date | None = None) -> str:
    """The *Check data* button: every problem, as ``Sheet!Cell: what is wrong``, listed on the
    control sheet under its title."""
    excel = _book(book)

    def work() -> str:
        from .commands.check import check
        from .excel.macrobook import BUTTONS, CONTROL_SHEET

        result = run_on_copy(excel, excel.name, lambda path: check(path, today=today))
        if CONTROL_SHEET in excel.sheet_names():
            grid = excel.read(CONTROL_SHEET)
            first = 5 + 3 * len(BUTTONS) + 2  # the row under "Problems found by Check data"
            keep = [list(r) for r in grid[:first]]
            listed = [[issue.severity, None, str(issue)] for issue in result.issues]
            excel.write(CONTROL_SHEET, keep + [[None]] * (first - len(keep)) + listed)
        return _done(excel, result.summary())
    return _guard(excel, work)


def import_leads(book: Any = None, *, file: str | Path | None = None) -> str:
    """The *Import leads* button: adds the leads of the file named on the control sheet (cell
    C4), without duplicates, to the open workbook."""
    excel = _book(book)

    def work() -> str:
        from .excel.macrobook import CONTROL_SHEET

        source = file
        if source is None and CONTROL_SHEET in excel.sheet_names():
            grid = excel.read(CONTROL_SHEET)
            source = grid[3][2] if len(grid) > 3 and len(grid[3]) > 2 else None
        if not source:
            return _done(excel, "Type the path of the leads file (CSV or Excel) into cell C4 "
                                "of the xlcrm sheet, then press Import leads again.")
        return _done(excel, _import_into(excel, Path(str(source))))
    return _guard(excel, work)


def _import_into(excel: ExcelSheets, source: Path) -> str:
    """Import with the library's importer on the private copy, then write back the data sheets
    it changed (the lead sheet, and accounts when a lead brings its company)."""
    from .exchange.importer import import_leads as import_file
    from .read import load

    changed: list[str] = []

    def action(path: Path) -> Any:
        crm = load(path)
        names = {key: crm.sheet_names[key] for key in crm.tables if key in crm.sheet_names}
        before = {key: FileSheets(path).read(name) for key, name in names.items()}
        result = import_file(path, source, backups=0)
        changed.extend(key for key, name in names.items()
                       if FileSheets(path).read(name) != before[key])
        return result

    result = run_on_copy(excel, excel.name, action, write_back=changed)
    lines = [f"Import of {source.name}: {result.summary()}."]
    lines += [str(row) for row in result.rows[:5]]
    if len(result.rows) > 5:
        lines.append(f"... and {len(result.rows) - 5} more rows explained")
    return "\n".join(lines)


def _beside(excel: ExcelSheets, folder: str) -> Path:
    full = getattr(excel.book, "fullname", None)
    base = Path(str(full)).parent if full and re.match(r"^(/|[A-Za-z]:\\)", str(full)) \
        else Path.cwd()
    return base / folder
