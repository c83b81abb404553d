"""The state machine's first step: list the targets (account x region) and write them to S3 for the Map."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healthaudit.events import parse_plan_event
from healthaudit.fanout.plan import ORGANIZATION, plan_document, plan_key, plan_targets

logger = Logger()
tracer = Tracer()
metrics = Metrics()

DEFAULT_MAX_CONCURRENCY = 60


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Input: the execution's input (events/plan.json). Output: time, max_concurrency, how many targets, and
    the key of the plan in the report bucket: a JSON array of targets (account, region, role ARN; never the
    external ID, which only the audit function holds), the Distributed Map's items. The targets stay out of
    the execution's state, whose inputs and outputs are capped at 256 KiB."""
    event = parse_plan_event(event)
    targets_section = event.get("targets") or {}
    uses_organizations = not isinstance(targets_section, list) and targets_section.get("accounts", ORGANIZATION) in (
        ORGANIZATION,
        "",
        None,
    )
    region = os.environ.get("AWS_REGION") or boto3.Session().region_name
    targets = plan_targets(
        event,
        boto3.client("organizations") if uses_organizations else None,
        role_name=os.environ["HEALTHAUDIT_MEMBER_ROLE_NAME"],
        partition=boto3.Session().get_partition_for_region(region) if region else "aws",
        default_region=region,
    )
    time = event.get("time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bucket = os.environ.get("HEALTHAUDIT_BUCKET")
    if not bucket:
        raise ValueError("HEALTHAUDIT_BUCKET is not set: nowhere to write the plan")
    key = plan_key(time, context.aws_request_id)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=plan_document(targets), ContentType="application/json")
    metrics.add_metric(name="TargetsPlanned", unit=MetricUnit.Count, value=len(targets))
    logger.info("targets planned", extra={"targets": len(targets), "plan_key": key})
    return {
        "time": time,
        "max_concurrency": int(os.environ.get("HEALTHAUDIT_MAX_CONCURRENCY") or DEFAULT_MAX_CONCURRENCY),
        "targets_planned": len(targets),
        "plan_key": key,
    }
