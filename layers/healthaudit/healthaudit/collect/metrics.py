"""Metrics through batched GetMetricData: one query per function and metric, up to 500 queries a call, and
no more than one page of datapoints can hold.

The fleet-wide pass asks for one datapoint per window length (the current window and each baseline
window), which keeps the estimated datapoints, and so the datapoints-per-second quota, small. Only
functions with findings get hourly series, in a second small pass.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Hashable, Iterable, Sequence

from aws_lambda_powertools import Tracer

from ..model import MetricSeries
from .errors import READ_ERRORS, describe_error

tracer = Tracer()
NAMESPACE = "AWS/Lambda"
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800
"""MaxDatapoints' default: "The maximum number of data points the request should return before paginating.
If you omit this, the default of 100,800 is used." A call asking for more is answered in pages, a call each."""
HOURLY = 3600

# The statistic that answers each question: Sum for counts, Maximum for levels, p99 for latency.
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
STAT = {
    "Invocations": "Sum",
    "Errors": "Sum",
    "Throttles": "Sum",
    "Duration": "p99",
    "ConcurrentExecutions": "Maximum",
    "AsyncEventsReceived": "Sum",
    "AsyncEventsDropped": "Sum",
    "DeadLetterErrors": "Sum",
    "DestinationDeliveryFailures": "Sum",
    "ProvisionedConcurrencySpilloverInvocations": "Sum",
    "ProvisionedConcurrencyInvocations": "Sum",
    "IteratorAge": "Maximum",
    "ClaimedAccountConcurrency": "Maximum",
}
FUNCTION_METRICS = (
    "Invocations",
    "Errors",
    "Throttles",
    "Duration",
    "ConcurrentExecutions",
    "AsyncEventsReceived",
    "AsyncEventsDropped",
    "DeadLetterErrors",
    "DestinationDeliveryFailures",
    "ProvisionedConcurrencySpilloverInvocations",
    "ProvisionedConcurrencyInvocations",
)
STREAM_METRICS = ("IteratorAge",)
# A function that in the whole range had no invocation, no throttled request and no queued event did
# no work, and its other metrics have no datapoints: errors, duration, concurrency, spillover,
# invocations on provisioned concurrency and iterator age come with invocations; dropped async
# events, dead-letter errors and destination failures with queued events
# (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
# The audit reads these three for every function, and the rest only for functions that did work.
ACTIVITY_METRICS = ("Invocations", "Throttles", "AsyncEventsReceived")
WORK_METRICS = tuple(metric for metric in FUNCTION_METRICS if metric not in ACTIVITY_METRICS)
ACCOUNT_METRICS = ("ClaimedAccountConcurrency",)

# ListMetrics "doesn't return information about metrics if those metrics haven't reported data in the past
# two weeks", up to 500 a page, billed per request, not per metric
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html). A metric it does
# not list has no datapoint in a range that starts within those two weeks, so GetMetricData (billed per
# metric requested) need not be asked for it. AWS does not say where "the past two weeks" begins to the
# hour: the listing is trusted only for ranges that start a day inside them. And "after you create a metric,
# allow up to 15 minutes for the metric to appear": a function first active in the 15 minutes before the
# listing may be missing from it, so the listing is trusted only for ranges that end 15 minutes before it.
LISTING_REACH = timedelta(days=14)
LISTING_MARGIN = timedelta(days=1)
LISTING_DELAY = timedelta(minutes=15)
ListedMetric = tuple[str | None, str]
"""(function name, or None for an account-wide metric; metric name)."""


@dataclass(frozen=True)
class MetricRequest:
    owner: Hashable
    """Whose metric this is: a function ARN, or "account"."""
    metric: str
    function_name: str | None = None

    def query(self, query_id: str, period: int) -> dict[str, Any]:
        dimensions = [{"Name": "FunctionName", "Value": self.function_name}] if self.function_name else []
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": self.metric, "Dimensions": dimensions},
                "Period": period,
                "Stat": STAT[self.metric],
            },
            "ReturnData": True,
        }


def listing_covers(start: datetime, end: datetime, now: datetime) -> bool:
    """Whether ListMetrics, called at `now`, tells every metric with data in [start, end)."""
    return start >= now - LISTING_REACH + LISTING_MARGIN and end <= now - LISTING_DELAY


@tracer.capture_method(capture_response=False)
def list_lambda_metrics(cloudwatch: Any) -> tuple[frozenset[ListedMetric], int]:
    """Every AWS/Lambda metric with data in the past two weeks, by function name (only the metrics whose one
    dimension is FunctionName, as the audit reads them) or None (no dimension); and the pages it took."""
    listed: set[ListedMetric] = set()
    pages = 0
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE):
        pages += 1
        for metric in page.get("Metrics", []):
            dimensions = metric.get("Dimensions") or []
            if not dimensions:
                listed.add((None, metric["MetricName"]))
            elif len(dimensions) == 1 and dimensions[0].get("Name") == "FunctionName":
                listed.add((dimensions[0]["Value"], metric["MetricName"]))
    return frozenset(listed), pages


@dataclass
class MetricResults:
    points: dict[tuple[Hashable, str], list[tuple[datetime, float]]]
    failed: dict[Hashable, str]
    """Owners with at least one metric unread, with the reason."""
    calls: int = 0


def periods_between(start: datetime, end: datetime, period: int) -> int:
    """The datapoints one query can return over [start, end): one a period, the last one partial."""
    return max(1, math.ceil((end - start).total_seconds() / period))


def queries_per_call(periods: int) -> int:
    """The most queries one call answers on one page: 500, or fewer once 500 of them could return more than
    100,800 datapoints. A call of more would be paged, each page a call of its own, and the last page
    mostly empty: batches sized to a page take ⌈queries / per call⌉ calls, the fewest."""
    return max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // periods))


def calls_needed(queries: int, periods: int) -> int:
    """GetMetricData calls for `queries` queries of `periods` datapoints each."""
    return math.ceil(queries / queries_per_call(periods))


@tracer.capture_method(capture_response=False)
def fetch_metrics(
    cloudwatch: Any,
    requests: Sequence[MetricRequest],
    start: datetime,
    end: datetime,
    period: int,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> MetricResults:
    size = queries_per_call(periods_between(start, end, period))
    batches = [requests[i : i + size] for i in range(0, len(requests), size)]
    results = MetricResults(points={}, failed={})
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batches)))) as pool:
        for batch_points, batch_failed in pool.map(
            lambda batch: _fetch_batch(cloudwatch, batch, start, end, period), batches
        ):
            results.points.update(batch_points)
            results.failed.update(batch_failed)
            done += 1
            if progress:
                progress(done, len(batches))
    results.calls = len(batches)
    return results


def _fetch_batch(
    cloudwatch: Any, batch: Sequence[MetricRequest], start: datetime, end: datetime, period: int
) -> tuple[dict, dict]:
    by_id = {f"m{index}": request for index, request in enumerate(batch)}
    points: dict[tuple[Hashable, str], list[tuple[datetime, float]]] = {
        (request.owner, request.metric): [] for request in batch
    }
    failed: dict[Hashable, str] = {}
    queries = [request.query(query_id, period) for query_id, request in by_id.items()]
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    answered: set[str] = set()
    try:
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                request = by_id.get(result.get("Id", ""))
                if request is None:
                    continue
                answered.add(result["Id"])
                if result.get("StatusCode") in ("InternalError", "Forbidden"):
                    failed[request.owner] = f"GetMetricData {request.metric}: {result['StatusCode']}"
                    continue
                points[(request.owner, request.metric)].extend(
                    zip(map(_in_utc, result.get("Timestamps", [])), map(float, result.get("Values", [])), strict=False)
                )
            if not response.get("NextToken"):
                break
            kwargs["NextToken"] = response["NextToken"]
    except READ_ERRORS as error:
        reason = describe_error(error)
        return {}, {request.owner: reason for request in batch}
    # Every query is answered on some page, with an empty result when there is no data
    # (API_GetMetricData.html, MetricDataResults); one never answered is unknown, not idle.
    for query_id in by_id.keys() - answered:
        request = by_id[query_id]
        failed.setdefault(request.owner, f"GetMetricData {request.metric}: no result returned for the query")
    for key in points:
        points[key].sort()
    return points, failed


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC. The audit's clients read timestamps in UTC already (clients.utc_timestamp); a client
    made otherwise gives each a tzlocal instance of its own: kept, a fleet's datapoints would carry one apiece,
    and every comparison between two of them would ask both for their offset."""
    return moment.astimezone(UTC)


def series_for(results: MetricResults, owner: Hashable, metrics: Iterable[str]) -> tuple[MetricSeries, ...]:
    series = []
    for metric in metrics:
        pairs = results.points.get((owner, metric), [])
        series.append(
            MetricSeries(
                metric=metric,
                stat=STAT[metric],
                timestamps=tuple(t for t, _ in pairs),
                values=tuple(v for _, v in pairs),
            )
        )
    return tuple(series)
