"""The report's charts as data: what each chart shows, drawn as SVG for the page and PDF and as
PNG for the e-mail, so both draw the same numbers with the same words.

A :class:`BarSpec` or :class:`LineSpec` holds labels, values, the title and how values are
written; :func:`report_charts` builds them from a :class:`~xlcrm.reporting.data.WeeklyReport`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import WeeklyReport
from .words import ReportText, as_number, is_missing, report_text

__all__ = ["PALETTE", "BarSpec", "ChartSpec", "LineSpec", "alt_text", "label_every",
           "report_charts"]

PALETTE = ("#2F5597", "#C55A11", "#548235", "#7030A0", "#BF9000")


def _plain_count(value: Any) -> str:
    return "\u2013" if is_missing(value) else f"{float(value):,.0f}"


@dataclass(frozen=True)
class BarSpec:
    """Horizontal bars, first label on top, each value written after its bar.

    Attributes:
        key: the chart's name in the report (``funnel``, ``sources`` ...).
        title: what the chart shows; also the start of its alternative text.
        labels: the category of each bar.
        values: the length of each bar (None draws no bar).
        fmt: how a value is written.
        color: the bars' colour.
        notes: a short text after each value (a conversion rate, say).
    """

    key: str
    title: str
    labels: Sequence[str]
    values: Sequence[float | None]
    fmt: Callable[[Any], str] = _plain_count
    color: str = PALETTE[0]
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class LineSpec:
    """Lines over categories (weeks), one per series, with a legend.

    Attributes:
        key: the chart's name in the report.
        title: what the chart shows.
        categories: the label under each point (a week).
        series: the name of each line -> its values (None breaks the line).
        percent: values are shares, written as percentages.
        tick: how the value axis writes its marks (default: "50%" or "1,200").
    """

    key: str
    title: str
    categories: Sequence[str]
    series: dict[str, Sequence[float | None]] = field(default_factory=dict)
    percent: bool = True
    tick: Callable[[float], str] | None = None


ChartSpec = BarSpec | LineSpec


def label_every(labels: Sequence[str], span: float, char_width: float,
                gap: float = 12.0) -> list[int]:
    """Which category labels to write under an axis so that no two touch.

    Args:
        labels: every category's label, in order.
        span: the distance between the first and the last category.
        char_width: the width of one character of the labels' font, in the same unit.
        gap: the least space between two written labels.

    Returns:
        The indexes of the labels to write: evenly spaced and counted back from the last, so
        the latest week always has its label.
    """
    n = len(labels)
    if n <= 1:
        return list(range(n))
    widest = max(len(label) for label in labels) * char_width
    step = span / (n - 1)
    every = max(1, math.ceil((widest + gap) / step)) if step > 0 else n
    return list(range((n - 1) % every, n, every))


def alt_text(spec: ChartSpec, text: ReportText | None = None) -> str:
    """The chart in words, for mail programs that show no images and for screen readers."""
    text = text or report_text()
    if isinstance(spec, BarSpec):
        parts = []
        for i, (label, value) in enumerate(zip(spec.labels, spec.values)):
            note = spec.notes[i] if i < len(spec.notes) and spec.notes[i] else ""
            parts.append(f"{label} {spec.fmt(value)}{' ' + note if note else ''}")
        return f"{spec.title}: " + "; ".join(parts) + "."
    lines = []
    for name, values in spec.series.items():
        shown = [v for v in values if not is_missing(v)]
        if shown and spec.categories:
            last = text.pct(shown[-1]) if spec.percent else text.count(shown[-1])
            lines.append(text.get("in_last_week", name=name, value=last))
    span = (f" ({text.get('span', start=spec.categories[0], end=spec.categories[-1])})"
            if len(spec.categories) > 1 else "")
    return f"{spec.title}{span}: " + "; ".join(lines) + "."


def report_charts(report: WeeklyReport) -> dict[str, ChartSpec]:
    """The report's charts, in the report's language: funnel, weekly trend, leads by source,
    lost reasons, pipeline (those with data)."""
    text = report_text(report.locale, report.currency)
    summary = report.summary
    steps = summary[summary["kind"] == "count"]
    counts = [0.0 if is_missing(v) else as_number(v) for v in steps["this_week"]]
    # counts of the week's events, no ratios: this week's shows may be last week's bookings
    charts: dict[str, ChartSpec] = {
        "funnel": BarSpec("funnel", text["chart_funnel"],
                          [str(label) for label in steps["label"]], counts, fmt=text.count)}
    trend = report.trend
    if not trend.empty:
        charts["trend"] = LineSpec(
            "trend", text["chart_trend"], [text.date(w, "dd MMM") for w in trend.index],
            {report.labels[k]: list(trend[k]) for k in ("contact_rate", "appointment_rate",
                                                        "close_rate")}, tick=text.whole_pct)
    if not report.sources.empty:
        charts["sources"] = BarSpec(
            "sources", text["chart_sources"],
            [str(s) for s in report.sources.index], list(report.sources["leads"]),
            fmt=text.count, color=PALETTE[2],
            notes=[text.get("contacted_note", rate=text.pct(r))
                   for r in report.sources["contact_rate"]])
    if not report.lost_reasons.empty:
        charts["lost"] = BarSpec(
            "lost", text["chart_lost"],
            [str(r) for r in report.lost_reasons["reason"]],
            list(report.lost_reasons["count"]), fmt=text.count, color=PALETTE[1],
            notes=[f"({text.pct(s)})" for s in report.lost_reasons["share"]])
    if not report.stages.empty:
        open_ = report.stages[report.stages["outcome"] == "open"]
        if open_["value"].fillna(0).sum() > 0:
            charts["pipeline"] = BarSpec(
                "pipeline", text["chart_pipeline"], [str(s) for s in open_["stage"]],
                list(open_["weighted"]), fmt=text.money, color=PALETTE[3])
    return charts
