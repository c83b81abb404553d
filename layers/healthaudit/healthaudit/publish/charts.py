"""The report's charts as inline SVG: a metric series, a distribution of samples, the X-Ray service map.

Pure functions: model objects or plain lists in, SVG text out, every label escaped. Percentiles are
`healthaudit.stats.percentile` (nearest rank, as CloudWatch), so a chart's p50 and p95 are the
figures a finding's evidence gives for the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..model import MetricSeries, TraceNode, TraceStats
from ..stats import percentile
from .markup import compact, escape, is_finite_number, moment, number, when

UNITS = {"Duration": "ms", "IteratorAge": "ms", "InitDuration": "ms", "PostRuntimeExtensionsDuration": "ms"}
WIDTH, WIDE, LEFT, RIGHT, TOP, BOTTOM = 340, 690, 40, 10, 10, 22

# As the X-Ray console colours its service map: ok, errors (4xx), throttles (429), faults (5xx).
MAP_COLOURS = {"ok": "#16a34a", "errors": "#d97706", "throttles": "#7c3aed", "faults": "#dc2626"}
MAP_ROWS = 60


# -- a metric over the window --------------------------------------------------------------------


def series_chart(series: MetricSeries) -> str:
    """One hourly metric as inline SVG: bars for sums (counts per hour), a line for other statistics."""
    unit = UNITS.get(series.metric, "")
    points = [
        (slot, value, stamp)
        for slot, value, stamp in _slots(series.timestamps, series.values)
        if is_finite_number(value)
    ]
    caption = f"{series.metric} · {series.stat} per hour" + (f" ({unit})" if unit else "")
    height = 140
    plot_h = height - TOP - BOTTOM
    if not points:
        return f'<p class="no-data">{escape(caption)}: no datapoints in the window.</p>'
    slots = max(slot for slot, _, _ in points) + 1
    top = _nice_ceiling(max(value for _, value, _ in points))
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / slots

    def x(slot: int) -> float:
        return LEFT + (slot + 0.5) * step

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    def label(stamp: datetime, value: float) -> str:
        return f"{when(stamp, plain=True)}: {number(value)}{' ' + unit if unit else ''}"

    marks = [_y_axis(top, plot_h, WIDTH)]
    if series.stat.lower() == "sum":
        bar = max(1.0, step * 0.72)
        marks += [
            f'<rect class="bar" x="{x(s) - bar / 2:.1f}" y="{y(v):.1f}" width="{bar:.1f}" '
            f'height="{max(y(0) - y(v), 0):.1f}"><title>{escape(label(t, v))}</title></rect>'
            for s, v, t in points
        ]
    else:
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v, _ in points)
        marks.append(f'<polyline class="line" points="{path}"/>')
        marks += [
            f'<circle class="dot" cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.2"><title>{escape(label(t, v))}</title></circle>'
            for s, v, t in points
        ]
    if all(v == 0 for _, v, _ in points):
        marks.append(_note(WIDTH / 2, TOP + plot_h / 2, "zero in every hour"))
    first, last = points[0][2], points[-1][2]
    for stamp, at, anchor in ((first, LEFT, "start"), (last, WIDTH - RIGHT, "end")):
        text = escape(when(stamp, plain=True))
        marks.append(f'<text class="axis" x="{at}" y="{height - 6}" text-anchor="{anchor}">{text}</text>')
    peak = max(v for _, v, _ in points)
    summary = f"{caption}: {len(points)} hourly points from {when(first, plain=True)}, peak {number(peak)}"
    return _figure(caption, summary, WIDTH, height, "".join(marks))


def _slots(timestamps: Sequence[datetime], values: Sequence[float]) -> list[tuple[int, float, datetime]]:
    """Each value with its hour offset from the first timestamp: CloudWatch leaves out empty hours."""
    if not timestamps:
        return []
    start = moment(timestamps[0])
    return [
        (max(round((moment(t) - start).total_seconds() / 3600), 0), v, t)
        for t, v in zip(timestamps, values, strict=False)
    ]


# -- samples, baseline against current -----------------------------------------------------------


def distribution_chart(baseline: Sequence[Any], current: Sequence[Any], unit: str = "ms", bins: int = 24) -> str:
    """Baseline and current samples (e.g. init durations) as overlaid histograms with p50 and p95 marks.

    The samples come from a finding's evidence, which the model leaves free-form: anything that is
    not a finite number is left out.
    """
    groups = [
        (name, [float(v) for v in values if is_finite_number(v)])
        for name, values in (("baseline", baseline), ("current", current))
    ]
    groups = [(name, values) for name, values in groups if values]
    if not groups:
        return ""
    low = min(min(values) for _, values in groups)
    high = max(max(values) for _, values in groups)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    shares = {name: [count / len(values) for count in _histogram(values, low, width, bins)] for name, values in groups}
    top = _nice_ceiling(max(max(s) for s in shares.values()))
    height = 190
    plot_w, plot_h = WIDE - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / bins

    def x(value: float) -> float:
        return LEFT + (value - low) / (high - low) * plot_w

    marks = [_y_axis(top, plot_h, WIDE, percent=True)]
    for name, values in groups:
        for i, share in enumerate(shares[name]):
            if share:
                h = plot_h * share / top
                span = f"{number(low + i * width)}–{number(low + (i + 1) * width)} {unit}"
                what = f"{name} {span}: {share:.0%} of {len(values)}"
                marks.append(
                    f'<rect class="hist-{name}" x="{LEFT + i * step + 0.5:.1f}" y="{TOP + plot_h - h:.1f}" '
                    f'width="{max(step - 1, 1):.1f}" height="{h:.1f}"><title>{escape(what)}</title></rect>'
                )
    legend = []
    for name, values in groups:
        p50, p95 = percentile(values, 50), percentile(values, 95)
        for p, value in (("p50", p50), ("p95", p95)):
            marks.append(
                f'<line class="mark-{name} {p}" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{TOP}" y2="{TOP + plot_h}">'
                f"<title>{name} {p} {number(value)} {unit}</title></line>"
            )
        legend.append(
            f'<li><span class="swatch hist-{name}"></span>{name}: {len(values)} samples, '
            f"p50 {escape(number(p50))} {unit}, p95 {escape(number(p95))} {unit}</li>"
        )
    for value, anchor in ((low, "start"), ((low + high) / 2, "middle"), (high, "end")):
        marks.append(
            f'<text class="axis" x="{x(value):.1f}" y="{height - 6}" text-anchor="{anchor}">'
            f"{escape(compact(value))} {unit}</text>"
        )
    caption = f"Init duration distribution, baseline vs current ({unit})"
    summary = "; ".join(
        f"{name} {len(values)} samples, p50 {number(percentile(values, 50))}, p95 {number(percentile(values, 95))}"
        for name, values in groups
    )
    extra = f'<ul class="legend">{"".join(legend)}<li class="muted">solid line p50, dashed line p95</li></ul>'
    return _figure(caption, f"{caption}: {summary}", WIDE, height, "".join(marks), extra, wide=True)


def _histogram(values: Sequence[float], low: float, width: float, bins: int) -> list[int]:
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return counts


# -- the X-Ray service map -----------------------------------------------------------------------


def service_map(graph: Mapping[str, TraceNode]) -> str:
    """The traced functions (left) and the services they call (right), as inline SVG.

    An edge and a node take the colour of their worst outcome: faults, then throttles, then errors,
    else ok; the label gives the traced calls and the share that failed.
    """
    if not graph:
        return "<p>No traced function appears in the X-Ray service graph for this window.</p>"
    functions = sorted(graph.items(), key=lambda item: (-_worst_share(item[1]), item[0]))[:MAP_ROWS]
    targets = sorted({edge.name for _, node in functions for edge in node.edges})
    row, width = 26, 760
    height = 40 + row * max(len(functions), len(targets), 1)
    left, right = 190, 560
    y_of_target = {name: 30 + row * index for index, name in enumerate(targets)}
    marks = []
    for index, (name, node) in enumerate(functions):
        y = 30 + row * index
        for edge in node.edges:
            share = edge.stats.failure_rate
            label = f"{edge.stats.total} calls" + (f", {share:.0%} failed" if share else "")
            marks.append(
                f'<line x1="{left + 8}" y1="{y}" x2="{right - 8}" y2="{y_of_target[edge.name]}"'
                f' stroke="{_map_colour(edge.stats)}" stroke-width="{1.5 + 3 * share:.1f}">'
                f"<title>{escape(name)} → {escape(edge.name)}: {escape(label)}</title></line>"
            )
        colour = _map_colour(node.stats)
        marks.append(
            f'<circle cx="{left}" cy="{y}" r="7" fill="{colour}"><title>{escape(name)}</title></circle>'
            f'<text class="axis" x="{left - 12}" y="{y + 4}" text-anchor="end">{escape(_shorten_label(name))}</text>'
        )
    for name, y in y_of_target.items():
        marks.append(
            f'<rect x="{right - 7}" y="{y - 7}" width="14" height="14" rx="3" fill="#94a3b8">'
            f"<title>{escape(name)}</title></rect>"
            f'<text class="axis" x="{right + 12}" y="{y + 4}">{escape(_shorten_label(name))}</text>'
        )
    legend = " ".join(
        f'<span class="legend" style="color:{colour}">■ {escape(kind)}</span>' for kind, colour in MAP_COLOURS.items()
    )
    more = len(graph) - len(functions)
    extra = f" {legend}" + (f" · and {more} more traced functions, healthiest last" if more > 0 else "")
    summary = f"{len(graph)} traced functions calling {len(targets)} services"
    return _figure(
        "Traced functions (circles) and what they call (squares).",
        summary,
        width,
        height,
        "".join(marks),
        extra,
        wide=True,
    )


def _worst_share(node: TraceNode) -> float:
    return max([node.stats.failure_rate, *(edge.stats.failure_rate for edge in node.edges)])


def _map_colour(stats: TraceStats) -> str:
    for kind, count in (("faults", stats.faults), ("throttles", stats.throttles), ("errors", stats.errors)):
        if count:
            return MAP_COLOURS[kind]
    return MAP_COLOURS["ok"]


def _shorten_label(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- frame and axes ------------------------------------------------------------------------------


def _figure(caption: str, summary: str, width: int, height: int, marks: str, extra: str = "", wide=False) -> str:
    return (
        f'<figure class="chart{" wide" if wide else ""}">'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(summary)}">'
        f"<title>{escape(summary)}</title>{marks}</svg><figcaption>{escape(caption)}{extra}</figcaption></figure>"
    )


def _y_axis(top: float, plot_h: float, width: int, percent: bool = False) -> str:
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        value = top * fraction
        text = f"{value:.0%}" if percent else compact(value)
        lines.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 5}" y="{y + 3.5:.1f}" text-anchor="end">{escape(text)}</text>'
        )
    return "".join(lines)


def _note(x: float, y: float, text: str) -> str:
    return f'<text class="note" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(text)}</text>'


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude * (1 + 1e-9))
