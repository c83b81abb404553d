"""The scheduled audit: parse the EventBridge event, wire the stages, return a summary."""

from __future__ import annotations

import os
import time
from datetime import datetime

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthaudit.collect.clients import AwsClients
from healthaudit.config import apply_run_overrides, config_from_environment
from healthaudit.model import AuditReport
from healthaudit.pipeline import audit_and_publish

logger = Logger()
tracer = Tracer()
metrics = Metrics()

MANUAL_SOURCE = "healthaudit.manual"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict:
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    notify = True
    if event.source == MANUAL_SOURCE:
        config, notify = apply_run_overrides(config, event.detail)
    region = os.environ.get("AWS_REGION") or boto3.Session().region_name
    clients = AwsClients(boto3.Session(), region=region)

    started = time.monotonic()
    at = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    # The notify function posts the digest when the report lands in S3, so Slack never delays a report.
    report, outcome = audit_and_publish(clients, config, at, post_to_slack=False, notify=notify)
    record_metrics(report, seconds=time.monotonic() - started)
    logger.info("audit finished", extra={"summary": report.summary(), "publish": outcome.to_dict()})
    return {**report.summary(), **outcome.to_dict()}


def record_metrics(report: AuditReport, seconds: float) -> None:
    metrics.add_metric(name="FunctionsAudited", unit=MetricUnit.Count, value=report.functions_audited)
    for severity, count in report.counts_by_severity().items():
        metrics.add_metric(name=f"Findings{severity.capitalize()}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="CoverageGaps", unit=MetricUnit.Count, value=len(report.coverage_gaps))
    metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=sum(report.api_calls.values()))
    metrics.add_metric(name="AuditDuration", unit=MetricUnit.Seconds, value=round(seconds, 3))
