"""Each function's REPORT-record statistics: the logs written since the previous audit, merged with what
earlier audits stored; a function invoked with no record to show for it is a coverage gap, never at rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from aws_lambda_powertools import Tracer

from ..config import AuditConfig
from ..history import History, merge_log_stats
from ..model import AuditWindow, DataSource, LogStats, MetricWindow
from ..stats import BoundedSample
from .collected import Collected
from .log_groups import log_group_of
from .log_records import GroupStats, ScanSettings, scan_ranges

tracer = Tracer()


@dataclass
class LogStatsRead:
    """The REPORT-record statistics by function ARN, for the window and its baseline, and what reading them took."""

    scanned: dict[str, list[LogStats]] = field(default_factory=dict)
    """By function ARN: the ranges this audit read itself, stored in its report."""
    current: dict[str, LogStats] = field(default_factory=dict)
    baseline: dict[str, LogStats] = field(default_factory=dict)
    scan_range: tuple[datetime, datetime] | None = None
    bytes_scanned: int = 0
    """What the Logs Insights queries scanned, added up."""


@tracer.capture_method(capture_response=False)
def read_log_stats(
    logs_client: Any,
    state: Collected,
    retention: dict[str, int | None] | None,
    window: AuditWindow,
    history: History,
    config: AuditConfig,
    windows: dict[str, tuple[MetricWindow, MetricWindow]],
    near_deadline: Callable[[], bool],
) -> LogStatsRead:
    """Read the REPORT records written since the previous audit; merge with what earlier audits stored.

    Queries still running when `near_deadline()` turns true are stopped, and their functions'
    records become coverage gaps, so the audit still publishes before the Lambda deadline.

    Only the log groups of functions the metrics saw invoked in a range are queried: a function
    that never ran wrote no REPORT record (its statistics for the range are zero without a query).
    A function the metrics show invoked in a range whose log group holds no REPORT record for it
    (or does not exist) is a coverage gap naming the likely causes, never a function at rest: the
    rule is zero records, not a ratio, as records written in the last moments may still be on their way.
    """
    by_group: dict[str, list[dict[str, Any]]] = {}
    for function in state.configs:
        if DataSource.REPORT_RECORDS not in state.unread.get(function["FunctionArn"], {}):  # e.g. a Delivery group
            by_group.setdefault(log_group_of(function), []).append(function)
    readable: dict[str, dict[str, Any]] = {}
    for group, functions in by_group.items():
        if len(functions) > 1:
            for function in functions:
                state.unread_for(
                    function["FunctionArn"],
                    DataSource.REPORT_RECORDS,
                    f"log group {group} is shared by {len(functions)} functions:"
                    " their REPORT records cannot be told apart",
                )
        else:
            readable[group] = functions[0]
    to_scan = {
        group: log_format_of(function)
        for group, function in readable.items()
        if retention is None or group in retention
    }
    start = history.scan_start(window)
    ranges = [(start, window.start)] if start < window.start else []
    if max(start, window.start) < window.end:
        ranges.append((max(start, window.start), window.end))
    result = LogStatsRead(scan_range=(start, window.end) if ranges else None)
    settings = ScanSettings(
        max_concurrent_queries=config.max_concurrent_queries, deadline_seconds=config.query_deadline_seconds
    )
    invoked_by_range = []
    for range_start, _ in ranges:
        part = 0 if range_start >= window.start else 1  # the current window's metrics, or the baseline's
        invoked_by_range.append(
            {
                group: log_format
                for group, log_format in to_scan.items()
                if DataSource.METRICS in state.unread.get(readable[group]["FunctionArn"], {})
                or windows[readable[group]["FunctionArn"]][part].sum("Invocations") > 0
            }
        )
    scans = scan_ranges(
        logs_client,
        [(invoked, start, end) for invoked, (start, end) in zip(invoked_by_range, ranges, strict=True)],
        settings,
        must_stop=near_deadline,
    )
    result.bytes_scanned = scans.bytes_scanned
    for (range_start, range_end), scan in zip(ranges, scans.ranges, strict=True):
        for group, function in readable.items():
            if group in scan.failed:
                state.unread_for(function["FunctionArn"], DataSource.REPORT_RECORDS, scan.failed[group])
                continue
            invoked_in_range = _invocations_in(range_start, range_end, window, windows[function["FunctionArn"]])
            if invoked_in_range and not (group in scan.stats and scan.stats[group].invocations):
                missing = _missing_records(function, group, retention, window, (range_start, range_end))
                if missing:
                    state.unread_for(
                        function["FunctionArn"],
                        DataSource.REPORT_RECORDS,
                        f"the metrics show {invoked_in_range:.0f} invocations from {_utc(range_start)}"
                        f" to {_utc(range_end)} UTC, but {missing}",
                    )
                    continue
            found = scan.stats.get(group) or GroupStats(init_durations=BoundedSample(seed=group))
            result.scanned.setdefault(function["FunctionArn"], []).append(
                LogStats(
                    start=range_start,
                    end=range_end,
                    invocations=found.invocations,
                    cold_starts=found.cold_starts,
                    init_durations=found.init_durations.to_dict(),
                    max_memory_used_mb=found.max_memory_used_mb,
                    billed_duration_ms=found.billed_duration_ms,
                    memory_size_mb=found.memory_size_mb,
                    # Records read after the fact (a first audit's baseline) ran under a configuration
                    # nobody recorded: today's would be a guess.
                    fingerprint=fingerprint(function) if range_start >= window.start else {},
                )
            )
    for function in readable.values():
        arn = function["FunctionArn"]
        known = history.stored_log_stats(arn) + result.scanned.get(arn, [])
        current = merge_log_stats(known, window.start, window.end)
        baseline = merge_log_stats(known, window.baseline_start, window.start)
        if current is not None:
            result.current[arn] = current
        if baseline is not None:
            result.baseline[arn] = baseline
    return result


def log_format_of(config: dict[str, Any]) -> str:
    return config.get("LoggingConfig", {}).get("LogFormat", "Text")


def _invocations_in(
    start: datetime, end: datetime, window: AuditWindow, metric_windows: tuple[MetricWindow, MetricWindow]
) -> float:
    """Invocations the metrics show in [start, end); 0 unless the range is exactly a window the metrics cover
    (the current window, or the whole baseline: their datapoints are a window long, so no finer range is known)."""
    current, baseline = metric_windows
    if (start, end) == (window.start, window.end):
        return current.sum("Invocations")
    if (start, end) == (window.baseline_start, window.start):
        return baseline.sum("Invocations")
    return 0.0


def _missing_records(
    function: dict[str, Any],
    group: str,
    retention: dict[str, int | None] | None,
    window: AuditWindow,
    scanned: tuple[datetime, datetime],
) -> str | None:
    """Why an invoked function has no REPORT record in the range read; None when its log group's retention
    may have expired them (the range reaches back further than the group keeps events)."""
    if retention is not None and group not in retention:
        return f"its log group {group} does not exist: {_likely_causes(function)}"
    days = retention.get(group) if retention is not None else None
    if days is not None and window.end - timedelta(days=days) > scanned[0]:
        return None
    return f"its log group {group} holds no REPORT record for them: {_likely_causes(function)}"


#: System log levels at which Lambda still sends platform.report (it is an INFO record):
#: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
_LEVELS_WITH_REPORTS = ("DEBUG", "INFO")


def _likely_causes(config: dict[str, Any]) -> str:
    """What keeps REPORT records out of a log group, naming the function's system log level when it is the cause."""
    logging = config.get("LoggingConfig") or {}
    level = logging.get("SystemLogLevel")
    if logging.get("LogFormat") == "JSON" and level and level not in _LEVELS_WITH_REPORTS:
        return (
            f"its LoggingConfig has SystemLogLevel {level}, above INFO, and at that level Lambda writes no"
            " platform.report (set SystemLogLevel to INFO)"
        )
    causes = ["its execution role may not write logs (logs:CreateLogStream, logs:PutLogEvents)"]
    if logging.get("LogFormat") == "JSON" and not level:
        causes.append("a SystemLogLevel above INFO would keep Lambda from writing platform.report")
    causes.append("or its logs may be sent elsewhere (a logging extension, another LoggingConfig.LogGroup)")
    return "; ".join(causes)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def fingerprint(config: dict[str, Any]) -> dict[str, Any]:
    """What a cold-start regression is explained by: the code, its size, runtime, memory, architecture, layers."""
    return {
        "version": config.get("Version"),
        "code_sha256": config.get("CodeSha256"),
        "code_size": config.get("CodeSize"),
        "runtime": config.get("Runtime"),
        "memory_mb": config.get("MemorySize"),
        "architectures": list(config.get("Architectures", [])),
        "layers": sorted(layer.get("Arn", "") for layer in config.get("Layers", [])),
    }
