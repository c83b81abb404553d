"""Publish a computed report: render, store in S3, then notify Slack; a Slack failure never loses the report."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from slack_sdk.errors import SlackApiError, SlackClientError

from ..config import AuditConfig
from ..model import AuditReport
from .html import html_key
from .render import render_report
from .s3 import report_link, store_manual_report, store_report

logger = Logger(child=True)


@dataclass(frozen=True)
class PublishOutcome:
    report_key: str | None = None
    report_url: str | None = None
    """The HTML report's link for people (publish.s3.report_link): the S3 console's page, or the configured viewer."""
    slack: str = "not configured"
    slack_ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def publish(
    report: AuditReport,
    config: AuditConfig,
    s3_client: Any = None,
    notify: bool = True,
    post_to_slack: bool = True,
    environ: Mapping[str, str] = os.environ,
    manual_run: str | None = None,
) -> PublishOutcome:
    """Render the report and store it; then, if this process posts (not the notifier), the Slack digest.

    `manual_run` (a manual run's id) stores the report under manual/ only (publish.s3.store_manual_report).
    """
    key = url = None
    if config.bucket:
        rendered = render_report(report, collapse_over=config.report_collapse_over)
        if manual_run is not None:
            key = store_manual_report(
                s3_client, config.bucket, report, rendered.json, rendered.html, manual_run, notify=notify
            )
        else:
            key = store_report(
                s3_client, config.bucket, report, rendered.json, rendered.html, config.report_prefix, notify=notify
            )
    if key is not None:
        url = report_link(config.bucket, html_key(key), s3_client.meta.region_name, config.report_viewer_url)
        logger.info("report stored", extra={"bucket": config.bucket, "key": key})
    slack_status, ts = "not configured", None
    if not notify:
        slack_status = "skipped: notify is off for this run"
    elif not post_to_slack:
        slack_status = "left to the notifier"
    elif config.slack and (config.slack.channel or config.slack.token_secret):
        posted = post_report_digest(report, config, url, environ)
        slack_status, ts = posted.status, posted.ts
    return PublishOutcome(report_key=key, report_url=url, slack=slack_status, slack_ts=ts)


@dataclass(frozen=True)
class SlackOutcome:
    status: str
    ts: str | None = None
    retryable: bool = False
    """A failure that a later attempt may get past (rate limits, Slack 5xx, network)."""
    thread_failure: str | None = None
    """Why the thread (the details) was not posted in full, the main message having been posted."""


PERMANENT_SLACK_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
}


def post_report_digest(
    report: AuditReport, config: AuditConfig, url: str | None, environ: Mapping[str, str]
) -> SlackOutcome:
    """Post the digest, then the details in its thread. Never raises for Slack's or the token's errors."""
    from .digest import build_digest
    from .slack import (
        SlackConfigError,
        is_webhook,
        post_digest,
        post_to_webhook,
        resolve_token,
        slack_api_url,
        slack_client,
    )

    slack = config.slack
    assert slack is not None
    if not report.active_findings and not report.resolved and not slack.post_when_healthy:
        return SlackOutcome("skipped: all healthy and post_when_healthy is off")
    try:
        credential = resolve_token(slack, environ)
        if is_webhook(credential):
            # A webhook has no threads: the compact list, and the rest in the report.
            text, blocks = build_digest(report, url, max_findings=slack.max_findings, details_in_thread=False)
            post_to_webhook(credential, text, blocks, environ=environ, timeout_seconds=slack.timeout_seconds)
            return SlackOutcome("posted")
        if not slack.channel:
            raise SlackConfigError("a bot token needs slack.channel (a channel ID); an incoming webhook does not")
        client = slack_client(credential, base_url=slack_api_url(environ), timeout_seconds=slack.timeout_seconds)
        text, blocks = build_digest(report, url, max_findings=slack.max_findings)
        ts = post_digest(client, slack.channel, text, blocks)
        return SlackOutcome("posted", ts, thread_failure=_post_thread(client, slack.channel, ts, report, url))
    except SlackApiError as error:
        code = str(error.response.get("error", "an error"))
        outcome = SlackOutcome(f"failed: Slack answered {code}", retryable=code not in PERMANENT_SLACK_ERRORS)
    except SlackClientError as error:
        outcome = SlackOutcome(f"failed: {type(error).__name__}", retryable=True)
    except SlackConfigError as error:
        outcome = SlackOutcome(f"failed: {error}")  # names the secret or setting, never its value
    except GetParameterError as error:
        outcome = SlackOutcome(f"failed: {type(error).__name__}: the Slack token could not be read")
    except OSError as error:
        outcome = SlackOutcome(f"failed: {type(error).__name__}", retryable=True)
    logger.error("slack digest not posted; the report is safe in S3", extra={"reason": outcome.status})
    return outcome


def _post_thread(client: Any, channel: str, ts: str, report: AuditReport, url: str | None) -> str | None:
    """Post the details in the digest's thread; None, or why they are incomplete.

    The main message is out: a failure here is logged, never retried, so that a retry cannot post
    the digest twice. The report, with every finding, is in S3 and linked from the digest.
    """
    from .digest import build_details
    from .slack import post_digest

    if not (report.active_findings or report.resolved):
        return None
    try:
        for text, blocks in build_details(report, url):
            post_digest(client, channel, text, blocks, thread_ts=ts)
        return None
    except SlackApiError as error:
        failure = f"Slack answered {error.response.get('error', 'an error')}"
    except (SlackClientError, OSError) as error:
        failure = type(error).__name__
    logger.error("digest posted, its thread not in full; the report is safe in S3", extra={"reason": failure})
    return failure
