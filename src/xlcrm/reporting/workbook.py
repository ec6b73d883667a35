"""The report workbook: one sheet per section, native Excel charts, ready to print.

A new file, written with XlsxWriter: the report is a snapshot of the week, so its cells hold
values (the workbook's own owned sheets hold the live formulas).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..xlsx.crypto import sealed_output
from ..xlsx.writer import new_book
from .data import WeeklyReport
from .html import section_titles
from .words import ReportText, report_text

__all__ = ["write_report_workbook"]

_BLUE, _GREY = "#2F5597", "#595959"


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook, text: ReportText) -> None:
        money = text.excel_money_format()
        dates = text.excel_date_prefix()
        pts = text["points"].replace('"', "")
        self.t = text  #: the report's words and formats
        self.titles = section_titles(text.code)
        self.title = book.add_format({"bold": True, "font_size": 16, "font_color": _BLUE})
        self.sub = book.add_format({"italic": True, "font_color": _GREY})
        self.h3 = book.add_format({"bold": True, "font_size": 12, "font_color": _BLUE})
        self.head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                     "valign": "vcenter", "border": 1,
                                     "border_color": "#9BC2E6"})
        self.head_num = book.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                         "valign": "vcenter", "align": "right", "border": 1,
                                         "border_color": "#9BC2E6"})
        self.text = book.add_format({"valign": "top", "text_wrap": True})
        self.int = book.add_format({"num_format": "#,##0"})
        self.dec = book.add_format({"num_format": "#,##0.0"})
        self.pct = book.add_format({"num_format": "0.0%"})
        self.change = book.add_format({"num_format": "+0%;-0%;0%"})
        self.pts = book.add_format({"num_format": f'+0.0" {pts}";-0.0" {pts}";0.0" {pts}"'})
        self.money = book.add_format({"num_format": money})
        self.date = book.add_format({"num_format": f"{dates}dd mmm yyyy", "align": "left"})
        self.week = book.add_format({"num_format": f"{dates}dd mmm", "align": "left"})
        self.p = book.add_format({"num_format": "0.000"})
        self.big = book.add_format({"bold": True, "font_size": 13, "num_format": "#,##0"})
        self.big_money = book.add_format({"bold": True, "font_size": 13, "num_format": money})
        self.big_pct = book.add_format({"bold": True, "font_size": 13, "num_format": "0.0%"})


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _put(ws: Worksheet, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """Write one cell; missing values leave it empty."""
    if _missing(value):
        return
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        ws.write_datetime(row, col, value.to_pydatetime(), fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, float(value), fmt)
    else:
        ws.write(row, col, value if not hasattr(value, "strftime") else value, fmt)


def _sheet(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats, key: str,
           widths: Sequence[float], *, landscape: bool = True) -> Worksheet:
    title = f.titles[key]
    ws = book.add_worksheet(title[:31])
    ws.write_string(0, 0, title, f.title)
    ws.write_string(1, 0, f"{report.title} · {f.t.span(report.week_start, report.week_end)}"
                          f" · {report.workbook}", f.sub)
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ws.hide_gridlines(2)
    if landscape:
        ws.set_landscape()
    ws.set_paper(9)  # A4; Excel falls back to the printer's paper when it has no A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    ws.set_header(f"&L&8{report.title}&R&8{title}")
    ws.set_footer("&L&8xlcrm · " + report.workbook.replace("&", "&&") + "&R&8"
                  + f.t["page_of"])
    return ws


def _table(ws: Worksheet, top: int, frame: pd.DataFrame, columns: Sequence[tuple[str, str, Any]],
           f: _Formats, *, first: tuple[str, str] | None = None) -> int:
    """Write a table: header row at ``top``, then one row per record. ``columns`` is a list
    of (column in frame, header, format); ``first`` names the index column. Returns the row
    after the table."""
    headers = ([first[1]] if first else []) + [h for _, h, _ in columns]
    _header(ws, top, headers, f)
    ws.set_row(top, 30)
    for i, (key, rec) in enumerate(frame.iterrows()):
        r = top + 1 + i
        c0 = 0
        if first:
            ws.write_string(r, 0, str(key), f.text)
            c0 = 1
        for c, (name, _, fmt) in enumerate(columns, c0):
            if name in rec:
                _put(ws, r, c, rec[name], fmt)
    return top + 2 + len(frame)


def _header(ws: Worksheet, row: int, headers: Sequence[str], f: _Formats) -> None:
    """A header row: the first column's title on the left, the numbers' on the right."""
    for c, text in enumerate(headers):
        ws.write_string(row, c, text, f.head if c == 0 else f.head_num)


#: columns a 520-pixel chart spans at the default column width, plus a margin
_CHART_COLS = 9


def _bar(book: xlsxwriter.Workbook, title: str, sheet: str, col: int, first: int, last: int,
         values_col: int, color: str, *, money: bool = False) -> Any:
    chart = book.add_chart({"type": "bar"})
    q = sheet.replace("'", "''")
    chart.add_series({
        "name": title, "categories": [q, first, col, last, col],
        "values": [q, first, values_col, last, values_col], "fill": {"color": color},
        "data_labels": {"value": True, "num_format": "#,##0"}, "gap": 60})
    chart.set_title({"name": title, "name_font": {"size": 11}})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}},
                      "num_format": "#,##0"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 520, "height": 60 + 26 * (last - first + 1)})
    return chart


def _summary(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "summary", [24, 12, 12, 10, 14, 14, 11, 2])
    for note_row, note in enumerate(report.notes, 2):
        ws.write_string(note_row, 0, note, f.sub)
    top = max(4, 3 + len(report.notes))  # the table starts below the last note
    t = f.t
    _header(ws, top, [t["measure"], t["this_week"], t["last_week"], t["change"],
                      t["baseline_per_week"], t["this_week_vs_baseline"]], f)
    ws.set_row(top, 30)
    for i, rec in enumerate(report.summary.itertuples(index=False)):
        r = top + 1 + i
        rate = rec.kind == "rate"
        ws.write_string(r, 0, rec.label, f.text)
        _put(ws, r, 1, rec.this_week, f.big_pct if rate else f.big)
        _put(ws, r, 2, rec.last_week, f.pct if rate else f.int)
        if rate:
            _put(ws, r, 4, rec.baseline, f.pct)
            _put(ws, r, 5, None if _missing(rec.change) else rec.change * 100, f.pts)
        else:
            _put(ws, r, 3, rec.change, f.change)
            _put(ws, r, 4, rec.baseline, f.dec)
    steps = 5
    row = top + 2 + len(report.summary)
    p = report.pipeline
    if p:
        ws.write_string(row, 0, t["pipeline"], f.h3)
        items = [(t["open_records"], p.get("open_count"), f.big),
                 (t["open_value"], p.get("open_value"), f.big_money),
                 (t["weighted_forecast"], p.get("weighted_value"), f.big_money),
                 (t["won_4w"], p.get("won_count"), f.int),
                 (t["won_value_4w"], p.get("won_value"), f.money),
                 (t["lost_4w"], p.get("lost_count"), f.int),
                 (t["win_rate_4w"], p.get("win_rate"), f.pct)]
        for i, (label, value, fmt) in enumerate(items, row + 1):
            ws.write_string(i, 0, label, f.text)
            _put(ws, i, 1, value, fmt)
        row += len(items) + 2
    trend = report.trend
    ws.write_string(row, 0, t["last_twelve_weeks"], f.h3)
    cols = ["leads", "contacts", "sales", "contact_rate", "appointment_rate", "close_rate"]
    _header(ws, row + 1, [t["week_starting"], *[report.labels[c] for c in cols]], f)
    ws.set_row(row + 1, 30)
    for i, (week, rec) in enumerate(trend.iterrows(), row + 2):
        ws.write_datetime(i, 0, week.to_pydatetime(), f.week)
        for c, name in enumerate(cols, 1):
            _put(ws, i, c, rec[name], f.pct if name.endswith("rate") else f.int)
    last_row = row + 1 + len(trend)
    ws.insert_chart(top, 8, _bar(book, t["chart_funnel"], ws.name, 0, top + 1,
                                 top + steps, 1, _BLUE), {"x_offset": 8})
    if len(trend):
        chart = book.add_chart({"type": "line"})
        q = ws.name.replace("'", "''")
        for k, name in enumerate(("contact_rate", "appointment_rate", "close_rate")):
            c = 1 + cols.index(name)
            chart.add_series({"name": [q, row + 1, c], "categories": [q, row + 2, 0, last_row, 0],
                              "values": [q, row + 2, c, last_row, c],
                              "line": {"width": 2, "color": ("#2F5597", "#C55A11",
                                                             "#548235")[k]},
                              "marker": {"type": "circle", "size": 4}})
        chart.set_title({"name": t["chart_trend"], "name_font": {"size": 11}})
        chart.set_y_axis({"num_format": "0%", "major_gridlines": {
            "visible": True, "line": {"color": "#E0E0E0"}}})
        chart.set_x_axis({"text_axis": True, "num_format": "dd mmm",
                          "num_font": {"rotation": -45}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 520, "height": 300})
        ws.insert_chart(top + 15, 8, chart, {"x_offset": 8})
    ws.print_area(0, 0, max(last_row, top + 32), 8 + _CHART_COLS)


def _funnel(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "funnel", [22, 10, 13, 13, 11, 11, 11, 11, 11])
    stages, t = report.stages, f.t
    if stages.empty:
        ws.write_string(3, 0, t["no_stages"], f.sub)
        return
    frame = stages.set_index("stage")
    row = _table(ws, 3, frame, [
        ("count", t["records"], f.int), ("value", t["value"], f.money),
        ("weighted", t["weighted"], f.money), ("probability", t["win_probability"], f.pct),
        ("avg_age_days", t["avg_days_in_stage"], f.int),
        ("oldest_age_days", t["oldest_days"], f.int),
        ("without_next_task", t["no_next_task"], f.int), ("conversion", t["conversion"], f.pct),
    ], f, first=("stage", t["stage"]))
    p = report.pipeline
    ws.write_string(row, 0, t.get("won_summary", won=t.count(p.get("won_count", 0)),
                                  value=t.money(p.get("won_value", 0)),
                                  lost=t.count(p.get("lost_count", 0)),
                                  rate=t.pct(p.get("win_rate"))), f.sub)
    row += 2
    ws.write_string(row, 0, t["forecast_by_month"], f.h3)
    forecast = report.forecast.copy()
    forecast["month"] = [t.date(m, "MMM y") if hasattr(m, "strftime") else str(m)
                         for m in forecast["month"]]
    end = _table(ws, row + 1, forecast.set_index("month"), [
        ("count", t["records"], f.int), ("value", t["value"], f.money),
        ("weighted", t["weighted"], f.money)], f, first=("month", t["close_month"]))
    open_rows = [i for i, o in enumerate(stages["outcome"]) if o == "open"]
    if open_rows:
        ws.insert_chart(row + 1, 5, _bar(book, t["chart_open_by_stage"], ws.name, 0,
                                         4 + open_rows[0], 4 + open_rows[-1], 1, _BLUE))
    ws.print_area(0, 0, max(end, row + 16), max(8, 5 + _CHART_COLS))


def _sources(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "sources", [20] + [10] * 16)
    t = f.t
    ws.write_string(2, 0, t.get("sources_note", start=t.date(report.period_start, "d MMM"),
                                end=t.date(report.week_end)), f.sub)
    if report.sources.empty:
        ws.write_string(4, 0, t["no_leads"], f.sub)
        return
    labels = report.labels
    cols: list[tuple[str, str, Any]] = [
        ("leads", labels["leads"], f.int), ("contacts", labels["contacts"], f.int),
        ("appointments", labels["appointments"], f.int), ("shows", labels["shows"], f.int),
        ("sales", labels["sales"], f.int), ("contact_rate", labels["contact_rate"], f.pct),
        ("appointment_rate", labels["appointment_rate"], f.pct),
        ("close_rate", labels["close_rate"], f.pct),
        ("cost", t["cost"], f.money), ("cost_per_lead", t["cost_per_lead"], f.money),
        ("cost_per_contact", t["cost_per_contact"], f.money),
        ("cost_per_sale", t["cost_per_sale"], f.money), ("revenue", t["revenue"], f.money),
        ("gross_profit", t["gross_profit"], f.money),
        ("return_on_spend", t["return_on_spend"], f.dec)]
    end = _table(ws, 4, report.sources, [c for c in cols if c[0] in report.sources], f,
                 first=("source", t["source"]))
    ws.insert_chart(end + 1, 0, _bar(book, t["chart_sources"], ws.name, 0, 5,
                                     4 + len(report.sources), 1, "#548235"))
    ws.print_area(0, 0, end + 18, max(len(cols), _CHART_COLS))


def _reps(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "reps", [22, 11, 11, 11, 11, 12, 11, 11, 11],
                landscape=False)
    labels, t = report.labels, f.t
    end = _table(ws, 3, report.reps, [
        ("activities", t["activities_week"], f.int), ("outbound", t["outbound"], f.int),
        ("inbound", t["inbound"], f.int), ("tasks_done", t["tasks_done_week"], f.int),
        ("overdue", t["overdue_week_end"], f.int), ("leads", t["leads_4w"], f.int),
        ("contact_rate", labels["contact_rate"], f.pct), ("sales", labels["sales"], f.int),
    ], f, first=("rep", t["salesperson"]))
    if len(report.reps):
        ws.insert_chart(end + 1, 0, _bar(book, t["chart_activities"], ws.name, 0, 4,
                                         3 + len(report.reps), 1, "#7030A0"))
    ws.print_area(0, 0, end + 20, max(8, _CHART_COLS))


def _lost(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "lost", [26, 10, 12, 10], landscape=False)
    t = f.t
    ws.write_string(2, 0, t.get("lost_note", start=t.date(report.period_start, "d MMM"),
                                end=t.date(report.week_end)), f.sub)
    reasons = report.lost_reasons
    if reasons.empty:
        ws.write_string(4, 0, t["nothing_lost"], f.sub)
        return
    end = _table(ws, 4, reasons.set_index("reason"), [
        ("count", t["records"], f.int), ("value", t["value"], f.money),
        ("share", t["share"], f.pct)], f, first=("reason", t["lost_reason"]))
    ws.insert_chart(4, 5, _bar(book, t["chart_lost"], ws.name, 0, 5, 4 + len(reasons), 1,
                               "#C55A11"))
    row = max(end, 4 + 20)
    if not report.competitors.empty:
        ws.write_string(row, 0, t["who_we_lose_to"], f.h3)
        row = _table(ws, row + 1, report.competitors.set_index("competitor"), [
            ("count", t["records"], f.int), ("value", t["value"], f.money),
            ("share", t["share_of_lost"], f.pct)], f, first=("competitor", t["competitor"]))
    ws.print_area(0, 0, row, 5 + _CHART_COLS)


def _plans(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "plans", [30, 12, 12, 7] + [11] * 14)
    plans = report.plans
    t = f.t
    if plans.empty:
        ws.write_string(3, 0, t["no_plans"], f.sub)
        return
    labels = report.labels
    cols: list[tuple[str, str, Any]] = [("start", t["since"], f.date),
                                        ("end", t["until"], f.date), ("weeks", t["weeks"], f.int)]
    for rate in ("contact_rate", "appointment_rate", "sales_per_lead"):
        if rate in plans:
            cols += [(rate, labels[rate], f.pct), (f"{rate}_baseline", t["baseline"], f.pct),
                     (f"{rate}_change", t["change"], f.pct), (f"{rate}_p", t["p_value"], f.p)]
    cols.append(("verdict", t["verdict"], f.text))
    frame = plans.set_index("plan")
    frame = frame.assign(**{c: frame[c] for c in frame if c.endswith("_change")})
    end = _table(ws, 3, frame, cols, f, first=("plan", t["plan"]))
    ws.write_string(end, 0, t["plans_note"], f.sub)
    ws.print_area(0, 0, end + 1, len(cols))


def _quality(book: xlsxwriter.Workbook, report: WeeklyReport, f: _Formats) -> None:
    ws = _sheet(book, report, f, "quality", [34, 12, 10, 24, 70])
    if report.quality.empty:
        ws.write_string(3, 0, f.t["no_problems"], f.sub)
        return
    t = f.t
    end = _table(ws, 3, report.quality.set_index("kind"), [
        ("check", t["kind"], f.text), ("count", t["records"], f.int)], f,
        first=("kind", t["problem"]))
    if not report.worst.empty:
        ws.write_string(end, 0, t["records_to_fix"], f.h3)
        end = _table(ws, end + 1, report.worst.set_index("where"), [
            ("record", t["record"], f.text), ("count", t["problems"], f.int),
            ("name", t["name"], f.text), ("problems", t["what_is_wrong"], f.text)], f,
            first=("where", t["where"]))
    ws.print_area(0, 0, end, 4)


def write_report_workbook(report: WeeklyReport, path: str | Path) -> Path:
    """Write the report workbook to ``path`` (overwriting it) and return the path."""
    target = Path(path)
    with sealed_output(target) as out:  # encrypted when the CRM workbook's password is given
        book = new_book(out, nan_inf_to_errors=True)  # a rep named "=..." stays text
        book.set_properties({"title": report.title, "subject": report.workbook,
                             "comments": "Made by xlcrm"})
        try:
            f = _Formats(book, report_text(report.locale, report.currency))
            for write in (_summary, _funnel, _sources, _reps, _lost, _plans, _quality):
                write(book, report, f)
        finally:
            book.close()
    return target

