"""GetMetricData against the sandbox: the batches of tests/unit/test_metric_batches.py (one page of datapoints
a call, at most 500 queries; API_GetMetricData.html), as the calls the audit really makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.collect.clients import AwsClients
from healthaudit.collect.metrics import HOURLY, MetricRequest, fetch_metrics
from tests.support.metric_data import put_invocations_at

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
    put_invocations_at(aws.client("cloudwatch"), "fn", *(END - timedelta(hours=hour, minutes=30) for hour in range(3)))
    request = MetricRequest(owner="fn", metric="Invocations", function_name="fn")
    plain = aws.client("cloudwatch")  # botocore's own timestamp parser, not the audit clients' UTC one

    results = fetch_metrics(plain, [request], END - timedelta(hours=3), END, HOURLY)

    points = results.points[("fn", "Invocations")]
    assert [t for t, _ in points] == [END - timedelta(hours=hours) for hours in (3, 2, 1)]
    assert all(t.tzinfo is UTC for t, _ in points)


# -- pages of MaxDatapoints: the sandbox answers as AWS does past 100,800 datapoints -----------------


def _put_hours(cloudwatch, names: list[str], hours: int) -> None:
    """Each function invoked hour + 1 times in each of the last `hours` hours before END."""
    moments = [END - timedelta(hours=hour, minutes=30) for hour in range(hours)]
    for name in names:
        put_invocations_at(cloudwatch, name, *moments, values=[hour + 1 for hour in range(hours)])


def _queries(names: list[str]) -> list[dict]:
    return [
        {
            "Id": f"q{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                },
                "Period": HOURLY,
                "Stat": "Sum",
            },
        }
        for index, name in enumerate(names)
    ]


@pytest.mark.parametrize("size", [1, 4, 5, 7, 100])
def test_get_metric_data_answers_past_max_datapoints_in_pages(aws, size):
    # API_GetMetricData.html: MaxDatapoints, "the maximum number of data points the request should return before
    # paginating"; NextToken for the next set; StatusCode PartialData for a result with more to come.
    cloudwatch = aws.client("cloudwatch")
    names = ["a", "idle", "b", "c"]
    _put_hours(cloudwatch, ["a", "b", "c"], 5)
    call = dict(MetricDataQueries=_queries(names), StartTime=END - timedelta(hours=6), EndTime=END)
    whole = cloudwatch.get_metric_data(**call)
    assert "NextToken" not in whole
    pages, token = [], None
    while True:
        page = cloudwatch.get_metric_data(**call, MaxDatapoints=size, **({"NextToken": token} if token else {}))
        pages.append(page)
        assert sum(len(result["Values"]) for result in page["MetricDataResults"]) <= size
        token = page.get("NextToken")
        if not token:
            break
    assert len(pages) == -(-15 // size)
    joined: dict[str, dict[str, list]] = {}
    for page in pages:
        for result in page["MetricDataResults"]:
            part = joined.setdefault(result["Id"], {"Values": [], "Timestamps": [], "StatusCode": []})
            part["Values"] += result["Values"]
            part["Timestamps"] += result["Timestamps"]
            part["StatusCode"].append(result["StatusCode"])
    assert set(joined) == {f"q{i}" for i in range(4)}  # the idle metric's empty result too
    for result in whole["MetricDataResults"]:
        part = joined[result["Id"]]
        assert (part["Values"], part["Timestamps"]) == (result["Values"], result["Timestamps"])
        assert part["StatusCode"] == ["PartialData"] * (len(part["StatusCode"]) - 1) + ["Complete"]


def test_a_next_token_the_sandbox_did_not_give_is_refused(aws):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        aws.client("cloudwatch").get_metric_data(
            MetricDataQueries=_queries(["a"]), StartTime=END - timedelta(hours=1), EndTime=END, NextToken="page-two"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize(
    "counts, size, pages",
    [
        ([0, 3, 0, 2, 0], 5, [[(0, 0, 0), (1, 0, 3), (2, 0, 0), (3, 0, 2), (4, 0, 0)]]),
        ([0, 3, 0, 2, 0], 3, [[(0, 0, 0), (1, 0, 3)], [(2, 0, 0), (3, 0, 2), (4, 0, 0)]]),
        (
            [0, 3, 0, 2, 0],
            2,
            [[(0, 0, 0), (1, 0, 2)], [(1, 2, 3), (2, 0, 0), (3, 0, 1)], [(3, 1, 2), (4, 0, 0)]],
        ),
        ([0, 0], 1, [[(0, 0, 0), (1, 0, 0)]]),
    ],
    ids=["one page", "cut between results", "cut inside results", "no datapoint at all"],
)
def test_each_page_holds_its_datapoints_and_the_empty_results_whose_place_falls_on_it(counts, size, pages):
    from healthaudit_sandbox.fidelity.cloudwatch import metric_data_page

    results = [
        {"id": f"q{i}", "values": list(range(n)), "timestamps": list(range(n)), "status_code": "Complete"}
        for i, n in enumerate(counts)
    ]
    offset, got = 0, []
    while True:
        page, token = metric_data_page(results, offset, size)
        got.append(
            [
                (int(r["id"][1:]), r["values"][0] if r["values"] else 0, (r["values"][-1] + 1) if r["values"] else 0)
                for r in page
            ]
        )
        if token is None:
            break
        offset = int(token)
    assert got == pages


def test_the_audit_reads_every_page_of_a_paged_answer(aws):
    # The auditor sizes its calls to fit in one page of 100,800 datapoints; should AWS page all the same, it
    # follows NextToken and joins a result cut across pages. Pages of 4 here, by the sandbox's test knob.
    from healthaudit_sandbox.fidelity.cloudwatch import set_default_max_datapoints

    names = ["a", "idle", "b", "c"]
    _put_hours(aws.client("cloudwatch"), ["a", "b", "c"], 5)
    requests = [MetricRequest(owner=name, metric="Invocations", function_name=name) for name in names]
    start = END - timedelta(hours=6)
    whole = fetch_metrics(AwsClients(aws, region=aws.region_name).client("cloudwatch"), requests, start, END, HOURLY)
    account = aws.client("sts").get_caller_identity()["Account"]
    set_default_max_datapoints(account, aws.region_name, 4)
    try:
        clients = AwsClients(aws, region=aws.region_name)
        paged = fetch_metrics(clients.client("cloudwatch"), requests, start, END, HOURLY)
    finally:
        set_default_max_datapoints(account, aws.region_name, None)
    assert clients.api_calls()["GetMetricData"] == 4  # 15 datapoints in pages of 4
    assert paged.failed == whole.failed == {}
    assert paged.points == whole.points
    assert [value for _, value in paged.points[("a", "Invocations")]] == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert paged.points[("idle", "Invocations")] == []
