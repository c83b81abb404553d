"""Collector call counts at fleet scale: every operation at its physical minimum.

Metrics: ListMetrics lists only the metrics that reported data in the past two weeks, 500 a page, billed
per request; GetMetricData is billed per metric requested
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html). The physical
minimum of a metrics read is therefore ⌈metrics with data / 500⌉ listing pages, then GetMetricData for the
listed metrics only: ⌈listed / 500⌉ calls and as many metrics requested.
"""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.metrics import ACTIVITY_METRICS, MAX_QUERIES_PER_CALL, WORK_METRICS
from healthaudit.config import AuditConfig
from healthaudit_sandbox.fleet import tiny_zip
from healthaudit_sandbox.proxy import AwsProxy, Fault
from healthaudit_sandbox.report_records import Invocation, write_invocations
from tests.support.clock import AT, latest_listed_hour
from tests.support.metric_data import put_invocations_at

REGION = "eu-west-1"
N = 1200
TAGGED = 250
RESERVED = {"fn-00007": 5, "fn-00100": 10, "fn-00500": 20}


def put_hourly(cloudwatch, function: str, metric: str, value: float, end=AT) -> None:
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
                "Timestamp": end - timedelta(hours=hour, minutes=30),  # the 24 hours before `end`
                "Value": value,
            }
            for hour in range(24)
        ],
    )


@pytest.fixture(scope="module")
def big_fleet(sandbox):
    session = sandbox.session_for_account("400000000001", region=REGION)
    role = session.client("iam").create_role(RoleName="fleet", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam, code = session.client("lambda"), tiny_zip()

    def create(index: int) -> None:
        tags = {"team": f"team-{index % 7}"} if index < TAGGED else {}
        lam.create_function(
            FunctionName=f"fn-{index:05d}",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code},
            TracingConfig={"Mode": "Active"},
            Tags=tags,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(N)))
    for name, reserved in RESERVED.items():
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    cloudwatch = session.client("cloudwatch")
    # Sparse metrics: a few busy functions. fn-00100 throttles under its reservation; fn-00500 peaks near its
    # reservation; fn-00003 and fn-00004 are busy without any reservation.
    for name in ("fn-00003", "fn-00004", "fn-00100", "fn-00500"):
        put_hourly(cloudwatch, name, "Invocations", 100)
        put_hourly(cloudwatch, name, "ConcurrentExecutions", 18 if name == "fn-00500" else 3)
    put_hourly(cloudwatch, "fn-00100", "Throttles", 2)
    return session


def test_one_audit_of_1200_functions_makes_the_minimum_calls(big_fleet):
    clients = AwsClients(big_fleet, region=REGION)
    report = audit(clients, AuditConfig(), at=AT)
    calls = report.api_calls

    assert report.functions_audited == N
    assert calls["ListFunctions"] == math.ceil(N / 50) == 24
    assert calls["GetResources"] == math.ceil(TAGGED / 100) == 3
    assert calls["ListEventSourceMappings"] == 1
    assert calls["GetAccountSettings"] == 1
    assert calls["DescribeLogGroups"] == 1
    # Nine metrics have data: Invocations and ConcurrentExecutions of four functions, Throttles of one. One
    # listing page names them, and GetMetricData is asked for those nine only, never for the 1,196 idle
    # functions (the two passes without the listing asked for 3,633 metrics: $0.036 a day against $0.00009).
    assert calls["ListMetrics"] == 1
    assert report.metric_queries["fleet"] == 9
    series_queries = report.metric_queries["series"]
    assert calls["GetMetricData"] == 1 + math.ceil(series_queries / MAX_QUERIES_PER_CALL) == 2
    (metrics_part,) = [part for part in report.cost.parts if part.item == "CloudWatch GetMetricData"]
    assert metrics_part.quantity == 9 + series_queries
    # Reservations total 35: the throttled function first (10), then by peak concurrency: fn-00500 (20),
    # then fn-00003 / fn-00004 (none) until fn-00007's 5 would be found - but fn-00007 never ran, so the
    # search ends with the candidates, never touching the 1,196 idle functions.
    assert calls["GetFunctionConcurrency"] == 4
    assert calls["SimulatePrincipalPolicy"] == 1  # one execution role for the whole fleet
    assert calls["GetServiceGraph"] == 4  # the 24-hour window in 6-hour slices, for the whole account
    assert "ListFunctionEventInvokeConfigs" not in calls  # nothing is invoked asynchronously
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert ("fn-00100", "throttled") in found
    assert ("fn-00500", "concurrency-near-limit") in found


def traced_functions(sandbox, account: str, names: tuple[str, ...], log_groups: dict[str, str] | None = None):
    """A fresh account holding traced python3.12 functions with the given names; `log_groups`, if given,
    names each one's custom log group (LoggingConfig.LogGroup)."""
    session = sandbox.session_for_account(account, region=REGION)
    iam = session.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")
    lam = session.client("lambda")
    for name in names:
        custom = {"LoggingConfig": {"LogFormat": "Text", "LogGroup": log_groups[name]}} if log_groups else {}
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="a.b",
            Code={"ZipFile": tiny_zip()},
            TracingConfig={"Mode": "Active"},
            **custom,
        )
    return session


def seed_work_without_invocations(sandbox, account: str, end=AT):
    """A function throttled outright and one whose queued events all expired did work, though neither ran."""
    session = traced_functions(sandbox, account, ("idle", "throttled-outright", "queued-and-dropped"))
    cloudwatch = session.client("cloudwatch")
    put_hourly(cloudwatch, "throttled-outright", "Throttles", 5, end)
    put_hourly(cloudwatch, "queued-and-dropped", "AsyncEventsReceived", 3, end)
    put_hourly(cloudwatch, "queued-and-dropped", "AsyncEventsDropped", 3, end)
    return session


def assert_work_without_invocations_found(report) -> None:
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert {("throttled-outright", "throttled"), ("queued-and-dropped", "async-events-dropped")} <= found
    assert not {check for name, check in found if name == "idle"}


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_what_failures_cost_comes_from_the_report_records_billed_duration_at_no_extra_metric(sandbox, log_format):
    """Lambda bills Billed Duration x memory (https://aws.amazon.com/lambda/pricing/); the REPORT records carry
    it (text `Billed Duration: N ms`, JSON record.metrics.billedDurationMs), and the log scan already reads them:
    the audit adds it up in the same query, so pricing a finding asks GetMetricData for nothing more."""
    account = {"Text": "400000000010", "JSON": "400000000011"}[log_format]
    session = traced_functions(sandbox, account, ("failing",))
    session.client("lambda").update_function_configuration(
        FunctionName="failing", LoggingConfig={"LogFormat": log_format}
    )
    cloudwatch = session.client("cloudwatch")
    put_hourly(cloudwatch, "failing", "Invocations", 4)
    put_hourly(cloudwatch, "failing", "Errors", 1)
    put_hourly(cloudwatch, "failing", "Duration", 900.0)  # the p99: never the price while records are read
    records = [
        Invocation(AT - timedelta(hours=hour, minutes=minute), 149.2, 128, 60, billed_duration_ms=150)
        for hour in range(1, 24)
        for minute in (10, 20, 30, 40)
    ]
    write_invocations(session.client("logs"), "/aws/lambda/failing", records, log_format)
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)

    assert report.metric_queries["fleet"] == 3  # Invocations, Errors and Duration: no Average
    (failing,) = [f for f in report.active_findings if f.check_id == "error-rate-high"]
    assert "the REPORT records' Billed Duration, on average" in failing.cost.basis
    errors_a_month = 24 * 30
    assert failing.cost.failed_monthly_usd == pytest.approx(
        errors_a_month * (0.150 * 128 / 1024 * 0.0000166667 + 0.2e-6), abs=1e-9
    )
    (current,) = [r for r in report.log_stats[failing.function_arn] if r.start == report.window.start]
    assert current.billed_duration_ms == 150 * len(records)


def test_get_metric_data_is_asked_only_for_the_metrics_that_list_metrics_lists(sandbox):
    session = seed_work_without_invocations(sandbox, "400000000007")
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)
    assert report.api_calls["ListMetrics"] == 1
    assert report.metric_queries["fleet"] == 3  # Throttles; AsyncEventsReceived and AsyncEventsDropped
    assert_work_without_invocations_found(report)


def test_a_range_older_than_the_listings_two_weeks_is_read_in_two_passes(sandbox):
    """ListMetrics tells nothing of data older than two weeks: a window ending seven days ago, whose baseline
    starts fifteen days ago, is read without it, every function's activity then the busy ones' work metrics."""
    end = AT - timedelta(days=7)
    session = seed_work_without_invocations(sandbox, "400000000008", end)
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=end)
    assert "ListMetrics" not in report.api_calls
    assert report.metric_queries["fleet"] == 3 * len(ACTIVITY_METRICS) + 1 + 2 * len(WORK_METRICS)
    assert_work_without_invocations_found(report)
    (note,) = [note for note in report.notes if note.startswith("metrics read in two passes")]
    assert "too early for ListMetrics' two weeks" in note


def test_a_window_ending_less_than_15_minutes_before_the_audit_is_read_in_two_passes(sandbox):
    """ListMetrics lists a new metric up to 15 minutes late: a window that ends within those 15 minutes
    (the hour after the latest listed one, reckoned as the test runs: AT may be an hour old by then) is read
    without it."""
    hour = latest_listed_hour()
    session = seed_work_without_invocations(sandbox, "400000000014", hour)
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=hour + timedelta(hours=1))
    assert "ListMetrics" not in report.api_calls
    assert report.metric_queries["fleet"] == 3 * len(ACTIVITY_METRICS) + 1 + 2 * len(WORK_METRICS)
    assert_work_without_invocations_found(report)
    (note,) = [note for note in report.notes if note.startswith("metrics read in two passes")]
    assert "less than 15 minutes before the audit" in note and "15 minutes or more past the hour" in note


def test_list_metrics_denied_means_the_two_passes_and_no_finding_lost(sandbox):
    """A member role deployed before cloudwatch:ListMetrics was granted: the read costs more, loses nothing."""
    session = seed_work_without_invocations(sandbox, "400000000009")
    denied = Fault("ListMetrics", code="AccessDenied", status=403)
    with AwsProxy(sandbox.endpoint, faults=[denied]) as proxy:
        report = audit(AwsClients(session, region=REGION, endpoint_url=proxy.endpoint), AuditConfig(), at=AT)
    assert report.metric_queries["fleet"] == 3 * len(ACTIVITY_METRICS) + 1 + 2 * len(WORK_METRICS)
    assert_work_without_invocations_found(report)
    (note,) = [note for note in report.notes if note.startswith("metrics read in two passes")]
    assert "ListMetrics was not answered (ListMetrics failed: AccessDenied)" in note
    assert "grant cloudwatch:ListMetrics" in note


def test_sandbox_list_metrics_lists_only_metrics_with_data_in_the_past_two_weeks_500_a_page(sandbox):
    """API_ListMetrics.html: "Up to 500 results are returned for any one call" and ListMetrics "doesn't return
    information about metrics if those metrics haven't reported data in the past two weeks"."""
    session = sandbox.session_for_account("400000000012", region=REGION)
    cloudwatch = session.client("cloudwatch")
    now = datetime.now(UTC)
    for index in range(501):
        put_invocations_at(cloudwatch, f"recent-{index:03d}", now - timedelta(days=13))
    put_invocations_at(cloudwatch, "stale", now - timedelta(days=15))
    pages = list(cloudwatch.get_paginator("list_metrics").paginate(Namespace="AWS/Lambda"))
    assert [len(page["Metrics"]) for page in pages] == [500, 1]
    listed = {m["Dimensions"][0]["Value"] for page in pages for m in page["Metrics"]}
    assert listed == {f"recent-{index:03d}" for index in range(501)}  # "stale" reported data 15 days ago
    only = cloudwatch.list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": "recent-007"}]
    )["Metrics"]
    assert [m["Dimensions"] for m in only] == [[{"Name": "FunctionName", "Value": "recent-007"}]]


@pytest.mark.parametrize(
    "ages, listed",
    [
        ((timedelta(minutes=25),), True),
        ((timedelta(minutes=5),), False),  # "allow up to 15 minutes for the metric to appear"
        ((timedelta(days=20), timedelta(minutes=25)), True),
        # Silent for two weeks, then a datum: when it counts as created again is undocumented; the
        # sandbox takes the later reading, so code that works against it works against either.
        ((timedelta(days=20), timedelta(minutes=5)), False),
    ],
)
def test_sandbox_list_metrics_lists_a_new_metric_only_15_minutes_after_its_first_datum(sandbox, ages, listed):
    """API_ListMetrics.html: "After you create a metric, allow up to 15 minutes for the metric to appear"."""
    cloudwatch = sandbox.session_for_account("400000000013", region=REGION).client("cloudwatch")
    function = f"new-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    put_invocations_at(cloudwatch, function, *(now - age for age in ages))
    found = cloudwatch.list_metrics(Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": function}])
    assert bool(found["Metrics"]) is listed


def test_no_reservations_in_the_account_means_no_lookups(sandbox):
    session = traced_functions(sandbox, "400000000002", ("busy", "throttled"))
    cloudwatch = session.client("cloudwatch")
    put_hourly(cloudwatch, "busy", "ConcurrentExecutions", 50)
    put_hourly(cloudwatch, "throttled", "Throttles", 50)
    put_hourly(cloudwatch, "throttled", "Invocations", 50)
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)
    assert "GetFunctionConcurrency" not in report.api_calls
    (throttled,) = [f for f in report.active_findings if f.check_id == "throttled"]
    assert throttled.evidence["limit"] == "account concurrency"


def test_hourly_series_only_for_findings(sandbox):
    session = traced_functions(sandbox, "400000000003", ("failing", "fine"))
    cloudwatch = session.client("cloudwatch")
    for name in ("failing", "fine"):
        put_hourly(cloudwatch, name, "Invocations", 100)
    put_hourly(cloudwatch, "failing", "Errors", 30)
    baseline_day = AT - timedelta(days=7)  # the baseline's first day: [AT - 8 days, AT - 7 days)
    put_hourly(cloudwatch, "failing", "Invocations", 100, end=baseline_day)
    put_hourly(cloudwatch, "failing", "Errors", 0, end=baseline_day)
    config = AuditConfig(disabled_checks=("traces-missing",))  # no traces are seeded here
    report = audit(AwsClients(session, region=REGION), config, at=AT)
    # Both ran and neither has a log group, so their REPORT records are coverage gaps (no series).
    assert {(g.function_name, g.source.value) for g in report.coverage_gaps} == {
        ("failing", "report-records"),
        ("fine", "report-records"),
    }
    (finding,) = [f for f in report.active_findings if f.check_id != "audit-coverage-gap"]
    assert finding.check_id == "error-rate-high"
    assert report.metric_queries["series"] == 2  # Errors and Invocations of the one failing function
    errors, invocations = finding.series
    assert (errors.metric, invocations.metric) == ("Errors", "Invocations")
    # The series start at the baseline's start, so the charts show the baseline days beside the window:
    # GetMetricData bills per metric requested, not per datapoint, so the 48 points cost what 24 did.
    window = {t: v for t, v in zip(errors.timestamps, errors.values, strict=True) if t >= AT - timedelta(hours=24)}
    assert len(errors.values) == 48 and len(window) == 24 and set(window.values()) == {30.0}
    assert errors.timestamps == tuple(sorted(errors.timestamps))
    assert errors.timestamps[0] == report.window.baseline_start == AT - timedelta(days=8)


#: Long enough never to be reached when the collector is right; it only turns a wrong one into a failure.
HANG_GUARD_S = 60


def test_log_groups_are_paged_while_the_functions_are_listed(sandbox):
    """DescribeLogGroups does not wait for ListFunctions: each first call waits at a barrier for the other,
    which both reach only when the collector makes them at once (one after the other, the barrier breaks)."""
    session = traced_functions(sandbox, "400000000004", ("alpha", "beta"))
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/alpha")
    logs.put_retention_policy(logGroupName="/aws/lambda/alpha", retentionInDays=30)
    logs.create_log_group(logGroupName="/aws/lambda/beta")  # never expires
    clients = AwsClients(session, region=REGION)
    barrier = threading.Barrier(2, timeout=HANG_GUARD_S)
    met: list[str] = []

    def meet_once(operation: str):
        first = [True]  # each handler runs on one thread only: the auditing one, or the log groups' one

        def handler(**_) -> None:
            if first.pop() if first else False:
                try:
                    barrier.wait()
                    met.append(operation)
                except threading.BrokenBarrierError:
                    pass

        return handler

    clients.client("lambda").meta.events.register("before-call.lambda.ListFunctions", meet_once("ListFunctions"))
    clients.client("logs").meta.events.register(
        "before-call.cloudwatch-logs.DescribeLogGroups", meet_once("DescribeLogGroups")
    )
    report = audit(clients, AuditConfig(disabled_checks=("traces-missing",)), at=AT)

    assert sorted(met) == ["DescribeLogGroups", "ListFunctions"]
    assert report.api_calls["DescribeLogGroups"] == 1 and report.api_calls["ListFunctions"] == 1
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert found == {("beta", "log-retention-unset")}
    assert report.coverage_gaps == ()


def test_default_log_groups_no_function_logs_to_stop_after_the_page_in_flight(sandbox):
    """Every function logs to a custom group: the /aws/lambda/ pages read in the background are not wanted,
    and their paging stops after the page in flight (held here until the custom groups are read)."""
    custom = {"alpha": "/custom/alpha", "beta": "/custom/beta"}
    session = traced_functions(sandbox, "400000000005", tuple(custom), log_groups=custom)
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/custom/alpha")
    logs.put_retention_policy(logGroupName="/custom/alpha", retentionInDays=14)
    logs.create_log_group(logGroupName="/custom/beta")
    for index in range(120):  # three pages of default groups that no function in scope logs to
        logs.create_log_group(logGroupName=f"/aws/lambda/other-{index:03d}")
    clients = AwsClients(session, region=REGION)
    custom_read = threading.Event()
    prefixes: list[str] = []

    def hold_default_pages(params, **_) -> None:
        prefix = params.get("logGroupNamePrefix", "")
        prefixes.append(prefix)
        if prefix == "/aws/lambda/":
            custom_read.wait(HANG_GUARD_S)
        else:
            custom_read.set()

    clients.client("logs").meta.events.register(
        "before-parameter-build.cloudwatch-logs.DescribeLogGroups", hold_default_pages
    )
    report = audit(clients, AuditConfig(disabled_checks=("traces-missing",)), at=AT)

    assert sorted(prefixes) == ["/aws/lambda/", "/custom/alpha", "/custom/beta"]  # one default page, not three
    assert report.api_calls["DescribeLogGroups"] == 3
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert found == {("beta", "log-retention-unset")}
