"""The fleet-wide metrics pass: every function's metrics over the baseline and the current window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

from ..model import AuditWindow, MetricWindow
from ..model.snapshot import AVERAGE_DURATION
from .collected import Collected, Progress
from .errors import READ_ERRORS
from .metrics import (
    ACCOUNT_METRICS,
    ACTIVITY_METRICS,
    FUNCTION_METRICS,
    STREAM_METRICS,
    WORK_METRICS,
    MetricRequest,
    MetricResults,
    fetch_metrics,
    list_lambda_metrics,
    listing_covers,
)


def fleet_metrics(
    cloudwatch: Any, state: Collected, window: AuditWindow, report: Progress, now: datetime | None = None
) -> tuple[MetricResults, int]:
    """Every function's metrics over the baseline and the current window, one datapoint per window.

    GetMetricData is billed per metric requested, ListMetrics per request of up to 500 metrics. So the
    audit lists the AWS/Lambda metrics that have data (ListMetrics, the past two weeks) and asks
    GetMetricData only for those: a function that did no work in two weeks costs nothing to read.

    Where the listing cannot tell (the range starts before the listing's two weeks, or ListMetrics is not
    answered, e.g. a member role deployed before it was granted), two passes: the activity metrics of every
    function (and the account's), then the other metrics of the functions that did any work.

    Then Duration's Average for the functions whose findings may be priced (see `_priced_candidates`):
    one more metric requested for each of them.
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

    if listing_covers(window.baseline_start, now or datetime.now(UTC)):
        try:
            listed, _pages = list_lambda_metrics(cloudwatch)
        except READ_ERRORS:
            pass  # nothing is lost: every function's metrics are read the dearer way below
        else:
            requests = _listed_requests(state, listed)
            results = fetch(requests)
            return results, len(requests) + _add_average_durations(fetch, state, results, window)

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
    return results, len(first) + len(second) + _add_average_durations(fetch, state, results, window)


@dataclass(frozen=True)
class _AverageDuration(MetricRequest):
    """Duration's Average statistic, kept under AVERAGE_DURATION beside the p99 that "Duration" holds."""

    metric: str = AVERAGE_DURATION

    def query(self, query_id: str, period: int) -> dict[str, Any]:
        query = MetricRequest(self.owner, "Duration", self.function_name).query(query_id, period)
        query["MetricStat"]["Stat"] = "Average"
        return query


#: Lambda's smallest memory size: a function at it can be suggested no smaller one.
SMALLEST_MEMORY_MB = 128


def _add_average_durations(
    fetch: Callable[[list[MetricRequest]], MetricResults], state: Collected, results: MetricResults, window: AuditWindow
) -> int:
    """Read Duration's Average for the priced candidates into `results`; the metrics it requested.

    A failure here costs only the figure: the findings fall back to the p99 (an upper bound) and say so,
    so the functions are not marked unread.
    """
    requests = [
        _AverageDuration(owner=c["FunctionArn"], function_name=c["FunctionName"])
        for c in _priced_candidates(state, results, window)
    ]
    if requests:
        results.points.update(fetch(requests).points)
    return len(requests)


def _priced_candidates(state: Collected, results: MetricResults, window: AuditWindow) -> list[dict[str, Any]]:
    """Functions invoked in the current window with a Duration, whose findings may be priced: those above
    the smallest memory size (memory-overprovisioned) and those with errors (error-rate-high,
    duration-near-timeout). Thresholds are per function (tags) and unknown here, so nothing finer."""

    def current(arn: str, metric: str) -> float:
        return sum(value for moment, value in results.points.get((arn, metric), ()) if moment >= window.start)

    return [
        c
        for c in state.configs
        if c["FunctionArn"] not in results.failed
        and results.points.get((c["FunctionArn"], "Duration"))
        and current(c["FunctionArn"], "Invocations") > 0
        and (
            int(c.get("MemorySize", SMALLEST_MEMORY_MB)) > SMALLEST_MEMORY_MB or current(c["FunctionArn"], "Errors") > 0
        )
    ]


def _listed_requests(state: Collected, listed: frozenset[tuple[str | None, str]]) -> list[MetricRequest]:
    """The metrics the audit reads that ListMetrics listed: only those can have a datapoint in the range."""
    requests = [
        MetricRequest(owner=c["FunctionArn"], metric=metric, function_name=c["FunctionName"])
        for c in state.configs
        for metric in FUNCTION_METRICS + (STREAM_METRICS if _reads_a_stream(c, state) else ())
        if (c["FunctionName"], metric) in listed
    ]
    requests += [
        MetricRequest(owner="account", metric=metric) for metric in ACCOUNT_METRICS if (None, metric) in listed
    ]
    return requests


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
