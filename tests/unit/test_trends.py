"""Trends: each check's main figure, days open and the change since the previous report, the thresholds in
force on each finding, and the charts that show the baseline days and the fleet's last 30 days."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from healthaudit.checks.catalogue import REGISTRY, all_checks
from healthaudit.checks.registry import Figure, run_checks
from healthaudit.config import Thresholds
from healthaudit.history import History, days_open, diff_reports, figure_change
from healthaudit.model import (
    AccountSettings,
    AuditReport,
    AuditWindow,
    CoverageGap,
    DataSource,
    Finding,
    MetricSeries,
    Severity,
    TraceEdge,
    TraceNode,
    TraceStats,
)
from healthaudit.model.report import FleetDay
from healthaudit.publish.change import change_text
from healthaudit.publish.charts import finding_charts, fleet_chart, series_chart
from healthaudit.publish.digest import finding_line
from tests.support.reports import a_finding, a_report
from tests.support.snapshots import WINDOW, account, function, kinesis_source, log_stats

ACCOUNT, REGION = "123456789012", "eu-west-1"
ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
TODAY = AuditWindow.ending_at(datetime(2026, 11, 28, 6, tzinfo=UTC))
YESTERDAY = AuditWindow.ending_at(datetime(2026, 11, 27, 6, tzinfo=UTC))


def finding(check_id: str, **changes) -> Finding:
    return a_finding(check_id, **{"title": check_id, "docs": "", **changes})


def report(window: AuditWindow, *findings: Finding) -> AuditReport:
    return a_report(*findings, window=window, functions_audited=1)


# -- each check names its main figure, and its evidence carries it ---------------------------------

SPREAD_OLD = [400 + (i - 50) for i in range(100)]
SPREAD_NEW = [800 + (i - 50) for i in range(100)]
OLD = {"code_sha256": "aaa", "code_size": 5_000_000, "runtime": "python3.12", "memory_mb": 512, "layers": []}
FAILING = TraceStats(ok=80, errors=10, throttles=0, faults=10, total=100)
XRAY_ALLOWED = {"xray:PutTraceSegments": "allowed", "xray:PutTelemetryRecords": "allowed"}

#: A snapshot on which each check fires, from the edges of its table in test_checks.py.
FIRING = {
    "throttled": function(Throttles=11, Invocations=989),
    "error-rate-high": function(Errors=51, Invocations=1000),
    "duration-near-timeout": function(timeout_seconds=10, Duration=8001),
    "concurrency-near-limit": function(reserved_concurrency=10, ConcurrentExecutions=9),
    "iterator-age-high": function(event_sources=(kinesis_source(),), IteratorAge=300_001),
    "async-events-dropped": function(AsyncEventsDropped=1, AsyncEventsReceived=100),
    "no-failure-destination": function(AsyncEventsReceived=1),
    "provisioned-spillover": function(ProvisionedConcurrencySpilloverInvocations=1, Invocations=10),
    "runtime-deprecated": function(runtime="python3.9", as_of=date(2026, 11, 28)),
    "tracing-disabled": function(tracing_mode="PassThrough"),
    "log-retention-unset": function(log_group="/aws/lambda/fn", log_group_exists=True, log_retention_days=None),
    "audit-coverage-gap": function(unread={DataSource.METRICS: "GetMetricData failed: Throttling"}),
    "memory-near-limit": function(
        memory_mb=512, logs_current=log_stats(invocations=10, max_memory_used_mb=461, memory_size_mb=512)
    ),
    "memory-overprovisioned": function(
        memory_mb=1024, logs_current=log_stats(invocations=100, max_memory_used_mb=255, memory_size_mb=1024)
    ),
    "cold-start-regression": function(
        logs_current=log_stats(invocations=10_000, init_durations=SPREAD_NEW, fingerprint=OLD),
        logs_baseline=log_stats(invocations=10_000, init_durations=SPREAD_OLD, fingerprint=OLD),
        fingerprint=OLD,
    ),
    "tracing-not-permitted": function(
        tracing_mode="Active",
        xray_permission={**XRAY_ALLOWED, "xray:PutTraceSegments": "implicitDeny"},
        role="arn:aws:iam::123456789012:role/r",
    ),
    "traces-missing": function(tracing_mode="Active", Invocations=100, xray_permission=XRAY_ALLOWED),
    "trace-errors-high": function(
        tracing_mode="Active",
        trace_node=TraceNode(
            stats=TraceStats(ok=100, total=100),
            edges=(TraceEdge(name="orders", type="AWS::DynamoDB::Table", stats=FAILING),),
        ),
    ),
}
#: Checks that compare no figure across reports, and why.
NO_FIGURE = {
    "tracing-disabled": "a setting, not a number",
    "tracing-not-permitted": "IAM decisions",
    "traces-missing": "whether traces arrive",
    "log-retention-unset": "a setting",
    "no-failure-destination": "a setting",
    "audit-coverage-gap": "what was not read",
    "runtime-deprecated": "days to deprecation fall by one a day by themselves: no trend to tell",
}


def observations(check_id: str):
    spec = REGISTRY[check_id]
    return list(spec.run(FIRING[check_id], Thresholds()))


def test_every_check_has_a_firing_case_here():
    assert set(FIRING) == set(REGISTRY)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_each_check_declares_a_main_figure_that_its_evidence_carries_or_none_with_a_reason(check_id):
    spec = REGISTRY[check_id]
    found = observations(check_id)
    assert found, f"{check_id}: the firing case did not fire"
    if spec.figure is None:
        assert check_id in NO_FIGURE
        assert spec.severity.figure in (None, "days_left")  # a check graded by a number names it as its figure
        return
    assert check_id not in NO_FIGURE
    for observation in found:
        value = observation.evidence.get(spec.figure.key)
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        assert spec.figure.shown(value) is not None
    if spec.severity.figure is not None:  # the figure that grades a finding is the one it is compared on
        assert spec.figure.key == spec.severity.figure


def test_the_account_wide_halves_carry_their_figure_too():
    settings = AccountSettings(concurrency_limit=1000, unreserved_concurrency=1000)
    snapshot = account(settings=settings, ClaimedAccountConcurrency=801)
    (claimed,) = REGISTRY["concurrency-near-limit"].run_account(snapshot, Thresholds())
    assert REGISTRY["concurrency-near-limit"].figure.shown(claimed.evidence["ratio"]) == 80.1
    gap = replace(account(), gaps=(CoverageGap(DataSource.TAGS, "AccessDenied"),))
    assert REGISTRY["audit-coverage-gap"].figure is None
    assert list(REGISTRY["audit-coverage-gap"].run_account(gap, Thresholds()))


# -- days open ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_seen, expected",
    [
        ("2026-11-28T06:00:00Z", 0),  # new in this window
        ("2026-11-27T06:00:01Z", 0),  # a second short of a day
        ("2026-11-27T06:00:00Z", 1),
        ("2026-11-18T06:00:00Z", 10),
        ("2026-11-29T06:00:00Z", 0),  # a clock ahead of the window: never negative
        ("not a time", None),  # a stored first_seen that does not parse
    ],
)
def test_days_open_are_whole_days_from_first_seen_to_the_window_end(first_seen, expected):
    assert days_open(first_seen, TODAY.end) == expected


# -- the change of the main figure --------------------------------------------------------------

ERROR_RATE = REGISTRY["error-rate-high"].figure
MEMORY_SHARE = REGISTRY["memory-overprovisioned"].figure
ITERATOR_AGE = REGISTRY["iterator-age-high"].figure


@pytest.mark.parametrize(
    "figure, before, after, expected",
    [
        (ERROR_RATE, 0.08, 0.08, ("unchanged", 8.0, 8.0)),  # same value
        (ERROR_RATE, 0.0801, 0.0804, ("unchanged", 8.0, 8.0)),  # a move below the 0.1-point rounding shown
        (ERROR_RATE, 0.0804, 0.0806, ("worse", 8.0, 8.1)),  # shows as a different value: a move
        (ERROR_RATE, 0.021, 0.08, ("worse", 2.1, 8.0)),  # ratio evidence (0..1) shown as %
        (ERROR_RATE, 0.08, 0.021, ("better", 8.0, 2.1)),
        (ERROR_RATE, "n/a", 0.08, ("new", None, 8.0)),  # the previous finding has no such figure
        (MEMORY_SHARE, 0.2, 0.12, ("worse", 20.0, 12.0)),  # lower is worse for overprovisioned memory
        (MEMORY_SHARE, 0.12, 0.2, ("better", 12.0, 20.0)),
        (ITERATOR_AGE, 300_400, 300_499, ("unchanged", 300.0, 300.0)),  # ms shown as whole seconds
        (ITERATOR_AGE, 300_400, 301_600, ("worse", 300.0, 302.0)),
    ],
)
def test_the_change_is_judged_on_the_figure_as_shown(figure, before, after, expected):
    earlier = finding("x", evidence={figure.key: before})
    change = figure_change(figure, finding("x", evidence={figure.key: after}), earlier)
    assert (change.direction, change.before, change.after) == expected
    assert (change.figure, change.label, change.unit) == (figure.key, figure.label, figure.unit)


def test_a_finding_without_the_figure_in_its_evidence_has_no_change():
    assert figure_change(ERROR_RATE, finding("x", evidence={"errors": 3}), None) is None
    assert figure_change(ERROR_RATE, finding("x", evidence={"error_rate": float("nan")}), None) is None
    assert figure_change(ERROR_RATE, finding("x", evidence={"error_rate": True}), None) is None


def test_diff_reports_gives_new_findings_no_before_and_ongoing_ones_their_change_and_days_open():
    earlier = report(
        YESTERDAY,
        finding("error-rate-high", first_seen="2026-11-20T06:00:00Z", evidence={"error_rate": 0.021}),
        finding("tracing-disabled", first_seen="2026-11-27T06:00:00Z"),
    )
    now = report(
        TODAY,
        finding("error-rate-high", evidence={"error_rate": 0.08}),
        finding("tracing-disabled"),
        finding("throttled", evidence={"throttle_rate": 0.3}),
    )
    diffed = {f.check_id: f for f in diff_reports(now, earlier, "k").findings}
    rate, tracing, throttled = diffed["error-rate-high"], diffed["tracing-disabled"], diffed["throttled"]
    assert (rate.status, rate.days_open, rate.change.direction, rate.change.before, rate.change.after) == (
        "ongoing",
        8,
        "worse",
        2.1,
        8.0,
    )
    assert (tracing.days_open, tracing.change) == (1, None)  # no figure to compare
    assert (throttled.status, throttled.days_open, throttled.change.direction, throttled.change.before) == (
        "new",
        0,
        "new",
        None,
    )
    first = diff_reports(now, None, None).findings[0]
    assert (first.days_open, first.change.direction) == (0, "new")


def test_the_change_in_words_for_the_digest_and_the_page():
    worse = finding("error-rate-high", change=figure_change(ERROR_RATE, *_pair(0.021, 0.08)))
    better = finding("error-rate-high", change=figure_change(ERROR_RATE, *_pair(0.08, 0.021)))
    same = finding("error-rate-high", change=figure_change(ERROR_RATE, *_pair(0.08, 0.08)))
    fresh = finding("error-rate-high", change=figure_change(ERROR_RATE, *_pair(None, 0.08)))
    assert change_text(worse) == "↑ worse: 2.1 % → 8.0 %"
    assert change_text(better, label=True) == "error rate ↓ better: 8.0 % → 2.1 %"
    assert change_text(same) == "unchanged at 8.0 %"
    assert change_text(fresh) is None
    assert "↑ worse: 2.1 % → 8.0 %" in finding_line(worse)
    assert "better" not in finding_line(better) and "worse" not in finding_line(better)
    assert "→" not in finding_line(same) and "→" not in finding_line(fresh)


def _pair(before, after):
    earlier = None if before is None else finding("error-rate-high", evidence={"error_rate": before})
    return finding("error-rate-high", evidence={"error_rate": after}), earlier


# -- the thresholds in force, and the charts that draw them --------------------------------------


def hourly(metric: str, values, start: datetime, stat: str = "Sum") -> MetricSeries:
    stamps = tuple(start + timedelta(hours=n) for n in range(len(values)))
    return MetricSeries(metric=metric, stat=stat, timestamps=stamps, values=tuple(float(v) for v in values))


def threshold_line(svg: str) -> tuple[float, str]:
    found = re.search(r'<line class="ref-threshold"[^>]* y1="([\d.]+)"[^>]*><title>([^<]*)</title>', svg)
    assert found, svg
    return float(found.group(1)), found.group(2)


def test_a_tag_override_is_the_threshold_on_the_finding_and_the_line_on_its_chart():
    fn = function(name="orders-api", Errors=30, Invocations=100, tags={"healthaudit:max_error_rate": "0.2"})
    plain = function(name="billing", Errors=30, Invocations=100)
    snapshot = account(functions=(fn, plain))
    defaults = Thresholds()
    by_arn = {f.arn: defaults.overridden_by_tags(f.tags)[0] for f in (fn, plain)}
    found = {
        f.function_name: f
        for f in run_checks([REGISTRY["error-rate-high"]], snapshot, lambda f: by_arn[f.arn], defaults)
    }
    assert found["orders-api"].thresholds == {"max_error_rate": 0.2, "min_invocations_for_error_rate": 20}
    assert found["billing"].thresholds == {"max_error_rate": 0.05, "min_invocations_for_error_rate": 20}

    start = WINDOW.baseline_start
    series = (hourly("Errors", [30] * 192, start), hourly("Invocations", [100] * 192, start))
    lines = {
        name: threshold_line(finding_charts(replace(f, series=series), WINDOW.start)[0]) for name, f in found.items()
    }
    (override_y, override_label), (default_y, default_label) = lines["orders-api"], lines["billing"]
    assert override_label == "threshold 20 %" and default_label == "threshold 5 %"
    # The axis tops out at 50 % (the 30 % error rate's nice ceiling): y = TOP + plot_h × (1 − value / top).
    assert override_y == pytest.approx(10 + 118 * (1 - 20 / 50), abs=0.1)
    assert default_y == pytest.approx(10 + 118 * (1 - 5 / 50), abs=0.1)


def test_a_finding_stored_without_thresholds_draws_the_declared_default_and_says_so():
    series = (hourly("Errors", [30] * 24, WINDOW.start), hourly("Invocations", [100] * 24, WINDOW.start))
    chart = finding_charts(finding("error-rate-high", series=series), WINDOW.start)[0]
    assert threshold_line(chart)[1] == "default threshold 5 %"


# -- the baseline days beside the window ---------------------------------------------------------


@pytest.mark.parametrize("stat, part", [("Sum", "rect"), ("Maximum", "polyline")])
def test_the_baseline_hours_are_grey_on_a_band_and_the_window_hours_in_colour(stat, part):
    values = [5] * 168 + [9] * 24  # 7 baseline days, then the 24-hour window
    chart = series_chart(hourly("Throttles", values, WINDOW.baseline_start, stat), window_start=WINDOW.start)
    assert chart.count('class="baseline-band"') == 1 and chart.count('class="window-start"') == 1
    band = re.search(r'class="baseline-band" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', chart)
    marker = float(re.search(r'class="window-start" x1="([\d.]+)"', chart).group(1))
    assert float(band.group(1)) + float(band.group(2)) == pytest.approx(marker, abs=0.1)
    assert marker == pytest.approx(40 + 290 * 168 / 192, abs=0.1)  # the window starts 168 of 192 hours in
    if part == "rect":
        assert chart.count('class="bar-baseline"') == 168 and chart.count('class="bar"') == 24
    else:
        assert chart.count('class="line-baseline"') == 1 and chart.count('class="dot"') == 24
    assert "window peak 9" in chart


def test_a_series_with_no_baseline_hours_has_no_band():
    chart = series_chart(hourly("Throttles", [9] * 24, WINDOW.start), window_start=WINDOW.start)
    assert "baseline-band" not in chart and "window-start" not in chart and chart.count('class="bar"') == 24


# -- the fleet over the last 30 days -------------------------------------------------------------


def test_the_fleet_trend_takes_stored_days_and_this_report_and_leaves_the_others_gaps():
    stored = FleetDay(day="2026-11-01", counts={Severity.HIGH: 2})
    too_old = FleetDay(day="2026-10-29", counts={Severity.HIGH: 9})
    from_baseline = report(YESTERDAY, finding("throttled"))
    history = History(reports=(from_baseline,), fleet_days=(too_old, stored))
    trend = history.fleet_trend(report(TODAY))
    assert len(trend) == 30 and (trend[0].day, trend[-1].day) == ("2026-10-30", "2026-11-28")
    by_day = {day.day: day.counts for day in trend}
    assert by_day["2026-11-01"] == {Severity.HIGH: 2}
    assert by_day["2026-11-27"][Severity.HIGH] == 1  # the previous report, already read for the baseline
    assert sum(by_day["2026-11-28"].values()) == 0  # today: no findings is a zero, not a gap
    assert [day for day, counts in by_day.items() if counts is None] == [
        day.day for day in trend if day.day not in ("2026-11-01", "2026-11-27", "2026-11-28")
    ]


def test_the_fleet_chart_draws_a_gap_apart_from_a_day_with_no_findings():
    days = [
        FleetDay(day="2026-11-26", counts={Severity.HIGH: 1, Severity.LOW: 3}),
        FleetDay(day="2026-11-27"),
        FleetDay(day="2026-11-28", counts={severity: 0 for severity in Severity}),
    ]
    chart = fleet_chart(days)
    assert re.findall(r'<g class="fleet-day( gap)?" data-day="([\d-]+)"(?: data-total="(\d+)")?', chart) == [
        ("", "2026-11-26", "4"),
        (" gap", "2026-11-27", ""),
        ("", "2026-11-28", "0"),
    ]
    assert "2026-11-27: no report stored" in chart and "2026-11-28: no active findings" in chart
    assert chart.count('class="sev-high"') == 1 and chart.count('class="sev-low"') == 1


def test_figure_shown_rounds_as_the_report_shows():
    assert Figure.share("error_rate", "error rate").shown(0.02149) == 2.1
    assert Figure("x", "factor", "×", decimals=2).shown(1.234) == 1.23
    assert [
        spec.id for spec in all_checks() if spec.figure is not None and spec.figure.unit not in ("%", "s", "×")
    ] == []
