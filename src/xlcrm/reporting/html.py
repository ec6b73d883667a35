"""HTML pages (the weekly report, the agenda) rendered from jinja2 templates.

The built-in templates live in ``templates/report/``; a team can copy that folder, change it and
point ``--templates`` at the copy: a template found there wins over the built-in one of the same
name. ``templates/report/README.md`` lists the variables each template receives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .._resources import templates_dir
from ..errors import TemplateError
from ..metrics.agenda import SECTION_TITLES as AGENDA_TITLES
from .charts import CURRENCY_SYMBOLS, alt_text, fmt_count, fmt_pct, money_formatter
from .charts import is_missing as _missing
from .charts import report_charts as chart_specs
from .data import WeeklyReport, as_records
from .svg import render_svg

__all__ = ["CURRENCY_SYMBOLS", "SECTION_TITLES", "MailPage", "environment", "render_agenda",
           "render_mail", "render_report"]

#: every section of the report, in order, with the title both the workbook and the page use
SECTION_TITLES = {
    "summary": "Summary", "funnel": "Funnel and forecast", "sources": "By source",
    "reps": "By salesperson", "lost": "Lost reasons and competitors",
    "plans": "Plans against the baseline", "quality": "Data quality",
}


def fmt_points(value: Any) -> str:
    """A change of a rate in percentage points: 0.021 -> "+2.1 pts"."""
    return "\u2013" if _missing(value) else f"{float(value) * 100:+.1f} pts"


def fmt_change(value: Any) -> str:
    """A relative change: 0.083 -> "+8%"."""
    return "\u2013" if _missing(value) else f"{float(value):+.0%}"


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
    # the e-mail's plain-text part (mail.txt) is text: escaping would write "&amp;" in it
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                             autoescape=jinja2.select_autoescape(["html", "j2", "htm"],
                                                                 default=False),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(count=fmt_count, pct=fmt_pct, points=fmt_points, change=fmt_change,
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
    return {k: Markup(render_svg(spec))  # noqa: S704 - drawn here, every text escaped
            for k, spec in chart_specs(report).items()}


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


@dataclass(frozen=True)
class MailPage:
    """The report as an e-mail body: HTML for mail programs, plain text, inline images.

    Attributes:
        html: the message's HTML part: table layout and inline styles only, images by ``cid:``.
        text: the plain-text part, which reads well alone.
        images: content id -> PNG bytes of each chart the HTML shows.
    """

    html: str
    text: str
    images: dict[str, bytes]


def render_mail(report: WeeklyReport, *, templates: str | Path | None = None,
                domain: str = "xlcrm.invalid") -> MailPage:
    """Render the report for e-mail (``mail.html.j2`` and ``mail.txt``).

    Mail programs draw no SVG (Gmail, Yahoo, Outlook), Outlook on Windows ignores CSS grid and
    flex, and Gmail may drop a ``<style>`` block: so the mail part is its own page, laid out
    with tables and inline styles, its charts PNG images attached inline and named by
    ``cid:``, each with the chart in words as its alternative text.

    Args:
        report: the week's numbers.
        templates: a folder of templates that override the built-in ones.
        domain: the right-hand side of the images' content ids (the sender's domain).
    """
    from .png import render_png  # drawing PNGs loads matplotlib: only when mailing

    env = environment(templates)
    context = report_context(report)
    specs = chart_specs(report)
    cids = {key: f"{key}.{report.week_label}@{domain}" for key in specs}
    context.update(cids=cids, alts={key: alt_text(spec) for key, spec in specs.items()})
    html = _render(env, "mail.html.j2", context)
    text = _render(env, "mail.txt", context)
    images = {cids[key]: render_png(spec) for key, spec in specs.items()
              if f"cid:{cids[key]}" in html}
    return MailPage(html=html, text=text, images=images)


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
