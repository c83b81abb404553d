"""History: the earlier reports of one account and region, and what this report is against them.

Each finding is new, ongoing (since first_seen) or resolved against the previous report, with its days
open and the change of its check's main figure since then; the REPORT-record statistics that earlier
reports stored make the cold-start baseline. The reports are read from S3 as typed AuditReports
(`load_history`); everything else here is pure.

The fleet trend (findings by severity on each of the last 30 days) is read as cheaply as S3 allows.
Keys are `reports/dt=DAY/account=ID/region=R/...`: the day comes first, so no listing can be limited to
one account and region (a ListObjectsV2 of `reports/` pages through every account's and region's
objects, a thousand keys a call), and a whole report.json of a large fleet weighs megabytes. So each
stored report has a one-line `trend.json` beside it (publish.s3, a `FleetDay`: the day's counts, about
60 bytes), and the trend costs one GetObject per day shown, never a list: the days whose report.json
`load_history` already read for the baseline are taken from those reports, and only the other days' trend.json
are read (about 20 GETs with the default 7-day baseline; $0.0004 per 1,000 GETs,
https://aws.amazon.com/s3/pricing/). A day without trend.json (no audit that day, or a report stored
before trend.json existed) is a gap, never a zero. Without s3:ListBucket a missing key would answer 403
instead of 404 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"); the
audit's role has it on the bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .checks.catalogue import REGISTRY
from .checks.registry import Figure
from .model import AuditReport, AuditWindow, FigureChange, Finding, LogStats
from .model.codec import iso
from .model.report import FleetDay
from .publish.markup import moment
from .publish.s3 import TREND_NAME, dated_key, fleet_day, read_report
from .stats import BoundedSample

FLEET_TREND_DAYS = 30


def finding_key(check_id: str, function_arn: str | None, account: str, region: str) -> tuple[str, str]:
    return (check_id, function_arn or f"account:{account}:{region}")


@dataclass(frozen=True)
class History:
    """Earlier reports of one account and region, oldest first, and the keys they were read from."""

    reports: tuple[AuditReport, ...] = ()
    keys: tuple[str, ...] = ()
    unreadable: Mapping[str, str] = field(default_factory=dict)
    """Stored reports that did not parse, by key, with what was wrong: left out of history."""
    fleet_days: tuple[FleetDay, ...] = ()
    """Days of the fleet trend read from trend.json (days before the baseline's reports), oldest first."""

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

    def fleet_trend(self, report: AuditReport, days: int = FLEET_TREND_DAYS) -> tuple[FleetDay, ...]:
        """The `days` days ending with `report`'s day, oldest first; a day with no stored report has counts None."""
        known = {day.day: day for day in self.fleet_days if day.counts is not None}
        known.update((day.day, day) for day in map(fleet_day, self.reports))
        today = fleet_day(report)
        known[today.day] = today
        last = report.window.end.date()
        shown = (last - timedelta(days=back) for back in range(days - 1, -1, -1))
        return tuple(known.get(day.isoformat(), FleetDay(day=day.isoformat())) for day in shown)

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
    day = first_read = window.baseline_start.date() - timedelta(days=1)
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
    trend_days = _days_before(first_read, window.end.date(), FLEET_TREND_DAYS)
    fleet_days = load_fleet_days(s3, bucket, account, region, trend_days, prefix, unreadable)
    return History(reports=tuple(reports), keys=tuple(keys), unreadable=unreadable, fleet_days=fleet_days)


def _days_before(first_read: date, last: date, days: int) -> list[date]:
    """The days of the trend's span (`days` ending with `last`) that come before `first_read`, oldest first."""
    start = last - timedelta(days=days - 1)
    return [start + timedelta(days=n) for n in range((first_read - start).days)]


def load_fleet_days(
    s3: Any, bucket: str, account: str, region: str, days: list[date], prefix: str, unreadable: dict[str, str]
) -> tuple[FleetDay, ...]:
    """The stored trend.json of each day: one GetObject a day, no list. A missing day is left out (a gap).

    A trend.json that does not parse is named in `unreadable`; an error reading one (access denied,
    throttling) is too, and ends the reading: the days not read are gaps, and the audit goes on.
    """
    found = []
    for day in days:
        key = dated_key(account, region, day.isoformat(), prefix, TREND_NAME)
        try:
            document, _ = read_report(s3, bucket, key)
        except (ClientError, BotoCoreError, ValueError) as error:
            unreadable[key] = f"{type(error).__name__}: {error}"
            break
        if document is None:
            continue
        try:
            stored = FleetDay.from_dict(document)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            unreadable[key] = f"{type(error).__name__}: {error}"
            continue
        if stored.day == day.isoformat() and stored.counts is not None:
            found.append(stored)
    return tuple(found)


def diff_reports(report: AuditReport, previous: AuditReport | None, previous_key: str | None) -> AuditReport:
    """Mark each active finding new or ongoing, and carry over what the previous report had and this one lacks.

    Each finding gets its days open (whole days from first_seen to this window's end) and the change of its
    check's main figure since the previous report (`figure_change`).
    Suppressed findings are neither new nor resolved: they keep their status from the previous report
    when they were in it, so suppressing a finding does not make it look fixed.
    """
    now = iso(report.window.end)
    if previous is None:
        return replace(report, findings=tuple(_compared(f, None, now, report.window.end) for f in report.findings))
    earlier = {finding_key(f.check_id, f.function_arn, report.account, report.region): f for f in previous.findings}
    findings = []
    for finding in report.findings:
        before = earlier.get(finding.key)
        first_seen = now if before is None else before.first_seen or iso(previous.window.end)
        findings.append(_compared(finding, before, first_seen, report.window.end))
    present = {finding.key for finding in report.findings}
    resolved = tuple(
        _resolved(finding) for key, finding in earlier.items() if key not in present and finding.suppressed_by is None
    )
    return replace(report, findings=tuple(findings), resolved=resolved, previous_report=previous_key)


def _compared(finding: Finding, before: Finding | None, first_seen: str, window_end: datetime) -> Finding:
    spec = REGISTRY.get(finding.check_id)
    figure = spec.figure if spec is not None else None
    return replace(
        finding,
        status="new" if before is None else "ongoing",
        first_seen=first_seen,
        days_open=days_open(first_seen, window_end),
        change=None if figure is None else figure_change(figure, finding, before),
    )


def days_open(first_seen: str, window_end: datetime) -> int | None:
    """Whole days from first_seen to the window's end: 0 on the day a finding is new, never negative;
    None where a stored first_seen does not parse."""
    first = moment(first_seen)
    return None if first is None else max((moment(window_end) - first).days, 0)


def figure_change(figure: Figure, finding: Finding, before: Finding | None) -> FigureChange | None:
    """The figure in the previous report's finding and in this one, as the report shows them (scaled, rounded).

    worse when the shown value moved the bad way (at least one unit of the last digit shown: 0.1 percentage
    point for a share, 1 s for an age in seconds, 0.01 for a factor), better the other way, unchanged when
    both show the same; new when the previous report had no such finding or it did not carry the figure.
    None where this finding does not carry it.
    """
    after = figure.shown(finding.evidence.get(figure.key))
    if after is None:
        return None
    earlier = None if before is None else figure.shown(before.evidence.get(figure.key))
    change = FigureChange(figure=figure.key, label=figure.label, unit=figure.unit, after=after, before=earlier)
    if earlier is None:
        return change
    if after == earlier:
        return replace(change, direction="unchanged")
    return replace(change, direction="worse" if (after > earlier) == figure.higher_is_worse else "better")


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
        billed_duration_ms=sum(r.billed_duration_ms for r in inside),
    )
