"""Each check at the edges of its thresholds; a table per check."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from healthaudit.checks.async_events_dropped import async_events_dropped
from healthaudit.checks.audit_coverage_gap import account_coverage_gap, audit_coverage_gap
from healthaudit.checks.cold_start_regression import cold_start_regression
from healthaudit.checks.concurrency_near_limit import account_concurrency_near_limit, concurrency_near_limit
from healthaudit.checks.duration_near_timeout import duration_near_timeout
from healthaudit.checks.error_rate_high import error_rate_high
from healthaudit.checks.iterator_age_high import iterator_age_high
from healthaudit.checks.log_retention_unset import log_retention_unset
from healthaudit.checks.memory_near_limit import memory_near_limit
from healthaudit.checks.memory_overprovisioned import memory_overprovisioned
from healthaudit.checks.no_failure_destination import no_failure_destination
from healthaudit.checks.provisioned_spillover import provisioned_spillover
from healthaudit.checks.runtime_deprecated import runtime_deprecated
from healthaudit.checks.throttled import throttled
from healthaudit.checks.trace_errors_high import trace_errors_high
from healthaudit.checks.traces_missing import traces_missing
from healthaudit.checks.tracing_disabled import tracing_disabled
from healthaudit.checks.tracing_not_permitted import tracing_not_permitted
from healthaudit.config import Thresholds
from healthaudit.model import AccountSettings, CoverageGap, DataSource, EventSource, TraceEdge, TraceNode, TraceStats
from tests.support.snapshots import account, function, kinesis_source, log_stats

DEFAULTS = Thresholds()


def fires(check, fn, thresholds=DEFAULTS) -> bool:
    return bool(list(check(fn, thresholds)))


@pytest.mark.parametrize(
    "throttles, invocations, reserved, expected",
    [
        (0, 1000, None, False),  # nothing throttled
        (10, 990, None, False),  # exactly 1 %: not above
        (11, 989, None, True),  # 1.1 %
        (1, 0, None, True),  # every attempt throttled
        (0, 0, None, False),  # idle
        (1, 9999, None, False),  # 0.01 % against the account limit
        (1, 9999, 50, True),  # any throttle under reserved concurrency
        (0, 100, 50, False),  # reserved but never throttled
        (5, 0, 0, True),  # reserved concurrency 0: function switched off
    ],
)
def test_throttled(throttles, invocations, reserved, expected):
    fn = function(Throttles=throttles, Invocations=invocations, reserved_concurrency=reserved)
    assert fires(throttled, fn) is expected


def test_throttled_names_the_limit_that_bit():
    (reserved,) = throttled(function(Throttles=3, Invocations=97, reserved_concurrency=5), DEFAULTS)
    (account_wide,) = throttled(function(Throttles=30, Invocations=70), DEFAULTS)
    assert reserved.evidence["limit"] == "reserved concurrency 5"
    assert account_wide.evidence["limit"] == "account concurrency"
    assert account_wide.evidence["throttle_rate"] == 0.3


@pytest.mark.parametrize(
    "errors, invocations, expected",
    [
        (1, 20, False),  # exactly 5 % at the minimum volume: not above
        (2, 20, True),  # 10 % at the minimum volume
        (2, 19, False),  # 10.5 %, but below 20 invocations
        (50, 1000, False),  # 5.0 %
        (51, 1000, True),  # 5.1 %
        (0, 0, False),  # idle
        (0, 5000, False),
    ],
)
def test_error_rate_high(errors, invocations, expected):
    assert fires(error_rate_high, function(Errors=errors, Invocations=invocations)) is expected


def test_error_rate_threshold_is_overridable():
    fn = function(Errors=8, Invocations=100)
    assert fires(error_rate_high, fn)
    assert not fires(error_rate_high, fn, Thresholds(max_error_rate=0.1))


def test_error_rate_evidence_compares_with_baseline():
    (finding,) = error_rate_high(
        function(Errors=10, Invocations=100, baseline={"Errors": 1, "Invocations": 1000}), DEFAULTS
    )
    assert finding.evidence["error_rate"] == 0.1
    assert finding.evidence["baseline_error_rate"] == 0.001


@pytest.mark.parametrize(
    "p99_ms, timeout_s, expected",
    [
        (8000, 10, False),  # exactly 80 %
        (8001, 10, True),
        (2399, 3, False),
        (2401, 3, True),
        (None, 10, False),  # never invoked
        (899_000, 900, True),
    ],
)
def test_duration_near_timeout(p99_ms, timeout_s, expected):
    metrics = {} if p99_ms is None else {"Duration": p99_ms}
    assert fires(duration_near_timeout, function(timeout_seconds=timeout_s, **metrics)) is expected


@pytest.mark.parametrize(
    "peak, reserved, expected",
    [
        (8, 10, False),  # exactly 80 %
        (9, 10, True),
        (81, 100, True),
        (80, 100, False),
        (500, None, False),  # no reservation: the account-wide half judges it
        (3, 0, False),  # reserved 0 throttles everything: the throttled check says so
        (None, 10, False),
    ],
)
def test_concurrency_near_limit(peak, reserved, expected):
    metrics = {} if peak is None else {"ConcurrentExecutions": peak}
    assert fires(concurrency_near_limit, function(reserved_concurrency=reserved, **metrics)) is expected


@pytest.mark.parametrize(
    "claimed, limit, expected",
    [
        (800, 1000, False),  # exactly 80 %
        (801, 1000, True),
        (None, 1000, False),
        (50, 0, False),  # no quota read
    ],
)
def test_account_concurrency_near_limit(claimed, limit, expected):
    metrics = {} if claimed is None else {"ClaimedAccountConcurrency": claimed}
    snapshot = account(settings=AccountSettings(concurrency_limit=limit, unreserved_concurrency=limit), **metrics)
    assert bool(list(account_concurrency_near_limit(snapshot, DEFAULTS))) is expected


@pytest.mark.parametrize(
    "age_ms, stream, expected",
    [
        (300_000, True, False),  # exactly 5 minutes
        (300_001, True, True),
        (900_000, False, False),  # not a stream consumer (e.g. SQS)
        (None, True, False),
    ],
)
def test_iterator_age_high(age_ms, stream, expected):
    sources = (kinesis_source(),) if stream else (EventSource(arn="arn:aws:sqs:eu-west-1:123456789012:jobs"),)
    metrics = {} if age_ms is None else {"IteratorAge": age_ms}
    assert fires(iterator_age_high, function(event_sources=sources, **metrics)) is expected


def test_dynamodb_streams_are_streams_and_tables_are_not():
    assert EventSource(arn="arn:aws:dynamodb:eu-west-1:1:table/t/stream/2026-01-01T00:00:00.000").is_stream
    assert not EventSource(arn="arn:aws:dynamodb:eu-west-1:1:table/t").is_stream


@pytest.mark.parametrize(
    "dropped, dead_letter_errors, delivery_failures, expected",
    [
        (0, 0, 0, False),
        (1, 0, 0, True),
        (0, 1, 0, True),
        (0, 0, 1, True),
    ],
)
def test_async_events_dropped(dropped, dead_letter_errors, delivery_failures, expected):
    fn = function(
        AsyncEventsDropped=dropped, DeadLetterErrors=dead_letter_errors, DestinationDeliveryFailures=delivery_failures
    )
    assert fires(async_events_dropped, fn) is expected


FAILURES = "arn:aws:sqs:eu-west-1:123456789012:failures"


@pytest.mark.parametrize(
    "received, dead_letter, destinations, expected",
    [
        (0, None, {}, False),  # never invoked asynchronously
        (1, None, {}, True),  # no qualifier has an event invoke config
        (1, "arn:aws:sqs:eu-west-1:1:dlq", {}, False),
        (1, None, {"$LATEST": FAILURES}, False),
        (1, None, {"$LATEST": None}, True),  # a config, but no OnFailure in it
        (1, None, {"$LATEST": None, "live": FAILURES}, False),  # the alias callers invoke has one
        (1, None, {"$LATEST": None, "3": None, "live": None}, True),
    ],
)
def test_no_failure_destination_counts_a_destination_on_any_qualifier(received, dead_letter, destinations, expected):
    fn = function(AsyncEventsReceived=received, dead_letter_target=dead_letter, failure_destinations=destinations)
    assert fires(no_failure_destination, fn) is expected


def test_no_failure_destination_names_each_qualifier_read():
    fn = function(AsyncEventsReceived=4, failure_destinations={"live": None, "$LATEST": None})
    (finding,) = no_failure_destination(fn, DEFAULTS)
    assert "$LATEST, live name no OnFailure destination" in finding.message
    assert finding.evidence["on_failure_destination_by_qualifier"] == {"$LATEST": None, "live": None}
    (bare,) = no_failure_destination(function(AsyncEventsReceived=4), DEFAULTS)
    assert "no qualifier has an asynchronous invocation config" in bare.message


@pytest.mark.parametrize("spillover, expected", [(0, False), (1, True)])
def test_provisioned_spillover(spillover, expected):
    assert fires(provisioned_spillover, function(ProvisionedConcurrencySpilloverInvocations=spillover)) is expected


@pytest.mark.parametrize(
    "runtime, as_of, expected",
    [
        ("python3.12", date(2026, 11, 28), False),
        ("python3.9", date(2026, 11, 28), True),  # deprecated 2025-12-15
        ("python3.11", date(2027, 4, 1), True),  # 90 days before 2027-06-30: warn
        ("python3.11", date(2027, 3, 31), False),  # 91 days left
        ("nodejs20.x", date(2026, 4, 30), True),  # deprecation day itself
        (None, date(2026, 11, 28), False),  # container image
        ("provided.unknown", date(2026, 11, 28), False),  # not in the table: not called deprecated
    ],
)
def test_runtime_deprecated(runtime, as_of, expected):
    assert fires(runtime_deprecated, function(runtime=runtime, as_of=as_of)) is expected


@pytest.mark.parametrize(
    "as_of, says",
    [
        (date(2026, 11, 28), "was deprecated on 2025-12-15 (348 days ago)"),
        (date(2025, 12, 15), "is deprecated today (2025-12-15)"),
        (date(2025, 12, 14), "is deprecated on 2025-12-15 (in 1 day)"),
    ],
)
def test_runtime_deprecated_says_how_long_ago_or_how_soon_never_a_negative_count(as_of, says):
    (observation,) = runtime_deprecated(function(runtime="python3.9", as_of=as_of), Thresholds())
    assert observation.message == f"runtime python3.9 {says}"


@pytest.mark.parametrize(
    "mode, sources, expected",
    [
        ("Active", (), False),
        ("PassThrough", (), True),
        ("PassThrough", (EventSource(arn="arn:aws:kafka:eu-west-1:1:cluster/orders/abc"),), False),  # MSK: exempt
        ("PassThrough", (EventSource(arn="arn:aws:mq:eu-west-1:1:broker:b:id"),), False),  # Amazon MQ: exempt
        ("PassThrough", (kinesis_source(),), True),  # Kinesis is traceable
    ],
)
def test_tracing_disabled(mode, sources, expected):
    assert fires(tracing_disabled, function(tracing_mode=mode, event_sources=sources)) is expected


@pytest.mark.parametrize(
    "exists, retention, expected",
    [
        (True, None, True),
        (True, 30, False),
        (False, None, False),  # never invoked, no group yet
        (None, None, False),  # unknown: a coverage gap, not a finding here
    ],
)
def test_log_retention_unset(exists, retention, expected):
    fn = function(log_group="/aws/lambda/fn", log_group_exists=exists, log_retention_days=retention)
    assert fires(log_retention_unset, fn) is expected


def test_coverage_gap_per_unread_source_and_account_wide():
    fn = function(unread={DataSource.METRICS: "GetMetricData failed: Throttling"})
    (finding,) = audit_coverage_gap(fn, DEFAULTS)
    assert finding.evidence == {"source": "metrics", "reason": "GetMetricData failed: Throttling"}
    assert not list(audit_coverage_gap(function(), DEFAULTS))
    snapshot = account()
    snapshot = type(snapshot)(**{**snapshot.__dict__, "gaps": (CoverageGap(DataSource.TAGS, "AccessDenied"),)})
    (account_finding,) = account_coverage_gap(snapshot, DEFAULTS)
    assert "tags" in account_finding.message


@pytest.mark.parametrize(
    "used, size, expected",
    [
        (460.8, 512, False),  # exactly 90 %
        (461, 512, True),
        (128, 128, True),  # at the limit
        (None, 512, False),  # no REPORT records read
    ],
)
def test_memory_near_limit(used, size, expected):
    fn = function(memory_mb=size, logs_current=log_stats(invocations=10, max_memory_used_mb=used, memory_size_mb=size))
    assert fires(memory_near_limit, fn) is expected


@pytest.mark.parametrize(
    "used, size, invocations, expected",
    [
        (255, 1024, 100, True),  # 24.9 %
        (256, 1024, 100, False),  # exactly 25 %
        (60, 256, 100, False),  # 256 MB is not above the floor
        (60, 257, 100, True),
        (10, 3008, 0, False),  # never invoked: nothing to judge
    ],
)
def test_memory_overprovisioned(used, size, invocations, expected):
    logs = log_stats(invocations=invocations, max_memory_used_mb=used, memory_size_mb=size)
    assert fires(memory_overprovisioned, function(memory_mb=size, logs_current=logs)) is expected


def spread(center: float, n: int, step: float = 1.0) -> list[float]:
    """n distinct values around center (no ties, so the exact and normal tests both apply)."""
    return [center + (i - n / 2) * step for i in range(n)]


OLD = {"code_sha256": "aaa", "code_size": 5_000_000, "runtime": "python3.12", "memory_mb": 512, "layers": []}
NEW = {**OLD, "code_sha256": "bbb", "code_size": 48_000_000}


@pytest.mark.parametrize(
    "baseline, current, expected",
    [
        (spread(400, 100), spread(800, 100), True),  # doubled, plenty of samples
        (spread(400, 100), spread(460, 100), False),  # +15 %: below the 1.25 ratio
        (spread(300, 100), spread(390, 100), False),  # ratio 1.3 but only +90 ms
        (spread(400, 100), spread(800, 19), False),  # 19 current cold starts: too few
        (spread(400, 19), spread(800, 100), False),  # 19 baseline cold starts: too few
        (spread(400, 20), spread(800, 20), True),  # exactly 20 each
        # p95 jumps on a handful of outliers, but the distributions are alike: the rank test says no.
        (spread(400, 100), spread(400, 94) + [2000.0] * 6, False),
    ],
)
def test_cold_start_regression_on_init_durations(baseline, current, expected):
    fn = function(
        # 1 % of invocations cold in both windows: only the durations differ.
        logs_current=log_stats(invocations=100 * len(current), init_durations=current, fingerprint=NEW),
        logs_baseline=log_stats(invocations=100 * len(baseline), init_durations=baseline, fingerprint=OLD),
        fingerprint=NEW,
    )
    assert fires(cold_start_regression, fn) is expected


def test_cold_start_regression_names_what_changed():
    fn = function(
        logs_current=log_stats(invocations=6_000, init_durations=spread(900, 60)),
        logs_baseline=log_stats(invocations=30_000, init_durations=spread(400, 300), fingerprint=OLD),
        fingerprint=NEW,
    )
    (finding,) = cold_start_regression(fn, DEFAULTS)
    assert finding.evidence["configuration_changes"] == ["new code deployed", "bigger package (5.0 MB → 48.0 MB)"]
    assert finding.evidence["p_value"] < 0.01
    assert finding.evidence["current_p95_ms"] > finding.evidence["baseline_p95_ms"]
    assert len(finding.evidence["current_samples"]) == 60
    same = function(
        logs_current=fn.logs_current, logs_baseline=replace(fn.logs_baseline, fingerprint=NEW), fingerprint=NEW
    )
    (unchanged,) = cold_start_regression(same, DEFAULTS)
    assert unchanged.evidence["configuration_changes"] == ["no configuration change"]


@pytest.mark.parametrize(
    "cold_now, invocations_now, cold_before, invocations_before, expected",
    [
        (100, 1000, 70, 7000, True),  # 10 % against 1 %
        (19, 190, 70, 7000, False),  # too few cold starts now
        (12, 1000, 70, 7000, False),  # 1.2 % against 1 %: ratio below 1.25
        (25, 1000, 140, 7000, False),  # 2.5 % against 2 %: ratio 1.25 but not significant
    ],
)
def test_cold_start_rate_regression(cold_now, invocations_now, cold_before, invocations_before, expected):
    same_durations = spread(400, 30)
    fn = function(
        logs_current=log_stats(invocations=invocations_now, init_durations=same_durations, cold_starts=cold_now),
        logs_baseline=log_stats(invocations=invocations_before, init_durations=same_durations, cold_starts=cold_before),
    )
    assert fires(cold_start_regression, fn) is expected


ALLOWED = {"xray:PutTraceSegments": "allowed", "xray:PutTelemetryRecords": "allowed"}
XRAY = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")


@pytest.mark.parametrize(
    "mode, decisions, expected",
    [
        ("Active", ALLOWED, False),
        ("Active", {**ALLOWED, "xray:PutTraceSegments": "implicitDeny"}, True),
        ("Active", {**ALLOWED, "xray:PutTelemetryRecords": "explicitDeny"}, True),
        ("PassThrough", {"xray:PutTraceSegments": "implicitDeny"}, False),  # tracing-disabled says it
        ("Active", {}, False),  # not simulated: a coverage gap, not a finding
    ],
)
def test_tracing_not_permitted(mode, decisions, expected):
    fn = function(tracing_mode=mode, xray_permission=decisions, role="arn:aws:iam::123456789012:role/r")
    assert fires(tracing_not_permitted, fn) is expected


@pytest.mark.parametrize(
    "decisions, denied_by_scp, says_scp, says_role",
    [
        ({"xray:PutTraceSegments": "explicitDeny", "xray:PutTelemetryRecords": "explicitDeny"}, XRAY, True, False),
        ({"xray:PutTraceSegments": "implicitDeny", "xray:PutTelemetryRecords": "implicitDeny"}, (), False, True),
        (  # the organization denies one action, the role lacks the other
            {"xray:PutTraceSegments": "explicitDeny", "xray:PutTelemetryRecords": "implicitDeny"},
            ("xray:PutTraceSegments",),
            True,
            True,
        ),
    ],
)
def test_tracing_not_permitted_says_when_an_organization_scp_denies_it(decisions, denied_by_scp, says_scp, says_role):
    fn = function(tracing_mode="Active", xray_permission=decisions, xray_denied_by_scp=denied_by_scp)
    (finding,) = tracing_not_permitted(fn, DEFAULTS)
    assert ("service control policy" in finding.message) is says_scp
    assert ("the role may not" in finding.message) is says_role
    assert finding.evidence["denied_by_service_control_policy"] == list(denied_by_scp)


def stats(ok=0, errors=0, faults=0, throttles=0) -> TraceStats:
    return TraceStats(ok=ok, errors=errors, faults=faults, throttles=throttles, total=ok + errors + faults)


@pytest.mark.parametrize(
    "invocations, node, decisions, expected",
    [
        (100, None, ALLOWED, True),  # at the threshold, no node
        (99, None, ALLOWED, False),
        (5000, TraceNode(stats=stats(ok=10)), ALLOWED, False),  # traces arrive
        (5000, None, {**ALLOWED, "xray:PutTraceSegments": "implicitDeny"}, False),  # not permitted explains it
    ],
)
def test_traces_missing(invocations, node, decisions, expected):
    fn = function(tracing_mode="Active", Invocations=invocations, trace_node=node, xray_permission=decisions)
    assert fires(traces_missing, fn) is expected


@pytest.mark.parametrize(
    "own, downstream, expected",
    [
        (stats(ok=100), stats(ok=100), False),
        (stats(ok=95, faults=5), stats(ok=100), False),  # exactly 5 %: not above
        (stats(ok=94, faults=6), stats(ok=100), True),  # the function's own faults
        (stats(ok=100), stats(ok=90, errors=5, throttles=5, faults=5), True),  # the table throttles and faults
        (stats(ok=10, faults=9), stats(ok=100), False),  # 19 traced calls: too few to judge
        (stats(ok=16, faults=4), stats(ok=100), True),  # 20 traced calls, 20 %
    ],
)
def test_trace_errors_high(own, downstream, expected):
    node = TraceNode(stats=own, edges=(TraceEdge(name="orders", type="AWS::DynamoDB::Table", stats=downstream),))
    assert fires(trace_errors_high, function(tracing_mode="Active", trace_node=node)) is expected


def test_trace_errors_name_the_downstream_service():
    failing = stats(ok=80, errors=10, throttles=10, faults=10)
    node = TraceNode(stats=stats(ok=100), edges=(TraceEdge(name="orders", type="AWS::DynamoDB::Table", stats=failing),))
    (finding,) = trace_errors_high(function(trace_node=node), DEFAULTS)
    assert "calls to orders" in finding.message
    (downstream,) = finding.evidence["failing"]
    assert (downstream["service"], downstream["faults"], downstream["throttles"]) == ("orders", 10, 10)
