"""The report schema: frozen dataclasses that every stage passes along.

Collectors build snapshots, checks turn snapshots into findings, the audit assembles the report.
Nothing here talks to AWS or Slack.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

SCHEMA_VERSION = "1.0"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 is the worst."""
        return list(Severity).index(self)


class DataSource(enum.StrEnum):
    """Where a snapshot's facts come from; a source that could not be read is a coverage gap."""

    INVENTORY = "inventory"
    TAGS = "tags"
    EVENT_SOURCE_MAPPINGS = "event-source-mappings"
    ACCOUNT_SETTINGS = "account-settings"
    METRICS = "metrics"
    RESERVED_CONCURRENCY = "reserved-concurrency"
    EVENT_INVOKE_CONFIG = "event-invoke-config"
    LOG_GROUPS = "log-groups"
    REPORT_RECORDS = "report-records"
    ROLE_PERMISSIONS = "role-permissions"
    SERVICE_GRAPH = "service-graph"


@dataclass(frozen=True)
class AuditWindow:
    """The current window and, before it, the baseline it is compared with."""

    start: datetime
    end: datetime
    baseline_start: datetime

    @classmethod
    def ending_at(cls, at: datetime, hours: int = 24, baseline_days: int = 7) -> AuditWindow:
        """Windows end on the hour at or before `at`, so a rerun of the same event audits the same data."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        end = at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=hours)
        return cls(start=start, end=end, baseline_start=start - timedelta(hours=hours * baseline_days))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def baseline_periods(self) -> int:
        return int((self.start - self.baseline_start) / self.length)

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> AuditWindow:
        return cls(
            start=_parse_iso(data["start"]),
            end=_parse_iso(data["end"]),
            baseline_start=_parse_iso(data["baseline_start"]),
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "baseline_start": _iso(self.baseline_start),
        }


@dataclass(frozen=True)
class MetricSeries:
    """One metric statistic over time, as GetMetricData returns it (oldest first)."""

    metric: str
    stat: str
    timestamps: tuple[datetime, ...] = ()
    values: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricSeries:
        return cls(
            metric=data["metric"],
            stat=data["stat"],
            timestamps=tuple(_parse_iso(t) for t in data.get("timestamps", [])),
            values=tuple(float(v) for v in data.get("values", [])),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "stat": self.stat,
            "timestamps": [_iso(t) for t in self.timestamps],
            "values": list(self.values),
        }


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
class TraceStats:
    """X-Ray's summary statistics for a service node or an edge: what traced calls ended as."""

    ok: int = 0
    errors: int = 0
    """Client errors (4xx), throttles included."""
    throttles: int = 0
    faults: int = 0
    """Server errors (5xx)."""
    total: int = 0
    total_response_time: float = 0.0

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "throttles": self.throttles,
            "faults": self.faults,
            "total": self.total,
            "average_response_ms": None if self.average_response_ms is None else round(self.average_response_ms, 3),
        }


@dataclass(frozen=True)
class TraceEdge:
    """A call from a traced function to a downstream service, as the X-Ray service graph shows it."""

    name: str
    type: str
    stats: TraceStats

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, **self.stats.to_dict()}


@dataclass(frozen=True)
class TraceNode:
    """A traced function in the X-Ray service graph, and the calls it makes."""

    stats: TraceStats
    edges: tuple[TraceEdge, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.stats.to_dict(), "downstream": [edge.to_dict() for edge in self.edges]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraceNode:
        return cls(
            stats=_trace_stats(data),
            edges=tuple(
                TraceEdge(name=e["name"], type=e["type"], stats=_trace_stats(e)) for e in data.get("downstream", [])
            ),
        )


def _trace_stats(data: Mapping[str, Any]) -> TraceStats:
    total = int(data.get("total", 0))
    average = data.get("average_response_ms")
    return TraceStats(
        ok=int(data.get("ok", 0)),
        errors=int(data.get("errors", 0)),
        throttles=int(data.get("throttles", 0)),
        faults=int(data.get("faults", 0)),
        total=total,
        total_response_time=(average or 0.0) * total / 1000,
    )


@dataclass(frozen=True)
class LogStats:
    """What a function's REPORT records said over [start, end): merged across audits for a baseline."""

    start: datetime
    end: datetime
    invocations: int = 0
    cold_starts: int = 0
    """REPORT records with an Init Duration: in the JSON log format on-demand ones only; in the text
    format provisioned-concurrency initialisations too (the text cannot tell them apart)."""
    init_durations: Mapping[str, Any] = field(default_factory=dict)
    """A bounded uniform sample of the init durations (healthaudit.stats.BoundedSample.to_dict())."""
    max_memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    fingerprint: Mapping[str, Any] = field(default_factory=dict)
    """The function's configuration when these records were read: what a regression is compared across."""

    @property
    def init_values(self) -> tuple[float, ...]:
        return tuple(self.init_durations.get("values", ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "init_durations": dict(self.init_durations),
            "max_memory_used_mb": self.max_memory_used_mb,
            "memory_size_mb": self.memory_size_mb,
            "fingerprint": dict(self.fingerprint),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogStats:
        return cls(
            start=_parse_iso(data["start"]),
            end=_parse_iso(data["end"]),
            invocations=int(data.get("invocations", 0)),
            cold_starts=int(data.get("cold_starts", 0)),
            init_durations=dict(data.get("init_durations") or {}),
            max_memory_used_mb=data.get("max_memory_used_mb"),
            memory_size_mb=data.get("memory_size_mb"),
            fingerprint=dict(data.get("fingerprint") or {}),
        )


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

    @property
    def is_stream_consumer(self) -> bool:
        return any(source.is_stream for source in self.event_sources)

    def finding(self, message: str, evidence: Mapping[str, Any] | None = None) -> Observation:
        return Observation(
            message=message,
            evidence=dict(evidence or {}),
            function_name=self.name,
            function_arn=self.arn,
        )


@dataclass(frozen=True)
class AccountSettings:
    concurrency_limit: int
    unreserved_concurrency: int

    @property
    def reserved_total(self) -> int:
        return self.concurrency_limit - self.unreserved_concurrency


@dataclass(frozen=True)
class CoverageGap:
    """A data source that could not be read: for one function, or (function None) account-wide."""

    source: DataSource
    reason: str
    function_name: str | None = None
    function_arn: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoverageGap:
        return cls(
            source=DataSource(data["source"]),
            reason=data["reason"],
            function_name=data.get("function_name"),
            function_arn=data.get("function_arn"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "reason": self.reason,
            "function_name": self.function_name,
            "function_arn": self.function_arn,
        }


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

    def finding(self, message: str, evidence: Mapping[str, Any] | None = None) -> Observation:
        return Observation(message=message, evidence=dict(evidence or {}))


@dataclass(frozen=True)
class Observation:
    """What a check yields: the registry adds the check's identity to make it a Finding."""

    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    function_name: str | None = None
    function_arn: str | None = None


@dataclass(frozen=True)
class Finding:
    check_id: str
    title: str
    severity: Severity
    account: str
    region: str
    message: str
    remediation: str
    docs: str
    function_name: str | None = None
    function_arn: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    series: tuple[MetricSeries, ...] = ()
    suppressed_by: str | None = None
    status: str = "new"
    """new, ongoing (seen in the previous report too) or resolved (in the previous report, not in this one)."""
    first_seen: str | None = None
    """The window end (ISO 8601) of the first report that had this finding."""

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            check_id=data["check_id"],
            title=data["title"],
            severity=Severity(data["severity"]),
            account=data["account"],
            region=data["region"],
            message=data["message"],
            remediation=data["remediation"],
            docs=data["docs"],
            function_name=data.get("function_name"),
            function_arn=data.get("function_arn"),
            evidence=dict(data.get("evidence") or {}),
            series=tuple(MetricSeries.from_dict(s) for s in data.get("series", [])),
            suppressed_by=data.get("suppressed_by"),
            status=data.get("status", "new"),
            first_seen=data.get("first_seen"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "severity": self.severity.value,
            "account": self.account,
            "region": self.region,
            "function_name": self.function_name,
            "function_arn": self.function_arn,
            "message": self.message,
            "evidence": dict(self.evidence),
            "remediation": self.remediation,
            "docs": self.docs,
            "console_url": self.console_url,
            "series": [s.to_dict() for s in self.series],
            "suppressed_by": self.suppressed_by,
            "status": self.status,
            "first_seen": self.first_seen,
        }


@dataclass(frozen=True)
class FunctionSummary:
    name: str
    arn: str
    runtime: str | None
    status: str
    """healthy, unhealthy, or unknown when a data source could not be read."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionSummary:
        return cls(name=data["name"], arn=data["arn"], runtime=data.get("runtime"), status=data["status"])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arn": self.arn, "runtime": self.runtime, "status": self.status}


@dataclass(frozen=True)
class AuditReport:
    account: str
    region: str
    window: AuditWindow
    functions_audited: int
    functions: tuple[FunctionSummary, ...]
    findings: tuple[Finding, ...]
    coverage_gaps: tuple[CoverageGap, ...]
    api_calls: Mapping[str, int]
    metric_queries: Mapping[str, int]
    scope: str | None = None
    notes: tuple[str, ...] = ()
    resolved: tuple[Finding, ...] = ()
    """Findings of the previous report that are gone from this one."""
    log_stats: Mapping[str, tuple[LogStats, ...]] = field(default_factory=dict)
    """By function ARN, what this audit read from REPORT records (only the ranges it scanned itself)."""
    service_graph: Mapping[str, TraceNode] = field(default_factory=dict)
    """By function name, the traced functions' nodes in the X-Ray service graph and their downstream calls."""
    api_errors: Mapping[str, int] = field(default_factory=dict)
    """Failed HTTP attempts by operation (throttling, 5xx, timeouts), retried or not."""
    partial: bool = False
    """The audit stopped reading early to finish before its deadline; its coverage gaps say what was not read."""
    previous_report: str | None = None
    """The key of the report this one was compared with, if any."""
    logs_insights_bytes_scanned: int = 0
    """What the audit's Logs Insights queries scanned, added up from each query's statistics.bytesScanned:
    Insights is billed by the bytes it scans."""
    schema_version: str = SCHEMA_VERSION

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed_by is None)

    def counts_by_severity(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for finding in self.active_findings:
            counts[finding.severity.value] += 1
        return counts

    def worst_first(self) -> list[Finding]:
        return sorted(
            self.active_findings,
            key=lambda f: (f.severity.rank, f.check_id, f.function_name or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "account": self.account,
            "region": self.region,
            "window": self.window.to_dict(),
            "scope": self.scope,
            "functions_audited": self.functions_audited,
            "counts_by_severity": self.counts_by_severity(),
            "findings": [f.to_dict() for f in self.worst_first()]
            + [f.to_dict() for f in self.findings if f.suppressed_by is not None],
            "coverage_gaps": [g.to_dict() for g in self.coverage_gaps],
            "functions": [f.to_dict() for f in self.functions],
            "api_calls": dict(sorted(self.api_calls.items())),
            "api_errors": dict(sorted(self.api_errors.items())),
            "partial": self.partial,
            "metric_queries": dict(self.metric_queries),
            "logs_insights_bytes_scanned": self.logs_insights_bytes_scanned,
            "notes": list(self.notes),
            "resolved": [f.to_dict() for f in self.resolved],
            "previous_report": self.previous_report,
            "log_stats": {arn: [r.to_dict() for r in ranges] for arn, ranges in sorted(self.log_stats.items())},
            "service_graph": {name: node.to_dict() for name, node in sorted(self.service_graph.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        """The report as read back from S3 (the inverse of to_dict)."""
        return cls(
            account=data["account"],
            region=data["region"],
            window=AuditWindow.from_dict(data["window"]),
            functions_audited=int(data["functions_audited"]),
            functions=tuple(FunctionSummary.from_dict(f) for f in data.get("functions", [])),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
            coverage_gaps=tuple(CoverageGap.from_dict(g) for g in data.get("coverage_gaps", [])),
            api_calls=dict(data.get("api_calls", {})),
            api_errors=dict(data.get("api_errors", {})),
            partial=bool(data.get("partial", False)),
            metric_queries=dict(data.get("metric_queries", {})),
            logs_insights_bytes_scanned=int(data.get("logs_insights_bytes_scanned", 0)),
            scope=data.get("scope"),
            notes=tuple(data.get("notes", [])),
            resolved=tuple(Finding.from_dict(f) for f in data.get("resolved", [])),
            previous_report=data.get("previous_report"),
            log_stats={
                arn: tuple(LogStats.from_dict(r) for r in ranges) for arn, ranges in data.get("log_stats", {}).items()
            },
            service_graph={name: TraceNode.from_dict(n) for name, n in data.get("service_graph", {}).items()},
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "window_end": _iso(self.window.end),
            "functions_audited": self.functions_audited,
            "findings": len(self.active_findings),
            "suppressed": len(self.findings) - len(self.active_findings),
            "counts_by_severity": self.counts_by_severity(),
            "coverage_gaps": len(self.coverage_gaps),
            "partial": self.partial,
        }


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
