"""Severity follows magnitude: each check's declared rule at its bands' edges, one cause as one finding,
and reports ordered by severity before newness."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from healthaudit.checks.catalogue import all_checks, possible_severities
from healthaudit.checks.registry import REGISTRY, run_checks
from healthaudit.checks.severity import SeverityRule
from healthaudit.config import Thresholds
from healthaudit.model import AccountSettings, AuditReport, Finding, Severity, TraceEdge, TraceNode, TraceStats
from tests.support.snapshots import WINDOW, account, function, kinesis_source, log_stats

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW
DEFAULTS = Thresholds()


def severities(check_id: str, fn, thresholds: Thresholds = DEFAULTS) -> list[Severity]:
    """What the registry grades each of the check's observations on `fn`."""
    spec = REGISTRY[check_id]
    return [spec.to_finding(account(), observation).severity for observation in spec.run(fn, thresholds)]


def account_severities(check_id: str, snapshot, thresholds: Thresholds = DEFAULTS) -> list[Severity]:
    spec = REGISTRY[check_id]
    return [spec.to_finding(snapshot, observation).severity for observation in spec.run_account(snapshot, thresholds)]


# --- the rule itself -------------------------------------------------------------------------------------

RATE = SeverityRule.at_least("rate", "rate", {HIGH: 0.05, MEDIUM: 0.01}, LOW, unit="%")


@pytest.mark.parametrize(
    "value, expected",
    [
        (0.0, LOW),
        (0.0099, LOW),
        (0.01, MEDIUM),  # a bound belongs to its band
        (0.0499, MEDIUM),
        (0.05, HIGH),
        (1.0, HIGH),
        (None, HIGH),  # a figure the check did not report: never graded leniently
        (float("nan"), HIGH),
        ("0.5", HIGH),
    ],
)
def test_a_banded_rule_grades_at_and_around_its_bounds(value, expected):
    assert RATE.grade({"rate": value}) is expected


def test_a_figure_missing_from_the_evidence_gets_the_worst_severity():
    assert RATE.grade({}) is HIGH


@pytest.mark.parametrize("days, expected", [(1, LOW), (0, MEDIUM), (-400, MEDIUM)])
def test_a_rule_where_lower_is_worse_grades_at_and_below_its_bound(days, expected):
    rule = SeverityRule.at_most("days_left", "days left", {MEDIUM: 0}, LOW, unit="days")
    assert rule.grade({"days_left": days}) is expected


def test_a_fixed_rule_ignores_the_evidence():
    rule = SeverityRule.fixed(LOW)
    assert rule.grade({"anything": 1e9}) is LOW and rule.levels == (LOW,) and rule.words == "always LOW"


@pytest.mark.parametrize(
    "rule, words",
    [
        (RATE, "rate: HIGH ≥ 5 %, MEDIUM ≥ 1 %, else LOW"),
        (
            SeverityRule.at_least("age", "age", {HIGH: 3_600_000, MEDIUM: 300_000}, LOW, unit="ms"),
            "age: HIGH ≥ 1 h, MEDIUM ≥ 5 min, else LOW",
        ),
        (SeverityRule.at_least("age", "age", {MEDIUM: 1500}, LOW, unit="ms"), "age: MEDIUM ≥ 1500 ms, else LOW"),
        (SeverityRule.at_least("r", "ratio", {MEDIUM: 2.0}, LOW, unit="×"), "ratio: MEDIUM ≥ 2×, else LOW"),
        (SeverityRule.at_most("d", "days left", {MEDIUM: 0}, LOW, unit="days"), "days left: MEDIUM ≤ 0 days, else LOW"),
    ],
)
def test_a_rule_reads_as_words(rule, words):
    assert rule.words == words


@pytest.mark.parametrize(
    "make",
    [
        lambda: SeverityRule.at_least("r", "r", {MEDIUM: 0.05, HIGH: 0.01}, LOW),  # bands not worst first
        lambda: SeverityRule.at_least("r", "r", {HIGH: 0.01, MEDIUM: 0.05}, LOW),  # bounds rise toward milder
        lambda: SeverityRule.at_least("r", "r", {HIGH: 0.05, MEDIUM: 0.05}, LOW),  # one bound, two bands
        lambda: SeverityRule.at_least("r", "r", {LOW: 0.05}, MEDIUM),  # a band milder than otherwise
        lambda: SeverityRule.at_most("d", "d", {HIGH: 10, MEDIUM: 0}, LOW),  # lower-is-worse bounds must rise
        lambda: SeverityRule.at_least("r", "r", {HIGH: 0.05}, LOW, unit="percent"),
        lambda: SeverityRule(otherwise=LOW, figure="r"),  # a figure without bands
    ],
)
def test_a_rule_that_contradicts_itself_is_refused_at_import(make):
    with pytest.raises(ValueError):
        make()


def test_every_check_declares_a_rule_and_the_catalogue_orders_by_the_worst_it_can_give():
    ranks = [spec.severity.worst.rank for spec in all_checks()]
    assert ranks == sorted(ranks)
    assert possible_severities() == (HIGH, MEDIUM, LOW)  # no check gives CRITICAL or INFO


# --- each check at its bands' edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "throttles, invocations, reserved, expected",
    [
        (24, 48_000, 10, LOW),  # 0.05 % under reserved concurrency: the HIGH that should not be
        (99, 9_901, 100, LOW),  # 0.99 %
        (100, 9_900, 100, MEDIUM),  # 1 %
        (499, 9_501, 100, MEDIUM),  # 4.99 %
        (500, 9_500, 100, HIGH),  # 5 %
        (501, 9_499, None, HIGH),  # 5.01 %, account concurrency
        (110, 9_890, None, MEDIUM),  # 1.1 %, account concurrency
    ],
)
def test_throttled_severity_follows_the_share_of_invocation_attempts_lambda_throttled(
    throttles, invocations, reserved, expected
):
    fn = function(Throttles=throttles, Invocations=invocations, reserved_concurrency=reserved)
    assert severities("throttled", fn) == [expected]


@pytest.mark.parametrize(
    "errors, invocations, thresholds, expected",
    [
        (99, 10_000, Thresholds(max_error_rate=0), LOW),
        (100, 10_000, Thresholds(max_error_rate=0), MEDIUM),
        (499, 10_000, Thresholds(max_error_rate=0), MEDIUM),
        (500, 10_000, Thresholds(max_error_rate=0), HIGH),
        (501, 10_000, DEFAULTS, HIGH),  # just over the default threshold of 5 %
    ],
)
def test_error_rate_severity_follows_the_share_of_invocations_that_failed(errors, invocations, thresholds, expected):
    assert severities("error-rate-high", function(Errors=errors, Invocations=invocations), thresholds) == [expected]


@pytest.mark.parametrize(
    "ok, faults, expected",
    [(9_901, 99, LOW), (9_900, 100, MEDIUM), (9_501, 499, MEDIUM), (9_500, 500, HIGH), (2, 1, HIGH)],
)
def test_trace_errors_severity_follows_the_worst_traced_failure_rate(ok, faults, expected):
    failing = TraceStats(ok=ok, faults=faults, total=ok + faults)
    node = TraceNode(stats=TraceStats(ok=100, total=100), edges=(TraceEdge("orders", "AWS::DynamoDB::Table", failing),))
    lowered = Thresholds(max_trace_failure_rate=0, min_traced_calls=0)
    assert severities("trace-errors-high", function(trace_node=node), lowered) == [expected]


@pytest.mark.parametrize(
    "p99_ms, expected",
    [(8_999, LOW), (9_000, MEDIUM), (9_499, MEDIUM), (9_500, HIGH), (10_000, HIGH)],
)
def test_duration_severity_follows_how_close_p99_comes_to_the_timeout_lambda_stops_at(p99_ms, expected):
    fn = function(Duration=p99_ms, timeout_seconds=10)
    assert severities("duration-near-timeout", fn, Thresholds(max_duration_timeout_ratio=0.5)) == [expected]


@pytest.mark.parametrize("used_mb, expected", [(899, LOW), (900, MEDIUM), (949, MEDIUM), (950, HIGH), (1000, HIGH)])
def test_memory_severity_follows_how_close_max_memory_used_comes_to_the_memory_size(used_mb, expected):
    fn = function(
        memory_mb=1000, logs_current=log_stats(invocations=10, max_memory_used_mb=used_mb, memory_size_mb=1000)
    )
    assert severities("memory-near-limit", fn, Thresholds(max_memory_used_ratio=0.5)) == [expected]


@pytest.mark.parametrize(
    "age_ms, expected",
    [(299_999, LOW), (300_000, MEDIUM), (900_000, MEDIUM), (3_599_999, MEDIUM), (3_600_000, HIGH)],
)
def test_iterator_age_severity_follows_how_far_behind_the_stream_the_consumer_reads(age_ms, expected):
    fn = function(IteratorAge=age_ms, event_sources=(kinesis_source(),))
    assert severities("iterator-age-high", fn, Thresholds(max_iterator_age_seconds=0)) == [expected]


@pytest.mark.parametrize(
    "dropped, dead_letter_errors, received, expected",
    [
        (1, 0, 10_000, MEDIUM),  # every lost event is data loss: never LOW
        (99, 0, 10_000, MEDIUM),  # 0.99 %
        (100, 0, 10_000, HIGH),  # 1 %
        (50, 50, 10_000, HIGH),  # drops and failed DLQ deliveries add up
        (5, 0, 0, HIGH),  # events queued before the window, lost in it
    ],
)
def test_async_loss_severity_follows_the_share_of_asynchronous_events_lambda_could_not_deliver(
    dropped, dead_letter_errors, received, expected
):
    fn = function(AsyncEventsDropped=dropped, DeadLetterErrors=dead_letter_errors, AsyncEventsReceived=received)
    assert severities("async-events-dropped", fn) == [expected]


@pytest.mark.parametrize("peak, expected", [(81, LOW), (89, LOW), (90, MEDIUM), (99, MEDIUM), (100, HIGH)])
def test_concurrency_severity_follows_the_peak_against_the_reserved_concurrency(peak, expected):
    fn = function(ConcurrentExecutions=peak, reserved_concurrency=100)
    assert severities("concurrency-near-limit", fn) == [expected]


@pytest.mark.parametrize("claimed, expected", [(899, LOW), (900, MEDIUM), (999, MEDIUM), (1000, HIGH)])
def test_account_concurrency_severity_follows_claimed_concurrency_against_the_quota(claimed, expected):
    snapshot = account(
        settings=AccountSettings(concurrency_limit=1000, unreserved_concurrency=900), ClaimedAccountConcurrency=claimed
    )
    assert account_severities("concurrency-near-limit", snapshot) == [expected]


@pytest.mark.parametrize("spillover, expected", [(1, LOW), (99, LOW), (100, MEDIUM), (1000, MEDIUM)])
def test_spillover_severity_follows_the_share_of_invocations_that_ran_on_demand(spillover, expected):
    fn = function(ProvisionedConcurrencySpilloverInvocations=spillover, Invocations=1000)
    assert severities("provisioned-spillover", fn) == [expected]


@pytest.mark.parametrize(
    "as_of, expected",
    [
        (date(2025, 12, 14), LOW),  # python3.9 is deprecated on 2025-12-15: one day left
        (date(2025, 12, 15), MEDIUM),  # deprecated today: no more security patches
        (date(2026, 11, 28), MEDIUM),
    ],
)
def test_runtime_severity_follows_whether_lambda_has_deprecated_the_runtime(as_of, expected):
    assert severities("runtime-deprecated", function(runtime="python3.9", as_of=as_of)) == [expected]


@pytest.mark.parametrize("ratio, expected", [(1.25, LOW), (1.999, LOW), (2.0, MEDIUM), (5.0, MEDIUM), (None, MEDIUM)])
def test_cold_start_severity_follows_how_many_times_worse_than_the_baseline(ratio, expected):
    assert REGISTRY["cold-start-regression"].severity.grade({"times_baseline": ratio}) is expected


def spread(center: float, n: int) -> list[float]:
    return [center + (i - n / 2) for i in range(n)]


@pytest.mark.parametrize("now_ms, expected", [(600, LOW), (1000, MEDIUM)])
def test_a_cold_start_regression_reports_its_ratio_to_the_baseline_p95(now_ms, expected):
    fn = function(
        logs_current=log_stats(invocations=10_000, init_durations=spread(now_ms, 100)),
        logs_baseline=log_stats(invocations=10_000, init_durations=spread(400, 100)),
    )
    (observation,) = REGISTRY["cold-start-regression"].run(fn, DEFAULTS)
    p95_ratio = observation.evidence["current_p95_ms"] / observation.evidence["baseline_p95_ms"]
    assert observation.evidence["times_baseline"] == round(p95_ratio, 3)
    assert severities("cold-start-regression", fn) == [expected]


@pytest.mark.parametrize(
    "check_id, fn, expected",
    [
        ("tracing-disabled", function(tracing_mode="PassThrough"), LOW),
        ("log-retention-unset", function(log_group_exists=True, log_retention_days=None), LOW),
        ("no-failure-destination", function(AsyncEventsReceived=10), MEDIUM),
    ],
)
def test_configuration_checks_have_one_severity_whatever_the_function(check_id, fn, expected):
    assert severities(check_id, fn) == [expected]


# --- one cause, one finding ------------------------------------------------------------------------------


def findings_on(*functions, disabled: tuple[str, ...] = ()) -> list[Finding]:
    snapshot = replace(account(), functions=functions)
    specs = [spec for spec in all_checks() if spec.id not in disabled]
    return list(run_checks(specs, snapshot, lambda fn: DEFAULTS, DEFAULTS))


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check_id: f for f in findings if f.check_id in ("throttled", "concurrency-near-limit")}


def test_throttles_at_reserved_concurrency_are_one_finding_that_names_the_peak():
    ledger = function(
        "ledger-writer", Throttles=24, Invocations=48_000, ConcurrentExecutions=9, reserved_concurrency=10
    )
    found = by_check(findings_on(ledger))
    assert list(found) == ["throttled"]
    throttled = found["throttled"]
    assert throttled.severity is LOW  # 0.05 % of attempts
    assert (
        "by reserved concurrency 10" in throttled.message and "peak concurrency 9 of 10 reserved" in throttled.message
    )
    assert (throttled.evidence["reserved_concurrency"], throttled.evidence["peak_concurrency"]) == (10, 9)


def test_a_peak_near_reserved_concurrency_without_throttles_is_still_reported():
    inventory = function("inventory-sync", Invocations=800, ConcurrentExecutions=18, reserved_concurrency=20)
    assert list(by_check(findings_on(inventory))) == ["concurrency-near-limit"]


def test_with_throttled_disabled_the_peak_near_reserved_concurrency_is_reported():
    ledger = function(
        "ledger-writer", Throttles=24, Invocations=48_000, ConcurrentExecutions=9, reserved_concurrency=10
    )
    assert list(by_check(findings_on(ledger, disabled=("throttled",)))) == ["concurrency-near-limit"]


def test_one_functions_throttles_never_silence_another_functions_concurrency():
    throttled = function("a", Throttles=30, Invocations=970, ConcurrentExecutions=40)
    near = function("b", Invocations=800, ConcurrentExecutions=18, reserved_concurrency=20)
    found = {(f.function_name, f.check_id) for f in findings_on(throttled, near)}
    assert {("a", "throttled"), ("b", "concurrency-near-limit")} <= found


def test_an_explanation_must_name_a_registered_check():
    assert all(set(spec.explained_by) <= REGISTRY.keys() for spec in all_checks())
    assert REGISTRY["concurrency-near-limit"].explained_by == ("throttled",)


# --- ordering --------------------------------------------------------------------------------------------


def test_reports_put_severity_before_newness_so_a_new_low_never_sits_above_an_ongoing_high():
    def finding(name: str, severity: Severity, status: str) -> Finding:
        return Finding(
            "memory-near-limit",
            "t",
            severity,
            "123456789012",
            "eu-west-1",
            "m",
            "r",
            "d",
            function_name=name,
            status=status,
        )

    report = AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=WINDOW,
        functions_audited=4,
        functions=(),
        findings=(
            finding("a-new-low", LOW, "new"),
            finding("a-ongoing-medium", MEDIUM, "ongoing"),
            finding("z-ongoing-high", HIGH, "ongoing"),
            finding("z-new-medium", MEDIUM, "new"),
        ),
        coverage_gaps=(),
        api_calls={},
        metric_queries={},
    )
    assert [f.function_name for f in report.worst_first()] == [
        "z-ongoing-high",
        "z-new-medium",  # new before ongoing within a severity, whatever the names
        "a-ongoing-medium",
        "a-new-low",
    ]
