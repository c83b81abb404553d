"""History: the earlier reports of one account and region, and what this report is against them.

Each finding is new, ongoing (since first_seen) or resolved against the previous report; the
REPORT-record statistics that earlier reports stored make the cold-start baseline. The reports are
read from S3 as typed AuditReports (`load_history`); everything else here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .model import AuditReport, AuditWindow, Finding, LogStats
from .model.codec import iso
from .publish.s3 import dated_key, read_report
from .stats import BoundedSample


def finding_key(check_id: str, function_arn: str | None, account: str, region: str) -> tuple[str, str]:
    return (check_id, function_arn or f"account:{account}:{region}")


@dataclass(frozen=True)
class History:
    """Earlier reports of one account and region, oldest first, and the keys they were read from."""

    reports: tuple[AuditReport, ...] = ()
    keys: tuple[str, ...] = ()
    unreadable: Mapping[str, str] = field(default_factory=dict)
    """Stored reports that did not parse, by key, with what was wrong: left out of history."""

    @property
    def previous(self) -> AuditReport | None:
        return self.reports[-1] if self.reports else None

    @property
    def previous_key(self) -> str | None:
        return self.keys[-1] if self.keys else None

    def scan_start(self, window: AuditWindow) -> datetime:
        """Where this audit's log scan starts: where the previous audit's ended, within the baseline."""
        if self.previous is None:
            return window.baseline_start
        return min(max(self.previous.window.end, window.baseline_start), window.end)

    def stored_log_stats(self, function_arn: str) -> list[LogStats]:
        """Every range that earlier audits read for the function; a later report wins for the same range."""
        ranges: dict[tuple[datetime, datetime], LogStats] = {}
        for report in self.reports:
            for stats in report.log_stats.get(function_arn, ()):
                ranges[(stats.start, stats.end)] = stats
        return sorted(ranges.values(), key=lambda stats: stats.start)


def load_history(
    s3: Any, bucket: str, account: str, region: str, window: AuditWindow, prefix: str = "reports/"
) -> History:
    """The stored reports of the days the baseline spans, oldest first, windows before this one's.

    A report of this same window (a rerun) is not history, so a rerun writes the same report. A
    stored report that does not parse is left out and named in `unreadable`.
    """
    reports, keys, unreadable = [], [], {}
    day = window.baseline_start.date() - timedelta(days=1)
    while day <= window.end.date():
        key = dated_key(account, region, day.isoformat(), prefix)
        document, _ = read_report(s3, bucket, key)
        day += timedelta(days=1)
        if document is None:
            continue
        try:
            report = AuditReport.from_dict(document)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            unreadable[key] = f"{type(error).__name__}: {error}"
            continue
        if report.window.end < window.end:
            reports.append(report)
            keys.append(key)
    return History(reports=tuple(reports), keys=tuple(keys), unreadable=unreadable)


def diff_reports(report: AuditReport, previous: AuditReport | None, previous_key: str | None) -> AuditReport:
    """Mark each active finding new or ongoing, and carry over what the previous report had and this one lacks.

    Suppressed findings are neither new nor resolved: they keep their status from the previous report
    when they were in it, so suppressing a finding does not make it look fixed.
    """
    now = iso(report.window.end)
    if previous is None:
        return replace(report, findings=tuple(replace(f, status="new", first_seen=now) for f in report.findings))
    earlier = {finding_key(f.check_id, f.function_arn, report.account, report.region): f for f in previous.findings}
    findings = []
    for finding in report.findings:
        before = earlier.get(finding.key)
        if before is None:
            findings.append(replace(finding, status="new", first_seen=now))
        else:
            first_seen = before.first_seen or iso(previous.window.end)
            findings.append(replace(finding, status="ongoing", first_seen=first_seen))
    present = {finding.key for finding in report.findings}
    resolved = tuple(
        _resolved(finding) for key, finding in earlier.items() if key not in present and finding.suppressed_by is None
    )
    return replace(report, findings=tuple(findings), resolved=resolved, previous_report=previous_key)


def _resolved(finding: Finding) -> Finding:
    """A finding of the previous report, as it was stored, marked resolved."""
    return replace(finding, status="resolved", series=(), suppressed_by=None)


def merge_log_stats(ranges: list[LogStats], start: datetime, end: datetime, capacity: int = 500) -> LogStats | None:
    """The ranges that lie inside [start, end), merged: counts add up, samples merge in proportion to what they saw.

    The fingerprint is the earliest range's: for a baseline, the configuration before any change.
    """
    inside = sorted((r for r in ranges if r.start >= start and r.end <= end), key=lambda r: r.start)
    if not inside:
        return None
    sample = BoundedSample(capacity=capacity, seed=f"{start.isoformat()}/{end.isoformat()}")
    for stats in inside:
        if stats.init_durations:
            sample = sample.merge(BoundedSample.from_dict(dict(stats.init_durations)))
    used = [r.max_memory_used_mb for r in inside if r.max_memory_used_mb is not None]
    sizes = [r.memory_size_mb for r in inside if r.memory_size_mb is not None]
    return LogStats(
        start=inside[0].start,
        end=inside[-1].end,
        invocations=sum(r.invocations for r in inside),
        cold_starts=sum(r.cold_starts for r in inside),
        init_durations=sample.to_dict(),
        max_memory_used_mb=max(used) if used else None,
        memory_size_mb=sizes[-1] if sizes else None,
        fingerprint=inside[0].fingerprint,
    )
