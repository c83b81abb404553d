"""GetMetricData against the sandbox: the batches of tests/unit/test_metric_batches.py (one page of datapoints
a call, at most 500 queries; API_GetMetricData.html), as the calls the audit really makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.collect.clients import AwsClients
from healthaudit.collect.metrics import HOURLY, MetricRequest, fetch_metrics

END = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "queries, hours, calls",
    [(500, 192, 1), (501, 192, 2), (500, 201, 1), (500, 202, 2), (499, 202, 1)],
)
def test_fetch_metrics_makes_one_get_metric_data_call_per_page_sized_batch(aws, queries, hours, calls):
    """Against the sandbox: the calls made for `queries` hourly queries over `hours` hours, at both edges."""
    clients = AwsClients(aws, region=aws.region_name)
    requests = [MetricRequest(owner=f"fn-{i}", metric="Invocations", function_name=f"fn-{i}") for i in range(queries)]

    results = fetch_metrics(clients.client("cloudwatch"), requests, END - timedelta(hours=hours), END, HOURLY)

    assert clients.api_calls()["GetMetricData"] == results.calls == calls
    assert results.failed == {}
    assert len(results.points) == queries  # every query answered, each with no datapoint


def test_fetch_metrics_gives_datapoints_in_utc_whatever_tzinfo_botocore_parses_them_with(aws):
    """GetMetricData's Timestamps are instants; botocore parses each with a tzlocal of its own. The collector
    keeps them in UTC, one shared tzinfo, which compares with the audit window's bounds without asking either."""
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
                "Timestamp": END - timedelta(hours=hour, minutes=30),
                "Value": 1.0,
            }
            for hour in range(3)
        ],
    )
    clients = AwsClients(aws, region=aws.region_name)
    request = MetricRequest(owner="fn", metric="Invocations", function_name="fn")

    results = fetch_metrics(clients.client("cloudwatch"), [request], END - timedelta(hours=3), END, HOURLY)

    points = results.points[("fn", "Invocations")]
    assert [t for t, _ in points] == [END - timedelta(hours=hours) for hours in (3, 2, 1)]
    assert all(t.tzinfo is UTC for t, _ in points)
