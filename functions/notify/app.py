"""Post a report's Slack digest when the report lands in S3 (EventBridge "Object Created")."""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthaudit.config import config_from_environment
from healthaudit.publish.notify import NotifyRetry, notify_report

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict:
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    bucket, key = event.detail["bucket"]["name"], event.detail["object"]["key"]
    try:
        outcome = notify_report(boto3.client("s3"), bucket, key, config)
    except NotifyRetry as failure:
        metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
        logger.warning("digest not posted; Lambda will retry", extra={"reason": str(failure), "key": key})
        raise
    posted = outcome.status in ("posted", "already posted")
    metrics.add_metric(name="DigestPosted" if posted else "DigestNotPosted", unit=MetricUnit.Count, value=1)
    if outcome.status.startswith("failed"):
        metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
    logger.info("notification handled", extra={"outcome": outcome.to_dict(), "key": key})
    return outcome.to_dict()
