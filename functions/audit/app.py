"""The audit: parse the event, wire the stages, return a summary.

Three events: the scheduled event and the manual-run event (this account and region), and a Map
item of the multi-account state machine, {"target": {...}, "time": ...}, which audits the target's
account and region through its assumed role and stores the report in this account's bucket. A
scheduled or manual event delivered twice is audited once (healthaudit.idempotency); the Map's items
are invoked synchronously, and Step Functions owns their retries.

A manual run arrives by direct invoke only (`aws lambda invoke` with events/manual-run.json):
no EventBridge rule routes anything to this function, so only a principal allowed
lambda:InvokeFunction on it can start one. Its report goes under manual/ and never replaces the
day's report or latest/; it posts to Slack only when its detail asks (`"notify": true`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthaudit.collect.clients import AwsClients, function_session
from healthaudit.config import apply_run_overrides, config_from_environment
from healthaudit.events import AuditEvent, InvalidEvent, parse_audit_event, parse_target_event
from healthaudit.fanout.assume import AssumeRoleFailed, assume
from healthaudit.idempotency import handle_once
from healthaudit.model import AuditReport
from healthaudit.pipeline import audit_and_publish
from healthaudit.publish.s3 import MANUAL_RUN_ID

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    time_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    if isinstance(event, dict) and "target" in event:
        return audit_target(event, time_left)
    audit_event = parse_audit_event(event)
    if audit_event.manual:
        manual_run_id(audit_event)  # refused before any AWS call
    return handle_once(
        lambda _: audit_this_account(audit_event, time_left),
        audit_event.delivery,
        name="audit",
        dynamodb=lambda: boto3.client("dynamodb"),
        lambda_context=context,
    )


def audit_this_account(event: AuditEvent, time_left: Callable[[], float]) -> dict:
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    notify, manual_run = True, None
    if event.manual:
        # A manual run posts only when asked: its detail's notify defaults to off.
        config, notify = apply_run_overrides(config, {"notify": False, **event.detail})
        manual_run = manual_run_id(event)
    region = os.environ.get("AWS_REGION") or function_session().region_name
    clients = AwsClients(function_session(), region=region)

    started = time.monotonic()
    # The notify function posts the digest when the report lands in S3, so Slack never delays a report.
    report, outcome = audit_and_publish(
        clients, config, event.at, post_to_slack=False, notify=notify, time_left=time_left, manual_run=manual_run
    )
    record_metrics(report, seconds=time.monotonic() - started)
    if not event.manual:
        # The heartbeat alarm (template.yaml, AuditHeartbeatAlarm) counts these: a manual run is not the daily one.
        metrics.add_metric(name="ScheduledAuditSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("audit finished", extra={"summary": report.summary(), "publish": outcome.to_dict()})
    return {**report.summary(), **outcome.to_dict()}


def manual_run_id(event: AuditEvent) -> str:
    """The manual run's event id, which names its report's folder under manual/."""
    run_id = str(event.delivery["manual-run"])
    if not MANUAL_RUN_ID.fullmatch(run_id):
        raise InvalidEvent(
            f"event.id: got {run_id[:80]!r}, expected 1 to 128 letters, digits, '.', '_' or '-' (a UUID, say),"
            " starting with a letter or digit: it names the manual run's folder in the report bucket"
        )
    return run_id


def audit_target(event: dict, time_left: Callable[[], float]) -> dict:
    """One Map item: audit the member account through its role; the report goes to this account's bucket.

    The role's external ID comes from this function's environment, never from the item. A role that
    cannot be assumed is a result, not an error: {"target", "error": {"Error": "AssumeRoleFailed",
    "Cause"}}, counted as TargetsNotAudited and listed by the merge, so an unreachable account does
    not fail an invocation every day. Any other failure raises, and the Map's Catch records it. The
    per-target report is stored with notify off: the merge step posts one digest for the whole run.
    """
    parsed = parse_target_event(event)
    target = parsed.target
    logger.append_keys(target=target.label)
    try:
        member = assume(boto3.client("sts"), target, os.environ.get("HEALTHAUDIT_MEMBER_ROLE_EXTERNAL_ID") or None)
    except AssumeRoleFailed as failure:
        metrics.add_metric(name="TargetsNotAudited", unit=MetricUnit.Count, value=1)
        logger.warning("target not audited", extra={"reason": str(failure)})
        return {"target": target.to_dict(), "error": {"Error": "AssumeRoleFailed", "Cause": str(failure)}}
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    clients = AwsClients(function_session(), region=target.region, credentials=member)

    started = time.monotonic()
    report, outcome = audit_and_publish(
        clients, config, parsed.at, post_to_slack=False, notify=False, s3_client=boto3.client("s3"), time_left=time_left
    )
    record_metrics(report, seconds=time.monotonic() - started)
    logger.info("target audited", extra={"summary": report.summary(), "publish": outcome.to_dict()})
    return {"target": target.to_dict(), **report.summary(), "report_key": outcome.report_key}


def record_metrics(report: AuditReport, seconds: float) -> None:
    metrics.add_metric(name="FunctionsAudited", unit=MetricUnit.Count, value=report.functions_audited)
    for severity, count in report.counts_by_severity().items():
        metrics.add_metric(name=f"Findings{severity.capitalize()}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="CoverageGaps", unit=MetricUnit.Count, value=len(report.coverage_gaps))
    metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=sum(report.api_calls.values()))
    metrics.add_metric(name="AuditDuration", unit=MetricUnit.Seconds, value=round(seconds, 3))
