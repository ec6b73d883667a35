"""Charts for the HTML report as inline SVG: no scripts, no fonts to fetch, they scale to any
screen because they are drawn in a view box and sized by CSS."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from .charts import PALETTE, BarSpec, ChartSpec, alt_text, label_every
from .words import ReportText

__all__ = ["bar_chart", "line_chart", "render_svg"]

_WIDTH = 560
#: the width of one character of the axis labels (13 px Segoe UI or Arial), a little generous
_AXIS_CHAR = 7.4
#: the same for the legend (14 px) and the bar labels (15 px)
_LEGEND_CHAR = 8.0
_LABEL_CHAR = 8.6


def render_svg(spec: ChartSpec, text: ReportText | None = None) -> str:
    """Draw one of the report's charts as inline SVG (its words in the language of ``text``)."""
    if isinstance(spec, BarSpec):
        return bar_chart(spec.labels, spec.values, title=alt_text(spec, text), fmt=spec.fmt,
                         color=spec.color, notes=spec.notes)
    return line_chart(spec.categories, spec.series, title=alt_text(spec, text),
                      percent=spec.percent, tick=spec.tick)


def _svg(height: float, title: str, body: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {_WIDTH} {height:.0f}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="Segoe UI, Helvetica, Arial, '
            f'sans-serif" font-size="15"><title>{escape(title)}</title>' + "".join(body)
            + "</svg>")


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
              color: str = PALETTE[0], notes: Sequence[str] | None = None) -> str:
    """Horizontal bars, first label on top, each with its value written after the bar.

    Args:
        labels: the category of each bar.
        values: the length of each bar (None or NaN draws no bar).
        title: what the chart shows (read by screen readers).
        fmt: how a value is written.
        color: the bars' colour.
        notes: a short text after each value (a conversion rate, say).
    """
    label_w, row_h, top = 200, 32, 6
    clean = [0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
             for v in values]
    biggest = max([abs(v) for v in clean] + [0.0]) or 1.0
    room = _WIDTH - label_w - 190
    body = []
    for i, (label, value) in enumerate(zip(labels, clean)):
        y = top + i * row_h
        width = max(room * abs(value) / biggest, 0.0)
        fits = int((label_w - 10) / _LABEL_CHAR)
        text = label if len(label) <= fits else label[:fits - 1] + "\u2026"
        body.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" fill="#333">'
                    f"{escape(text)}</text>")
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{width:.1f}" height="{row_h - 10}" '
                    f'rx="2" fill="{color}"/>')
        extra = f" {notes[i]}" if notes and i < len(notes) and notes[i] else ""
        body.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 19}" fill="#222">'
                    f"{escape(fmt(value))}<tspan fill=\"#777\">{escape(extra)}</tspan></text>")
    return _svg(top * 2 + row_h * max(len(clean), 1), title, body)


def line_chart(categories: Sequence[str], series: dict[str, Sequence[float | None]], *,
               title: str, percent: bool = True,
               tick: Callable[[float], str] | None = None) -> str:
    """Lines over categories (weeks), with a light grid, the axis scale and a legend below.

    Missing values (None or NaN) break the line rather than drawing it through zero.
    """
    left, right, top, plot_h = 50, 30, 12, 190
    width = _WIDTH - left - right
    values = [float(v) for s in series.values() for v in s
              if v is not None and not (isinstance(v, float) and math.isnan(v))]
    high = max(values + [0.0])
    step = _nice_step(high)
    high = step * max(math.ceil(high / step), 1)
    n = max(len(categories), 1)

    def x(i: int) -> float:
        return left + (width * i / (n - 1) if n > 1 else width / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / high

    body = []
    ticks = int(round(high / step))
    for t in range(ticks + 1):
        v = t * step
        body.append(f'<line x1="{left}" x2="{left + width}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                    f'stroke="#ddd"/>')
        label = tick(v) if tick else f"{v:.0%}" if percent else f"{v:,.0f}"
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#666" '
                    f'font-size="13">{escape(label)}</text>')
    for i in label_every(categories, width, _AXIS_CHAR):
        label = categories[i]
        body.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                    f'fill="#666" font-size="13">{escape(label)}</text>')
    for k, points in enumerate(series.values()):
        color = PALETTE[k % len(PALETTE)]
        path, pen = [], "M"
        for i, point in enumerate(points):
            if point is None or (isinstance(point, float) and math.isnan(point)):
                pen = "M"
                continue
            path.append(f"{pen}{x(i):.1f},{y(float(point)):.1f}")
            pen = "L"
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(float(point)):.1f}" r="2.5" '
                        f'fill="{color}"/>')
        body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" '
                    f'stroke-width="2"/>')
    # the legend: entries side by side as long as they fit, by the width of their names
    lx, ly = float(left), top + plot_h + 38
    for k, name in enumerate(series):
        entry = 17 + len(name) * _LEGEND_CHAR + 18
        if lx > left and lx + entry > _WIDTH:
            lx, ly = left, ly + 20
        color = PALETTE[k % len(PALETTE)]
        body.append(f'<rect x="{lx:.0f}" y="{ly - 9}" width="12" height="4" fill="{color}"/>')
        body.append(f'<text x="{lx + 17:.0f}" y="{ly - 3}" fill="#333" font-size="14">'
                    f"{escape(name)}</text>")
        lx += entry
    return _svg(ly + 10, title, body)


def _nice_step(high: float) -> float:
    """A round grid step that cuts ``[0, high]`` into three to six parts."""
    if high <= 0:
        return 0.25
    raw = high / 4
    power = float(10 ** math.floor(math.log10(raw)))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power
