"""The merge (pure): the per-target results of a run folded into one ConsolidatedReport.

A result comes in one of three shapes, each read into a :class:`TargetResult`:

* a child workflow's output, as the Distributed Map's child records it (template.yaml, AuditTargets):
  ``{account, region, report_key}`` or ``{account, region, error: {Error, Cause}}``;
* a record of the Map's ResultWriter for a child that failed or never ran: its ``Input`` (the Map item,
  ``{target, time}``) and, when it failed, ``Error`` and ``Cause`` (:mod:`.results` reads those files);
* the item of an inline Map (executions started before the Distributed Map): the audit's answer
  ``{target, report_key, ...}`` or the Catch's ``{target, error}``.

The fold keeps one small summary per target and reads each target's report only while summarising it,
so memory grows with the number of targets, never with the size of their reports.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model import (
    CONSOLIDATED,
    AuditReport,
    ConsolidatedReport,
    FindingBrief,
    Severity,
    TargetAudited,
    TargetNotAudited,
)
from ..model.codec import parse_iso
from ..routing import Routes, split_report

#: How much of an error a consolidated report keeps: Step Functions' Cause may hold 32,768 characters
#: (a Lambda error's whole stack trace); its first line says what failed.
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class TargetResult:
    """One target's outcome in a run: where its report is, or what failed."""

    account: str
    region: str
    report_key: str | None = None
    error: str | None = None


def consolidated_keys(window_end: str, prefix: str = "reports/") -> tuple[str, str]:
    """The dated key and the latest/ key of a run's consolidated report."""
    return f"{prefix}dt={window_end[:10]}/{CONSOLIDATED}/report.json", f"latest/{CONSOLIDATED}/report.json"


def result_of_item(item: Mapping[str, Any]) -> TargetResult:
    """A child workflow's output or an inline Map's item, as a TargetResult."""
    target = item.get("target") if isinstance(item.get("target"), Mapping) else item
    account, region = str(target.get("account", "?")), str(target.get("region", "?"))
    key = item.get("report_key")
    if "error" in item or not isinstance(key, str) or not key:
        return TargetResult(account, region, error=error_text(item.get("error"), key if isinstance(key, str) else None))
    return TargetResult(account, region, report_key=key)


def result_of_child_execution(record: Mapping[str, Any], status: str) -> TargetResult:
    """A ResultWriter record: a SUCCEEDED child's ``Output``, or a FAILED (or never run) child's ``Input``
    with its ``Error`` and ``Cause``."""
    if status == "SUCCEEDED":
        output = _json_or_none(record.get("Output"))
        if isinstance(output, Mapping):
            return result_of_item(output)
    item = _json_or_none(record.get("Input"))
    target = item.get("target") if isinstance(item, Mapping) and isinstance(item.get("target"), Mapping) else {}
    if status == "PENDING":
        error: Any = "not run: the Map Run stopped before this target's child workflow started"
    elif status == "SUCCEEDED":
        error = "the child workflow's output is not a result"
    else:
        error = {"Error": record.get("Error") or "States.TaskFailed", "Cause": record.get("Cause")}
    return TargetResult(str(target.get("account", "?")), str(target.get("region", "?")), error=error_text(error, None))


def merge_results(
    results: Iterable[TargetResult],
    read_report: Callable[[str], AuditReport | None],
    *,
    generated_at: datetime | str,
    worst_per_target: int = 5,
) -> ConsolidatedReport:
    """One report for the run: per audited target its counts and worst findings, and the failures.

    ``read_report`` answers a report key with the stored report, or None when there is none (the
    target is then listed as not audited). Reports are read READS_IN_FLIGHT at a time, in order, and each is
    dropped once summarised.
    """
    whole, _ = _merge(results, read_report, generated_at, worst_per_target, None)
    return whole


@dataclass(frozen=True)
class ChannelShare:
    """One Slack channel's share of a run: every audited target with only the findings routed to the channel;
    the targets not audited are the default channel's."""

    channel: str
    routed: tuple[str, ...]
    """`tag=value` for each value routed to the channel, and "unrouted" for the default channel."""
    consolidated: ConsolidatedReport


def merge_results_by_channel(
    results: Iterable[TargetResult],
    read_report: Callable[[str], AuditReport | None],
    *,
    routes: Routes,
    default_channel: str,
    generated_at: datetime | str,
    worst_per_target: int = 5,
) -> tuple[ConsolidatedReport, tuple[ChannelShare, ...]]:
    """:func:`merge_results`, and each channel's share of the run (healthaudit.routing), in the same one
    read of each report: a share's counts come from all of its findings, not from the worst few."""
    return _merge(results, read_report, generated_at, worst_per_target, (routes, default_channel))


def _merge(
    results: Iterable[TargetResult],
    read_report: Callable[[str], AuditReport | None],
    generated_at: datetime | str,
    worst: int,
    routing: tuple[Routes, str] | None,
) -> tuple[ConsolidatedReport, tuple[ChannelShare, ...]]:
    audited, failed = [], []
    per_channel: dict[str, list[TargetAudited]] = defaultdict(list)
    for result, report in _read_ahead(results, read_report):
        if report is None:
            error = result.error or error_text(None, result.report_key)
            failed.append(TargetNotAudited(account=result.account, region=result.region, error=error))
            continue
        audited.append(_target_audited(result.account, result.region, result.report_key, report, worst))
        for view in split_report(report, *routing) if routing else ():
            per_channel[view.channel].append(
                _target_audited(result.account, result.region, result.report_key, view.report, worst)
            )
    window_end = parse_iso(generated_at) if isinstance(generated_at, str) else generated_at

    def consolidated(targets: list[TargetAudited], not_audited: list[TargetNotAudited]) -> ConsolidatedReport:
        return ConsolidatedReport(
            window_end=window_end,
            targets=tuple(sorted(targets, key=lambda t: (t.account, t.region))),
            not_audited=tuple(sorted(not_audited, key=lambda t: (t.account, t.region))),
        )

    shares: tuple[ChannelShare, ...] = ()
    if routing:
        routes, default = routing
        shares = tuple(
            ChannelShare(
                channel,
                routes.routed_to(channel, default),
                consolidated(per_channel[channel], failed if channel == default else []),
            )
            for channel in routes.channel_order(default)
        )
    return consolidated(audited, failed), shares


#: Reports read at once by the merge. S3 serves thousands of GETs a second per prefix
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html), so the merge is bound by
#: each GET's latency, not by S3: 16 reads in flight make 4,000 reports about 16 times faster than one by one.
READS_IN_FLIGHT = 16


def _read_ahead(
    results: Iterable[TargetResult], read_report: Callable[[str], AuditReport | None], in_flight: int = READS_IN_FLIGHT
) -> Iterator[tuple[TargetResult, AuditReport | None]]:
    """Each result with its report (None where it has none), in the results' order, at most `in_flight` reads
    ahead: memory holds `in_flight` reports however many targets the run has."""

    def read(result: TargetResult) -> AuditReport | None:
        return read_report(result.report_key) if result.report_key and result.error is None else None

    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        pending: deque[tuple[TargetResult, Future[AuditReport | None]]] = deque()
        for result in results:
            pending.append((result, pool.submit(read, result)))
            if len(pending) >= in_flight:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def merge_reports(
    results: Iterable[Mapping[str, Any]],
    reports: Mapping[str, AuditReport],
    *,
    generated_at: datetime | str,
    worst_per_target: int = 5,
) -> ConsolidatedReport:
    """:func:`merge_results` over an inline Map's items, with the reports already read (by key)."""
    return merge_results(
        (result_of_item(result) for result in results),
        reports.get,
        generated_at=generated_at,
        worst_per_target=worst_per_target,
    )


def _target_audited(account: str, region: str, key: str, report: AuditReport, worst: int) -> TargetAudited:
    return TargetAudited(
        account=account,
        region=region,
        report_key=key,
        functions_audited=report.functions_audited,
        findings=len(report.active_findings),
        counts_by_severity={Severity(s): n for s, n in report.counts_by_severity().items()},
        coverage_gaps=len(report.coverage_gaps),
        worst_findings=tuple(
            FindingBrief(
                severity=f.severity,
                check_id=f.check_id,
                title=f.title,
                function_name=f.function_name,
                status=f.status,
            )
            for f in report.worst_first()[:worst]
        ),
        counts_by_check=dict(sorted(Counter(f.check_id for f in report.active_findings).items())),
        possible_savings_usd_month=report.possible_savings_usd_month,
    )


def error_text(error: Any, key: str | None) -> str:
    """What failed, in at most MAX_ERROR_CHARS characters: ``Error: Cause``, Lambda's error document
    reduced to its errorMessage."""
    if isinstance(error, Mapping):
        name, cause = str(error.get("Error") or "Error"), error.get("Cause")
        # Lambda's Cause is the function's error document as JSON: its errorMessage says what failed.
        if isinstance(cause, str) and cause.startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                cause = json.loads(cause).get("errorMessage", cause)
        text = f"{name}: {cause}" if cause else name
    elif error:
        text = str(error)
    else:
        text = f"report {key} not found" if key else "no report"
    return _shortened(text, MAX_ERROR_CHARS)


def _shortened(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when there is one, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
