"""History: each finding is new, ongoing (since first_seen) or resolved against the previous report.

Pure: the previous report comes in as the dict that was stored in S3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping

from .model import AuditReport, AuditWindow, Finding, LogStats
from .stats import BoundedSample


def finding_key(check_id: str, function_arn: str | None, account: str, region: str) -> tuple[str, str]:
    return (check_id, function_arn or f"account:{account}:{region}")


def diff_reports(report: AuditReport, previous: Mapping[str, Any] | None, previous_key: str | None) -> AuditReport:
    """Mark each active finding new or ongoing, and carry over what the previous report had and this one lacks.

    Suppressed findings are neither new nor resolved: they keep their status from the previous report
    when they were in it, so suppressing a finding does not make it look fixed.
    """
    now = report.window.to_dict()["end"]
    if not previous:
        return replace(report, findings=tuple(replace(f, status="new", first_seen=now) for f in report.findings))
    earlier = {
        finding_key(f["check_id"], f.get("function_arn"), report.account, report.region): f
        for f in previous.get("findings", [])
    }
    findings = []
    for finding in report.findings:
        before = earlier.get(finding.key)
        if before is None:
            findings.append(replace(finding, status="new", first_seen=now))
        else:
            findings.append(
                replace(finding, status="ongoing", first_seen=before.get("first_seen") or _window_end(previous))
            )
    present = {finding.key for finding in report.findings}
    resolved = tuple(
        _resolved(data) for key, data in earlier.items() if key not in present and data.get("suppressed_by") is None
    )
    return replace(report, findings=tuple(findings), resolved=resolved, previous_report=previous_key)


def _window_end(report: Mapping[str, Any]) -> str:
    return str(report.get("window", {}).get("end", ""))


def _resolved(data: Mapping[str, Any]) -> Finding:
    """A finding of the previous report, as it was stored, marked resolved."""
    return replace(Finding.from_dict(data), status="resolved", series=(), suppressed_by=None)


@dataclass(frozen=True)
class History:
    """Earlier reports of one account and region, oldest first, as they were stored."""

    reports: tuple[Mapping[str, Any], ...] = ()
    keys: tuple[str, ...] = ()

    @property
    def previous(self) -> Mapping[str, Any] | None:
        return self.reports[-1] if self.reports else None

    @property
    def previous_key(self) -> str | None:
        return self.keys[-1] if self.keys else None

    def scan_start(self, window: AuditWindow) -> datetime:
        """Where this audit's log scan starts: where the previous audit's ended, within the baseline."""
        if self.previous is None:
            return window.baseline_start
        ended = AuditWindow.from_dict(self.previous["window"]).end
        return min(max(ended, window.baseline_start), window.end)

    def stored_log_stats(self, function_arn: str) -> list[LogStats]:
        """Every range that earlier audits read for the function; a later report wins for the same range."""
        ranges: dict[tuple[str, str], LogStats] = {}
        for report in self.reports:
            for data in report.get("log_stats", {}).get(function_arn, []):
                ranges[(data["start"], data["end"])] = LogStats.from_dict(data)
        return sorted(ranges.values(), key=lambda stats: stats.start)


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
