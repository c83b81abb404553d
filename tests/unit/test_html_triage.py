"""The HTML report's triage and wording, without a browser: row order, the collapse threshold's edges,
evidence in words and units, tiles, suppressed functions, charts' units and thresholds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.checks.catalogue import all_checks, declared_thresholds
from healthaudit.model import AuditReport, AuditWindow, Finding, FunctionSummary, MetricSeries, Severity
from healthaudit.publish.charts import distribution_chart, finding_charts, ratio_series
from healthaudit.publish.evidence import EVIDENCE, evidence_rows, field_for, formatted, words
from healthaudit.publish.html import emittable_severities, function_status, render_html
from healthaudit.publish.markup import inline_code
from healthaudit.publish.triage import days_open, triage, triage_rows

WINDOW = AuditWindow.ending_at(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
END = WINDOW.end
ACCOUNT, REGION = "123456789012", "eu-west-1"
HIGH, MEDIUM, LOW, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def finding(
    check_id: str,
    function: str | None,
    severity: Severity = MEDIUM,
    status: str = "new",
    days: int = 0,
    **extra,
) -> Finding:
    return Finding(
        check_id=check_id,
        title=extra.pop("title", f"Title of {check_id}"),
        severity=severity,
        account=ACCOUNT,
        region=REGION,
        message=extra.pop("message", f"{check_id} on {function}"),
        remediation=extra.pop("remediation", "Fix it."),
        docs="https://docs.aws.amazon.com/lambda/latest/dg/lambda-monitoring.html",
        function_name=function,
        function_arn=arn(function) if function else None,
        status=status,
        first_seen=(END - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    )


def report(findings, functions=(), **extra) -> AuditReport:
    return AuditReport(ACCOUNT, REGION, WINDOW, len(functions), tuple(functions), tuple(findings), (), {}, {}, **extra)


def order(findings, collapse_over=10) -> list[tuple[str, str]]:
    return [(row.findings[0].resource, row.check_id) for row in triage_rows(triage(findings, END, collapse_over))]


# -- order ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "findings, expected",
    [
        (  # the case: a new LOW never sits above an ongoing HIGH
            [finding("tracing-disabled", "a", LOW, "new"), finding("memory-near-limit", "b", HIGH, "ongoing", 3)],
            [("b", "memory-near-limit"), ("a", "tracing-disabled")],
        ),
        (  # same severity: new before ongoing
            [finding("traces-missing", "a", MEDIUM, "ongoing", 2), finding("cold-start-regression", "b", MEDIUM)],
            [("b", "cold-start-regression"), ("a", "traces-missing")],
        ),
        (  # grouped by function: a function's rows stay together, the group placed by its worst row
            [
                finding("tracing-disabled", "a", LOW),
                finding("duration-near-timeout", "b", MEDIUM),
                finding("throttled", "a", HIGH, "ongoing", 1),
            ],
            [("a", "throttled"), ("a", "tracing-disabled"), ("b", "duration-near-timeout")],
        ),
        (  # equal in severity and newness: by function name, then check id
            [finding("tracing-disabled", "b", LOW), finding("log-retention-unset", "a", LOW)],
            [("a", "log-retention-unset"), ("b", "tracing-disabled")],
        ),
        (  # within a function: severity, then new before ongoing
            [
                finding("traces-missing", "a", MEDIUM, "ongoing", 4),
                finding("no-failure-destination", "a", MEDIUM, "new"),
                finding("throttled", "a", HIGH, "ongoing", 4),
            ],
            [("a", "throttled"), ("a", "no-failure-destination"), ("a", "traces-missing")],
        ),
    ],
)
def test_triage_orders_by_severity_then_new_grouped_by_function(findings, expected):
    assert order(findings) == expected


def test_suppressed_and_resolved_findings_are_not_triaged():
    findings = [
        finding("runtime-deprecated", "legacy", MEDIUM, suppressed_by="tag healthaudit:suppress"),
        finding("throttled", "gone", HIGH, "resolved"),
        finding("tracing-disabled", "a", LOW),
    ]
    assert order(findings) == [("a", "tracing-disabled")]


# -- the collapse threshold ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "functions, per_function, collapse_over, collapsed",
    [
        (10, 1, 10, False),  # exactly the threshold: one row each
        (11, 1, 10, True),  # one more: one row for the check
        (10, 2, 10, False),  # two findings of a check on each of 10 functions: still 10 functions
        (11, 2, 10, True),  # 22 findings on 11 functions: "on 11 functions"
        (1, 1, 0, True),  # collapse_over=0 folds any check on a function
        (3, 1, 2, True),
        (2, 1, 2, False),
    ],
)
def test_a_check_on_more_than_collapse_over_functions_takes_one_row(functions, per_function, collapse_over, collapsed):
    findings = [
        finding("audit-coverage-gap", f"fn-{i:02d}", MEDIUM, message=f"gap {k} on fn-{i:02d}")
        for i in range(functions)
        for k in range(per_function)
    ]
    rows = triage_rows(triage(findings, END, collapse_over))
    if collapsed:
        (row,) = rows
        assert row.collapsed and len(row.findings) == functions * per_function
        assert row.message == f"audit-coverage-gap on {functions} functions" and row.functions == functions
    else:
        assert len(rows) == functions * per_function and not any(row.collapsed for row in rows)


def test_a_collapsed_check_is_one_row_with_its_functions_folded_without_script():
    findings = [finding("tracing-disabled", f"fn-{i:03d}", LOW, "ongoing" if i % 3 else "new", i) for i in range(412)]
    findings.append(finding("memory-near-limit", "thumbnailer", HIGH, "ongoing", 2))
    page = render_html(report(findings))
    triage_table = page[page.index('<table class="triage"') : page.index("</table>", page.index('class="triage"'))]
    assert triage_table.count("<tr class=") == 2
    assert "tracing-disabled on 412 functions" in triage_table
    assert "<details><summary>412 functions</summary>" in triage_table
    assert all(f"<li>fn-{i:03d}</li>" in triage_table for i in range(412))
    assert triage_table.index("thumbnailer") < triage_table.index("tracing-disabled on 412")  # HIGH first
    (row,) = [r for r in triage_rows(triage(findings, END)) if r.collapsed]
    assert (row.new, row.ongoing, row.days_open) == (138, 274, 411)
    assert row.status == "138 new, 274 ongoing"
    assert "<script" not in page.lower()
    assert page.count('<article class="finding') == 2  # one card for the collapsed check, not 412


def test_render_html_takes_the_collapse_threshold():
    findings = [finding("tracing-disabled", f"fn-{i}", LOW) for i in range(5)]
    assert "tracing-disabled on 5 functions" in render_html(report(findings), collapse_over=4)
    assert "tracing-disabled on 5 functions" not in render_html(report(findings), collapse_over=5)


@pytest.mark.parametrize(
    "first_seen, expected",
    [
        (END, 0),
        (END - timedelta(hours=23), 0),
        (END - timedelta(days=1), 1),
        (END - timedelta(days=12, hours=5), 12),
        (END + timedelta(days=1), 0),  # a first_seen after the window (a clock skew) is not negative
        (None, 0),
    ],
)
def test_days_open_counts_whole_days_from_first_seen_to_the_window_end(first_seen, expected):
    stamp = first_seen.strftime("%Y-%m-%dT%H:%M:%SZ") if first_seen else None
    one = Finding("throttled", "t", HIGH, ACCOUNT, REGION, "m", "r", "https://d", "fn", arn("fn"), first_seen=stamp)
    assert days_open(one, END) == expected


# -- the page's order ----------------------------------------------------------------------------


def test_the_triage_table_comes_before_any_detail_card():
    page = render_html(report([finding("throttled", "a", HIGH), finding("tracing-disabled", "b", LOW)]))
    assert page.index('<table class="triage"') < page.index('<article class="finding')
    assert page.index('href="#finding-0"') < page.index('id="finding-0"')


# -- evidence in words ---------------------------------------------------------------------------

EVIDENCE_CASES = [
    # key, value, label, text
    ("throttles", 720.0, "Throttled attempts", "720"),
    ("invocations", 48000.0, "Invocations", "48,000"),
    ("throttle_rate", 0.0005, "Throttle rate", "0.05 %"),  # as the message's "(0.05%)", never 0.0005
    ("limit", "reserved concurrency 10", "Limit that throttled", "reserved concurrency 10"),
    ("reserved_concurrency", None, "Reserved concurrency", "none"),
    ("errors", 960.0, "Errors", "960"),
    ("error_rate", 0.08, "Error rate", "8 %"),
    ("baseline_error_rate", 0.0, "Baseline error rate", "0 %"),
    ("p99_duration_ms", 27000.0, "p99 duration", "27,000 ms"),
    ("timeout_ms", 30000, "Timeout", "30 s"),
    ("peak_concurrency", 9.0, "Peak concurrency", "9"),
    ("claimed_concurrency", 900.0, "Peak claimed account concurrency", "900"),
    ("account_limit", 1000, "Account concurrency quota", "1,000"),
    ("max_iterator_age_ms", 900000.0, "Oldest record's age", "900 s"),  # the message says seconds
    ("streams", ["arn:aws:kinesis:eu-west-1:1:stream/s"], "Streams", "arn:aws:kinesis:eu-west-1:1:stream/s"),
    ("AsyncEventsDropped", 24.0, "Events dropped", "24"),
    ("DeadLetterErrors", 0.0, "Dead-letter queue errors", "0"),
    ("DestinationDeliveryFailures", 2.0, "Destination delivery failures", "2"),
    ("lost_rate", 0.005, "Share of received events lost", "0.5 %"),
    ("async_events_received", 4800.0, "Asynchronous events received", "4,800"),
    ("on_failure_destination_by_qualifier", {}, "On-failure destination by qualifier", "none configured"),
    ("max_memory_used_mb", 500.0, "Max memory used", "500 MB"),
    ("memory_size_mb", 3008.0, "Memory size", "3,008 MB"),
    ("suggested_memory_mb", 320, "Suggested memory size", "320 MB"),
    ("times_baseline", 2.4036, "Times the baseline", "2.4×"),
    ("baseline_p50_ms", 291.21, "Baseline p50 init duration", "291.2 ms"),
    ("baseline_p95_ms", 326.77, "Baseline p95 init duration", "326.8 ms"),
    ("current_p50_ms", 1090.909, "Current p50 init duration", "1,090.9 ms"),
    ("current_p95_ms", 85.86, "Current p95 init duration", "85.9 ms"),
    ("baseline_cold_starts", 48, "Baseline cold starts", "48"),
    ("current_cold_starts", 1200, "Current cold starts", "1,200"),
    ("p_value", 1.6e-17, "p-value", "< 0.0001"),
    ("test", "one-sided Mann-Whitney U (exact)", "Test", "one-sided Mann-Whitney U (exact)"),
    ("baseline_cold_start_rate", 0.012, "Baseline cold-start rate", "1.2 %"),
    ("current_cold_start_rate", 0.031, "Current cold-start rate", "3.1 %"),
    ("rate_p_value", 0.0042, "p-value of the rate rise", "0.0042"),
    ("configuration_changes", ["new code deployed", "layers changed"], "What changed", "new code deployed"),
    ("baseline_samples", [300.0] * 48, "Baseline init durations", "48 samples (in the chart)"),
    ("current_samples", [700.0] * 40, "Current init durations", "40 samples (in the chart)"),
    ("runtime", "python3.9", "Runtime", "python3.9"),
    ("deprecation_date", "2025-12-15", "Deprecation date", "15 Dec 2025"),
    ("days_left", -351, "Deprecation", "deprecated 351 days ago"),  # never "(-351 days)"
    ("likely_causes", ["sampling rules"], "Likely causes", "sampling rules"),
    ("tracing_mode", "PassThrough", "Tracing mode", "PassThrough"),
    ("role", "arn:aws:iam::1:role/r", "Execution role", "arn:aws:iam::1:role/r"),
    ("decisions", {"xray:PutTraceSegments": "implicitDeny"}, "IAM decisions", "xray:PutTraceSegments: implicit deny"),
    ("denied_by_service_control_policy", [], "Denied by a service control policy", "none"),
    ("failure_rate", 0.3333, "Worst failure rate", "33.3 %"),
    (
        "failing",
        [{"service": "stock", "type": "AWS::DynamoDB::Table", "errors": 4, "throttles": 4, "faults": 4, "total": 24}],
        "Failing calls",
        "stock (AWS::DynamoDB::Table): 8 of 24 traced calls failed (4 faults, 4 errors of which 4 throttled)",
    ),
    ("log_group", "/aws/lambda/audit-trail", "Log group", "/aws/lambda/audit-trail"),
    ("source", "report-records", "Data source", "report-records"),
    ("reason", "AccessDeniedException", "Reason", "AccessDeniedException"),
    ("spillover_invocations", 48.0, "Invocations spilled over to on-demand", "48"),
    ("spillover_rate", 0.0022, "Share of invocations spilled over", "0.22 %"),
]


@pytest.mark.parametrize("key, value, label, text", EVIDENCE_CASES, ids=[case[0] for case in EVIDENCE_CASES])
def test_each_known_evidence_key_reads_as_words_in_its_unit(key, value, label, text):
    ((shown_label, lines),) = evidence_rows({key: value})
    assert shown_label == label
    assert lines[0] == text
    assert "_" not in shown_label and "{" not in " ".join(lines)


def test_every_key_of_the_evidence_table_has_a_case():
    assert set(EVIDENCE) == {case[0] for case in EVIDENCE_CASES}


@pytest.mark.parametrize(
    "check_id, label",
    [
        ("duration-near-timeout", "p99 duration as a share of the timeout"),
        ("memory-near-limit", "Memory used as a share of memory size"),
        ("concurrency-near-limit", "Peak as a share of the limit"),
        ("some-new-check", "Share of the limit"),
    ],
)
def test_ratio_is_named_for_its_check_and_shown_as_a_percentage(check_id, label):
    assert evidence_rows({"ratio": 0.9766}, check_id) == [(label, ["97.7 %"])]


@pytest.mark.parametrize(
    "key, label, unit",
    [
        ("queue_wait_ms", "Queue wait", "ms"),
        ("payload_size_mb", "Payload size", "MB"),
        ("max_backoff_seconds", "Max backoff", "s"),
        ("retry_rate", "Retry rate", "%"),
        ("MaxIteratorAge", "Max iterator age", ""),
        ("iam_role_arn", "IAM role ARN", ""),
        ("", "(no name)", ""),  # evidence is free-form: even an empty key gets a label
        ("_", "(no name)", ""),
        ("<b>x</b>", "<b>x</b>", ""),  # escaped where it is placed, not here
    ],
)
def test_an_unknown_key_falls_back_to_words_and_a_unit_from_its_suffix(key, label, unit):
    assert (field_for(key).label, field_for(key).unit) == (label, unit)


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (0.01, "%", "1 %"),
        (0.00001, "%", "0.001 %"),
        (1.0, "%", "100 %"),
        (1, "days_left", "in 1 day"),
        (0, "days_left", "deprecated today"),
        (-1, "days_left", "deprecated 1 day ago"),
        (float("nan"), "ms", "nan"),
        (True, "count", "yes"),
    ],
)
def test_values_at_the_edges_of_their_units(value, unit, text):
    assert formatted(value, unit) == text


def test_nested_evidence_is_never_shown_as_json():
    rows = evidence_rows({"odd_shape": {"inner_key": [1, 2], "other": {"deep": None}}})
    assert rows == [("Odd shape", ["Inner key: 1, 2", "Other: Deep: none"])]
    assert words("on_failure_destination") == "On failure destination"


@pytest.mark.parametrize(
    "text, html",
    [
        ("set `Tracing: Active` in SAM", "set <code>Tracing: Active</code> in SAM"),
        ("a stray ` backtick", "a stray  backtick"),
        ("`<b>`", "<code>&lt;b&gt;</code>"),
    ],
)
def test_backticks_become_code_never_literal(text, html):
    assert inline_code(text) == html


def test_the_page_has_no_snake_case_labels_no_json_and_no_literal_backticks():
    findings = [
        finding(
            "tracing-not-permitted",
            "writer",
            MEDIUM,
            evidence={"role": "arn:aws:iam::1:role/r", "decisions": {"xray:PutTraceSegments": "implicitDeny"}},
            remediation="In SAM, `Tracing: Active` adds it.",
        ),
        finding("runtime-deprecated", "legacy", MEDIUM, evidence={"days_left": -351, "deprecation_date": "2025-12-15"}),
    ]
    page = render_html(report(findings))
    labels = re.findall(r'<th scope="row">([^<]*)</th>', page)
    assert labels and not [label for label in labels if "_" in label]
    assert "{&quot;" not in page and '{"' not in page
    assert "`" not in page
    assert "deprecated 351 days ago" in page and "-351" not in page


def test_compared_with_names_the_previous_reports_date_not_its_key():
    key = f"reports/dt=2026-11-30/account={ACCOUNT}/region={REGION}/report.json"
    page = render_html(report([], previous_report=key))
    shown = re.search(r"<dt>Compared with</dt><dd>(.*?)</dd>", page).group(1)
    assert ">the report of 30 Nov 2026<" in shown
    assert re.sub(r'title="[^"]*"', "", shown).count("reports/") == 0


# -- tiles and functions ---------------------------------------------------------------------------


def test_only_the_severities_a_check_can_give_get_tiles():
    levels = {level for spec in all_checks() for level in spec.severity.levels}
    page = render_html(report([finding("throttled", "a", HIGH)]))
    tiles = set(re.findall(r'<li class="tile sev-(\w+)', page))
    assert tiles == {level.value for level in levels}
    assert [s for s in emittable_severities(report([])) if s not in levels] == []


def test_a_severity_the_report_holds_gets_a_tile_even_if_no_check_declares_it():
    page = render_html(report([finding("legacy-check", "a", INFO)]))
    assert '<li class="tile sev-info">' in page


@pytest.mark.parametrize(
    "status, active, suppressed, shown",
    [
        ("healthy", 0, 1, "suppressed"),  # the suppressed python3.8 function is not green
        ("healthy", 0, 0, "healthy"),
        ("unhealthy", 1, 1, "unhealthy"),
        ("unknown", 0, 1, "unknown"),
    ],
)
def test_a_function_whose_findings_are_all_suppressed_is_shown_suppressed(status, active, suppressed, shown):
    assert function_status(status, active, suppressed) == shown


def test_the_suppressed_python38_function_is_not_shown_healthy():
    legacy = finding("runtime-deprecated", "legacy-etl", MEDIUM, "ongoing", 1, suppressed_by="tag")
    page = render_html(
        report([legacy], functions=[FunctionSummary("legacy-etl", arn("legacy-etl"), "python3.8", "healthy")])
    )
    (row,) = re.findall(r"<tr><td>legacy-etl</td>.*?</tr>", page)
    assert "status-suppressed" in row and "status-healthy" not in row


# -- charts: units, thresholds, one percentile ------------------------------------------------------


def hourly(metric: str, stat: str, values: list[float]) -> MetricSeries:
    return MetricSeries(
        metric, stat, tuple(WINDOW.start + timedelta(hours=i) for i in range(len(values))), tuple(values)
    )


def test_the_iterator_age_chart_is_in_seconds_with_the_threshold_line_as_the_message():
    age = finding(
        "iterator-age-high",
        "consumer",
        HIGH,
        message="records waited up to 900 s before processing (limit 300 s)",
        evidence={"max_iterator_age_ms": 900000.0},
        series=(hourly("IteratorAge", "Maximum", [900000.0] * 24),),
    )
    (chart,) = finding_charts(age)
    assert "(s)" in chart and "(ms)" not in chart
    assert "peak 900" in chart
    limit = declared_thresholds()["max_iterator_age_seconds"].default
    assert f"default threshold {limit:g} s" in chart and 'class="ref-threshold"' in chart


@pytest.mark.parametrize("check_id, part", [("throttled", "Throttles"), ("error-rate-high", "Errors")])
def test_rate_checks_chart_the_hourly_rate_in_percent_against_the_threshold(check_id, part):
    whole = ("Throttles", "Invocations") if check_id == "throttled" else ("Invocations",)
    series = {"Throttles": hourly("Throttles", "Sum", [30.0] * 24), "Errors": hourly("Errors", "Sum", [30.0] * 24)}
    series["Invocations"] = hourly("Invocations", "Sum", [970.0] * 24)
    one = finding(check_id, "fn", HIGH, series=tuple(series[m] for m in (part, *whole) if m in series))
    (chart,) = finding_charts(one)
    assert "per hour (%)" in chart
    expected = 30 / 1000 if check_id == "throttled" else 30 / 970
    assert f"peak {expected * 100:.4g}" in chart
    assert "default threshold" in chart


def test_ratio_series_leaves_out_hours_with_no_attempts():
    rates = ratio_series("r", hourly("Errors", "Sum", [1.0, 0.0]), [hourly("Invocations", "Sum", [4.0, 0.0])])
    assert rates.values == (25.0,)


def test_the_duration_chart_draws_the_timeout_and_the_threshold_in_ms():
    one = finding(
        "duration-near-timeout",
        "pdf",
        MEDIUM,
        evidence={"p99_duration_ms": 27000.0, "timeout_ms": 30000, "ratio": 0.9},
        series=(hourly("Duration", "p99", [27000.0] * 24),),
    )
    (chart,) = finding_charts(one)
    ratio = declared_thresholds()["max_duration_timeout_ratio"].default
    assert "timeout 30 s" in chart and f"({30000 * ratio:,.0f} ms)" in chart


def test_the_distribution_marks_are_the_findings_own_percentiles():
    chart = distribution_chart([100.0, 200.0, 300.0], [400.0, 500.0], given={"current": (450.25, 499.9)})
    assert "current: 2 samples, p50 450.2 ms, p95 499.9 ms" in chart
    assert "baseline: 3 samples, p50 200 ms, p95 300 ms" in chart
