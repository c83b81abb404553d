"""Publish a computed report: render, store in S3, then notify Slack; a Slack failure never loses the report."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from slack_sdk.errors import SlackApiError, SlackClientError

from ..config import AuditConfig
from ..model import AuditReport, ConsolidatedReport
from ..routing import ChannelView, default_channel, split_report
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
    elif config.slack and config.routes:
        slack_status = routed_status(post_routed_digests(report, config, url, environ))
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
        for text, blocks in build_details(report, url, actions=True):
            post_digest(client, channel, text, blocks, thread_ts=ts)
        return None
    except SlackApiError as error:
        failure = f"Slack answered {error.response.get('error', 'an error')}"
    except (SlackClientError, OSError) as error:
        failure = type(error).__name__
    logger.error("digest posted, its thread not in full; the report is safe in S3", extra={"reason": failure})
    return failure


# -- routed digests: one per channel (healthaudit.routing) ------------------------------------------


@dataclass(frozen=True)
class ChannelOutcome:
    """What became of one channel's digest."""

    channel: str
    routed: tuple[str, ...]
    """What is routed to the channel: `tag=value` for each value, and "unrouted" for the default channel."""
    status: str
    ts: str | None = None
    retryable: bool = False
    thread_failure: str | None = None

    @property
    def posted(self) -> bool:
        return self.status == "posted"

    def to_dict(self) -> dict[str, Any]:
        outcome = {"channel": self.channel, "routed": list(self.routed), "status": self.status, "ts": self.ts}
        return {**outcome, "thread_failure": self.thread_failure} if self.thread_failure else outcome

    @classmethod
    def from_dict(cls, recorded: Mapping[str, Any]) -> ChannelOutcome:
        return cls(
            channel=str(recorded.get("channel")),
            routed=tuple(str(item) for item in recorded.get("routed") or ()),
            status=str(recorded.get("status")),
            ts=recorded.get("ts"),
            thread_failure=recorded.get("thread_failure"),
        )


HEALTHY_SKIP = "skipped: all healthy and post_when_healthy is off"
MEMBERSHIP_ERRORS = {"not_in_channel", "channel_not_found"}
"""chat.postMessage's errors for a channel the app cannot post in: https://api.slack.com/methods/chat.postMessage"""


def post_routed_digests(
    report: AuditReport,
    config: AuditConfig,
    url: str | None,
    environ: Mapping[str, str],
    posted_before: Mapping[str, ChannelOutcome] | None = None,
) -> tuple[ChannelOutcome, ...]:
    """One digest (main message and thread) per channel of config.routes, each with only its findings.

    A failure in one channel never keeps the others from their posts. A channel in `posted_before`
    (a retry's record of channels already posted) keeps its outcome and is not posted again.
    Never raises for Slack's or the token's errors.
    """
    from .routed import routed_digest

    slack, routes = config.slack, config.routes
    assert slack is not None and routes is not None
    default = default_channel(routes, slack.channel)
    if default is None:
        status = "failed: routes.default and slack.channel are both unset: nowhere to post unrouted findings"
        return (ChannelOutcome("", ("unrouted",), status),)
    views = split_report(report, routes, default)

    def post(client: Any, channel: str, routed: tuple[str, ...], view: ChannelView) -> ChannelOutcome:
        if not view.has_news and not slack.post_when_healthy:
            return ChannelOutcome(channel, routed, HEALTHY_SKIP)
        text, blocks = routed_digest(view, routes.tag, url, max_findings=slack.max_findings)
        ts = _post_once(client, channel, text, blocks)
        failure = _post_thread(client, channel, ts, view.report, url)
        return ChannelOutcome(channel, routed, "posted", ts, thread_failure=failure)

    return _post_each([(view.channel, view.routed, view) for view in views], config, environ, post, posted_before)


def post_routed_grouped_digests(
    shares: Sequence[tuple[str, tuple[str, ...], ConsolidatedReport]],
    config: AuditConfig,
    url: str | None,
    environ: Mapping[str, str],
) -> tuple[ChannelOutcome, ...]:
    """A multi-account run's digest, one per channel: (channel, what is routed to it, its share of the run)."""
    from .routed import routed_grouped_digest

    slack, routes = config.slack, config.routes
    assert slack is not None and routes is not None

    def post(client: Any, channel: str, routed: tuple[str, ...], consolidated: ConsolidatedReport) -> ChannelOutcome:
        has_news = any(target.findings for target in consolidated.targets) or consolidated.not_audited
        if not has_news and not slack.post_when_healthy:
            return ChannelOutcome(channel, routed, HEALTHY_SKIP)
        text, blocks = routed_grouped_digest(consolidated, routed, routes.tag, url, max_findings=slack.max_findings)
        return ChannelOutcome(channel, routed, "posted", _post_once(client, channel, text, blocks))

    return _post_each(shares, config, environ, post, None)


def routed_status(outcomes: Sequence[ChannelOutcome]) -> str:
    """The run's one status: "posted" when no channel failed, else which channels failed and why."""
    failed = [outcome for outcome in outcomes if not outcome.posted and outcome.status.startswith("failed")]
    if failed:
        reasons = "; ".join(f"{o.channel or '?'}: {o.status.removeprefix('failed: ')}" for o in failed)
        return f"failed: {len(failed)} of {len(outcomes)} channels not posted: {reasons}"
    if outcomes and all(outcome.status == HEALTHY_SKIP for outcome in outcomes):
        return HEALTHY_SKIP
    return "posted"


def _post_each(
    items: Sequence[tuple[str, tuple[str, ...], Any]],
    config: AuditConfig,
    environ: Mapping[str, str],
    post: Callable[[Any, str, tuple[str, ...], Any], ChannelOutcome],
    posted_before: Mapping[str, ChannelOutcome] | None,
) -> tuple[ChannelOutcome, ...]:
    """`post(client, channel, routed, item)` for each channel, each failure recorded against its channel."""
    from .slack import SlackConfigError, is_webhook, resolve_token, slack_api_url, slack_client

    slack = config.slack
    assert slack is not None
    before = posted_before or {}
    try:
        credential = resolve_token(slack, environ)
        if is_webhook(credential):
            raise SlackConfigError(
                "routes need a bot token (chat.postMessage to each channel); an incoming webhook posts to one channel"
            )
        client = slack_client(credential, base_url=slack_api_url(environ), timeout_seconds=slack.timeout_seconds)
    except Exception as error:  # noqa: BLE001 - only the Slack and token failures: _failure re-raises the rest
        status, retryable = _failure(error)
        logger.error("no routed digest posted; the report is safe in S3", extra={"reason": status})
        return tuple(
            before[channel]
            if channel in before and before[channel].posted
            else ChannelOutcome(channel, routed, status, retryable=retryable)
            for channel, routed, _ in items
        )
    outcomes = []
    for channel, routed, item in items:
        if channel in before and before[channel].posted:
            outcomes.append(before[channel])
            continue
        try:
            outcomes.append(post(client, channel, routed, item))
        except Exception as error:  # noqa: BLE001 - as above
            status, retryable = _failure(error, channel=channel, routed=routed)
            logger.error("routed digest not posted", extra={"channel": channel, "reason": status})
            outcomes.append(ChannelOutcome(channel, routed, status, retryable=retryable))
    return tuple(outcomes)


def _post_once(client: Any, channel: str, text: str, blocks: list[Any]) -> str:
    from .slack import post_digest

    return post_digest(client, channel, text, blocks)


def _failure(error: Exception, channel: str = "", routed: Sequence[str] = ()) -> tuple[str, bool]:
    """A Slack or token failure as (status, retryable); any other exception is raised again."""
    from .slack import SlackConfigError

    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "an error"))
        status = f"failed: Slack answered {code}"
        if code in MEMBERSHIP_ERRORS and channel:
            what = ", ".join(routed)
            why = "is not a member of" if code == "not_in_channel" else "cannot see"
            status += f": the Slack app {why} channel {channel}, where {what} is routed; invite it with /invite @app"
        return status, code not in PERMANENT_SLACK_ERRORS
    if isinstance(error, (SlackClientError, OSError)):
        return f"failed: {type(error).__name__}", True
    if isinstance(error, SlackConfigError):
        return f"failed: {error}", False  # names the secret or setting, never its value
    if isinstance(error, GetParameterError):
        return f"failed: {type(error).__name__}: the Slack token could not be read", False
    raise error
