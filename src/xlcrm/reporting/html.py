"""HTML pages (the weekly report, the agenda) rendered from jinja2 templates.

The built-in templates live in ``templates/report/``; a team can copy that folder, change it and
point ``--templates`` at the copy: a template found there wins over the built-in one of the same
name. ``templates/report/README.md`` lists the variables each template receives.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .._resources import templates_dir
from ..errors import TemplateError
from ..metrics.agenda import SECTION_TITLES as AGENDA_TITLES
from ..sheets.style import figure_text
from .data import WeeklyReport, as_records
from .svg import PALETTE, bar_chart, line_chart

__all__ = ["SECTION_TITLES", "environment", "render_agenda", "render_report"]

#: every section of the report, in order, with the title both the workbook and the page use
SECTION_TITLES = {
    "summary": "Summary", "funnel": "Funnel and forecast", "sources": "By source",
    "reps": "By salesperson", "lost": "Lost reasons and competitors",
    "plans": "Plans against the baseline", "quality": "Data quality",
}
#: the sign written before an amount, by ISO currency code (others are written after it)
CURRENCY_SYMBOLS = {"EUR": "\u20ac", "USD": "$", "GBP": "\u00a3", "JPY": "\u00a5",
                    "CHF": "CHF\u00a0"}


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def fmt_count(value: Any) -> str:
    """1234 -> "1,234"; missing -> "–"."""
    return "\u2013" if _missing(value) else figure_text(value, "count")


def fmt_per_week(value: Any) -> str:
    """A count per week: 5.25 -> "5.3", as the Dashboard shows it."""
    return "\u2013" if _missing(value) else figure_text(value, "per_week")


def fmt_pct(value: Any) -> str:
    """0.4737 -> "47.4%"."""
    return "\u2013" if _missing(value) else figure_text(value, "rate")


def fmt_points(value: Any) -> str:
    """A change of a rate in percentage points: 0.021 -> "+2.1 pts"."""
    return "\u2013" if _missing(value) else figure_text(value, "pts")


def fmt_change(value: Any) -> str:
    """A relative change: 0.083 -> "+8%"."""
    return "\u2013" if _missing(value) else f"{float(value):+.0%}"


def money_formatter(currency: str) -> Callable[[Any], str]:
    """A function that writes amounts in ``currency``: "€12,300"."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())

    def fmt(value: Any) -> str:
        if _missing(value):
            return "\u2013"
        text = f"{abs(float(value)):,.0f}"
        sign = "-" if float(value) < 0 else ""
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text}\u00a0{currency}"
    return fmt


def fmt_date(value: Any, pattern: str = "%d %b %Y") -> str:
    """A date or timestamp as "16 Nov 2026"; missing -> "–"."""
    if _missing(value):
        return "\u2013"
    return pd.Timestamp(value).strftime(pattern) if not isinstance(value, str) else value


def fmt_raw(value: Any) -> str:
    """A number as written in ``data-value`` attributes, so programs can read the page back."""
    if _missing(value):
        return ""
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(pd.Timestamp(value).isoformat())
    return repr(float(value)) if isinstance(value, (int, float)) or hasattr(value, "item") \
        else str(value)


def environment(templates: str | Path | None = None) -> jinja2.Environment:
    """The jinja2 environment: the user's folder first (if any), then the built-in templates.

    Raises:
        TemplateError: ``templates`` is not a folder.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        folder = Path(templates)
        if not folder.is_dir():
            raise TemplateError(f"{folder}: the templates folder does not exist; copy "
                                f"{templates_dir() / 'report'} and point --templates at it")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(templates_dir() / "report")))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                             autoescape=jinja2.select_autoescape(["html", "j2", "htm"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(count=fmt_count, pct=fmt_pct, points=fmt_points, change=fmt_change,
                       per_week=fmt_per_week,
                       date=fmt_date, raw=fmt_raw)
    return env


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; any template mistake becomes a TemplateError naming file and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise TemplateError(f"{where}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name} not found in the templates folder") from None
    except (jinja2.UndefinedError, TypeError, ValueError, AttributeError, KeyError) as exc:
        line, where = _template_line(exc, env, name)
        raise TemplateError(f"{where}, line {line}: {exc}") from None


def _template_line(exc: BaseException, env: jinja2.Environment, name: str) -> tuple[Any, str]:
    """Find, in the traceback jinja2 rewrote, the template file and line the error is on."""
    tb = exc.__traceback__
    found: tuple[Any, str] = ("?", name)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".html", ".htm", ".css", ".txt")):
            found = (tb.tb_lineno, filename)
        tb = tb.tb_next
    return found


def report_charts(report: WeeklyReport) -> dict[str, Markup]:
    """The report's charts as inline SVG: funnel, weekly trend, leads by source, lost reasons."""
    money = money_formatter(report.currency)
    summary = report.summary
    steps = summary[summary["kind"] == "count"]
    counts = [float(v) if not _missing(v) else 0.0 for v in steps["this_week"]]
    # counts of the week's events, no ratios: this week's shows may be last week's bookings
    charts = {"funnel": bar_chart(list(steps["label"]), counts,
                                  title="What happened this week")}
    trend = report.trend
    if not trend.empty:
        charts["trend"] = line_chart(
            [f"{w:%d %b}" for w in trend.index],
            {report.labels[k]: list(trend[k]) for k in ("contact_rate", "appointment_rate",
                                                        "close_rate")},
            title="Rates by week")
    if not report.sources.empty:
        charts["sources"] = bar_chart([str(s) for s in report.sources.index],
                                      list(report.sources["leads"]), color=PALETTE[2],
                                      notes=[f"({fmt_pct(r)} contacted)" for r in
                                             report.sources["contact_rate"]],
                                      title="Leads by source, last four weeks")
    if not report.lost_reasons.empty:
        charts["lost"] = bar_chart(list(report.lost_reasons["reason"]),
                                   list(report.lost_reasons["count"]), color=PALETTE[1],
                                   notes=[f"({fmt_pct(s)})" for s in
                                          report.lost_reasons["share"]],
                                   title="Why deals were lost, last four weeks")
    if not report.stages.empty:
        open_ = report.stages[report.stages["outcome"] == "open"]
        if open_["value"].fillna(0).sum() > 0:
            charts["pipeline"] = bar_chart(list(open_["stage"]), list(open_["weighted"]),
                                           fmt=money, color=PALETTE[3],
                                           title="Weighted pipeline by stage")
    return {k: Markup(v) for k, v in charts.items()}  # noqa: S704 - built here, text escaped


def report_context(report: WeeklyReport) -> dict[str, Any]:
    """The variables the report template receives (see ``templates/report/README.md``)."""
    tables = {name: as_records(getattr(report, name)) for name in (
        "stages", "forecast", "won_lost", "sources", "reps", "lost_reasons", "competitors",
        "plans", "quality", "worst")}
    for row in tables["forecast"]:
        month = row.get("month")
        row["month"] = month.strftime("%b %Y") if month is not None and hasattr(
            month, "strftime") else str(month)
    return {"report": report, "summary": as_records(report.summary),
            "pipeline": report.pipeline, "tables": tables, "charts": report_charts(report),
            "titles": SECTION_TITLES, "money": money_formatter(report.currency)}


def render_report(report: WeeklyReport, *, templates: str | Path | None = None) -> str:
    """Render the weekly report page (``report.html.j2``)."""
    return _render(environment(templates), "report.html.j2", report_context(report))


def render_agenda(result: Any, crm: Any, *, now: dt.datetime,
                  templates: str | Path | None = None) -> str:
    """Render the agenda page (``agenda.html.j2``) of an :class:`xlcrm.AgendaResult`."""
    reps = []
    for rep in result.reps:
        sections = []
        for key, title in AGENDA_TITLES.items():
            rows = as_records(result.section(rep, key))
            if rows:
                sections.append({"key": key, "title": title, "rows": rows})
        reps.append({"name": rep, "sections": sections})
    return _render(environment(templates), "agenda.html.j2", {
        "day": result.day, "now": now, "workbook": Path(result.path).name, "reps": reps,
        "titles": AGENDA_TITLES, "currency": crm.settings.options.get("currency", "EUR")})
