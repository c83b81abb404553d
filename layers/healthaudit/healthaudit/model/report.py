"""The single-account report: what one audit of one account and region found, as stored in S3."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..links import finding_links
from .codec import Computed, Record, Shape, iso, wire
from .common import (
    SCHEMA_VERSION,
    Account,
    AuditWindow,
    CheckId,
    Count,
    DataSource,
    FindingStatus,
    FunctionStatus,
    HttpsUrl,
    Name,
    Region,
    SchemaVersion,
    Severity,
    Timestamp,
)


@dataclass(frozen=True)
class MetricSeries(Record):
    """One hourly metric statistic from the baseline's start to the current window's end, as GetMetricData
    returns it (oldest first): the points before the window's start are the baseline days charts show beside it."""

    metric: Name
    stat: Name
    timestamps: tuple[datetime, ...] = ()
    values: tuple[float, ...] = ()


def _average_response_ms(stats: TraceStats) -> float | None:
    average = stats.average_response_ms
    return None if average is None else round(average, 3)


def _total_response_time(data: Mapping[str, Any]) -> float:
    return (data.get("average_response_ms") or 0.0) * int(data.get("total", 0)) / 1000


@dataclass(frozen=True)
class TraceStats(Record):
    """X-Ray's summary statistics for a service node or an edge: what traced calls ended as."""

    ok: Count = 0
    errors: Count = 0
    """Client errors (4xx), throttles included."""
    throttles: Count = 0
    faults: Count = 0
    """Server errors (5xx)."""
    total: Count = 0
    total_response_time: float = field(default=0.0, metadata=wire(omit=True, read=_total_response_time))
    """Seconds, added up over the calls; written as their average in ms (average_response_ms)."""

    __wire__ = Shape(computed=(Computed("average_response_ms", float | None, _average_response_ms),))

    def __add__(self, other: TraceStats) -> TraceStats:
        return TraceStats(
            ok=self.ok + other.ok,
            errors=self.errors + other.errors,
            throttles=self.throttles + other.throttles,
            faults=self.faults + other.faults,
            total=self.total + other.total,
            total_response_time=self.total_response_time + other.total_response_time,
        )

    @property
    def failure_rate(self) -> float:
        return (self.errors + self.faults) / self.total if self.total else 0.0

    @property
    def average_response_ms(self) -> float | None:
        return self.total_response_time / self.total * 1000 if self.total else None


@dataclass(frozen=True)
class TraceEdge(Record):
    """A call from a traced function to a downstream service, as the X-Ray service graph shows it."""

    name: str
    type: str
    stats: TraceStats = field(metadata=wire(flatten=True))


@dataclass(frozen=True)
class TraceNode(Record):
    """A traced function in the X-Ray service graph, with its downstream calls."""

    stats: TraceStats = field(metadata=wire(flatten=True))
    edges: tuple[TraceEdge, ...] = field(default=(), metadata=wire(key="downstream"))


INIT_SAMPLE_SCHEMA = {
    "description": "A bounded uniform sample of on-demand init durations in ms (healthaudit.stats.BoundedSample).",
    "type": "object",
    "additionalProperties": False,
    "required": ["capacity", "seed", "seen", "values"],
    "properties": {
        "capacity": {"type": "integer", "minimum": 1},
        "seed": {"type": "string"},
        "seen": {"type": "integer", "minimum": 0},
        "values": {"type": "array", "items": {"type": "number"}},
    },
}


@dataclass(frozen=True)
class LogStats(Record):
    """What a function's REPORT records said over [start, end), as one audit read them: merged across
    audits for a baseline."""

    start: datetime
    end: datetime
    invocations: Count = 0
    cold_starts: Count = 0
    """REPORT records with an Init Duration: in the JSON log format on-demand ones only; in the text
    format provisioned-concurrency initialisations too (the text cannot tell them apart)."""
    init_durations: Mapping[str, Any] = field(default_factory=dict, metadata=wire(schema=INIT_SAMPLE_SCHEMA))
    """A bounded uniform sample of the init durations (healthaudit.stats.BoundedSample.to_dict())."""
    max_memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    fingerprint: Mapping[str, Any] = field(default_factory=dict)
    """The function's configuration when these records were read: what a regression is compared across."""
    billed_duration_ms: float = 0.0
    """Billed Duration added up over the records (0 in reports written before it was read): with the memory
    size, the GB-seconds Lambda billed."""

    @property
    def init_values(self) -> tuple[float, ...]:
        return tuple(self.init_durations.get("values", ()))


@dataclass(frozen=True)
class CoverageGap(Record):
    """A data source that could not be read, for one function or (function null) the whole account."""

    source: DataSource
    reason: str
    function_name: str | None = None
    function_arn: str | None = None


@dataclass(frozen=True)
class FigureChange(Record):
    """A finding's main figure in the previous report and in this one (error rate 2.1 % -> 8.0 %)."""

    figure: Name
    """The evidence key of the check's main figure (its @check `figure`)."""
    label: Name
    """What the figure is, in words: "error rate"."""
    unit: str
    """How the values read: "%", "ms", "s", "MB" or "" (the values are already in this unit)."""
    after: float
    before: float | None = None
    """null when the previous report did not have this finding (or not its figure)."""
    direction: Literal["worse", "better", "unchanged", "new"] = "new"
    """worse when the figure moved the way that fired the check, by more than the rounding of its unit."""


@dataclass(frozen=True)
class FindingCost(Record):
    """What a finding costs a month at the function's Lambda price, from its invocations and duration."""

    monthly_usd: float
    """The function's compute (GB-seconds) and requests over the window, scaled to 30 days."""
    price: Name
    """The price used: "$0.0000166667 per GB-second (x86_64, us-east-1)"."""
    source: HttpsUrl
    read_on: Name
    """The date the price table was read (YYYY-MM-DD), or "config" for a price the config set."""
    basis: str
    """How the figure was reached, in words a reader can redo."""
    suggested_monthly_usd: float | None = None
    """memory-overprovisioned: the same invocations at the suggested memory size."""
    monthly_savings_usd: float | None = None
    """monthly_usd - suggested_monthly_usd, where a smaller size is suggested."""
    failed_monthly_usd: float | None = None
    """error-rate-high, duration-near-timeout: what the failed or timed-out invocations cost a month."""


@dataclass(frozen=True)
class Snooze(Record):
    """A snooze or acknowledgement clicked in Slack, as the suppressions table keeps it."""

    action: Literal["snooze", "acknowledge"]
    user: Name
    """The Slack user ID who clicked (U0123ABCD), with their name where Slack sent it."""
    at: Timestamp
    until: Timestamp | None = None
    """When a snooze ends (null for an acknowledgement, which never hides the finding)."""
    reason: str = ""


def _console_url(finding: Finding) -> str:
    return finding.console_url


def _links(finding: Finding) -> dict[str, str]:
    return finding.links


@dataclass(frozen=True)
class Finding(Record):
    check_id: CheckId
    title: Name
    severity: Severity
    account: Account
    region: Region
    message: str
    remediation: str
    docs: str
    function_name: str | None = None
    """null for an account-wide finding."""
    function_arn: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """The numbers behind the finding; keys depend on the check (cold-start checks add baseline_samples
    and current_samples, lists of init durations in ms)."""
    series: tuple[MetricSeries, ...] = ()
    suppressed_by: str | None = None
    """Why the finding is suppressed (config rule or tag), or null when it is active."""
    status: FindingStatus = "new"
    """new, ongoing (seen in the previous report too) or resolved (in the previous report, not in this one)."""
    first_seen: Timestamp | None = None
    """The window end of the first report that had this finding."""
    days_open: Count | None = None
    """Whole days from first_seen to this report's window end (0 on the day it is new)."""
    change: FigureChange | None = None
    """The main figure against the previous report, where the check names one."""
    tags: Mapping[str, str] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """The function's tags (what owners are routed by); empty for an account-wide finding."""
    thresholds: Mapping[str, float] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """The thresholds in force for this function when the check fired (defaults, config, tags)."""
    cost: FindingCost | None = None
    """What the function's invocations cost a month, where the check prices its finding."""
    snooze: Snooze | None = None
    """A snooze (suppressed until it ends) or acknowledgement (shown, marked) clicked in Slack."""
    log_group: str | None = None
    """The function's log group (LoggingConfig.LogGroup; /aws/lambda/<name> by default); null account-wide."""

    __wire__ = Shape(
        order=(
            "check_id",
            "title",
            "severity",
            "account",
            "region",
            "function_name",
            "function_arn",
            "message",
            "evidence",
            "remediation",
            "docs",
            "console_url",
            "links",
        ),
        computed=(
            Computed("console_url", HttpsUrl, _console_url),
            Computed(
                "links",
                Mapping[str, HttpsUrl],
                _links,
                "Console deep links for a function's finding (healthaudit.links): logs_insights (its log group, with"
                " a query for its errors or its REPORT records), xray_traces, cloudtrail_events; empty account-wide.",
            ),
        ),
    )

    @property
    def links(self) -> dict[str, str]:
        return finding_links(self.region, self.check_id, self.function_name, self.log_group)

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a finding across reports: the check and the resource."""
        return (self.check_id, self.function_arn or f"account:{self.account}:{self.region}")

    @property
    def resource(self) -> str:
        return self.function_name or f"account {self.account} ({self.region})"

    @property
    def console_url(self) -> str:
        base = f"https://{self.region}.console.aws.amazon.com/lambda/home?region={self.region}"
        if self.function_name:
            return f"{base}#/functions/{self.function_name}?tab=monitoring"
        return f"{base}#/dashboard"


@dataclass(frozen=True)
class FunctionSummary(Record):
    name: Name
    arn: Name
    runtime: str | None
    """null for container-image functions."""
    status: FunctionStatus
    """healthy, unhealthy, or unknown when a data source could not be read."""


@dataclass(frozen=True)
class CostPart(Record):
    """One priced item of an audit's cost: a quantity at a published list price."""

    item: Name
    quantity: float
    unit: Name
    usd: float
    price: Name
    """The list price, e.g. "$0.01 per 1,000 metrics requested"."""
    source: HttpsUrl
    """The pricing page the price comes from."""
    read_on: Name
    """The date the price was read (YYYY-MM-DD)."""
    verified: bool
    """False where the figure was not read on a stored copy of the page: "from <page> as of <date>, not verified"."""
    free_tier: str | None = None
    """The monthly free tier that may cover this part, never subtracted from usd; null where there is none."""


@dataclass(frozen=True)
class AuditCost(Record):
    """What the audit cost at list price: the total and its parts, the free tiers reported apart."""

    usd: float
    """The sum of the parts, at list price, before any free tier."""
    parts: tuple[CostPart, ...]
    free_tier_eligible_usd: float = 0.0
    """The part of usd billed under a monthly free tier (shared by the whole account), which it may cover."""
    prices: str = ""
    """Which list prices (Region, date) the parts use."""
    not_billed: Mapping[str, Count] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """Calls made that AWS publishes no per-request price for, by operation."""
    not_billed_note: str | None = None


@dataclass(frozen=True)
class FleetDay(Record):
    """One day of the fleet trend: the active findings by severity of that day's stored report.

    Also stored on its own, one line, as trend.json beside each day's report.json (healthaudit.history
    reads 30 of these instead of 30 whole reports). It has no schema_version, so Athena queries that
    filter on `schema_version` never count it as a report.
    """

    day: Name
    """YYYY-MM-DD, the day of the report's window end (its dt= partition)."""
    counts: Mapping[Severity, Count] | None = field(default=None, metadata=wire(sort_keys=True))
    """Active findings by severity; null where no report was stored that day (a gap, not zero)."""


def _findings_in_order(report: AuditReport) -> tuple[Finding, ...]:
    """Active findings worst first, then suppressed ones."""
    return (*report.worst_first(), *(f for f in report.findings if f.suppressed_by is not None))


def _possible_savings(report: AuditReport) -> float:
    return report.possible_savings_usd_month


def _counts_by_severity(report: AuditReport) -> dict[Severity, int]:
    return {Severity(severity): count for severity, count in report.counts_by_severity().items()}


@dataclass(frozen=True)
class AuditReport(Record):
    """One audit of one account and region, as AuditReport.to_dict() writes it to S3. Every key is
    always present; optional values are null."""

    account: Account
    region: Region
    window: AuditWindow
    functions_audited: Count
    functions: tuple[FunctionSummary, ...]
    findings: tuple[Finding, ...] = field(metadata=wire(write=_findings_in_order))
    """Active findings worst first, then suppressed ones."""
    coverage_gaps: tuple[CoverageGap, ...]
    api_calls: Mapping[str, Count] = field(metadata=wire(sort_keys=True))
    """AWS API calls the audit made, by operation name."""
    metric_queries: Mapping[str, Count]
    """GetMetricData queries by pass (fleet, series)."""
    scope: str | None = None
    """The scope expression the audit was limited to, or null for every function."""
    notes: tuple[str, ...] = ()
    resolved: tuple[Finding, ...] = ()
    """Findings of the previous report that are gone from this one."""
    log_stats: Mapping[str, tuple[LogStats, ...]] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """By function ARN, what this audit read from REPORT records (only the ranges it scanned itself)."""
    service_graph: Mapping[str, TraceNode] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """By function name, the traced functions' nodes in the X-Ray service graph and their downstream calls."""
    api_errors: Mapping[str, Count] = field(default_factory=dict, metadata=wire(sort_keys=True))
    """Failed HTTP attempts by operation (throttling, 5xx, timeouts), retried or not."""
    partial: bool = False
    """The audit stopped reading early to finish before its deadline; its coverage gaps say what was not read."""
    previous_report: str | None = None
    """The S3 key of the report this one was compared with, if any."""
    logs_insights_bytes_scanned: Count = 0
    """What the audit's Logs Insights queries scanned, added up from each query's statistics.bytesScanned:
    Insights is billed by the bytes it scans."""
    cost: AuditCost | None = None
    """What this audit cost at list price (healthaudit.cost): its own calls, metrics requested, bytes
    scanned and Lambda time; null in reports written before costs were stated."""
    fleet_trend: tuple[FleetDay, ...] = ()
    """The last 30 days of this account and region, oldest first, this report's day last (healthaudit.history)."""
    schema_version: SchemaVersion = SCHEMA_VERSION

    __wire__ = Shape(
        order=(
            "schema_version",
            "account",
            "region",
            "window",
            "scope",
            "functions_audited",
            "counts_by_severity",
            "possible_savings_usd_month",
            "findings",
            "coverage_gaps",
            "functions",
            "api_calls",
            "api_errors",
            "partial",
            "metric_queries",
            "logs_insights_bytes_scanned",
            "cost",
            "notes",
            "resolved",
            "previous_report",
            "fleet_trend",
            "log_stats",
            "service_graph",
        ),
        computed=(
            Computed(
                "counts_by_severity",
                Mapping[Severity, Count],
                _counts_by_severity,
                "Active (unsuppressed) findings by severity.",
            ),
            Computed(
                "possible_savings_usd_month",
                float,
                _possible_savings,
                "US dollars a month the active findings' suggestions would save (their cost.monthly_savings_usd"
                " added up): first-tier list prices, before any free tier.",
            ),
        ),
    )

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed_by is None)

    def counts_by_severity(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for finding in self.active_findings:
            counts[finding.severity.value] += 1
        return counts

    @property
    def possible_savings_usd_month(self) -> float:
        savings = (f.cost.monthly_savings_usd for f in self.active_findings if f.cost is not None)
        return round(sum((usd for usd in savings if usd), 0.0), 2)

    def worst_first(self) -> list[Finding]:
        """Active findings by severity, then new before ongoing: a new LOW never sits above an ongoing HIGH."""
        return sorted(
            self.active_findings,
            key=lambda f: (f.severity.rank, f.status != "new", f.check_id, f.function_name or ""),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "window_end": iso(self.window.end),
            "functions_audited": self.functions_audited,
            "findings": len(self.active_findings),
            "suppressed": len(self.findings) - len(self.active_findings),
            "counts_by_severity": self.counts_by_severity(),
            "coverage_gaps": len(self.coverage_gaps),
            "partial": self.partial,
            "possible_savings_usd_month": self.possible_savings_usd_month,
        }
