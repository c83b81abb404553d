"""The stages wired in order: audit, compare with history, store, notify. One home for the wiring."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .audit import Progress, audit
from .collect.clients import AwsClients
from .collect.errors import READ_ERRORS, describe_error
from .config import AuditConfig
from .model import AuditReport
from .publish.outcome import PublishOutcome, publish
from .publish.s3 import load_previous_report
from .state import diff_reports


def audit_and_publish(
    clients: AwsClients,
    config: AuditConfig,
    at: datetime,
    post_to_slack: bool = True,
    notify: bool = True,
    progress: Progress | None = None,
) -> tuple[AuditReport, PublishOutcome]:
    """Audit, mark findings new/ongoing/resolved against the previous report, store, then post.

    `post_to_slack` is off where a separate notifier posts when the report lands (the deployed
    stack); `notify` is the run's own wish (a manual run may ask for no digest at all).
    """
    report = audit(clients, config, at=at, progress=progress)
    s3 = clients.client("s3") if config.bucket else None
    previous, previous_key, note = None, None, None
    if s3 is not None:
        try:
            previous, previous_key = load_previous_report(s3, config.bucket, report, config.report_prefix)
        except READ_ERRORS as error:
            note = f"previous report unreadable ({describe_error(error)}): every finding is marked new"
    report = diff_reports(report, previous, previous_key)
    if note:
        report = replace(report, notes=(*report.notes, note))
    outcome = publish(report, config, s3_client=s3, notify=notify, post_to_slack=post_to_slack)
    return report, outcome
