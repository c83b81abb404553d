"""The audit of one account and region: collect a snapshot, run the checks, assemble the report."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from aws_lambda_powertools import Tracer

from .checks.catalogue import all_checks
from .checks.registry import REGISTRY, run_checks
from .collect.clients import AwsClients
from .collect.errors import STOPPED_EARLY
from .collect.metrics import HOURLY, MetricRequest, fetch_metrics, series_for
from .collect.snapshot import collect_snapshot, deadline_guard
from .collect.suppressions import read_snoozes
from .config import AuditConfig, Thresholds
from .cost import AUDIT_FUNCTION_MEMORY_MB, audit_cost
from .history import History
from .model import (
    AccountSnapshot,
    AuditReport,
    AuditWindow,
    CoverageGap,
    Finding,
    FunctionSnapshot,
    FunctionSummary,
)
from .snooze import apply as apply_snooze

Progress = Callable[[str, int, int], None]
tracer = Tracer()


def audit(
    clients: AwsClients,
    config: AuditConfig,
    at: datetime,
    progress: Progress | None = None,
    history: History | None = None,
    account: str | None = None,
    time_left: Callable[[], float] | None = None,
    window: AuditWindow | None = None,
) -> AuditReport:
    """Audit the account and region that `clients` reach, for the window that ends at `at`.

    `history` holds the earlier reports: where the previous audit's log scan ended, and the
    REPORT-record statistics that make the cold-start baseline.
    """
    started = time.monotonic()
    window = window or config.window_ending_at(at)
    account = account or clients.account_id()
    history = history or History()
    if time_left is not None:
        time_left = clients.watch(time_left)  # once time is short, the clients retry less
    snapshot, fleet_queries = collect_snapshot(clients, config, window, account, progress, history, time_left)

    notes: list[str] = [*snapshot.notes, *_history_notes(snapshot, history), *_not_judged_notes(snapshot)]
    thresholds = _thresholds_by_function(snapshot, config.thresholds, notes)
    findings = list(
        run_checks(
            [spec for spec in all_checks() if spec.id not in config.disabled_checks],
            snapshot,
            thresholds_for=lambda fn: thresholds[fn.arn],
            account_thresholds=config.thresholds,
        )
    )
    findings = _apply_suppressions(findings, snapshot, config)
    findings = _apply_snoozes(findings, snapshot, account, clients.region, notes)
    findings, series_queries = _with_hourly_series(clients, findings, snapshot, notes, deadline_guard(time_left))
    api_calls = clients.api_calls()
    metric_queries = {"fleet": fleet_queries, "series": series_queries}
    cost = audit_cost(
        api_calls,
        metric_queries,
        snapshot.logs_bytes_scanned,
        lambda_seconds=time.monotonic() - started,
        lambda_memory_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", AUDIT_FUNCTION_MEMORY_MB)),
    )
    report = AuditReport(
        account=account,
        region=clients.region,
        window=window,
        functions_audited=len(snapshot.functions),
        functions=tuple(_summaries(snapshot, findings)),
        findings=tuple(findings),
        coverage_gaps=snapshot.gaps + tuple(gap for fn in snapshot.functions for gap in _function_gaps(fn)),
        api_calls=api_calls,
        api_errors=clients.api_errors(),
        partial=any(gap.reason == STOPPED_EARLY for gap in snapshot.gaps)
        or any(STOPPED_EARLY in fn.unread.values() for fn in snapshot.functions),
        metric_queries=metric_queries,
        scope=config.scope,
        notes=tuple(notes),
        log_stats=snapshot.log_stats,
        logs_insights_bytes_scanned=snapshot.logs_bytes_scanned,
        cost=cost,
        service_graph={fn.name: fn.trace_node for fn in snapshot.functions if fn.trace_node is not None},
    )
    return replace(report, fleet_trend=history.fleet_trend(report))


def _not_judged_notes(snapshot: AccountSnapshot) -> list[str]:
    """Why checks left functions unjudged (exemptions, data that cannot tell), check by check."""
    return [
        f"{fn.name}: {note}"
        for spec in all_checks()
        if spec.not_judged is not None
        for fn in snapshot.functions
        if (note := spec.not_judged(fn))
    ]


def _history_notes(snapshot: AccountSnapshot, history: History) -> list[str]:
    if snapshot.log_scan is None:
        return []
    start, end = (moment.strftime("%Y-%m-%d %H:%M") for moment in snapshot.log_scan)
    if history.previous is None:
        first = "first audit of this account and region: no history, so the baseline's logs were read once"
        return [f"{first} ({start} – {end} UTC)"]
    return [f"logs read since the previous audit: {start} – {end} UTC; the baseline comes from earlier reports"]


def _thresholds_by_function(snapshot: AccountSnapshot, defaults: Thresholds, notes: list[str]) -> dict[str, Thresholds]:
    result = {}
    for fn in snapshot.functions:
        result[fn.arn], problems = defaults.overridden_by_tags(fn.tags)
        notes.extend(f"{fn.name}: {problem}; the default threshold applies" for problem in problems)
    return result


def _apply_snoozes(
    findings: list[Finding], snapshot: AccountSnapshot, account: str, region: str, notes: list[str]
) -> list[Finding]:
    """Snoozes and acknowledgements clicked in Slack, in force at the window's end (HEALTHAUDIT_SUPPRESSIONS_TABLE)."""
    read = read_snoozes(account, region, snapshot.window.end)
    if read.note:
        notes.append(read.note)
    return [apply_snooze(finding, read.snoozes.get(finding.key)) for finding in findings]


def _apply_suppressions(findings: list[Finding], snapshot: AccountSnapshot, config: AuditConfig) -> list[Finding]:
    """Each finding with its function's tags (owners are routed by them), suppressed where config or a tag says."""
    tags = {fn.arn: fn.tags for fn in snapshot.functions}
    today = snapshot.window.end.date()
    result = []
    for finding in findings:
        function_tags = tags.get(finding.function_arn or "", {})
        reason = config.suppression_for(finding.check_id, finding.function_name, function_tags, today)
        result.append(replace(finding, tags=dict(function_tags), suppressed_by=reason or finding.suppressed_by))
    return result


@tracer.capture_method(capture_response=False)
def _with_hourly_series(
    clients: AwsClients,
    findings: list[Finding],
    snapshot: AccountSnapshot,
    notes: list[str],
    near_deadline: Callable[[], bool],
) -> tuple[list[Finding], int]:
    """Second, small metrics pass: hourly series from the baseline's start to the window's end (the charts
    show the baseline days beside the window), for active findings only.

    GetMetricData is billed per metric requested, not per datapoint (https://aws.amazon.com/cloudwatch/pricing/):
    192 hourly points (8 days) cost what 24 did. Skipped when the deadline is near: the series only
    illustrate, and each finding keeps its evidence.
    """
    wanted: dict[tuple[str, str], MetricRequest] = {}
    for finding in findings:
        if finding.suppressed_by or not finding.function_arn:
            continue
        for metric in REGISTRY[finding.check_id].series:
            wanted[(finding.function_arn, metric)] = MetricRequest(
                owner=finding.function_arn, metric=metric, function_name=finding.function_name
            )
    if not wanted:
        return findings, 0
    if near_deadline():
        notes.append("hourly series left out: the audit was near its Lambda deadline (each finding keeps its evidence)")
        return findings, 0
    results = fetch_metrics(
        clients.client("cloudwatch"), list(wanted.values()), snapshot.window.baseline_start, snapshot.window.end, HOURLY
    )
    for owner, reason in sorted(results.failed.items()):
        notes.append(f"hourly series for {owner} unavailable: {reason}")
    enriched = [
        replace(finding, series=series_for(results, finding.function_arn, REGISTRY[finding.check_id].series))
        if finding.function_arn and not finding.suppressed_by and finding.function_arn not in results.failed
        else finding
        for finding in findings
    ]
    return enriched, len(wanted)


def _summaries(snapshot: AccountSnapshot, findings: list[Finding]):
    unhealthy = {
        f.function_arn
        for f in findings
        if f.function_arn and not f.suppressed_by and not REGISTRY[f.check_id].means_unknown
    }
    account_wide_gap = any(gap.function_name is None for gap in snapshot.gaps)
    for fn in snapshot.functions:
        if fn.arn in unhealthy:
            status = "unhealthy"
        elif fn.unread or account_wide_gap:
            status = "unknown"
        else:
            status = "healthy"
        yield FunctionSummary(name=fn.name, arn=fn.arn, runtime=fn.runtime, status=status)


def _function_gaps(fn: FunctionSnapshot):
    for source, reason in sorted(fn.unread.items()):
        yield CoverageGap(source=source, reason=reason, function_name=fn.name, function_arn=fn.arn)


def check_catalogue() -> list[dict[str, Any]]:
    """The registry as rows, for `healthaudit checks` and the README; each row names the check's thresholds."""
    return [
        {
            "id": spec.id,
            "severity": spec.severity.words,
            "severities": [severity.value for severity in spec.severity.levels],
            "title": spec.title,
            "permissions": ", ".join(spec.permissions),
            "remediation": spec.remediation,
            "docs": spec.docs,
            "thresholds": {
                name: {
                    "default": threshold.default,
                    "unit": threshold.unit,
                    "description": threshold.description,
                    "expected": threshold.expected,
                }
                for name, threshold in spec.thresholds.items()
            },
        }
        for spec in all_checks()
    ]
