"""The state machine's last step: one consolidated report, and ONE Slack digest grouped by account."""

from __future__ import annotations

import json
import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_sdk.errors import SlackApiError, SlackClientError

from healthaudit.config import config_from_environment
from healthaudit.events import parse_merge_event
from healthaudit.fanout.merge import consolidated_keys, merge_reports
from healthaudit.model import AuditReport, AuditWindow, ConsolidatedReport
from healthaudit.model.codec import iso
from healthaudit.publish.digest import build_grouped_digest
from healthaudit.publish.s3 import read_report
from healthaudit.publish.slack import SlackConfigError, post_message

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Input: the Map's output (events/merge.json): time, targets and one result per target."""
    merge = parse_merge_event(event)
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    if not config.bucket:
        raise ValueError("HEALTHAUDIT_BUCKET is not set: nowhere to read the reports from")
    s3 = boto3.client("s3")
    reports = {}
    for result in merge.results:
        key = result.get("report_key") if "error" not in result else None
        if key:
            document, _ = read_report(s3, config.bucket, key)
            try:
                if document is not None:
                    reports[key] = AuditReport.from_dict(document)
            except (KeyError, TypeError, ValueError) as error:  # listed as not audited: its report is unreadable
                logger.warning("target report unreadable", extra={"key": key, "reason": f"{type(error).__name__}"})
    window_end = AuditWindow.ending_at(merge.at).end
    consolidated = merge_reports(merge.results, reports, generated_at=window_end)
    dated, latest = consolidated_keys(iso(consolidated.window_end), config.report_prefix)
    body = json.dumps(consolidated.to_dict(), default=str).encode("utf-8")
    for key in (dated, latest):
        s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType="application/json")

    slack = "not configured"
    if config.slack and (config.slack.channel or config.slack.token_secret):
        slack = _post(consolidated, config, f"s3://{config.bucket}/{dated}")
    metrics.add_metric(name="TargetsAudited", unit=MetricUnit.Count, value=consolidated.targets_audited)
    metrics.add_metric(name="TargetsNotAudited", unit=MetricUnit.Count, value=consolidated.targets_not_audited)
    outcome = {
        "report_key": dated,
        "targets_audited": consolidated.targets_audited,
        "targets_not_audited": consolidated.targets_not_audited,
        "slack": slack,
    }
    logger.info("run merged", extra=outcome)
    return outcome


def _post(consolidated: ConsolidatedReport, config, url: str) -> str:
    """Post the grouped digest; a Slack failure is logged and reported, never losing the report."""
    try:
        # A bot token or an incoming webhook, whichever the secret holds, as the notifier posts.
        text, blocks = build_grouped_digest(consolidated, url)
        post_message(config.slack, os.environ, text, blocks)
        return "posted"
    except SlackApiError as error:
        status = f"failed: Slack answered {error.response.get('error', 'an error')}"
    except SlackConfigError as error:
        status = f"failed: {error}"  # names the setting refused, never the secret
    except (SlackClientError, parameters.exceptions.GetParameterError, OSError) as error:
        status = f"failed: {type(error).__name__}"
    metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
    logger.error("grouped digest not posted; the consolidated report is in S3", extra={"reason": status})
    return status
