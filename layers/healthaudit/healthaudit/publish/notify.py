"""The notifier: when a report lands in S3, post its digest to Slack and record the outcome beside it.

Runs apart from the audit, so a Slack failure never loses or delays a report. Lambda retries it
(asynchronous invocation) when the failure may pass; the recorded outcome keeps a retry that
follows a successful post from posting twice.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Mapping

from ..config import AuditConfig
from ..model import AuditReport
from .html import html_key
from .outcome import ChannelOutcome, post_report_digest, post_routed_digests, routed_status
from .s3 import NOTIFY_METADATA, read_report, report_key, report_link

LATEST_REPORT = re.compile(r"latest/account=(?P<account>[^/]+)/region=(?P<region>[^/]+)/report\.json")
#: A manual run's report (publish.s3.manual_run_key): posted only when the run asked (its notify metadata).
MANUAL_REPORT = re.compile(r"manual/dt=[^/]+/account=[^/]+/region=[^/]+/[^/]+/report\.json")


class NotifyRetry(RuntimeError):
    """Raised so that Lambda retries the notification: the failure may pass (rate limit, 5xx, network)."""


@dataclass(frozen=True)
class NotifyOutcome:
    status: str
    report_key: str | None = None
    slack_ts: str | None = None
    channels: tuple[ChannelOutcome, ...] = ()
    """With config routes: each channel's outcome (its ts once posted); empty for the one digest to slack.channel."""

    def to_dict(self) -> dict[str, Any]:
        outcome = {"status": self.status, "report_key": self.report_key, "slack_ts": self.slack_ts}
        return {**outcome, "channels": [c.to_dict() for c in self.channels]} if self.channels else outcome


def notify_report(
    s3: Any, bucket: str, key: str, config: AuditConfig, environ: Mapping[str, str] = os.environ
) -> NotifyOutcome:
    manual = MANUAL_REPORT.fullmatch(key) is not None
    if not manual and not LATEST_REPORT.fullmatch(key):
        return NotifyOutcome(status=f"ignored: {key} is not a latest/ report")
    document, metadata = read_report(s3, bucket, key)
    if document is None:
        return NotifyOutcome(status=f"ignored: {key} no longer exists")
    report = AuditReport.from_dict(document)
    dated = key if manual else report_key(report, config.report_prefix)
    outcome_key = dated.rsplit("/", 1)[0] + "/notify.json"
    previous, _ = read_report(s3, bucket, outcome_key)
    if previous and previous.get("status") == "posted":
        return NotifyOutcome(
            status="already posted", report_key=dated, slack_ts=previous.get("slack_ts"), channels=_recorded(previous)
        )
    if metadata.get(NOTIFY_METADATA) == "false":
        outcome = NotifyOutcome(status="skipped: notify is off for this run", report_key=dated)
    elif not (config.slack and (config.slack.channel or config.slack.token_secret)):
        outcome = NotifyOutcome(status="skipped: no Slack channel configured", report_key=dated)
    else:
        # Never a pre-signed link: signed with this function's session, it would die with it (publish.s3.report_link).
        link = report_link(bucket, html_key(dated), s3.meta.region_name, config.report_viewer_url)
        if config.routes is not None:
            return _notify_routed(s3, bucket, dated, report, config, link, environ, previous)
        posted = post_report_digest(report, config, link, environ)
        outcome = NotifyOutcome(status=posted.status, report_key=dated, slack_ts=posted.ts)
        _record(s3, bucket, outcome_key, outcome)
        if posted.retryable:
            raise NotifyRetry(posted.status)
        return outcome
    _record(s3, bucket, outcome_key, outcome)
    return outcome


def _notify_routed(
    s3: Any,
    bucket: str,
    dated: str,
    report: AuditReport,
    config: AuditConfig,
    link: str,
    environ: Mapping[str, str],
    previous: Mapping[str, Any] | None,
) -> NotifyOutcome:
    """One digest per routed channel; a retry posts only the channels that the recorded outcome does not
    show as posted, so that a failure in one channel never posts the others twice."""
    before = {c.channel: c for c in _recorded(previous) if c.posted}
    channels = post_routed_digests(report, config, link, environ, before)
    outcome = NotifyOutcome(status=routed_status(channels), report_key=dated, channels=channels)
    _record(s3, bucket, dated.rsplit("/", 1)[0] + "/notify.json", outcome)
    if any(channel.retryable for channel in channels):
        raise NotifyRetry(outcome.status)
    return outcome


def _recorded(previous: Mapping[str, Any] | None) -> tuple[ChannelOutcome, ...]:
    """The channels' outcomes in a notify.json, if it has any (a routed notification's)."""
    channels = previous.get("channels") if previous else None
    if not isinstance(channels, list):
        return ()
    return tuple(ChannelOutcome.from_dict(c) for c in channels if isinstance(c, dict))


def _record(s3: Any, bucket: str, key: str, outcome: NotifyOutcome) -> None:
    body = {**outcome.to_dict(), "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json")
