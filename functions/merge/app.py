"""The state machine's last step: one consolidated report, and ONE Slack digest grouped by account
(with config routes: one per channel, each with only the findings routed to it)."""

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
from healthaudit.fanout.merge import (
    ChannelShare,
    TargetResult,
    consolidated_keys,
    merge_results,
    merge_results_by_channel,
    result_of_item,
)
from healthaudit.fanout.results import map_run_results
from healthaudit.model import AuditReport, AuditWindow, ConsolidatedReport
from healthaudit.model.codec import iso
from healthaudit.publish.digest import build_grouped_digest
from healthaudit.publish.outcome import post_routed_grouped_digests, routed_status
from healthaudit.publish.s3 import read_report, report_link
from healthaudit.publish.slack import SlackConfigError, post_message
from healthaudit.routing import default_channel

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
    reader = _report_reader(s3, config.bucket)
    default = default_channel(config.routes, config.slack.channel) if config.routes and config.slack else None
    shares: tuple[ChannelShare, ...] = ()
    if config.routes and default:
        consolidated, shares = merge_results_by_channel(
            results, reader, routes=config.routes, default_channel=default, generated_at=window_end
        )
    else:
        consolidated = merge_results(results, reader, generated_at=window_end)
    dated, latest = consolidated_keys(iso(consolidated.window_end), config.report_prefix)
    body = json.dumps(consolidated.to_dict(), default=str).encode("utf-8")
    for key in (dated, latest):
        s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType="application/json")

    slack, channels = "not configured", None
    if shares:
        link = report_link(config.bucket, dated, s3.meta.region_name, config.report_viewer_url)
        channels = _post_routed(shares, config, link)
        slack = routed_status(channels)
    elif config.slack and (config.slack.channel or config.slack.token_secret):
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
    if channels is not None:
        outcome["slack_channels"] = [channel.to_dict() for channel in channels]
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


def _post_routed(shares: tuple[ChannelShare, ...], config, url: str) -> tuple:
    """One grouped digest per channel; a channel's failure is recorded against it, the others still posted."""
    channels = post_routed_grouped_digests(
        [(share.channel, share.routed, share.consolidated) for share in shares], config, url, os.environ
    )
    failed = sum(1 for channel in channels if channel.status.startswith("failed"))
    if failed:
        metrics.add_metric(name="DigestFailed", unit=MetricUnit.Count, value=1)
    return channels


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
