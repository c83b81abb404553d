"""Logs Insights as AWS documents it: log classes, failed and timed-out queries, pages, bytes scanned.

- DescribeLogGroups returns logGroupClass, and a Delivery-class group cannot be queried
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html).
- A batch whose StartQuery or query fails is bisected, so one bad group cannot blind the other 49.
- A query that times out is split into its time halves and retried once.
- GetQueryResults pages up to 10,000 rows with nextToken
  (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html).
- statistics.bytesScanned is recorded per query and summed per audit.
- Init Duration is parsed from the message: whether Insights discovers @initDuration is undocumented.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.log_records import MAX_LOG_GROUPS_PER_QUERY, ScanSettings, scan_ranges, scan_report_records
from healthaudit.config import AuditConfig
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.logs_insights.api import set_init_duration_discovered, set_query_timeout_bytes
from healthaudit_sandbox.planted_function import PlantedFunction
from healthaudit_sandbox.proxy import AwsProxy, Fault
from healthaudit_sandbox.report_records import Invocation, records, write_invocations
from tests.support.clock import AT

REGION = "eu-west-1"
START = AT - timedelta(hours=4)
END = AT - timedelta(hours=2)
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _account(session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def _invocations(count: int, cold_every: int = 2) -> list[Invocation]:
    """`count` invocations spread evenly over [START + 1 min, END - 1 min), every `cold_every`-th one cold."""
    step = (END - START - timedelta(minutes=2)) / count
    return [
        Invocation(
            START + timedelta(minutes=1) + step * i,
            20.0,
            256,
            100 + i % 7,
            init_duration_ms=300.0 + i if i % cold_every == 0 else None,
        )
        for i in range(count)
    ]


def _groups(logs, names: list[str], per_group: int = 2) -> dict[str, str]:
    for name in names:
        write_invocations(logs, name, _invocations(per_group))
    return dict.fromkeys(names, "Text")


# -- the log group class: kept, returned, and Delivery groups not queryable ----------------------


def test_describe_log_groups_returns_the_class_create_log_group_was_given(aws):
    # CreateLogGroup: logGroupClass defaults to STANDARD; LogGroup carries it back.
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/standard")
    logs.create_log_group(logGroupName="/aws/lambda/delivery", logGroupClass="DELIVERY")
    logs.create_log_group(logGroupName="/aws/lambda/infrequent", logGroupClass="INFREQUENT_ACCESS")
    described = {g["logGroupName"]: g["logGroupClass"] for g in logs.describe_log_groups()["logGroups"]}
    assert described == {
        "/aws/lambda/delivery": "DELIVERY",
        "/aws/lambda/infrequent": "INFREQUENT_ACCESS",
        "/aws/lambda/standard": "STANDARD",
    }
    with pytest.raises(ClientError) as refused:
        logs.create_log_group(logGroupName="/aws/lambda/odd", logGroupClass="ARCHIVE")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_start_query_over_a_delivery_class_group_fails(aws):
    # "This log class doesn't offer rich CloudWatch Logs capabilities such as CloudWatch Logs Insights queries."
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/delivery", logGroupClass="DELIVERY")
    logs.create_log_group(logGroupName="/aws/lambda/standard")
    with pytest.raises(ClientError) as refused:
        logs.start_query(
            logGroupNames=["/aws/lambda/standard", "/aws/lambda/delivery"],
            startTime=int(START.timestamp()),
            endTime=int(END.timestamp()),
            queryString="fields @message",
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"  # which code: undocumented
    assert logs.start_query(
        logGroupName="/aws/lambda/standard",
        startTime=int(START.timestamp()),
        endTime=int(END.timestamp()),
        queryString="fields @message",
    )["queryId"]


# -- one bad group cannot blind the other 49 ------------------------------------------------------


@pytest.mark.parametrize(
    "spoil, code",
    [
        (lambda logs, group: logs.delete_log_group(logGroupName=group), "ResourceNotFoundException"),
        (  # a Delivery-class group the scan was not told about
            lambda logs, group: (
                logs.delete_log_group(logGroupName=group),
                logs.create_log_group(logGroupName=group, logGroupClass="DELIVERY"),
            ),
            "InvalidParameterException",
        ),
    ],
    ids=["deleted-since-listed", "delivery-class"],
)
def test_a_batch_with_one_bad_log_group_is_bisected_until_only_that_group_fails(aws, spoil, code):
    logs = aws.client("logs")
    names = [f"/aws/lambda/fn-{i:02d}" for i in range(MAX_LOG_GROUPS_PER_QUERY)]
    groups = _groups(logs, names)
    bad = names[37]
    spoil(logs, bad)
    scan = scan_report_records(logs, groups, START, END)
    assert scan.failed == {bad: f"StartQuery failed: {code}"}
    assert set(scan.stats) == set(names) - {bad}
    assert all(stats.invocations == 2 and stats.cold_starts == 1 for stats in scan.stats.values())
    # Each of the batch's two queries (totals, inits) on its own: the failing batch, then at each halving
    # the failing half and the other.
    assert scan.queries <= 2 * (1 + 2 * math.ceil(math.log2(MAX_LOG_GROUPS_PER_QUERY)))


def test_a_failure_every_group_shares_is_learned_once_not_bisected_in_every_batch(aws, sandbox):
    names = [f"/aws/lambda/fn-{i:03d}" for i in range(120)]  # three batches: 50, 50, 20
    for name in names:
        aws.client("logs").create_log_group(logGroupName=name)
    with AwsProxy(sandbox.endpoint, [Fault("StartQuery", code="AccessDeniedException")]) as proxy:
        logs = aws.client("logs", endpoint_url=proxy.endpoint, config=NO_RETRIES)
        scan = scan_report_records(
            logs, dict.fromkeys(names, "Text"), START, END, ScanSettings(max_concurrent_queries=1)
        )
    assert set(scan.failed) == set(names)
    assert set(scan.failed.values()) == {"StartQuery failed: AccessDeniedException"}
    # Bisecting every batch down to single groups would take 2 x 50 - 1 calls each (237 in all). Once eight
    # groups of a batch all failed alike, the reason is the account's: fewer calls than bisecting one batch.
    assert len(proxy.answered) < 2 * MAX_LOG_GROUPS_PER_QUERY - 1


def test_throttling_is_no_groups_fault_and_the_batch_is_not_bisected(aws, sandbox):
    names = [f"/aws/lambda/fn-{i:02d}" for i in range(8)]
    _groups(aws.client("logs"), names)
    with AwsProxy(sandbox.endpoint, [Fault("StartQuery", code="ThrottlingException")]) as proxy:
        logs = aws.client("logs", endpoint_url=proxy.endpoint, config=NO_RETRIES)
        scan = scan_report_records(logs, dict.fromkeys(names, "Text"), START, END)
    assert set(scan.failed.values()) == {"StartQuery failed: ThrottlingException"} and len(scan.failed) == 8
    assert proxy.answered == ["StartQuery", "StartQuery"]  # the batch's totals and inits queries, neither bisected


# -- a query that times out is split and retried once ---------------------------------------------


def _range_bytes(invocations: list[Invocation]) -> int:
    return sum(len(event.message.encode()) for inv in invocations for event in records(inv, "Text"))


@pytest.mark.parametrize(
    "timeout_share, complete",
    [
        (0.75, True),  # the whole range times out, each half does not
        (0.25, False),  # the halves time out too: a gap, after one retry
    ],
)
def test_a_query_that_times_out_is_split_into_time_halves_and_retried_once(aws, timeout_share, complete):
    logs = aws.client("logs")
    invocations = _invocations(40)
    write_invocations(logs, "/aws/lambda/slow", invocations)
    set_query_timeout_bytes(_account(aws), REGION, int(_range_bytes(invocations) * timeout_share))
    scan = scan_report_records(logs, {"/aws/lambda/slow": "Text"}, START, END)
    if complete:
        stats = scan.stats["/aws/lambda/slow"]
        assert (stats.invocations, stats.cold_starts, stats.init_durations.seen) == (40, 20, 20)
        assert scan.queries == 2 * 3  # totals and inits: each timed out once, then ran as two halves
    else:
        assert scan.failed == {
            "/aws/lambda/slow": "Logs Insights query timed out, and again when retried on half of the range"
        }
        # Each of the two queries: the whole range, then its first half; no further split, no bisection.
        assert scan.queries == 2 * 2


# -- every page of GetQueryResults is read --------------------------------------------------------


def test_every_get_query_results_page_is_followed(aws):
    logs = aws.client("logs")
    write_invocations(logs, "/aws/lambda/paged", _invocations(40))
    tokens: list[bool] = []
    logs.meta.events.register(
        "before-parameter-build.cloudwatch-logs.GetQueryResults",
        lambda params, **_: tokens.append("nextToken" in params),
    )
    scan = scan_report_records(logs, {"/aws/lambda/paged": "Text"}, START, END, ScanSettings(page_size=7))
    stats = scan.stats["/aws/lambda/paged"]
    assert stats.init_durations.seen == 20 == stats.cold_starts  # 20 init rows in pages of 7: 3 pages
    assert tokens.count(True) == 2
    assert scan.queries == 2  # paged, not split


# -- bytes scanned: per query, summed per audit -----------------------------------------------------


def test_bytes_scanned_are_recorded_per_query_and_summed(aws):
    logs = aws.client("logs")
    first, second = _invocations(10), _invocations(6)
    write_invocations(logs, "/aws/lambda/a", first)
    write_invocations(logs, "/aws/lambda/b", second)
    scan = scan_report_records(logs, {"/aws/lambda/a": "Text", "/aws/lambda/b": "Text"}, START, END)
    in_range = _range_bytes(first) + _range_bytes(second)
    assert scan.query_bytes == (in_range, in_range)  # the totals and the inits query each scan both groups
    assert scan.bytes_scanned == 2 * in_range


def test_the_report_states_what_its_logs_insights_queries_scanned(aws):
    seed_fleet(aws, AT, [PlantedFunction("billed")])
    report = audit(AwsClients(aws, region=REGION), AuditConfig(), at=AT)
    # The totals of the baseline and of the window, and the inits of both in one query.
    assert report.api_calls["StartQuery"] == 3
    assert report.logs_insights_bytes_scanned > 0
    assert report.to_dict()["logs_insights_bytes_scanned"] == report.logs_insights_bytes_scanned
    stored = type(report).from_dict(report.to_dict())
    assert stored.logs_insights_bytes_scanned == report.logs_insights_bytes_scanned


# -- Init Duration: parsed from the message, whether or not Insights discovers it -----------------


@pytest.mark.parametrize("discovered", [False, True], ids=["not-discovered", "discovered"])
def test_init_durations_are_read_the_same_whether_or_not_insights_discovers_init_duration(aws, discovered):
    logs = aws.client("logs")
    invocations = _invocations(12, cold_every=3)
    write_invocations(logs, "/aws/lambda/either", invocations)
    set_init_duration_discovered(_account(aws), REGION, discovered)
    scan = scan_report_records(logs, {"/aws/lambda/either": "Text"}, START, END)
    stats = scan.stats["/aws/lambda/either"]
    expected = sorted(inv.init_duration_ms for inv in invocations if inv.init_duration_ms is not None)
    assert (stats.invocations, stats.cold_starts) == (12, 4)
    assert sorted(stats.init_durations.values) == expected


# -- a first audit's two ranges share one pool of queries -------------------------------------------


def _in_flight_counter(logs):
    """Counts StartQuery calls whose query has not yet been seen Complete, and the most at once."""
    import threading

    lock, seen = threading.Lock(), {"now": 0, "most": 0}

    def started(**_):
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])

    def polled(parsed, **_):
        if parsed.get("status") in ("Complete", "Failed", "Cancelled", "Timeout"):
            with lock:
                seen["now"] -= 1

    logs.meta.events.register("after-call.cloudwatch-logs.StartQuery", started)
    logs.meta.events.register("after-call.cloudwatch-logs.GetQueryResults", polled)
    return seen


@pytest.mark.parametrize("most", [1, 3])
def test_ranges_scanned_together_read_what_each_alone_reads_within_the_concurrent_query_limit(aws, most):
    # StartQuery's quota is per account (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html):
    # the baseline and the current window share max_concurrent_queries instead of each having its own.
    logs = aws.client("logs")
    names = [f"/aws/lambda/pair-{i:03d}" for i in range(2 * MAX_LOG_GROUPS_PER_QUERY + 1)]  # three batches
    groups = _groups(logs, names, per_group=4)  # cold starts at START + 1 min and at `middle` itself
    middle = START + (END - START) / 2
    alone = [scan_report_records(logs, groups, START, middle), scan_report_records(logs, groups, middle, END)]
    counter = _in_flight_counter(logs)
    together = scan_ranges(
        logs, [(groups, START, middle), (groups, middle, END)], ScanSettings(max_concurrent_queries=most)
    )
    read = [
        {name: (s.invocations, s.cold_starts, s.init_durations.values) for name, s in scan.stats.items()}
        for scan in together.ranges
    ]
    assert read == [
        {name: (s.invocations, s.cold_starts, s.init_durations.values) for name, s in scan.stats.items()}
        for scan in alone
    ]
    assert all(values == [300.0] for _, _, values in read[0].values())
    assert all(values == [302.0] for _, _, values in read[1].values())
    # Each range's totals, and one init-duration query a batch over both ranges where alone each had its own.
    assert together.queries == sum(scan.queries for scan in alone) - 3
    assert together.bytes_scanned == sum(scan.bytes_scanned for scan in alone)  # Insights bills the same bytes
    assert 1 <= counter["most"] <= most


@pytest.mark.parametrize(
    "ends_before_boundary_ms, range_index",
    [(1, 0), (0, 1)],
    ids=["a millisecond before: the earlier range", "at the boundary: the later range"],
)
def test_an_init_read_with_both_ranges_belongs_to_the_range_its_report_falls_in(
    aws, ends_before_boundary_ms, range_index
):
    # The ranges are half-open, [START, middle) and [middle, END); a REPORT record's time is its invocation's end.
    logs = aws.client("logs")
    middle = START + (END - START) / 2
    begins = middle - timedelta(milliseconds=20 + ends_before_boundary_ms)
    write_invocations(logs, "/aws/lambda/edge", [Invocation(begins, 20.0, 256, 100, init_duration_ms=345.0)])
    groups = {"/aws/lambda/edge": "Text"}
    together = scan_ranges(logs, [(groups, START, middle), (groups, middle, END)])
    read = [scan.stats.get("/aws/lambda/edge") for scan in together.ranges]
    assert read[range_index] is not None and read[1 - range_index] is None
    assert (read[range_index].invocations, read[range_index].init_durations.values) == (1, [345.0])


def test_ranges_read_together_must_be_adjacent(aws):
    groups = {"/aws/lambda/gap": "Text"}
    with pytest.raises(ValueError, match="adjacent ranges"):
        scan_ranges(
            aws.client("logs"),
            [(groups, START, START + timedelta(hours=1)), (groups, START + timedelta(hours=1, seconds=1), END)],
        )
