"""The report's charts as PNG images, for the e-mail: mail programs draw no SVG.

Drawn with matplotlib's Agg renderer (no screen needed) in the same colours, words and value
formats as the page's SVG charts; its bundled DejaVu Sans font covers Latin and Cyrillic, so a
chart reads the same on any machine. Images are drawn at twice the size they are shown, so they
stay sharp on high-density screens.
"""

from __future__ import annotations

import io
from typing import Any

from .charts import PALETTE, BarSpec, ChartSpec, LineSpec, label_every
from .words import as_number, is_missing

__all__ = ["SHOWN_WIDTH", "render_png"]

#: the width, in CSS pixels, the e-mail shows each chart at
SHOWN_WIDTH = 560
_SCALE = 2
_DPI = 100
#: the width of one character of the axis labels (DejaVu Sans 11 px), a little generous
_AXIS_CHAR = 7.0


def render_png(spec: ChartSpec) -> bytes:
    """Draw one of the report's charts as a PNG image ``SHOWN_WIDTH`` pixels wide (at 2x)."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display: draw into memory
    from matplotlib.figure import Figure

    if isinstance(spec, BarSpec):
        height = 12 + 32 * max(len(spec.labels), 1)
    else:
        height = 250 + 22 * ((len(spec.series) + 1) // 2)
    fig = Figure(figsize=(SHOWN_WIDTH * _SCALE / _DPI, height * _SCALE / _DPI), dpi=_DPI)
    fig.patch.set_facecolor("white")
    if isinstance(spec, BarSpec):
        _bars(fig, spec, height)
    else:
        _lines(fig, spec, height)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=_DPI, facecolor="white",
                metadata={"Software": None})  # no version stamp: the same chart, same bytes
    return out.getvalue()


def _bars(fig: Any, spec: BarSpec, height: float) -> None:
    label_w, room = 200, SHOWN_WIDTH - 200 - 190
    fits = 22  # characters of a label that fit in label_w at 15 px
    ax = fig.add_axes((label_w / SHOWN_WIDTH, 6 / height, room / SHOWN_WIDTH,
                       (height - 12) / height))
    values = [0.0 if is_missing(v) else as_number(v) for v in spec.values]
    n = max(len(values), 1)
    positions = list(range(len(values)))
    ax.barh(positions, [abs(v) for v in values], height=22 / 32, color=spec.color)
    ax.set_ylim(n - 0.5, -0.5)  # first label on top
    ax.set_xlim(0, max([abs(v) for v in values] + [0.0]) or 1.0)
    ax.set_yticks(positions)
    ax.set_yticklabels([label if len(label) <= fits else label[:fits - 1] + "\u2026"
                        for label in spec.labels], fontsize=15 * _SCALE * 0.72, color="#333")
    ax.tick_params(axis="y", length=0, pad=8 * _SCALE * 0.72)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    for i, value in enumerate(values):
        note = spec.notes[i] if i < len(spec.notes) and spec.notes[i] else ""
        ax.annotate(spec.fmt(value) + (f"  {note}" if note else ""), (abs(value), i),
                    xytext=(6 * _SCALE * 0.72, 0), textcoords="offset points", va="center",
                    fontsize=15 * _SCALE * 0.72, color="#222", annotation_clip=False)


def _lines(fig: Any, spec: LineSpec, height: float) -> None:
    left, right, top, plot_h = 50, 30, 12, 190
    width = SHOWN_WIDTH - left - right
    ax = fig.add_axes((left / SHOWN_WIDTH, (height - top - plot_h) / height,
                       width / SHOWN_WIDTH, plot_h / height))
    n = len(spec.categories)
    xs = list(range(n))
    values = [as_number(v) for s in spec.series.values() for v in s if not is_missing(v)]
    for k, (name, points) in enumerate(spec.series.items()):
        ys = [as_number(v) for v in points]
        ax.plot(xs, ys, color=PALETTE[k % len(PALETTE)], linewidth=2 * _SCALE * 0.72,
                marker="o", markersize=2.5 * _SCALE * 0.72 * 2, label=name)
    ax.set_ylim(0, max(values + [0.0]) * 1.1 or 1.0)
    ax.set_xlim(-0.3 if n > 1 else -1, n - 0.7 if n > 1 else 1)
    shown = label_every(spec.categories, width * (n - 1) / max(n - 0.4, 1), _AXIS_CHAR)
    ax.set_xticks(shown)
    ax.set_xticklabels([spec.categories[i] for i in shown], fontsize=13 * _SCALE * 0.72,
                       color="#666")
    ax.tick_params(axis="y", labelsize=13 * _SCALE * 0.72, colors="#666", length=0)
    ax.tick_params(axis="x", length=0)
    tick = spec.tick or ((lambda v: f"{v:.0%}") if spec.percent else (lambda v: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(lambda v, _pos: tick(v))
    ax.grid(axis="y", color="#dddddd")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#dddddd")
    # three entries a line when their names are short, else two, so the legend stays inside
    columns = 3 if sum(len(name) for name in spec.series) <= 45 else 2
    fig.legend(loc="lower left", bbox_to_anchor=(left / SHOWN_WIDTH, 0.0), ncol=columns,
               frameon=False, fontsize=14 * _SCALE * 0.72, handlelength=1.2)
