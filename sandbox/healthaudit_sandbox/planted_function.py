"""What a planted function is: its configuration, the metrics it publishes and the REPORT records it writes.

A :class:`PlantedFunction` names the checks that must fire on it (none: it must stay healthy); its
:class:`Traffic` is what Lambda would publish to AWS/Lambda hour by hour, its :class:`LogTraffic`
what Lambda would write to its log group. :mod:`healthaudit_sandbox.planted_problems` lists the demo's,
:mod:`healthaudit_sandbox.fleet` creates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .report_records import InitializationType


@dataclass(frozen=True)
class Traffic:
    """Hourly traffic of one function in the current window (the baseline is the healthy pattern)."""

    invocations: int = 100
    errors: int = 0
    throttles: int = 0
    duration_ms: tuple[float, ...] = (120.0, 180.0, 250.0)
    """Typical durations; the slowest is the p99-ish tail."""
    concurrency: int = 2
    async_received: int = 0
    async_dropped: int = 0
    spillover: int = 0
    provisioned: int = 0
    """Invocations an hour served by provisioned concurrency (ProvisionedConcurrencyInvocations)."""
    iterator_age_ms: float | None = None
    active_hours: int = 24
    """How many hours of the current window saw traffic (from its start)."""

    def baseline(self) -> Traffic:
        """The healthy pattern the function had before the current window."""
        return Traffic(
            invocations=self.invocations,
            concurrency=min(self.concurrency, 2),
            async_received=self.async_received,
            iterator_age_ms=None if self.iterator_age_ms is None else 1000.0,
            active_hours=self.active_hours,
        )


@dataclass(frozen=True)
class LogTraffic:
    """What the function's REPORT records say, hour by hour (what Lambda itself would log)."""

    per_hour: int = 10
    cold_every: int = 5
    """One invocation in this many starts a new execution environment (an on-demand cold start)."""
    init_ms: tuple[float, float] = (350.0, 450.0)
    """Init durations are spread evenly over this range."""
    init_ms_now: tuple[float, float] | None = None
    """The range in the last 24 hours, when it changed."""
    cold_every_now: int | None = None
    memory_used_mb: float = 210.0
    init_type_now: InitializationType = "on-demand"
    """How the new execution environments of the last 24 hours were initialised."""


SPARSE_LOGS = LogTraffic(per_hour=1)
"""The REPORT records of the hours a function's plan does not cover (one invocation every few hours it ran)."""


@dataclass(frozen=True)
class PlantedFunction:
    name: str
    expect: frozenset[str] = frozenset()
    """Check ids that must fire on this function (empty: it must stay healthy)."""
    why: str = "healthy"
    runtime: str = "python3.12"
    timeout: int = 30
    memory: int = 512
    tracing: str = "Active"
    tags: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    dead_letter: bool = False
    on_failure_destination: bool = False
    stream_consumer: bool = False
    log_retention_days: int | None = 30
    current: Traffic = Traffic()
    expect_suppressed: frozenset[str] = frozenset()
    log_format: str = "Text"
    log_group: str | None = None
    """A custom log group (LoggingConfig.LogGroup); default /aws/lambda/<name>."""
    log_group_class: str = "STANDARD"
    system_log_level: str | None = None
    """LoggingConfig.SystemLogLevel (JSON format); WARN keeps Lambda from writing platform.report."""
    logs: LogTraffic | None = None
    """What its REPORT records say; every function that runs has some (SPARSE_LOGS unless planned)."""
    deploy_before_today: bool = False
    """The demo deploys a bigger package between yesterday's audit and today's."""
    xray_permitted: bool = True
    """The execution role has AWSXRayDaemonWriteAccess."""
    traces: str = "healthy"
    """What reaches X-Ray from an actively traced function: healthy, none, or failing-table."""
    msk_topic: str | None = None

    @property
    def group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"
