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
from ..metrics.agenda import UNASSIGNED
from ..sheets.words import owned_text
from .charts import alt_text
from .charts import report_charts as chart_specs
from .data import WeeklyReport, as_records
from .svg import render_svg
from .words import ReportText, is_missing, report_text

__all__ = ["SECTION_KEYS", "SECTION_TITLES", "MailPage", "environment", "render_agenda",
           "render_mail", "render_report", "section_titles"]

#: the report's sections, in order
SECTION_KEYS = ("summary", "funnel", "sources", "reps", "lost", "plans", "quality")
#: every section's title in an English report; other languages: :func:`section_titles`
SECTION_TITLES = {
    "summary": "Summary", "funnel": "Funnel and forecast", "sources": "By source",
    "reps": "By salesperson", "lost": "Lost reasons and competitors",
    "plans": "Plans against the baseline", "quality": "Data quality",
}


def section_titles(code: str = "en") -> dict[str, str]:
    """Each section's title in a language, as the workbook's sheets and the page name them."""
    text = report_text(code)
    return {key: text[f"section_{key}"] for key in SECTION_KEYS}


def fmt_raw(value: Any) -> str:
    """A number as written in ``data-value`` attributes, so programs can read the page back."""
    if is_missing(value):
        return ""
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(pd.Timestamp(value).isoformat())
    return repr(float(value)) if isinstance(value, (int, float)) or hasattr(value, "item") \
        else str(value)


def _date_filter(text: ReportText) -> Any:
    def fmt_date(value: Any, pattern: str = "d MMM y") -> str:
        """A date in the page's language; a pattern with % is strftime's (older templates)."""
        if "%" in pattern and not is_missing(value) and not isinstance(value, str):
            return str(pd.Timestamp(value).strftime(pattern))
        return text.date(value, pattern)
    return fmt_date


def environment(templates: str | Path | None = None,
                text: ReportText | None = None) -> jinja2.Environment:
    """The jinja2 environment: the user's folder first (if any), then the built-in templates;
    its filters write numbers and dates in the language of ``text`` (English by default).

    Raises:
        TemplateError: ``templates`` is not a folder.
    """
    text = text or report_text()
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
    env.filters.update(count=text.count, pct=text.pct, points=text.points, change=text.change,
                       decimal=text.decimal, per_week=text.decimal, multiple=text.multiple,
                       date=_date_filter(text), raw=fmt_raw)
    env.globals.update(w=text.words, say=text.get, lang=text.code)
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
    text = report_text(report.locale, report.currency)
    return {k: Markup(render_svg(spec, text))  # noqa: S704 - drawn here, every text escaped
            for k, spec in chart_specs(report).items()}


def report_context(report: WeeklyReport) -> dict[str, Any]:
    """The variables the report template receives (see ``templates/report/README.md``)."""
    text = report_text(report.locale, report.currency)
    tables = {name: as_records(getattr(report, name)) for name in (
        "stages", "forecast", "won_lost", "sources", "reps", "lost_reasons", "competitors",
        "plans", "quality", "worst")}
    for row in tables["forecast"]:
        month = row.get("month")
        row["month"] = text.date(month, "MMM y") if month is not None and hasattr(
            month, "strftime") else str(month)
    return {"report": report, "summary": as_records(report.summary),
            "pipeline": report.pipeline, "tables": tables, "charts": report_charts(report),
            "titles": section_titles(report.locale), "money": text.money}


def _report_env(report: WeeklyReport, templates: str | Path | None) -> jinja2.Environment:
    return environment(templates, report_text(report.locale, report.currency))


def render_report(report: WeeklyReport, *, templates: str | Path | None = None) -> str:
    """Render the weekly report page (``report.html.j2``)."""
    return _render(_report_env(report, templates), "report.html.j2", report_context(report))


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

    env = _report_env(report, templates)
    words = report_text(report.locale, report.currency)
    context = report_context(report)
    specs = chart_specs(report)
    cids = {key: f"{key}.{report.week_label}@{domain}" for key in specs}
    context.update(cids=cids, alts={key: alt_text(spec, words) for key, spec in specs.items()})
    html = _render(env, "mail.html.j2", context)
    plain = _render(env, "mail.txt", context)
    images = {cids[key]: render_png(spec) for key, spec in specs.items()
              if f"cid:{cids[key]}" in html}
    return MailPage(html=html, text=plain, images=images)


def render_agenda(result: Any, crm: Any, *, now: dt.datetime,
                  templates: str | Path | None = None) -> str:
    """Render the agenda page (``agenda.html.j2``) of an :class:`xlcrm.AgendaResult`, in the
    workbook's language."""
    currency = str(crm.settings.options.get("currency", "EUR"))
    text = report_text(crm.schema.locale.code, currency)
    titles = {key: text.get(f"agenda_{key}") for key in AGENDA_TITLES}
    reps = []
    for rep in result.reps:
        sections = []
        for key, title in titles.items():
            rows = as_records(result.section(rep, key))
            if rows:
                sections.append({"key": key, "title": title, "rows": rows})
        reps.append({"name": owned_text(crm.schema)["agenda_unassigned"]
                     if rep == UNASSIGNED else rep, "sections": sections})
    return _render(environment(templates, text), "agenda.html.j2", {
        "day": result.day, "now": now, "workbook": Path(result.path).name, "reps": reps,
        "titles": titles, "currency": currency})
