"""The state machine's last step: one consolidated report, and ONE Slack digest grouped by account."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_sdk.errors import SlackApiError, SlackClientError

from healthaudit.config import config_from_environment
from healthaudit.events import parse_merge_event
from healthaudit.fanout.merge import TargetResult, consolidated_keys, merge_results, result_of_item
from healthaudit.fanout.results import map_run_results
from healthaudit.model import AuditReport, AuditWindow, ConsolidatedReport
from healthaudit.model.codec import iso
from healthaudit.publish.digest import build_grouped_digest
from healthaudit.publish.s3 import read_report, report_link
from healthaudit.publish.slack import SlackConfigError, post_message

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Input: the Distributed Map's output (time, and map_run: its ResultWriter's manifest in S3), or an
    inline Map's (events/merge.json: time and one result per target)."""
    merge = parse_merge_event(event)
    config = config_from_environment(os.environ, read_parameter=parameters.get_parameter)
    if not config.bucket:
        raise ValueError("HEALTHAUDIT_BUCKET is not set: nowhere to read the reports from")
    s3 = boto3.client("s3")
    if merge.result_writer is not None:
        bucket, manifest_key = merge.result_writer
        if bucket != config.bucket:
            raise ValueError(f"the Map's results are in bucket {bucket!r}, not in the report bucket")
        results: Iterable[TargetResult] = map_run_results(s3, bucket, manifest_key)
    else:
        results = (result_of_item(result) for result in merge.results)
    window_end = AuditWindow.ending_at(merge.at).end
    consolidated = merge_results(results, _report_reader(s3, config.bucket), generated_at=window_end)
    dated, latest = consolidated_keys(iso(consolidated.window_end), config.report_prefix)
    body = json.dumps(consolidated.to_dict(), default=str).encode("utf-8")
    for key in (dated, latest):
        s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType="application/json")

    slack = "not configured"
    if config.slack and (config.slack.channel or config.slack.token_secret):
        link = report_link(config.bucket, dated, s3.meta.region_name, config.report_viewer_url)
        slack = _post(consolidated, config, link)
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


def _report_reader(s3, bucket: str) -> Callable[[str], AuditReport | None]:
    """A target's report by key, read when the merge reaches it; None (not audited) when it is missing or unreadable."""

    def read(key: str) -> AuditReport | None:
        document, _ = read_report(s3, bucket, key)
        if document is None:
            return None
        try:
            return AuditReport.from_dict(document)
        except (KeyError, TypeError, ValueError) as error:  # listed as not audited: its report is unreadable
            logger.warning("target report unreadable", extra={"key": key, "reason": f"{type(error).__name__}"})
            return None

    return read


def _post(consolidated: ConsolidatedReport, config, url: str) -> str:
    """Post the grouped digest; a Slack failure is logged and reported, never losing the report."""
    try:
        # A bot token or an incoming webhook, whichever the secret holds, as the notifier posts.
        text, blocks = build_grouped_digest(consolidated, url, max_findings=config.slack.max_findings)
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
