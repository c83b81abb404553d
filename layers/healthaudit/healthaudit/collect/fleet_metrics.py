"""The fleet-wide metrics pass: every function's metrics over the baseline and the current window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..model import AuditWindow, MetricWindow
from .collected import Collected, Progress
from .errors import READ_ERRORS, describe_error
from .metrics import (
    ACCOUNT_METRICS,
    ACTIVITY_METRICS,
    FUNCTION_METRICS,
    LISTING_DELAY,
    LISTING_MARGIN,
    LISTING_REACH,
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

    now = now or datetime.now(UTC)
    if not listing_covers(window.baseline_start, window.end, now):
        state.notes.append(f"metrics read in two passes, every function's activity first: {_unlisted(window, now)}")
    else:
        try:
            listed, _pages = list_lambda_metrics(cloudwatch)
        except READ_ERRORS as error:
            # Nothing is lost: every function's metrics are read the dearer way below, and the report says so.
            state.notes.append(
                f"metrics read in two passes, every function's activity first: ListMetrics was not answered"
                f" ({describe_error(error)}); grant cloudwatch:ListMetrics to read only the metrics that have data"
            )
        else:
            requests = _listed_requests(state, listed)
            results = fetch(requests)
            return results, len(requests)

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


def _unlisted(window: AuditWindow, now: datetime) -> str:
    """Why ListMetrics, called at `now`, cannot tell which functions have data in the window."""
    if window.baseline_start < now - LISTING_REACH + LISTING_MARGIN:
        return (
            f"the baseline starts {window.baseline_start:%Y-%m-%d %H:%M} UTC, too early for ListMetrics' two weeks"
            " to tell which functions have data"
        )
    return (
        f"the window ends {window.end:%Y-%m-%d %H:%M} UTC, less than {LISTING_DELAY.seconds // 60} minutes before"
        f" the audit ({now:%H:%M} UTC), and ListMetrics lists a new metric up to {LISTING_DELAY.seconds // 60}"
        f" minutes after its first datum; schedule the audit {LISTING_DELAY.seconds // 60} minutes or more past"
        " the hour to read only the metrics that have data"
    )
