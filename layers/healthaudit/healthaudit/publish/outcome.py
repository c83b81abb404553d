"""Publish a computed report: S3 first, then Slack; a Slack failure never loses the report."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from slack_sdk.errors import SlackApiError, SlackClientError

from ..config import AuditConfig
from ..model import AuditReport
from .s3 import store_report

logger = Logger(child=True)


@dataclass(frozen=True)
class PublishOutcome:
    report_key: str | None = None
    report_url: str | None = None
    slack: str = "not configured"
    slack_ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def publish(
    report: AuditReport,
    config: AuditConfig,
    s3_client: Any = None,
    notify: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> PublishOutcome:
    key = url = None
    if config.bucket:
        key = store_report(s3_client, config.bucket, report, config.report_prefix)
        url = f"s3://{config.bucket}/{key}"
        logger.info("report stored", extra={"bucket": config.bucket, "key": key})
    slack_status, ts = "not configured", None
    if config.slack and config.slack.channel and notify:
        slack_status, ts = _post_to_slack(report, config, url, environ)
    elif config.slack and not notify:
        slack_status = "skipped: notify is off for this run"
    return PublishOutcome(report_key=key, report_url=url, slack=slack_status, slack_ts=ts)


def _post_to_slack(report: AuditReport, config: AuditConfig, url: str | None, environ: Mapping[str, str]):
    from .slack import SlackConfigError, build_digest, post_digest, resolve_token, slack_client

    slack = config.slack
    assert slack is not None and slack.channel is not None
    try:
        token = resolve_token(slack, environ)
        client = slack_client(token, base_url=slack.api_url)
        text, blocks = build_digest(report, url, max_findings=slack.max_findings)
        ts = post_digest(client, slack.channel, text, blocks)
        return "posted", ts
    except SlackApiError as error:
        reason = f"failed: Slack answered {error.response.get('error', 'an error')}"
    except SlackClientError as error:
        reason = f"failed: {type(error).__name__}"
    except (SlackConfigError, GetParameterError) as error:
        reason = f"failed: {type(error).__name__}: the Slack token could not be read"
    except OSError as error:
        reason = f"failed: {type(error).__name__}"
    logger.error("slack digest not posted; the report is safe in S3", extra={"reason": reason})
    return reason, None
