"""The report's charts as inline SVG: a metric series, a distribution of samples, the X-Ray service map, the
fleet's findings per day.

Pure functions: model objects or plain lists in, SVG text out, every label escaped. Percentiles are
`healthaudit.stats.percentile` (nearest rank, as CloudWatch), so a chart's p50 and p95 are the
figures a finding's evidence gives for the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..checks.catalogue import declared_thresholds
from ..model import Finding, MetricSeries, Severity, TraceNode, TraceStats
from ..model.report import FleetDay
from ..stats import percentile
from .evidence import percent, quantity, words
from .markup import compact, escape, is_finite_number, moment, number, when

UNITS = {"Duration": "ms", "IteratorAge": "s", "InitDuration": "ms", "PostRuntimeExtensionsDuration": "ms"}
SCALES = {"IteratorAge": 0.001}  # stored in ms; the iterator-age check speaks in seconds
WIDTH, WIDE, LEFT, RIGHT, TOP, BOTTOM = 340, 690, 40, 10, 10, 22

# As the X-Ray console colours its service map: ok, errors (4xx), throttles (429), faults (5xx).
MAP_COLOURS = {"ok": "#16a34a", "errors": "#d97706", "throttles": "#7c3aed", "faults": "#dc2626"}
MAP_ROWS = 60
# The baseline days beside the window: grey, as the page's --baseline (attributes: no stylesheet rule applies).
BASELINE_COLOUR = "#94a3b8"
BASELINE_FILL = f' fill="{BASELINE_COLOUR}"'


# -- a metric over the window --------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A level drawn across a chart: the check's threshold, or the baseline the window is compared with."""

    value: float
    label: str
    kind: str = "threshold"
    """"threshold" (dashed red), "limit" (solid dark red) or "baseline" (dashed grey)."""


def series_chart(
    series: MetricSeries,
    *,
    title: str | None = None,
    unit: str | None = None,
    scale: float | None = None,
    references: Sequence[Reference] = (),
    window_start: datetime | None = None,
) -> str:
    """One hourly metric as inline SVG: bars for sums (counts per hour), a line for other statistics.

    `scale` turns the stored values into `unit` (IteratorAge is stored in ms and read in s); the
    references are in that unit already. The hours before `window_start` are the baseline days: drawn
    grey on a shaded band, the window's hours in colour, with the window's start marked between them.
    """
    unit = UNITS.get(series.metric, "") if unit is None else unit
    scale = SCALES.get(series.metric, 1.0) if scale is None else scale
    points = [
        (slot, value * scale, stamp)
        for slot, value, stamp in _slots(series.timestamps, series.values)
        if is_finite_number(value)
    ]
    caption = (title or f"{words(series.metric)}, {_stat_words(series.stat)} per hour") + (f" ({unit})" if unit else "")
    height = 150
    plot_h = height - TOP - BOTTOM
    if not points:
        return f'<p class="no-data">{escape(caption)}: no datapoints in the window.</p>'
    first, last = points[0][2], points[-1][2]
    split = _window_slot(first, window_start)
    slots = max(max(slot for slot, _, _ in points) + 1, split or 0)
    window = [point for point in points if split is None or point[0] >= split]
    levels = [value for _, value, _ in points] + [r.value for r in references if is_finite_number(r.value)]
    top = _nice_ceiling(max(levels))
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / slots

    def x(slot: float) -> float:
        return LEFT + (slot + 0.5) * step

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    def label(stamp: datetime, value: float) -> str:
        return f"{when(stamp, plain=True)}: {number(value)}{' ' + unit if unit else ''}"

    marks = [_y_axis(top, plot_h, WIDTH)]
    baseline = [point for point in points if split is not None and point[0] < split]
    if split:
        marks.append(_baseline_band(LEFT, x(split - 0.5), plot_h, first, window_start))
    if series.stat.lower() == "sum":
        bar = max(1.0, step * 0.72)
        for part, kind in ((baseline, "bar-baseline"), (window, "bar")):
            marks += [
                f'<rect class="{kind}"{BASELINE_FILL if kind != "bar" else ""} x="{x(s) - bar / 2:.1f}" y="{y(v):.1f}"'
                f' width="{bar:.1f}" height="{max(y(0) - y(v), 0):.1f}"><title>{escape(label(t, v))}</title></rect>'
                for s, v, t in part
            ]
    else:
        if baseline:
            path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v, _ in baseline)
            marks.append(
                f'<polyline class="line-baseline" fill="none" stroke="{BASELINE_COLOUR}" stroke-width="1.5"'
                f' points="{path}"><title>{escape(f"baseline, {len(baseline)} hours")}</title></polyline>'
            )
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v, _ in window)
        marks.append(f'<polyline class="line" points="{path}"/>')
        marks += [
            f'<circle class="dot" cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.2"><title>{escape(label(t, v))}</title></circle>'
            for s, v, t in window
        ]
    if split:
        marks.append(_window_marker(x(split - 0.5), plot_h, window_start))
    if all(v == 0 for _, v, _ in points):
        marks.append(_note(WIDTH / 2, TOP + plot_h / 2, "zero in every hour"))
    legend = (
        [f'<li><span class="swatch"{_background(BASELINE_COLOUR)}></span>baseline days (shaded)</li>'] if split else []
    )
    for reference in references:
        if not is_finite_number(reference.value):
            continue
        at = y(reference.value)
        marks.append(
            f'<line class="ref-{reference.kind}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}">'
            f"<title>{escape(reference.label)}</title></line>"
        )
        legend.append(f'<li><span class="swatch ref-{reference.kind}"></span>{escape(reference.label)}</li>')
    for stamp, at, anchor in ((first, LEFT, "start"), (last, WIDTH - RIGHT, "end")):
        text = escape(when(stamp, plain=True))
        marks.append(f'<text class="axis" x="{at}" y="{height - 6}" text-anchor="{anchor}">{text}</text>')
    peak = max(v for _, v, _ in window) if window else max(v for _, v, _ in points)
    summary = f"{caption}: {len(points)} hourly points from {when(first, plain=True)}"
    if split:
        summary += f", the window from {when(window_start, plain=True)}; window peak {number(peak)}"
    else:
        summary += f", peak {number(peak)}"
    summary += "".join(f"; {r.label}" for r in references if is_finite_number(r.value))
    extra = f'<ul class="legend">{"".join(legend)}</ul>' if legend else ""
    return _figure(caption, summary, WIDTH, height, "".join(marks), extra)


def _window_slot(first: datetime, window_start: datetime | None) -> int | None:
    """The hour slot where the window starts, when some points come before it (the baseline days)."""
    if window_start is None:
        return None
    slot = round((moment(window_start) - moment(first)).total_seconds() / 3600)
    return slot if slot > 0 else None


def _baseline_band(left: float, right: float, plot_h: float, first: datetime, window_start: datetime | None) -> str:
    what = f"baseline: {when(first, plain=True)} to {when(window_start, plain=True)}"
    return (
        f'<rect class="baseline-band" x="{left:.1f}" y="{TOP}" width="{max(right - left, 0):.1f}" height="{plot_h:.1f}"'
        f' fill="{BASELINE_COLOUR}" fill-opacity="0.12"><title>{escape(what)}</title></rect>'
    )


def _window_marker(at: float, plot_h: float, window_start: datetime | None) -> str:
    what = f"the window starts {when(window_start, plain=True)}"
    return (
        f'<line class="window-start" x1="{at:.1f}" x2="{at:.1f}" y1="{TOP}" y2="{TOP + plot_h:.1f}"'
        f' stroke="#334155" stroke-width="1" stroke-dasharray="3 2"><title>{escape(what)}</title></line>'
        f'<text class="axis" x="{at - 3:.1f}" y="{TOP + 9}" text-anchor="end">baseline</text>'
        f'<text class="axis" x="{at + 3:.1f}" y="{TOP + 9}" text-anchor="start">window</text>'
    )


def _background(colour: str) -> str:
    return f' style="background:{colour}"'


def finding_charts(finding: Finding, window_start: datetime | None = None) -> list[str]:
    """The charts of a finding: its hourly series, with the thresholds in force for its function (and the
    baseline, where the evidence gives one) drawn across, in the unit of the finding's message; the hours
    before `window_start` are the baseline days, drawn beside the window."""
    series = {s.metric: s for s in finding.series}
    evidence = finding.evidence
    threshold = _thresholds_of(finding)

    charts: list[str] = []
    shown: set[str] = set()
    rate_of = {"throttled": ("Throttles", ("Throttles", "Invocations"), "Throttle rate", "max_throttle_rate")}
    rate_of["error-rate-high"] = ("Errors", ("Invocations",), "Error rate", "max_error_rate")
    if finding.check_id in rate_of:
        part, whole, name, threshold_name = rate_of[finding.check_id]
        if all(metric in series for metric in (part, *whole)):
            references = []
            limit = threshold(threshold_name)
            if limit is not None:
                references.append(Reference(limit.value * 100, f"{limit.words} {percent(limit.value)}"))
            baseline = evidence.get("baseline_error_rate") if finding.check_id == "error-rate-high" else None
            if is_finite_number(baseline):
                references.append(Reference(baseline * 100, f"baseline {percent(baseline)}", "baseline"))
            rates = ratio_series(name, series[part], [series[m] for m in whole])
            charts.append(
                series_chart(
                    rates, title=f"{name} per hour", unit="%", references=references, window_start=window_start
                )
            )
            shown.update((part, *whole))
    for metric, one in series.items():
        if metric in shown or not one.values:
            continue
        references = _references(finding.check_id, metric, evidence, threshold)
        charts.append(series_chart(one, references=references, window_start=window_start))
    if not charts and finding.series:
        names = ", ".join(s.metric for s in finding.series)
        charts.append(f'<p class="no-data">{escape(names)}: no datapoints in the window.</p>')
    if any(isinstance(evidence.get(key), list | tuple) for key in ("baseline_samples", "current_samples")):
        given = {
            name: (evidence.get(f"{name}_p50_ms"), evidence.get(f"{name}_p95_ms")) for name in ("baseline", "current")
        }
        charts.append(
            distribution_chart(
                evidence.get("baseline_samples") or [], evidence.get("current_samples") or [], given=given
            )
        )
    return [chart for chart in charts if chart]


@dataclass(frozen=True)
class InForce:
    value: float
    words: str
    """"threshold" where the finding carries the value in force for its function; "default threshold" for a
    report stored before findings carried their thresholds."""


def _thresholds_of(finding: Finding):
    """name -> the threshold in force for the finding's function (defaults, config, tags), as the check saw it."""
    defaults = declared_thresholds()

    def threshold(name: str) -> InForce | None:
        value = finding.thresholds.get(name)
        if is_finite_number(value):
            return InForce(float(value), "threshold")
        declared = defaults.get(name)
        return None if declared is None else InForce(float(declared.default), "default threshold")

    return threshold


def _references(check_id: str, metric: str, evidence: Mapping[str, Any], threshold) -> list[Reference]:
    """The threshold a metric is judged against, in the chart's unit, as it applied to the finding's function."""
    if check_id == "iterator-age-high" and metric == "IteratorAge":
        limit = threshold("max_iterator_age_seconds")
        return [] if limit is None else [Reference(limit.value, f"{limit.words} {number(limit.value)} s")]
    if check_id == "duration-near-timeout" and metric == "Duration":
        ratio, timeout_ms = threshold("max_duration_timeout_ratio"), evidence.get("timeout_ms")
        if ratio is None or not is_finite_number(timeout_ms):
            return []
        at = ratio.value * timeout_ms
        return [
            Reference(timeout_ms, f"timeout {number(timeout_ms / 1000)} s", "limit"),
            Reference(at, f"{ratio.words} {percent(ratio.value)} of the timeout ({number(at)} ms)"),
        ]
    if check_id == "concurrency-near-limit" and metric == "ConcurrentExecutions":
        ratio, reserved = threshold("max_concurrency_ratio"), evidence.get("reserved_concurrency")
        if ratio is None or not is_finite_number(reserved):
            return []
        at = ratio.value * reserved
        return [
            Reference(reserved, f"reserved concurrency {number(reserved)}", "limit"),
            Reference(at, f"{ratio.words} {percent(ratio.value)} of it ({number(at)})"),
        ]
    return []


def _stat_words(stat: str) -> str:
    return {"Sum": "total", "Maximum": "maximum", "Average": "average", "Minimum": "minimum"}.get(stat, stat)


def ratio_series(name: str, part: MetricSeries, whole: Sequence[MetricSeries]) -> MetricSeries:
    """part / sum(whole) per hour, in percent, over the hours where the whole is not zero."""
    totals: dict[datetime, float] = {}
    for series in whole:
        for stamp, value in zip(series.timestamps, series.values, strict=False):
            if is_finite_number(value):
                totals[stamp] = totals.get(stamp, 0.0) + value
    parts = dict(zip(part.timestamps, part.values, strict=False))
    hours = sorted(stamp for stamp, total in totals.items() if total)
    values = tuple(100 * (parts.get(stamp) or 0.0) / totals[stamp] for stamp in hours)
    return MetricSeries(metric=name, stat="ratio", timestamps=tuple(hours), values=values)


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


def distribution_chart(
    baseline: Sequence[Any],
    current: Sequence[Any],
    unit: str = "ms",
    bins: int = 24,
    given: Mapping[str, tuple[Any, Any]] | None = None,
) -> str:
    """Baseline and current samples (e.g. init durations) as overlaid histograms with p50 and p95 marks.

    The samples come from a finding's evidence, which the model leaves free-form: anything that is
    not a finite number is left out. `given` holds the finding's own p50 and p95 by group, computed over
    every sample it read (the evidence keeps a bounded number): where given, those are the marks, so the
    chart and the finding say the same figures; else they are `percentile` of the samples drawn.
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
        return LEFT + (min(max(value, low), high) - low) / (high - low) * plot_w

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
    marks_of = {name: _marks(values, (given or {}).get(name)) for name, values in groups}
    for name, values in groups:
        p50, p95 = marks_of[name]
        for p, value in (("p50", p50), ("p95", p95)):
            marks.append(
                f'<line class="mark-{name} {p}" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{TOP}" y2="{TOP + plot_h}">'
                f"<title>{name} {p} {number(value)} {unit}</title></line>"
            )
        legend.append(
            f'<li><span class="swatch hist-{name}"></span>{name}: {len(values)} samples, '
            f"p50 {escape(quantity(p50))} {unit}, p95 {escape(quantity(p95))} {unit}</li>"
        )
    for value, anchor in ((low, "start"), ((low + high) / 2, "middle"), (high, "end")):
        marks.append(
            f'<text class="axis" x="{x(value):.1f}" y="{height - 6}" text-anchor="{anchor}">'
            f"{escape(compact(value))} {unit}</text>"
        )
    caption = f"Init duration distribution, baseline vs current ({unit})"
    summary = "; ".join(
        f"{name} {len(values)} samples, p50 {number(marks_of[name][0])}, p95 {number(marks_of[name][1])}"
        for name, values in groups
    )
    extra = f'<ul class="legend">{"".join(legend)}<li class="muted">solid line p50, dashed line p95</li></ul>'
    return _figure(caption, f"{caption}: {summary}", WIDE, height, "".join(marks), extra, wide=True)


def _marks(values: Sequence[float], given: tuple[Any, Any] | None) -> tuple[float, float]:
    if given is not None and all(is_finite_number(v) for v in given):
        return float(given[0]), float(given[1])
    return percentile(values, 50), percentile(values, 95)


def _histogram(values: Sequence[float], low: float, width: float, bins: int) -> list[int]:
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return counts


# -- the fleet over the last days ----------------------------------------------------------------

# As the page's severity colours (style.py), worst at the bottom of each day's stack.
SEVERITY_COLOURS = {
    Severity.CRITICAL: "#7f1d1d",
    Severity.HIGH: "#b91c1c",
    Severity.MEDIUM: "#b45309",
    Severity.LOW: "#1d4ed8",
    Severity.INFO: "#475569",
}


def fleet_chart(days: Sequence[FleetDay]) -> str:
    """Active findings by severity per day, one stacked bar a day (oldest left), as inline SVG.

    A day with counts None had no stored report: it is drawn as an outlined gap, never as a zero bar.
    """
    if not days:
        return ""
    totals = [sum(day.counts.values()) if day.counts is not None else None for day in days]
    top = _nice_ceiling(max((total for total in totals if total is not None), default=0))
    height = 170
    plot_w, plot_h = WIDE - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / len(days)
    bar = max(step * 0.7, 1.0)
    marks = [_y_axis(top, plot_h, WIDE)]
    for index, (day, total) in enumerate(zip(days, totals, strict=True)):
        left = LEFT + index * step + (step - bar) / 2
        when_ = escape(day.day)
        if day.counts is None:
            marks.append(
                f'<g class="fleet-day gap" data-day="{when_}"><rect x="{left:.1f}" y="{TOP}" width="{bar:.1f}"'
                f' height="{plot_h}" fill="none" stroke="#cbd5e1" stroke-dasharray="2 2">'
                f"<title>{when_}: no report stored</title></rect></g>"
            )
            continue
        stack, bottom = [], TOP + plot_h
        for severity in SEVERITY_COLOURS:
            count = day.counts.get(severity, 0)
            if not count:
                continue
            h = plot_h * count / top
            bottom -= h
            stack.append(
                f'<rect class="sev-{severity.value}" x="{left:.1f}" y="{bottom:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                f' fill="{SEVERITY_COLOURS[severity]}"><title>{when_}: {count} {severity.value}</title></rect>'
            )
        if not total:
            stack.append(
                f'<rect x="{left:.1f}" y="{TOP + plot_h - 1.5:.1f}" width="{bar:.1f}" height="1.5" fill="#16a34a">'
                f"<title>{when_}: no active findings</title></rect>"
            )
        marks.append(f'<g class="fleet-day" data-day="{when_}" data-total="{total}">{"".join(stack)}</g>')
    for day, at, anchor in ((days[0], LEFT, "start"), (days[-1], WIDE - RIGHT, "end")):
        marks.append(f'<text class="axis" x="{at}" y="{height - 6}" text-anchor="{anchor}">{escape(day.day)}</text>')
    stored = [total for total in totals if total is not None]
    present = [s for s in SEVERITY_COLOURS if any(day.counts and day.counts.get(s) for day in days)]
    legend = "".join(
        f'<li><span class="swatch"{_background(SEVERITY_COLOURS[s])}></span>{s.value}</li>' for s in present
    )
    legend += '<li><span class="swatch" style="border:1px dashed #94a3b8"></span>no report that day</li>'
    caption = f"Active findings by severity per day, the last {len(days)} days"
    summary = (
        f"{caption}: {len(stored)} days with a report, {len(days) - len(stored)} without; "
        f"from {days[0].day} to {days[-1].day}"
    )
    return _figure(caption, summary, WIDE, height, "".join(marks), f'<ul class="legend">{legend}</ul>', wide=True)


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
