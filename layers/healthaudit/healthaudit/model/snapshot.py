"""What the collectors build and the checks read: the account's snapshot, one function at a time.

Nothing here is stored: a snapshot lives for one audit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..prices import LambdaPrice
from .common import AuditWindow, DataSource
from .report import CoverageGap, FindingCost, LogStats, TraceNode


@dataclass(frozen=True)
class MetricWindow:
    """The datapoints of each metric inside one window; CloudWatch omits periods without data."""

    points: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def sum(self, metric: str) -> float:
        return float(sum(self.points.get(metric, ())))

    def max(self, metric: str) -> float | None:
        values = self.points.get(metric, ())
        return max(values) if values else None

    def has(self, metric: str) -> bool:
        return bool(self.points.get(metric))

    def mean(self, metric: str) -> float | None:
        """The mean of the datapoints (one per window in the fleet pass), or None without any."""
        values = self.points.get(metric, ())
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class EventSource:
    """An event source mapping of a function, as ListEventSourceMappings reports it."""

    arn: str
    state: str = "Enabled"

    @property
    def service(self) -> str:
        """The service part of the source ARN: kinesis, dynamodb, sqs, kafka, mq, rds (DocumentDB)…"""
        parts = self.arn.split(":")
        return parts[2] if len(parts) > 2 else "unknown"

    @property
    def is_stream(self) -> bool:
        """Sources whose consumers report IteratorAge (Kinesis and DynamoDB streams)."""
        return self.service == "kinesis" or (self.service == "dynamodb" and "/stream/" in self.arn)


@dataclass(frozen=True)
class Observation:
    """What a check yields: the registry adds the check's identity to make it a Finding."""

    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    function_name: str | None = None
    function_arn: str | None = None
    cost: FindingCost | None = None
    log_group: str | None = None


@dataclass(frozen=True)
class FunctionSnapshot:
    """Everything the checks may know about one function; built by the collectors."""

    name: str
    arn: str
    account: str
    region: str
    as_of: date = date(1970, 1, 1)
    """The day the audit window ends: date-dependent checks (runtime deprecation) judge against it."""
    runtime: str | None = None
    package_type: str = "Zip"
    timeout_seconds: int = 3
    memory_mb: int = 128
    code_size: int = 0
    tracing_mode: str = "PassThrough"
    dead_letter_target: str | None = None
    log_group: str = ""
    architectures: tuple[str, ...] = ("x86_64",)
    last_modified: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    event_sources: tuple[EventSource, ...] = ()
    reserved_concurrency: int | None = None
    failure_destinations: Mapping[str, str | None] = field(default_factory=dict)
    """By qualifier ($LATEST, version, alias) with an asynchronous invocation config: its on-failure
    destination, or None where that config has none. Read only for candidates of no-failure-destination."""
    log_retention_days: int | None = None
    log_group_exists: bool | None = None
    log_format: str = "Text"
    """LoggingConfig.LogFormat: Text or JSON."""
    current: MetricWindow = field(default_factory=MetricWindow)
    baseline: MetricWindow = field(default_factory=MetricWindow)
    logs_current: LogStats | None = None
    logs_baseline: LogStats | None = None
    fingerprint: Mapping[str, Any] = field(default_factory=dict)
    role: str = ""
    """The execution role's ARN."""
    xray_permission: Mapping[str, str] = field(default_factory=dict)
    """IAM's decision (allowed, explicitDeny, implicitDeny) for each X-Ray write action, for traced functions."""
    xray_denied_by_scp: tuple[str, ...] = ()
    """The X-Ray write actions an AWS Organizations service control policy denies
    (OrganizationsDecisionDetail.AllowedByOrganizations false): no change to the role can allow them."""
    trace_node: TraceNode | None = None
    """The function's node in the X-Ray service graph over the window; None when it has none."""
    unread: Mapping[DataSource, str] = field(default_factory=dict)
    """Data sources that could not be read for this function, with the reason."""
    window_length: timedelta = timedelta(hours=24)
    """How long the current window is: what `current` covers, and what a monthly cost is scaled from."""
    lambda_price: LambdaPrice | None = None
    """The price of its invocations (its architecture, its Region, the config's prices); None: the table's."""

    @property
    def is_stream_consumer(self) -> bool:
        return any(source.is_stream for source in self.event_sources)

    def finding(
        self, message: str, evidence: Mapping[str, Any] | None = None, cost: FindingCost | None = None
    ) -> Observation:
        return Observation(
            message=message,
            evidence=dict(evidence or {}),
            function_name=self.name,
            function_arn=self.arn,
            cost=cost,
            log_group=self.log_group or None,
        )


@dataclass(frozen=True)
class AccountSettings:
    concurrency_limit: int
    unreserved_concurrency: int

    @property
    def reserved_total(self) -> int:
        return self.concurrency_limit - self.unreserved_concurrency


@dataclass(frozen=True)
class AccountSnapshot:
    account: str
    region: str
    window: AuditWindow
    functions: tuple[FunctionSnapshot, ...]
    settings: AccountSettings | None = None
    current: MetricWindow = field(default_factory=MetricWindow)
    gaps: tuple[CoverageGap, ...] = ()
    log_stats: Mapping[str, tuple[LogStats, ...]] = field(default_factory=dict)
    log_scan: tuple[datetime, datetime] | None = None
    """The time range of REPORT records this audit read itself."""
    logs_bytes_scanned: int = 0
    """What this audit's Logs Insights queries scanned (their statistics.bytesScanned, added up)."""
    notes: tuple[str, ...] = ()
    """How the collectors read what they read, where the report should say so (e.g. the metrics' fallback)."""

    def finding(self, message: str, evidence: Mapping[str, Any] | None = None) -> Observation:
        return Observation(message=message, evidence=dict(evidence or {}))
