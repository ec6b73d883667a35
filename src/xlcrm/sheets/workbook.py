"""Write a new CRM workbook from a schema: every sheet, table, format, dropdown and name.

This builds *new* files only (``init``, ``demo``), with XlsxWriter, which writes files that
Excel opens without repair and is fast enough for 100k-row demo workbooks. Changing an existing
workbook is the lossless writer's job, never this module's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from .._version import __version__
from ..schema import Column, Schema, SettingsList, Sheet
from ..xlsx.crypto import MemoryFile
from ..xlsx.writer import new_book
from .bulk import BulkColumn, add_long_table, write_rows_in_bulk
from .style import owned_banner

__all__ = ["ColumnData", "write_new_workbook"]

#: A sheet's records, column by column: internal column key -> values (None for blank).
ColumnData = Mapping[str, Sequence[Any]]

MAX_ROW = 1_048_575  # last row index of a worksheet (0-based)
_TABLE_STYLE = "Table Style Medium 2"
_SETTINGS_TABLE_STYLE = "Table Style Light 9"
_TAB_COLORS = {"data": "#2F5597", "owned": "#548235", "settings": "#7F7F7F"}
_TYPE_WIDTHS = {
    "id": 11, "text": 16, "longtext": 36, "email": 28, "phone": 16, "url": 28, "date": 12,
    "datetime": 17, "time": 9, "money": 13, "number": 11, "integer": 10, "percent": 11,
    "flag": 9, "choice": 18, "link": 12,
}
_NUMERIC = frozenset({"money", "number", "integer", "percent"})
_TEMPORAL = frozenset({"date", "datetime", "time"})


def structured_ref(table: str, header: str, *, this_row: bool = False) -> str:
    """Return an Excel structured reference to a table column, escaping special characters."""
    escaped = "".join("'" + ch if ch in "[]#'" else ch for ch in header)
    return f"{table}[[#This Row],[{escaped}]]" if this_row else f"{table}[[{escaped}]]"


class _Formats:
    """The workbook's cell formats, made once per kind."""

    def __init__(self, book: xlsxwriter.Workbook, schema: Schema, currency: str) -> None:
        loc = schema.locale
        number_formats = {
            "date": loc.formats["date"], "datetime": loc.formats["datetime"],
            "time": loc.formats["time"], "money": loc.money_format(currency),
            "integer": loc.formats["integer"], "number": loc.formats["number"],
            "percent": loc.formats["percent"], "phone": "@",
        }
        self.by_type: dict[str, Format] = {
            ctype: book.add_format({"num_format": fmt, "valign": "top"})
            for ctype, fmt in number_formats.items()
        }
        self.plain = book.add_format({"valign": "top"})
        # explicit header look: LibreOffice does not draw Excel table styles
        self.header = book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5597",
                                       "text_wrap": True, "valign": "vcenter",
                                       "border": 1, "border_color": "#BFBFBF"})
        self.settings_header = book.add_format({"bold": True, "bg_color": "#D9E1F2",
                                                "border": 1, "border_color": "#BFBFBF"})
        self.id = book.add_format({"valign": "top", "font_color": "#595959"})
        self.title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1F3864"})
        self.help = book.add_format({"italic": True, "font_color": "#595959"})
        self.table_title = book.add_format({"bold": True, "font_color": "#1F3864",
                                            "bottom": 2, "bottom_color": "#1F3864"})
        self.key = book.add_format({"font_color": "#808080", "font_size": 9})
        self.banner = book.add_format({"italic": True, "font_color": "#FFFFFF",
                                       "bg_color": "#548235", "bold": True})

    def cell(self, col: Column) -> Format:
        if col.type == "id":
            return self.id
        return self.by_type.get(col.type, self.plain)


#: the widest a column is made to fit its values; longer texts wrap or show in the cell
_MAX_FIT_WIDTH = 60
#: how many values are measured to fit a column (the first ones: measuring 100,000 would cost
#: more than it tells)
_FIT_SAMPLE = 2000


def _width(col: Column, values: Sequence[Any] | None = None) -> float:
    """A column's width in characters: its type's or preset's width, widened to show its
    header (and the filter button beside it) and, for texts, the longest of its first values."""
    base = col.width or _TYPE_WIDTHS[col.type]
    width = max(base, min(len(col.header) * 1.1 + 4, 40))
    if values and col.type in ("text", "choice", "email", "url", "link"):
        longest = max((len(v) for v in values[:_FIT_SAMPLE] if isinstance(v, str)), default=0)
        width = max(width, min(longest * 1.05 + 2, _MAX_FIT_WIDTH))
    return width


def _cell_writer(col: Column, fmt: Format, yes: str, no: str) -> Callable[
        [Worksheet, int, int, Any], None]:
    """Return the fastest correct way to write one value of this column."""
    if col.type in _TEMPORAL:
        def write_temporal(ws: Worksheet, r: int, c: int, v: Any) -> None:
            if isinstance(v, (dt.date, dt.time)):
                ws.write_datetime(r, c, v, fmt)
            else:
                ws.write(r, c, v, fmt)
        return write_temporal
    if col.type in _NUMERIC:
        def write_numeric(ws: Worksheet, r: int, c: int, v: Any) -> None:
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v, fmt)
            else:
                ws.write_string(r, c, str(v), fmt)
        return write_numeric
    if col.type == "flag":
        def write_flag(ws: Worksheet, r: int, c: int, v: Any) -> None:
            ws.write_string(r, c, (yes if v else no) if isinstance(v, bool) else str(v), fmt)
        return write_flag

    def write_text(ws: Worksheet, r: int, c: int, v: Any) -> None:
        ws.write_string(r, c, v if isinstance(v, str) else str(v), fmt)
    return write_text


# Formula columns: the live formula and the value xlcrm caches for readers without a calc engine.
def _probability_formula(schema: Schema, sheet: Sheet) -> str:
    stages = schema.settings_list("stages")
    stage_col, prob_col = stages.columns[0], stages.columns[1]
    row_stage = structured_ref(sheet.table, sheet.column("stage").header, this_row=True)
    return (f'=IFERROR(INDEX({structured_ref(stages.table, prob_col.header)},'
            f'MATCH({row_stage},{structured_ref(stages.table, stage_col.header)},0)),"")')


def _weighted_formula(schema: Schema, sheet: Sheet) -> str:
    amount = structured_ref(sheet.table, sheet.column("amount").header, this_row=True)
    prob = structured_ref(sheet.table, sheet.column("probability").header, this_row=True)
    return f'=IF(ISNUMBER({amount}),{amount}*N({prob}),"")'


_FORMULAS: dict[str, Callable[[Schema, Sheet], str]] = {
    "probability": _probability_formula,
    "weighted": _weighted_formula,
}


def _formula_values(name: str, data: ColumnData, n: int,
                    settings_rows: Mapping[str, Sequence[tuple[Any, ...]]]) -> list[Any]:
    """Compute in Python what the formula column ``name`` evaluates to, row by row."""
    if name == "probability":
        probs = {str(r[0]): r[1] for r in settings_rows["stages"]}
        stages = data.get("stage", [None] * n)
        return [probs.get(str(s), "") if s is not None else "" for s in stages]
    if name == "weighted":
        row_probs = _formula_values("probability", data, n, settings_rows)
        amounts = data.get("amount", [None] * n)
        return [a * (p if isinstance(p, (int, float)) else 0)
                if isinstance(a, (int, float)) else "" for a, p in zip(amounts, row_probs)]
    raise KeyError(name)


def _column_count(data: ColumnData | None) -> int:
    if not data:
        return 0
    lengths = {len(v) for v in data.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: {sorted(lengths)}")
    return lengths.pop()


def _write_data_sheet(ws: Worksheet, schema: Schema, sheet: Sheet,
                      data: ColumnData | None, formats: _Formats,
                      settings_rows: Mapping[str, Sequence[tuple[Any, ...]]],
                      bulk: bool = True) -> None:
    loc = schema.locale
    n = _column_count(data)
    cols = sheet.columns
    table_columns: list[dict[str, Any]] = []
    for col in cols:
        spec: dict[str, Any] = {"header": col.header, "format": formats.cell(col),
                                "header_format": formats.header}
        if col.formula:
            spec["formula"] = _FORMULAS[col.formula](schema, sheet)
        table_columns.append(spec)
    last_row = max(n, 1)
    add_long_table(ws, last_row, len(cols) - 1, {
        "name": sheet.table, "style": _TABLE_STYLE, "columns": table_columns,
    })
    for c, col in enumerate(cols):
        ws.set_column(c, c, _width(col, data.get(col.key) if data else None), formats.cell(col))
        if col.type == "choice" and col.list:
            lst = schema.settings_list(col.list)
            ws.data_validation(1, c, MAX_ROW, c, {
                "validate": "list", "source": f"={lst.defined_name}",
                "error_type": "warning", "error_title": col.header,
                "error_message": f"Not in Settings > {lst.title}. Pick from the list, "
                                 f"or add the value to {lst.title} first.",
            })
        elif col.type == "flag":
            ws.data_validation(1, c, MAX_ROW, c, {
                "validate": "list", "source": [loc.yes, loc.no], "error_type": "warning",
            })
    ws.freeze_panes(1, 0)
    ws.set_row(0, 32)
    ws.set_tab_color(_TAB_COLORS["data"])
    _print_setup(ws)
    if not data or n == 0:
        return
    if bulk and write_rows_in_bulk(ws, _bulk_columns(ws, schema, sheet, data, n, formats,
                                                     settings_rows)):
        return  # the rows are written as the sheet is assembled, not held cell by cell
    for c, col in enumerate(cols):
        fmt = formats.cell(col)
        if col.formula:
            formula = _FORMULAS[col.formula](schema, sheet)
            for r, value in enumerate(_formula_values(col.formula, data, n, settings_rows), 1):
                ws.write_formula(r, c, formula, fmt, value)
            continue
        values = data.get(col.key)
        if values is None:
            continue
        write = _cell_writer(col, fmt, loc.yes, loc.no)
        for r, value in enumerate(values, 1):
            if value is not None and value != "":
                write(ws, r, c, value)


def _bulk_columns(ws: Worksheet, schema: Schema, sheet: Sheet, data: ColumnData, n: int,
                  formats: _Formats, settings_rows: Mapping[str, Sequence[tuple[Any, ...]]]
                  ) -> list[BulkColumn]:
    """The sheet's columns as :func:`~xlcrm.sheets.bulk.write_rows_in_bulk` writes them: what
    :func:`_cell_writer` would do with each value."""
    loc = schema.locale
    out = []
    for c, col in enumerate(sheet.columns):
        fmt = formats.cell(col)
        if col.formula:
            values = _formula_values(col.formula, data, n, settings_rows)
            # the formula as XlsxWriter keeps it (no "=", functions spelled its way)
            ws.write_formula(1, c, _FORMULAS[col.formula](schema, sheet), fmt, values[0])
            out.append(BulkColumn("formula", fmt, values, formula=ws.table[1][c].formula))
            continue
        kind = ("temporal" if col.type in _TEMPORAL else "number" if col.type in _NUMERIC
                else "flag" if col.type == "flag" else "text")
        out.append(BulkColumn(kind, fmt, data.get(col.key) or [None] * n,
                              yes=loc.yes, no=loc.no))
    return out


def _write_kept_columns(ws: Worksheet, left: int,
                        columns: Mapping[str, Sequence[Any]] | None, formats: _Formats) -> None:
    """Write columns kept from an old sheet beside the table: text, numbers and dates as they
    were, dates in the workbook's date format (with the time when one has it)."""
    for j, (header, values) in enumerate((columns or {}).items()):
        c = left + j
        ws.write_string(0, c, header, formats.header)
        ws.set_column(c, c, max(12.0, min(len(header) * 1.1 + 4, 40)))
        for r, value in enumerate(values, 1):
            if value is None or value == "" or (isinstance(value, float) and value != value):
                continue
            if isinstance(value, (dt.datetime, dt.date)):
                timed = isinstance(value, dt.datetime) and value.time() != dt.time()
                ws.write_datetime(r, c, value,
                                  formats.by_type["datetime" if timed else "date"])
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))


def _write_table_block(ws: Worksheet, top: int, left: int, title: str, table: str,
                       columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                       formats: _Formats, yes: str, no: str,
                       key_columns: int = 0) -> list[float]:
    """Write one titled Settings table at (top, left); return its columns' widths."""
    ws.write_string(top, left, title, formats.table_title)
    for c in range(1, len(columns)):
        ws.write_blank(top, left + c, None, formats.table_title)
    header_row = top + 1
    last_row = header_row + max(len(rows), 1)
    ws.add_table(header_row, left, last_row, left + len(columns) - 1, {
        "name": table, "style": _SETTINGS_TABLE_STYLE,
        "columns": [{"header": col.header, "header_format": formats.settings_header}
                    for col in columns],
    })
    widths = []
    for c, col in enumerate(columns):
        fmt = formats.key if c < key_columns else formats.cell(col)
        widths.append(_width(col, [row[c] for row in rows]) if c >= key_columns else 16)
        ws.set_column(left + c, left + c, widths[-1])
        write = _cell_writer(col, fmt, yes, no)
        for r, row in enumerate(rows, header_row + 1):
            value = row[c]
            if value is not None and value != "":
                write(ws, r, left + c, value)
    return widths


def _write_settings(book: xlsxwriter.Workbook, ws: Worksheet, schema: Schema,
                    formats: _Formats, options: Mapping[str, Any],
                    settings_rows: Mapping[str, Sequence[tuple[Any, ...]]]) -> None:
    loc = schema.locale
    text = loc.sections.get("text", {})
    ws.write_string(0, 0, text.get("settings_title", "Settings"), formats.title)
    ws.write_string(1, 0, text.get("settings_help", ""), formats.help)
    ws.set_tab_color(_TAB_COLORS["settings"])
    top = 3

    def col(key: str, ctype: str = "text", width: float | None = None) -> Column:
        return Column(key, ctype, loc.label("columns", key), key, width=width)  # type: ignore[arg-type]

    left = 0
    blocks: list[tuple[int, list[float]]] = []  # each table's first column and widths
    # Options: a key column for xlcrm, a label and a value column for people.
    option_rows = [(o.key, o.label, None) for o in schema.options]
    widths = _write_table_block(
        ws, top, left, text.get("options_title", "Options"), "Options",
        [col("key"), col("setting", width=44), col("value", width=14)], option_rows,
        formats, loc.yes, loc.no, key_columns=1)
    blocks.append((left, widths))
    for r, opt in enumerate(schema.options, top + 2):
        value = options.get(opt.key, opt.value)
        if opt.type == "date":
            if isinstance(value, dt.date):
                ws.write_datetime(r, left + 2, value, formats.by_type["date"])
            else:
                ws.write_blank(r, left + 2, None, formats.by_type["date"])
        elif opt.type == "integer" and isinstance(value, (int, float)):
            ws.write_number(r, left + 2, value, formats.by_type["integer"])
        elif value is not None:
            ws.write_string(r, left + 2, str(value), formats.plain)
        if opt.type == "weekday":
            ws.data_validation(r, left + 2, r, left + 2,
                               {"validate": "list", "source": list(loc.weekdays)})
    left += len(widths) + 1

    milestone_rows = [
        (m.key, m.label, schema.sheet(m.sheet).name, schema.sheet(m.sheet).column(m.column).header)
        for m in schema.milestones
    ]
    widths = _write_table_block(
        ws, top, left, text.get("milestones_title", "Milestones"), "Milestones",
        [col("milestone"), col("label", width=20), col("sheet", width=12),
         col("column", width=20)], milestone_rows, formats, loc.yes, loc.no, key_columns=1)
    blocks.append((left, widths))
    left += len(widths) + 1

    for lst in schema.lists:
        rows = settings_rows[lst.key]
        widths = _write_table_block(ws, top, left, lst.title, lst.table, lst.columns, rows,
                                    formats, loc.yes, loc.no)
        _list_validations(ws, schema, lst, top + 2, left, max(len(rows), 1))
        book.define_name(lst.defined_name, f"={structured_ref(lst.table, lst.columns[0].header)}")
        blocks.append((left, widths))
        left += len(widths) + 1
    ws.freeze_panes(top + 2, 0)
    _settings_print_setup(ws, blocks, top)


#: Settings prints at this scale: its tables are short, so smaller type fits more of them on
#: a page and stays readable
_SETTINGS_PRINT_SCALE = 75
#: what a landscape A4 (or Letter) page holds across, in pixels at 100%: 29.7 cm less the
#: 0.7-inch margins on each side is 10.29 in, 987 px at 96 dpi; LibreOffice draws columns
#: about 1.3 times wider than Excel's character widths, so a page is counted as 720 px, at
#: Settings' print scale
_PAGE_WIDTH_PX = 720 * 100 // _SETTINGS_PRINT_SCALE


def _column_px(width: float) -> int:
    """A column's width in pixels, as Excel draws a width in characters (Calibri 11)."""
    return int(width * 7 + 5)


def settings_page_breaks(blocks: Sequence[tuple[int, Sequence[float]]],
                         page_px: int = _PAGE_WIDTH_PX) -> list[int]:
    """Where Settings' printed pages begin: never inside a table, as many tables a page as fit.

    Args:
        blocks: each table's first column and its columns' widths (in characters), left to
            right, one empty column between tables.
        page_px: the width a page holds, in pixels.

    Returns:
        The columns each new page starts at (the first page's start is not listed).
    """
    breaks: list[int] = []
    used = 0
    for left, widths in blocks:
        need = sum(_column_px(w) for w in widths)
        if used and used + need > page_px:
            breaks.append(left)
            used = 0
        used += need + _column_px(8.43)  # the empty column after the table
    return breaks


def _settings_print_setup(ws: Worksheet, blocks: Sequence[tuple[int, Sequence[float]]],
                          top: int) -> None:
    """Print Settings on landscape pages that each hold whole tables, each table's title and
    header repeated where a long table runs onto a second page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_print_scale(_SETTINGS_PRINT_SCALE)
    ws.set_v_pagebreaks(settings_page_breaks(blocks))
    ws.repeat_rows(top, top + 1)
    ws.set_footer("&L&A&R&P / &N")


def _list_validations(ws: Worksheet, schema: Schema, lst: SettingsList, first_row: int,
                      left: int, n_rows: int) -> None:
    """Dropdowns inside Settings tables (a rep's territory, a stage's outcome)."""
    for c, col in enumerate(lst.columns):
        if c and col.type == "choice" and col.list:
            ws.data_validation(first_row, left + c, first_row + n_rows + 200, left + c, {
                "validate": "list",
                "source": f"={schema.settings_list(col.list).defined_name}",
                "error_type": "warning",
            })


def _print_setup(ws: Worksheet) -> None:
    """Print wide tables across one page width, header row on every page."""
    ws.set_landscape()
    ws.set_paper(9)  # A4; Excel adapts to Letter where that is the default
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.hide_gridlines(0)
    ws.set_footer("&L&A&R&P / &N")


def _write_owned(ws: Worksheet, schema: Schema, sheet: Sheet, formats: _Formats) -> None:
    text = schema.locale.sections.get("text", {})
    ws.set_column(0, 0, 90)
    ws.write_string(0, 0, owned_banner(schema, sheet.key), formats.banner)
    placeholder = text.get(f"owned_placeholder_{sheet.key}", text.get("owned_placeholder", ""))
    ws.write_string(2, 0, placeholder, formats.help)
    ws.set_tab_color(_TAB_COLORS["owned"])


def write_new_workbook(
    path: str | Path | MemoryFile,
    schema: Schema,
    data: Mapping[str, ColumnData] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    settings_rows: Mapping[str, Sequence[tuple[Any, ...]]] | None = None,
    active: str | None = None,
    extras: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
) -> Path | MemoryFile:
    """Write a complete CRM workbook for ``schema`` at ``path`` (which is overwritten; an
    in-memory file while the workbook being saved is encrypted).

    Args:
        path: the .xlsx file to write.
        schema: what to write, from :func:`xlcrm.schema.load_schema`.
        data: records per data sheet key, column by column (``{"leads": {"id": [...]}}``).
        options: Options values that replace the preset's defaults (``baseline_from`` ...).
        settings_rows: Settings list rows that replace the preset's (``{"reps": [...]}``).
        active: the key of the sheet the workbook opens on (default: the first).
        extras: per data sheet key, columns to keep beside its table under their own
            headers (an adopted sheet's columns that match none of xlcrm's): header ->
            values, dates written as dates.

    Returns:
        The path (or in-memory file) written.
    """
    path = path if isinstance(path, MemoryFile) else Path(path)
    options = dict(options or {})
    rows = {lst.key: list(lst.rows) for lst in schema.lists}
    rows.update({k: list(v) for k, v in (settings_rows or {}).items()})
    currency = str(options.get("currency", schema.option("currency")))
    # data stays data: an adopted cell "=..." is text (xlsx.writer.SAFE_OPTIONS)
    book = new_book(path)
    try:
        book.set_properties({
            "title": f"CRM ({schema.preset})",
            "subject": "Customer relationship management workbook",
            "comments": "Made by xlcrm; see the Settings sheet for lists and rules.",
        })
        book.set_custom_property("xlcrm_preset", schema.preset)
        book.set_custom_property("xlcrm_schema_version", schema.version)
        book.set_custom_property("xlcrm_locale", schema.locale.code)
        book.set_custom_property("xlcrm_version", __version__)
        formats = _Formats(book, schema, currency)
        for sheet in schema.sheets:
            ws = book.add_worksheet(sheet.name)
            if sheet.key == active:
                ws.activate()
            if sheet.kind == "data":
                _write_data_sheet(ws, schema, sheet, (data or {}).get(sheet.key),
                                  formats, rows, bulk=not (extras or {}).get(sheet.key))
                _write_kept_columns(ws, len(sheet.columns), (extras or {}).get(sheet.key),
                                    formats)
            elif sheet.kind == "owned":
                _write_owned(ws, schema, sheet, formats)
            else:
                _write_settings(book, ws, schema, formats, options, rows)
        for sheet in schema.sheets:  # which sheets are xlcrm's, by identity (xlsx.identity)
            book.define_name(f"_xlcrm_sheet_{sheet.key}",
                             "='" + sheet.name.replace("'", "''") + "'!$A$1")
            book.defined_names[-1][3] = True  # hidden from the Name box, as Excel's own are
    finally:
        book.close()
    return path
