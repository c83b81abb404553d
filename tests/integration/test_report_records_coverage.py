"""Missing REPORT records are a coverage gap, never a healthy function.

A function the metrics show invoked in a range, whose log group holds no REPORT record for that
range, is unknown: its execution role may not write logs, its JSON logs may be filtered above INFO
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html: "report" is
sent at INFO), or its logs may go elsewhere. The rule is zero records, not a ratio. A Delivery-class
log group cannot be queried by Logs Insights at all
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.config import AuditConfig
from healthaudit.model import DataSource
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_function import PlantedFunction, Traffic
from healthaudit_sandbox.report_records import Invocation, write_invocations
from tests.support.clock import AT

REGION = "eu-west-1"


def _audit(session):
    return audit(AwsClients(session, region=REGION), AuditConfig(), at=AT)


def _gap(report, name: str) -> str | None:
    reasons = [
        g.reason for g in report.coverage_gaps if g.function_name == name and g.source == DataSource.REPORT_RECORDS
    ]
    return reasons[0] if reasons else None


def _status(report, name: str) -> str:
    return next(f.status for f in report.functions if f.name == name)


def _empty_the_log_group(session, group: str) -> None:
    """What a log group created by a template looks like when the function's role cannot write to it."""
    logs = session.client("logs")
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        logs.delete_log_stream(logGroupName=group, logStreamName=stream["logStreamName"])


def test_json_logs_at_system_log_level_warn_are_a_gap_that_names_the_level(aws):
    seed_fleet(aws, AT, [PlantedFunction("silent", log_format="JSON", system_log_level="WARN")])
    report = _audit(aws)
    reason = _gap(report, "silent")
    assert reason is not None
    assert "SystemLogLevel WARN" in reason and "no platform.report" in reason
    assert "2400 invocations" in reason  # what the metrics show for the window: 100 an hour
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert ("silent", "audit-coverage-gap") in found
    assert _status(report, "silent") == "unknown"


@pytest.mark.parametrize(
    "lose_logs, where",
    [
        (_empty_the_log_group, "holds no REPORT record"),  # the group exists; the role cannot write to it
        (lambda session, group: session.client("logs").delete_log_group(logGroupName=group), "does not exist"),
    ],
    ids=["empty-group", "no-group"],
)
def test_an_invoked_function_without_report_records_is_a_gap_naming_the_likely_causes(aws, lose_logs, where):
    seed_fleet(aws, AT, [PlantedFunction("mute")])
    lose_logs(aws, "/aws/lambda/mute")
    report = _audit(aws)
    reason = _gap(report, "mute")
    assert reason is not None and where in reason
    assert "logs:PutLogEvents" in reason and "sent elsewhere" in reason
    assert "SystemLogLevel" not in reason  # text format: no log-level filtering
    assert _status(report, "mute") == "unknown"


def test_a_few_report_records_for_many_invocations_are_no_gap_the_rule_is_zero(aws):
    # 100 invocations an hour in the metrics, one REPORT record every six hours in the logs.
    seed_fleet(aws, AT, [PlantedFunction("busy")])
    report = _audit(aws)
    assert _gap(report, "busy") is None
    assert _status(report, "busy") == "healthy"


def test_a_function_that_never_ran_needs_no_report_record(aws):
    seed_fleet(aws, AT, [PlantedFunction("idle", current=Traffic(invocations=0))])
    _empty_the_log_group(aws, "/aws/lambda/idle")
    report = _audit(aws)
    assert report.coverage_gaps == ()
    assert _status(report, "idle") == "healthy"
    assert "StartQuery" not in report.api_calls


@pytest.mark.parametrize(
    "retention_days, gap",
    [
        (3, False),  # the group keeps 3 days: the 7-day baseline's records may have expired
        (30, True),  # it keeps 30: they cannot have
        (None, True),  # it never expires
    ],
)
def test_a_baseline_older_than_the_group_keeps_is_no_gap(aws, retention_days, gap):
    seed_fleet(aws, AT, [PlantedFunction("kept", log_retention_days=None)])
    logs = aws.client("logs")
    _empty_the_log_group(aws, "/aws/lambda/kept")
    if retention_days:
        logs.put_retention_policy(logGroupName="/aws/lambda/kept", retentionInDays=retention_days)
    today = [Invocation(AT - timedelta(hours=h), 100.0, 512, 200) for h in (2, 5)]
    write_invocations(logs, "/aws/lambda/kept", today)
    report = _audit(aws)  # no history: it reads the baseline, then the window
    reason = _gap(report, "kept")
    assert (reason is not None) is gap
    if gap:
        baseline = (AT - timedelta(days=8)).strftime("%Y-%m-%d %H:%M")
        assert f"from {baseline} to" in reason


def test_a_delivery_class_log_group_is_a_gap_naming_the_class_and_is_never_queried(aws):
    seed_fleet(aws, AT, [PlantedFunction("archived", log_group_class="DELIVERY")])
    report = _audit(aws)
    reason = _gap(report, "archived")
    assert reason is not None and "class DELIVERY" in reason and "Logs Insights cannot query it" in reason
    assert "StartQuery" not in report.api_calls
    found = {f.check_id for f in report.active_findings if f.function_name == "archived"}
    assert found == {"audit-coverage-gap"}  # a Delivery group keeps events a day: not log-retention-unset
