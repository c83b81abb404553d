"""Only on-demand initialisations are cold starts: provisioned concurrency writes an Init Duration too.

Lambda initialises a provisioned-concurrency environment ahead of its first invocation, and that
invocation's REPORT carries an Init Duration all the same. The JSON log format tells the two apart
(platform.initStart / platform.initReport initializationType, in the environment's own log stream:
https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html); the text format does
not, so a window in which the function ran on provisioned concurrency is not judged.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from healthaudit.audit import audit
from healthaudit.checks.cold_start_regression import cold_start_regression
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.log_records import on_demand_inits, scan_ranges, scan_report_records
from healthaudit.config import AuditConfig, Thresholds
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_function import LogTraffic, PlantedFunction, Traffic
from healthaudit_sandbox.report_records import (
    PROVISIONED_INIT_LEAD,
    Invocation,
    json_records,
    records,
    text_records,
    write_invocations,
)
from tests.support.clock import AT
from tests.support.snapshots import function, log_stats

REGION = "eu-west-1"
START = AT - timedelta(hours=3)


def _at(minutes: float):
    return START + timedelta(minutes=minutes)


# -- the sandbox writes provisioned initialisations as Lambda does ---------------------------------


def test_a_provisioned_init_writes_init_duration_in_the_text_report_line_as_an_on_demand_one_does():
    on_demand = Invocation(_at(30), 12.0, 512, 90, init_duration_ms=410.25, request_id="cold")
    provisioned = Invocation(
        _at(30), 12.0, 512, 90, init_duration_ms=410.25, initialization_type="provisioned-concurrency", request_id="pc"
    )
    cold_lines, pc_lines = text_records(on_demand), text_records(provisioned)
    assert "\tInit Duration: 410.25 ms\t" in pc_lines[-1].message
    assert "\tInit Duration: 410.25 ms\t" in cold_lines[-1].message
    assert "\tBilled Duration: 423 ms\t" in cold_lines[-1].message  # the on-demand INIT phase is billed
    assert pc_lines[-1].message.startswith("REPORT RequestId: pc\tDuration: 12.00 ms\tBilled Duration: 12 ms\t")
    # INIT_START when the environment was initialised: ahead of the invocation for provisioned concurrency.
    assert [line.message.split(" ")[0] for line in pc_lines] == ["INIT_START", "START", "END", "REPORT"]
    assert pc_lines[0].timestamp == int((_at(30) - PROVISIONED_INIT_LEAD).timestamp() * 1000)
    assert cold_lines[0].timestamp == int(_at(30).timestamp() * 1000) - 411


def test_a_provisioned_init_writes_init_start_and_init_report_then_a_report_with_init_duration_in_json():
    ready = _at(5)
    invocation = Invocation(
        _at(30),
        12.0,
        512,
        90,
        init_duration_ms=410.25,
        initialization_type="provisioned-concurrency",
        initialized_at=ready,
        request_id="pc",
    )
    events = json_records(invocation, function_name="quotes")
    documents = [json.loads(event.message) for event in events]
    assert [d["type"] for d in documents] == [
        "platform.initStart",
        "platform.initReport",
        "platform.start",
        "platform.report",
    ]
    init_start, init_report, _, report = documents
    assert init_start["record"]["initializationType"] == "provisioned-concurrency"
    assert init_report["record"] == {
        "initializationType": "provisioned-concurrency",
        "phase": "init",
        "status": "success",
        "metrics": {"durationMs": 410.25},
    }
    assert report["record"]["metrics"]["initDurationMs"] == 410.25
    assert events[0].timestamp == int(ready.timestamp() * 1000)
    assert events[1].timestamp == events[0].timestamp + 411


def test_system_log_level_warn_keeps_every_json_platform_record_out_and_leaves_text_alone():
    # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html: "start" and
    # "report" are sent at INFO; log-level filtering needs the JSON format.
    invocation = Invocation(_at(0), 5.0, 128, 40, init_duration_ms=200.0)
    assert records(invocation, "JSON", system_log_level="WARN") == []
    assert len(records(invocation, "JSON", system_log_level="INFO")) == 4
    assert len(records(invocation, "Text", system_log_level="WARN")) == 4


@pytest.mark.parametrize(
    "bad",
    [
        dict(initialization_type="on-demand", initialized_at=_at(0)),  # on-demand inits run right before
        dict(initialization_type="provisioned-concurrency", initialized_at=_at(30)),  # init must end before
    ],
)
def test_invalid_provisioned_timing_is_refused(bad):
    with pytest.raises(ValueError):
        Invocation(_at(30), 5.0, 128, 40, init_duration_ms=100.0, **bad)


# -- JSON: an init is classified by its own log stream's initStart / initReport --------------------


def _row(stream: str, kind: str, init_type: str | None = None, init_ms: str | None = None) -> dict:
    row = {"@log": "123456789012:/aws/lambda/f", "@logStream": stream, "type": kind, "at_ms": "1700000000000"}
    if init_type:
        row["init_type"] = init_type
    if init_ms:
        row["init_ms"] = init_ms
    return row


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([_row("a", "platform.initStart", "on-demand"), _row("a", "platform.report", init_ms="300")], [300.0]),
        ([_row("a", "platform.initReport", "on-demand"), _row("a", "platform.report", init_ms="300")], [300.0]),
        ([_row("a", "platform.initStart", "provisioned-concurrency"), _row("a", "platform.report", init_ms="9")], []),
        ([_row("a", "platform.report", init_ms="300")], []),  # its environment's init is not in the range
        ([_row("b", "platform.initStart", "on-demand"), _row("a", "platform.report", init_ms="300")], []),
        ([_row("a", "platform.initStart", "on-demand"), _row("a", "platform.report", init_ms="-1")], []),
        ([_row("a", "platform.initStart", "snap-start"), _row("a", "platform.report", init_ms="300")], []),
    ],
)
def test_a_json_report_is_a_cold_start_only_when_its_streams_init_was_on_demand(rows, expected):
    assert [value for _, value in on_demand_inits(rows).get("/aws/lambda/f", [])] == expected


def test_a_json_report_without_its_time_is_not_counted():
    report = {key: value for key, value in _row("a", "platform.report", init_ms="300").items() if key != "at_ms"}
    assert on_demand_inits([_row("a", "platform.initStart", "on-demand"), report]) == {}


def test_an_on_demand_init_just_before_the_window_is_the_windows_cold_start_when_both_ranges_are_read_together(aws):
    # A first audit reads its baseline and window with one init-duration query: an invocation whose environment
    # was initialised in the baseline's last moments and whose report is in the window is the window's cold
    # start. The window read on its own holds neither its initStart nor its initReport, and cannot count it.
    logs = aws.client("logs")
    window_start = _at(60)
    invocations = [
        Invocation(_at(30), 20.0, 512, 100, init_duration_ms=250.0),
        # initialised and started 10 ms before the window, its platform.report 10 ms into it
        Invocation(window_start - timedelta(milliseconds=10), 20.0, 512, 100, init_duration_ms=300.0),
    ]
    write_invocations(logs, "/aws/lambda/quotes", invocations, "JSON")
    groups = {"/aws/lambda/quotes": "JSON"}
    baseline, window = (
        scan.stats["/aws/lambda/quotes"]
        for scan in scan_ranges(logs, [(groups, START, window_start), (groups, window_start, AT)]).ranges
    )
    assert (baseline.invocations, baseline.cold_starts, baseline.init_durations.values) == (1, 1, [250.0])
    assert (window.invocations, window.cold_starts, window.init_durations.values) == (1, 1, [300.0])
    alone = scan_report_records(logs, groups, window_start, AT).stats["/aws/lambda/quotes"]
    assert (alone.invocations, alone.cold_starts) == (1, 0)


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_json_scans_count_on_demand_inits_only_and_text_scans_count_every_init(aws, log_format):
    logs = aws.client("logs")
    invocations = [
        Invocation(_at(10), 20.0, 512, 100, init_duration_ms=300.0),  # on-demand
        Invocation(_at(11), 20.0, 512, 100),
        Invocation(_at(20), 20.0, 512, 100, init_duration_ms=310.0),  # on-demand
        Invocation(  # provisioned, initialised inside the range
            _at(40), 20.0, 512, 100, init_duration_ms=900.0, initialization_type="provisioned-concurrency"
        ),
        Invocation(  # provisioned, initialised before the range: its initStart is not read
            _at(50),
            20.0,
            512,
            100,
            init_duration_ms=950.0,
            initialization_type="provisioned-concurrency",
            initialized_at=START - timedelta(hours=1),
        ),
        Invocation(_at(60), 5.0, 512, 100, initialization_type="snap-start", restore_duration_ms=200.0),
    ]
    write_invocations(logs, "/aws/lambda/quotes", invocations, log_format)
    scan = scan_report_records(logs, {"/aws/lambda/quotes": log_format}, START, AT)
    stats = scan.stats["/aws/lambda/quotes"]
    assert stats.invocations == 6
    if log_format == "JSON":
        assert (stats.cold_starts, sorted(stats.init_durations.values)) == (2, [300.0, 310.0])
    else:  # the text cannot tell a provisioned init from an on-demand one
        assert (stats.cold_starts, sorted(stats.init_durations.values)) == (4, [300.0, 310.0, 900.0, 950.0])


# -- the check: no false cold-start-regression on provisioned concurrency --------------------------


SLOW_NOW = [900.0 + i for i in range(30)]
BEFORE = [400.0 + i for i in range(30)]


@pytest.mark.parametrize(
    "log_format, provisioned_now, provisioned_before, fires",
    [
        ("Text", 0, 0, True),  # on demand throughout: a regression
        ("Text", 1, 0, False),  # one invocation on provisioned concurrency in the window: not judged
        ("Text", 0, 1, False),  # ... or in its baseline
        ("JSON", 5, 5, True),  # JSON cold starts are on-demand ones only: judged
    ],
)
def test_cold_start_regression_does_not_judge_text_logs_of_a_window_on_provisioned_concurrency(
    log_format, provisioned_now, provisioned_before, fires
):
    fn = function(
        log_format=log_format,
        ProvisionedConcurrencyInvocations=provisioned_now,
        baseline={"ProvisionedConcurrencyInvocations": provisioned_before},
        logs_current=log_stats(invocations=300, init_durations=SLOW_NOW),
        logs_baseline=log_stats(invocations=300, init_durations=BEFORE),
    )
    assert bool(list(cold_start_regression(fn, Thresholds()))) is fires


SLOWER_INITS = LogTraffic(init_ms_now=(900.0, 1100.0), init_type_now="provisioned-concurrency")


@pytest.mark.parametrize(
    "planted, regression, noted",
    [
        # Turned provisioned concurrency on today, as the check's remediation advises: the text lines carry the
        # provisioned inits' Init Duration, and the metrics say it ran on provisioned concurrency.
        (PlantedFunction("quotes", current=Traffic(provisioned=100), logs=SLOWER_INITS), False, True),
        # The same lines without ProvisionedConcurrencyInvocations: nothing says they are not cold starts.
        (PlantedFunction("quotes", logs=SLOWER_INITS), True, False),
        # JSON: the provisioned inits are told apart by their initializationType.
        (
            PlantedFunction("quotes", log_format="JSON", current=Traffic(provisioned=100), logs=SLOWER_INITS),
            False,
            False,
        ),
        # JSON, on-demand inits that got slower: a regression all the same.
        (
            PlantedFunction("quotes", log_format="JSON", logs=LogTraffic(init_ms_now=(900.0, 1100.0))),
            True,
            False,
        ),
    ],
    ids=["text-on-provisioned", "text-without-the-metric", "json-on-provisioned", "json-on-demand"],
)
def test_a_function_on_provisioned_concurrency_shows_no_false_cold_start_regression(aws, planted, regression, noted):
    seed_fleet(aws, AT, [planted])
    report = audit(AwsClients(aws, region=REGION), AuditConfig(), at=AT)
    found = {f.check_id for f in report.active_findings if f.function_name == "quotes"}
    assert ("cold-start-regression" in found) is regression
    assert "audit-coverage-gap" not in found
    notes = [n for n in report.notes if n.startswith("quotes: cold-start-regression not judged")]
    assert bool(notes) is noted
    if noted:
        assert "provisioned concurrency (2400 invocations" in notes[0]


def test_provisioned_concurrency_invocations_are_read_only_for_functions_that_did_work(aws):
    """The metric comes with invocations: it is in the second metrics pass, never asked of an idle function."""
    seed_fleet(
        aws,
        AT,
        [
            PlantedFunction("busy", current=Traffic(provisioned=10)),
            PlantedFunction("idle", current=Traffic(invocations=0)),
        ],
    )
    clients = AwsClients(aws, region=REGION)
    asked: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(params, **_) -> None:
        with lock:
            for query in params.get("MetricDataQueries", []):
                stat = query["MetricStat"]["Metric"]
                names = [d["Value"] for d in stat["Dimensions"]]
                asked.append((stat["MetricName"], names[0] if names else "account"))

    clients.client("cloudwatch").meta.events.register("before-parameter-build.cloudwatch.GetMetricData", record)
    report = audit(clients, AuditConfig(), at=AT)
    provisioned = [name for metric, name in asked if metric == "ProvisionedConcurrencyInvocations"]
    assert provisioned == ["busy"]
    # ListMetrics lists only metrics with data: GetMetricData is asked for busy's and the account's, never idle's.
    assert {name for _, name in asked} == {"busy", "account"}
    assert report.metric_queries["fleet"] + report.metric_queries["series"] == len(asked)
