"""The fleet-wide metrics pass: every function's metrics over the baseline and the current window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..model import AuditWindow, MetricWindow
from .collected import Collected, Progress
from .metrics import (
    ACCOUNT_METRICS,
    ACTIVITY_METRICS,
    STREAM_METRICS,
    WORK_METRICS,
    MetricRequest,
    MetricResults,
    fetch_metrics,
)


def fleet_metrics(
    cloudwatch: Any, state: Collected, window: AuditWindow, report: Progress
) -> tuple[MetricResults, int]:
    """Every function's metrics over the baseline and the current window, one datapoint per window.

    Two passes: the activity metrics of every function (and the account's), then the other metrics
    of the functions that did any work. In an account of mostly idle functions that is a fraction
    of the queries; when every function works it is the same number.
    """

    def fetch(requests: list[MetricRequest]) -> MetricResults:
        return fetch_metrics(
            cloudwatch,
            requests,
            window.baseline_start,
            window.end,
            int(window.length.total_seconds()),
            progress=lambda done, total: report("metrics", done, total),
        )

    first = [
        MetricRequest(owner=c["FunctionArn"], metric=m, function_name=c["FunctionName"])
        for c in state.configs
        for m in ACTIVITY_METRICS
    ]
    first += [MetricRequest(owner="account", metric=metric) for metric in ACCOUNT_METRICS]
    results = fetch(first)
    worked = [
        c
        for c in state.configs
        if c["FunctionArn"] not in results.failed
        and any(
            value > 0 for metric in ACTIVITY_METRICS for _, value in results.points.get((c["FunctionArn"], metric), ())
        )
    ]
    second = [
        MetricRequest(owner=c["FunctionArn"], metric=metric, function_name=c["FunctionName"])
        for c in worked
        for metric in WORK_METRICS + (STREAM_METRICS if _reads_a_stream(c, state) else ())
    ]
    if second:
        more = fetch(second)
        results.points.update(more.points)
        results.failed.update(more.failed)
        results.calls += more.calls
    return results, len(first) + len(second)


def _reads_a_stream(config: dict[str, Any], state: Collected) -> bool:
    return any(source.is_stream for source in state.event_sources.get(config["FunctionArn"], []))


def points_by_owner(metrics: MetricResults) -> dict[Any, dict[str, list[tuple[datetime, float]]]]:
    """The metric points regrouped by owner in one pass (a lookup per function would be quadratic)."""
    grouped: dict[Any, dict[str, list[tuple[datetime, float]]]] = {}
    for (owner, metric), pairs in metrics.points.items():
        grouped.setdefault(owner, {})[metric] = pairs
    return grouped


def split_windows(
    points: dict[str, list[tuple[datetime, float]]], window: AuditWindow
) -> tuple[MetricWindow, MetricWindow]:
    current: dict[str, tuple[float, ...]] = {}
    baseline: dict[str, tuple[float, ...]] = {}
    for metric, pairs in points.items():
        current[metric] = tuple(v for t, v in pairs if _at_or_after(t, window.start))
        baseline[metric] = tuple(v for t, v in pairs if not _at_or_after(t, window.start))
    return MetricWindow(current), MetricWindow(baseline)


def _at_or_after(moment: datetime, start: datetime) -> bool:
    return moment >= start
