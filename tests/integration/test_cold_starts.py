"""REPORT records through Logs Insights: query counts, incremental scanning, row caps and deadlines."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.errors import STOPPED_EARLY
from healthaudit.collect.log_records import ScanSettings, scan_report_records
from healthaudit.config import AuditConfig
from healthaudit.model import DataSource
from healthaudit.pipeline import audit_and_publish
from healthaudit_sandbox.fleet import seed_fleet, tiny_zip
from healthaudit_sandbox.logs_insights.api import set_query_polls
from healthaudit_sandbox.planted_function import LogTraffic, PlantedFunction
from healthaudit_sandbox.report_records import Invocation, write_invocations
from tests.support.clock import AT

REGION = "eu-west-1"
SLOWER = PlantedFunction(
    "slower", expect=frozenset({"cold-start-regression"}), logs=LogTraffic(init_ms_now=(900.0, 1100.0))
)
STEADY = PlantedFunction("steady", logs=LogTraffic())
AS_JSON = PlantedFunction(
    "as-json",
    expect=frozenset({"cold-start-regression"}),
    log_format="JSON",
    log_group="/custom/as-json",
    logs=LogTraffic(init_ms_now=(900.0, 1100.0)),
)


def bucket_for(session, name: str) -> AuditConfig:
    session.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return AuditConfig(bucket=name)


def test_consecutive_audits_scan_disjoint_ranges_and_the_second_baseline_comes_from_the_first(sandbox):
    session = sandbox.session_for_account("500000000001", region=REGION)
    seed_fleet(session, AT, [SLOWER, STEADY, AS_JSON])
    config = bucket_for(session, "cold-starts")

    first, _ = audit_and_publish(AwsClients(session, region=REGION), config, AT - timedelta(days=1))
    second, _ = audit_and_publish(AwsClients(session, region=REGION), config, AT)

    def ranges(report, name):
        arn = next(f.arn for f in report.functions if f.name == name)
        return [(r.start, r.end) for r in report.log_stats[arn]]

    # The first audit had no history: it read its baseline once, then its own window.
    assert ranges(first, "slower") == [
        (AT - timedelta(days=9), AT - timedelta(days=2)),
        (AT - timedelta(days=2), AT - timedelta(days=1)),
    ]
    assert any("first audit" in note for note in first.notes)
    # The second read only what was written since: no log byte read twice.
    assert ranges(second, "slower") == [(AT - timedelta(days=1), AT)]
    assert second.api_calls["StartQuery"] == 2 * 2  # (totals + init samples) x (one Text batch + one JSON batch)
    # The totals for each of the two ranges, the init samples of both in one query: (2 + 1) x the two batches.
    assert first.api_calls["StartQuery"] == (2 + 1) * 2

    (finding,) = [f for f in second.active_findings if f.function_name == "slower"]
    first_arn = next(f.arn for f in first.functions if f.name == "slower")
    yesterday = first.log_stats[first_arn][-1]
    assert finding.check_id == "cold-start-regression"
    assert finding.evidence["baseline_cold_starts"] == yesterday.cold_starts == 48
    assert finding.evidence["configuration_changes"] == ["no configuration change"]
    json_findings = {f.check_id for f in second.active_findings if f.function_name == "as-json"}
    assert json_findings == {"cold-start-regression"}
    assert not [f for f in second.active_findings if f.function_name == "steady"]


def test_logs_insights_queries_take_50_log_groups_each_and_only_of_invoked_functions(sandbox):
    session = sandbox.session_for_account("500000000002", region=REGION)
    role = session.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam, logs, cloudwatch = session.client("lambda"), session.client("logs"), session.client("cloudwatch")
    invoked, idle = 120, 30
    datums = []
    for index in range(invoked + idle):
        name = f"fn-{index:03d}"
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="a.b", Code={"ZipFile": tiny_zip()}
        )
        logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
        if index < invoked:  # one invocation in the baseline and one today
            datums += [
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": name}],
                    "Timestamp": AT - timedelta(days=days, minutes=30),
                    "Value": 1.0,
                }
                for days in (0, 3)
            ]
    for start in range(0, len(datums), 500):
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=datums[start : start + 500])
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)
    ranges = 2  # no history: the baseline, then the current window
    # A totals query a batch in each range, and an init-duration query a batch over both: the idle 30, none.
    assert report.api_calls["StartQuery"] == (ranges + 1) * math.ceil(invoked / 50) == 9
    assert report.api_calls["DescribeLogGroups"] == math.ceil((invoked + idle) / 50)


def test_a_query_that_hits_the_row_cap_is_split_not_truncated(sandbox):
    session = sandbox.session_for_account("500000000003", region=REGION)
    logs = session.client("logs")
    start = AT - timedelta(hours=4)
    colds = [
        Invocation(
            timestamp=start + timedelta(minutes=2 * i),
            duration_ms=50.0,
            memory_size_mb=256,
            max_memory_used_mb=80,
            init_duration_ms=300.0 + i,
        )
        for i in range(120)
    ]
    write_invocations(logs, "/aws/lambda/busy", colds)
    scan = scan_report_records(logs, {"/aws/lambda/busy": "Text"}, start, AT, ScanSettings(max_rows=50))
    stats = scan.stats["/aws/lambda/busy"]
    assert stats.cold_starts == 120
    assert stats.init_durations.seen == 120  # every row read, across the split ranges
    assert scan.queries > 2  # the init-duration query was split


def test_a_query_past_its_deadline_is_stopped_and_becomes_a_gap(sandbox):
    session = sandbox.session_for_account("500000000004", region=REGION)
    logs = session.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/slow-query")
    set_query_polls("500000000004", REGION, 1_000)  # Insights keeps answering Running
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    settings = ScanSettings(deadline_seconds=30, poll_seconds=5)
    scan = scan_report_records(
        logs, {"/aws/lambda/slow-query": "Text"}, AT - timedelta(hours=1), AT, settings, clock, sleep
    )
    assert "still Running after 30 s" in scan.failed["/aws/lambda/slow-query"]
    statuses = {q["status"] for q in logs.describe_queries(logGroupName="/aws/lambda/slow-query")["queries"]}
    assert statuses == {"Cancelled"}  # stopped, not left running against the account's quota


def test_queries_in_flight_when_the_lambda_deadline_nears_are_stopped(sandbox):
    """The query deadline may be minutes away when the Lambda's is not: the audit's clock wins."""
    session = sandbox.session_for_account("500000000014", region=REGION)
    logs = session.client("logs")
    groups = {f"/aws/lambda/slow-{i}": "Text" for i in range(3)}
    for group in groups:
        logs.create_log_group(logGroupName=group)
    set_query_polls("500000000014", REGION, 1_000)  # Insights keeps answering Running
    polls = [0]

    def sleep(seconds: float) -> None:
        polls[0] += 1

    settings = ScanSettings(deadline_seconds=600, max_concurrent_queries=1)
    scan = scan_report_records(
        logs, groups, AT - timedelta(hours=1), AT, settings, sleep=sleep, must_stop=lambda: polls[0] >= 2
    )
    assert set(scan.failed) == set(groups)
    assert set(scan.failed.values()) == {STOPPED_EARLY}
    queries = {
        q["queryId"]: q["status"] for group in groups for q in logs.describe_queries(logGroupName=group)["queries"]
    }
    assert list(queries.values()) == ["Cancelled"]  # the totals query in flight stopped; the next never started


def test_an_audit_whose_deadline_nears_during_the_log_queries_stops_them_and_is_partial(sandbox):
    session = sandbox.session_for_account("500000000015", region=REGION)
    seed_fleet(session, AT, [PlantedFunction("busy", logs=LogTraffic())])
    set_query_polls("500000000015", REGION, 1_000)  # Insights keeps answering Running
    clients = AwsClients(session, region=REGION)
    polled = threading.Event()
    clients.client("logs").meta.events.register("after-call.cloudwatch-logs.GetQueryResults", lambda **_: polled.set())

    def time_left() -> float:  # plenty until a log query has been polled
        return 30.0 if polled.is_set() else 900.0

    report = audit(clients, AuditConfig(), at=AT, time_left=time_left)
    assert report.partial
    gaps = {(gap.function_name, gap.source) for gap in report.coverage_gaps if gap.reason == STOPPED_EARLY}
    assert ("busy", DataSource.REPORT_RECORDS) in gaps
    logs = session.client("logs")
    statuses = {q["status"] for q in logs.describe_queries(logGroupName="/aws/lambda/busy")["queries"]}
    assert statuses == {"Cancelled"}  # nothing left running against the account's quota
    assert {f.name: f.status for f in report.functions} == {"busy": "unknown"}


def test_a_shared_log_group_is_a_coverage_gap_not_a_guess(sandbox):
    session = sandbox.session_for_account("500000000005", region=REGION)
    shared = "/custom/shared"
    fleet = [
        PlantedFunction("left", log_group=shared, logs=LogTraffic()),
        PlantedFunction("right", log_group=shared),
    ]
    seed_fleet(session, AT, [fleet[0]])
    role = session.client("iam").get_role(RoleName="demo-function-role")["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName="right",
        Runtime="python3.12",
        Role=role,
        Handler="a.b",
        Code={"ZipFile": tiny_zip()},
        LoggingConfig={"LogFormat": "Text", "LogGroup": shared},
    )
    report = audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)
    gaps = {(g.function_name, g.source) for g in report.coverage_gaps}
    assert gaps == {("left", DataSource.REPORT_RECORDS), ("right", DataSource.REPORT_RECORDS)}
    assert "StartQuery" not in report.api_calls
