"""Post a report's Slack digest when the report lands in S3 (EventBridge "Object Created").

The same object version delivered twice is posted once (healthaudit.idempotency); a rerun that
writes the same report again is a new version, and the outcome recorded beside the report
(notify.json) keeps it from posting twice.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthaudit.config import config_from_environment
from healthaudit.events import ReportCreated, parse_report_created
from healthaudit.idempotency import handle_once
from healthaudit.publish.notify import NotifyRetry, notify_report

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    created = parse_report_created(event)
    return handle_once(
        lambda _: notify(created),
        created.delivery,
        name="notify",
        dynamodb=lambda: boto3.client("dynamodb"),
        lambda_context=context,
    )


def notify(created: ReportCreated) -> dict:
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    try:
        outcome = notify_report(boto3.client("s3"), created.bucket, created.key, config)
    except NotifyRetry as failure:
        metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
        logger.warning("digest not posted; Lambda will retry", extra={"reason": str(failure), "key": created.key})
        raise
    posted = outcome.status in ("posted", "already posted")
    metrics.add_metric(name="DigestPosted" if posted else "DigestNotPosted", unit=MetricUnit.Count, value=1)
    if outcome.status.startswith("failed"):
        metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
    logger.info("notification handled", extra={"outcome": outcome.to_dict(), "key": created.key})
    return outcome.to_dict()
