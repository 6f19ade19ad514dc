"""Safe markup and inline-SVG charts, shared by the steward pages (pactline.ui) and the checks' summary report
(pactline.checks.report).

It sits below both and imports nothing of Pactline's: the report (an engine's output) and the pages (a face
over the engines) draw the same charts without either importing the other.

Everything returns `Html` (a str that is already safe); any other value goes through `e()`, which escapes
it, so a group name or title from an agreement or a report can never add markup. Charts are SVG with no
script and nothing loaded from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

PASS_COLOUR, FAIL_COLOUR, RAW_COLOUR, RELEASED_COLOUR = "#17692f", "#b3261e", "#8c96a8", "#2f6db5"
WARN_COLOUR, MUTED_COLOUR = "#a15c00", "#55606f"


class Html(str):
    """Markup that is safe to put into a page as is."""

    __slots__ = ()


def e(value: Any) -> Html:
    """Escape a value for HTML text and attribute values (quotes included); Html passes through."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(str(value), quote=True))


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def number(value: Any) -> str:
    """A value on a chart as text: yes/no for booleans, 4 significant digits for floats (as
    pactline.checks.result.fmt writes them), anything else as is."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _svg(width: int, height: int, title: str, parts: list[str]) -> Html:
    return Html(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" class="chart"><title>{e(title)}</title>{"".join(parts)}</svg>')


def bar_chart(title: str, groups: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]],
              *, max_value: float | None = None, percent: bool = True, width: int = 620,
              colours: Sequence[str | None] | None = None, legend: Sequence[tuple[str, str]] | None = None) -> Html:
    """Grouped horizontal bars: one row per group, one bar per series (name, colour, values).

    `colours` overrides the colour per group (single-series charts that mark some rows), and
    `legend` replaces the series legend (name, colour) then.
    """
    bar_h, gap, label_w, top = 14, 10, 170, 26
    values = [v for _, _, vs in series for v in vs if v is not None]
    top_value = max_value if max_value is not None else (max([*values, 0.0]) or 1.0)
    plot_w = width - label_w - 70
    row_h = bar_h * len(series) + gap
    height = top + row_h * max(len(groups), 1) + 8
    parts = []
    for i, (name, colour) in enumerate(legend or [(n, c) for n, c, _ in series]):
        lx = label_w + i * 200
        parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{e(colour)}"/>'
                     f'<text x="{lx + 16}" y="14" font-size="12">{e(name)}</text>')
    for g, group in enumerate(groups):
        y0 = top + g * row_h
        label = group if len(group) <= 26 else group[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y0 + row_h / 2:.0f}" font-size="12" text-anchor="end">'
                     f'<title>{e(group)}</title>{e(label)}</text>')
        for s, (name, colour, vs) in enumerate(series):
            v = vs[g] if g < len(vs) else None
            if colours and g < len(colours) and colours[g]:
                colour = colours[g]
            y = y0 + s * bar_h
            w = 0.0 if v is None else max(0.0, min(1.0, v / top_value)) * plot_w
            text = "n/a" if v is None else (pct(v) if percent else number(v))
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{e(colour)}">'
                         f'<title>{e(name)} {e(group)}: {e(text)}</title></rect>'
                         f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" font-size="11">{e(text)}</text>')
    parts.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 6}" stroke="{MUTED_COLOUR}"/>')
    return _svg(width, height, title, parts)


def score_chart(title: str, rows: Sequence[tuple[str, float | None, float | None, str]], *,
                width: int = 620) -> Html:
    """One bar per score (label, value, threshold, op '>=' or '<=') on a 0..1 scale, a marker at the
    threshold, green when the score meets it and red when not."""
    bar_h, label_w, top = 18, 230, 8
    plot_w = width - label_w - 80
    height = top + len(rows) * (bar_h + 8) + 6
    parts = []
    for i, (label, value, threshold, op) in enumerate(rows):
        y = top + i * (bar_h + 8)
        ok = None if value is None or threshold is None else (value >= threshold if op == ">=" else value <= threshold)
        colour = MUTED_COLOUR if ok is None else (PASS_COLOUR if ok else FAIL_COLOUR)
        w = 0.0 if value is None else max(0.0, min(1.0, value)) * plot_w
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 5}" font-size="12" text-anchor="end">{e(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#eef1f5"/>'
                     f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
                     f'<text x="{label_w + plot_w + 6}" y="{y + bar_h - 5}" font-size="11">'
                     f'{e("n/a" if value is None else f"{value:.3f}")}</text>')
        if threshold is not None:
            tx = label_w + max(0.0, min(1.0, threshold)) * plot_w
            parts.append(f'<line x1="{tx:.1f}" y1="{y - 3}" x2="{tx:.1f}" y2="{y + bar_h + 3}" stroke="#1d2430" '
                         f'stroke-width="2"><title>threshold {e(op)} {e(number(threshold))}</title></line>')
    return _svg(width, height, title, parts)


def progress(title: str, fraction: float | None, *, ok: bool = True, width: int = 180) -> Html:
    """A small bar: how much of a window (agreement term, notification deadline) is used up."""
    f = 0.0 if fraction is None else max(0.0, min(1.0, fraction))
    colour = PASS_COLOUR if ok else FAIL_COLOUR
    if ok and f > 0.75:
        colour = WARN_COLOUR
    parts = [f'<rect x="0" y="2" width="{width}" height="10" rx="3" fill="#eef1f5"/>',
             f'<rect x="0" y="2" width="{f * width:.1f}" height="10" rx="3" fill="{colour}"/>']
    return _svg(width, 14, title, parts)
