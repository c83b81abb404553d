"""The audit: parse the event, wire the stages, return a summary.

Three events: the scheduled EventBridge event and the manual-run event (this account and region),
and a Map item of the multi-account state machine, {"target": {...}, "time": ...}, which audits
the target's account and region through its assumed role and stores the report in this account's
bucket. A scheduled or manual event delivered twice is audited once (healthaudit.idempotency); the
Map's items are invoked synchronously, and Step Functions owns their retries.
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

from healthaudit.collect.clients import AwsClients
from healthaudit.config import apply_run_overrides, config_from_environment
from healthaudit.events import AuditEvent, parse_audit_event, parse_target_event
from healthaudit.fanout import AssumeRoleFailed, assume
from healthaudit.idempotency import handle_once
from healthaudit.model import AuditReport
from healthaudit.pipeline import audit_and_publish

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
    return handle_once(
        lambda _: audit_this_account(audit_event, time_left),
        audit_event.delivery,
        name="audit",
        dynamodb=lambda: boto3.client("dynamodb"),
        lambda_context=context,
    )


def audit_this_account(event: AuditEvent, time_left: Callable[[], float]) -> dict:
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    notify = True
    if event.manual:
        config, notify = apply_run_overrides(config, event.detail)
    region = os.environ.get("AWS_REGION") or boto3.Session().region_name
    clients = AwsClients(boto3.Session(), region=region)

    started = time.monotonic()
    # The notify function posts the digest when the report lands in S3, so Slack never delays a report.
    report, outcome = audit_and_publish(
        clients, config, event.at, post_to_slack=False, notify=notify, time_left=time_left
    )
    record_metrics(report, seconds=time.monotonic() - started)
    logger.info("audit finished", extra={"summary": report.summary(), "publish": outcome.to_dict()})
    return {**report.summary(), **outcome.to_dict()}


def audit_target(event: dict, time_left: Callable[[], float]) -> dict:
    """One Map item: audit the member account through its role; the report goes to this account's bucket.

    A role that cannot be assumed raises AssumeRoleFailed, which the state machine's Catch records
    as the target's result. The per-target report is stored with notify off: the merge step posts
    one digest for the whole run.
    """
    parsed = parse_target_event(event)
    target = parsed.target
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    logger.append_keys(target=target.label)
    try:
        member = assume(boto3.client("sts"), target)
    except AssumeRoleFailed as failure:
        metrics.add_metric(name="TargetsNotAudited", unit=MetricUnit.Count, value=1)
        logger.warning("target not audited", extra={"reason": str(failure)})
        raise
    clients = AwsClients(member, region=target.region)

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
