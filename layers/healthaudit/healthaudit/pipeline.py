"""The stages wired in order: read history, audit, compare, render, store, notify. One home for the wiring."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from aws_lambda_powertools import Tracer

from .audit import Progress, audit
from .collect.clients import AwsClients
from .collect.errors import READ_ERRORS, describe_error
from .config import AuditConfig
from .history import History, diff_reports, load_history
from .model import AuditReport
from .publish.outcome import PublishOutcome, publish

tracer = Tracer()


class ReportNotStored(RuntimeError):
    """The audit ran but its report could not be stored; the computed report travels with the error, so that
    a caller with somewhere else to put it (the CLI's --output or standard output) loses nothing."""

    def __init__(self, report: AuditReport, bucket: str, cause: str) -> None:
        super().__init__(f"the report was computed but not stored in s3://{bucket}: {cause}")
        self.report = report


@tracer.capture_method(capture_response=False)
def audit_and_publish(
    clients: AwsClients,
    config: AuditConfig,
    at: datetime,
    post_to_slack: bool = True,
    notify: bool = True,
    progress: Progress | None = None,
    s3_client: Any = None,
    time_left: Callable[[], float] | None = None,
    manual_run: str | None = None,
) -> tuple[AuditReport, PublishOutcome]:
    """Audit, mark findings new/ongoing/resolved against the previous report, store, then post.

    `post_to_slack` is off where a separate notifier posts when the report lands (the deployed
    stack); `notify` is the run's own wish (a manual run may ask for no digest at all).
    `s3_client` reads history from and stores the report in the bucket with other credentials than
    the audited account's (the multi-account audit writes to the auditor's own bucket); None: the
    audited account's own S3 client. `manual_run` (a manual run's id) stores the report under
    manual/ only, never over the day's report or latest/; it still reads the daily reports as history.
    """
    account = clients.account_id()
    window = config.window_ending_at(at)
    s3 = (s3_client if s3_client is not None else clients.client("s3")) if config.bucket else None
    history, notes = History(), []
    if s3 is not None:
        try:
            history = load_history(s3, config.bucket, account, clients.region, window, config.report_prefix)
        except READ_ERRORS as error:
            notes.append(f"earlier reports unreadable ({describe_error(error)}): no history, every finding is new")
        notes += [
            f"earlier report {key} unreadable ({problem}): left out of history"
            for key, problem in sorted(history.unreadable.items())
        ]
    report = audit(
        clients, config, at=at, progress=progress, history=history, account=account, time_left=time_left, window=window
    )
    report = diff_reports(report, history.previous, history.previous_key)
    if notes:
        report = replace(report, notes=(*report.notes, *notes))
    try:
        outcome = publish(
            report, config, s3_client=s3, notify=notify, post_to_slack=post_to_slack, manual_run=manual_run
        )
    except READ_ERRORS as error:
        raise ReportNotStored(report, config.bucket or "", describe_error(error)) from error
    return report, outcome
