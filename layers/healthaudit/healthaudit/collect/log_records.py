"""REPORT records through CloudWatch Logs Insights: invocations, on-demand cold starts, init durations, memory.

Up to 50 log groups a query, queries run concurrently under a limit below the account's quota of
concurrent queries, each polled until a deadline and stopped if it runs past it. A query that
returns the 10,000-row cap is split in two time halves and run again, so no row is lost.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html

On-demand cold starts are the REPORT records that carry an Init Duration: invocations on
provisioned-concurrency environments report none (their init ran ahead of time), and SnapStart
restores report a Restore Duration instead.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from ..stats import BoundedSample
from .errors import READ_ERRORS, STOPPED_EARLY, describe_error

MAX_LOG_GROUPS_PER_QUERY = 50
MAX_ROWS = 10_000
MIN_SPLIT = timedelta(minutes=1)

# Lambda's text REPORT line: Insights discovers @type, @initDuration, @maxMemoryUsed and @memorySize
# (memory in bytes, as Lambda's sample queries divide by 1000 twice):
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
TEXT_TOTALS = (
    'filter @type = "REPORT"'
    " | stats count(*) as invocations, count(@initDuration) as cold_starts,"
    " max(@maxMemoryUsed) as max_memory_used, max(@memorySize) as memory_size by @log"
)
TEXT_INITS = 'filter @type = "REPORT" and ispresent(@initDuration) | fields @log, @initDuration as init_ms'
# The JSON log format's platform.report record:
# https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html#platform-report
JSON_TOTALS = (
    'filter type = "platform.report"'
    " | stats count(*) as invocations, count(record.metrics.initDurationMs) as cold_starts,"
    " max(record.metrics.maxMemoryUsedMB) as max_memory_used, max(record.metrics.memorySizeMB) as memory_size"
    " by @log"
)
JSON_INITS = (
    'filter type = "platform.report" and ispresent(record.metrics.initDurationMs)'
    " | fields @log, record.metrics.initDurationMs as init_ms"
)
BYTES_PER_MB = 1_000_000


@dataclass
class GroupStats:
    """What one log group's REPORT records said over one time range."""

    invocations: int = 0
    cold_starts: int = 0
    max_memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    init_durations: BoundedSample = field(default_factory=BoundedSample)


@dataclass
class LogScan:
    stats: dict[str, GroupStats] = field(default_factory=dict)
    """By log group name; groups without a REPORT record in the range are absent."""
    failed: dict[str, str] = field(default_factory=dict)
    """Log groups whose records could not be read, with the reason."""
    queries: int = 0


@dataclass(frozen=True)
class ScanSettings:
    max_concurrent_queries: int = 20
    """Below the account's quota of 100 concurrent Logs Insights queries, leaving room for people."""
    deadline_seconds: float = 300.0
    poll_seconds: float = 1.0
    sample_capacity: int = 500
    max_rows: int = MAX_ROWS
    """Rows a query may return; a range that fills it is split (Insights' own cap is 10,000)."""


def scan_report_records(
    logs: Any,
    groups: dict[str, str],
    start: datetime,
    end: datetime,
    settings: ScanSettings = ScanSettings(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    must_stop: Callable[[], bool] = lambda: False,
) -> LogScan:
    """Scan [start, end) of each log group; `groups` maps a log group name to its format (Text or JSON).

    A query still running at its deadline, or when `must_stop()` says so (the Lambda deadline is
    near), is stopped with StopQuery, and its groups are reported as failed: none is left running.
    """
    scan = LogScan()
    batches = []
    for log_format in ("Text", "JSON"):
        names = sorted(name for name, fmt in groups.items() if fmt == log_format)
        batches += [
            (log_format, names[i : i + MAX_LOG_GROUPS_PER_QUERY])
            for i in range(0, len(names), MAX_LOG_GROUPS_PER_QUERY)
        ]
    runner = _QueryRunner(logs, settings, clock, sleep, must_stop)
    with ThreadPoolExecutor(max_workers=max(1, settings.max_concurrent_queries)) as pool:
        jobs = [pool.submit(_scan_batch, runner, fmt, names, start, end, settings) for fmt, names in batches]
        for job in jobs:
            stats, failed = job.result()
            scan.stats.update(stats)
            scan.failed.update(failed)
    scan.queries = runner.started
    return scan


def _scan_batch(
    runner: _QueryRunner, log_format: str, names: list[str], start: datetime, end: datetime, settings: ScanSettings
) -> tuple[dict[str, GroupStats], dict[str, str]]:
    totals_query, inits_query = (TEXT_TOTALS, TEXT_INITS) if log_format == "Text" else (JSON_TOTALS, JSON_INITS)
    stats: dict[str, GroupStats] = {}
    try:
        for row in runner.rows(totals_query, names, start, end):
            parsed = totals_from_row(row, log_format, settings.sample_capacity)
            if parsed is not None:
                stats[parsed[0]] = parsed[1]
        for row in runner.rows(inits_query, names, start, end):
            init = init_duration_from_row(row)
            if init is not None and init[0] in stats:
                stats[init[0]].init_durations.add(init[1])
    except READ_ERRORS as error:
        return {}, {name: describe_error(error) for name in names}
    except QueryFailed as failure:
        return {}, {name: str(failure) for name in names}
    return stats, {}


class QueryFailed(RuntimeError):
    pass


class _QueryRunner:
    def __init__(
        self,
        logs: Any,
        settings: ScanSettings,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        must_stop: Callable[[], bool],
    ):
        self.logs, self.settings, self.clock, self.sleep, self.must_stop = logs, settings, clock, sleep, must_stop
        self.started = 0

    def rows(self, query: str, names: Sequence[str], start: datetime, end: datetime) -> list[dict[str, str]]:
        """All result rows for [start, end); a range that hits the row cap is split in halves."""
        rows = self._run(query, names, start, end)
        if len(rows) < self.settings.max_rows or end - start <= MIN_SPLIT:
            return rows
        middle = start + (end - start) / 2
        return self.rows(query, names, start, middle) + self.rows(query, names, middle, end)

    def _run(self, query: str, names: Sequence[str], start: datetime, end: datetime) -> list[dict[str, str]]:
        if self.must_stop():
            raise QueryFailed(STOPPED_EARLY)
        # Insights takes whole seconds, both ends inclusive: end - 1 keeps [start, end) half-open.
        query_id = self.logs.start_query(
            logGroupNames=list(names),
            startTime=int(start.timestamp()),
            endTime=int(end.timestamp()) - 1,
            queryString=query,
            limit=self.settings.max_rows,
        )["queryId"]
        self.started += 1
        deadline = self.clock() + self.settings.deadline_seconds
        while True:
            response = self.logs.get_query_results(queryId=query_id)
            status = response.get("status")
            if status == "Complete":
                return [{cell["field"]: cell["value"] for cell in row} for row in response.get("results", [])]
            if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
                raise QueryFailed(f"Logs Insights query {status.lower()}")
            if self.clock() >= deadline:
                self.logs.stop_query(queryId=query_id)
                raise QueryFailed(f"Logs Insights query still {status} after {self.settings.deadline_seconds:.0f} s")
            if self.must_stop():
                self.logs.stop_query(queryId=query_id)
                raise QueryFailed(STOPPED_EARLY)
            self.sleep(self.settings.poll_seconds)


def totals_from_row(row: Mapping[str, Any], log_format: str, sample_capacity: int) -> tuple[str, GroupStats] | None:
    """One log group's totals from a totals-query row; None for a row that names no log group.

    Insights returns every value as a string. A count that is not a whole number >= 0, or a memory
    figure that is not a finite number > 0, is read as absent rather than trusted.
    """
    group = _group_name(row.get("@log"))
    if not group:
        return None
    to_mb = (lambda v: v / BYTES_PER_MB) if log_format == "Text" else (lambda v: v)
    max_used, size = _number(row.get("max_memory_used")), _number(row.get("memory_size"))
    return group, GroupStats(
        invocations=_count(row.get("invocations")),
        cold_starts=_count(row.get("cold_starts")),
        max_memory_used_mb=to_mb(max_used) if max_used is not None and max_used > 0 else None,
        memory_size_mb=to_mb(size) if size is not None and size > 0 else None,
        init_durations=BoundedSample(capacity=sample_capacity, seed=group),
    )


def init_duration_from_row(row: Mapping[str, Any]) -> tuple[str, float] | None:
    """(log group, init duration in ms) from an init-duration row; None unless both are there and sane."""
    group, value = _group_name(row.get("@log")), _number(row.get("init_ms"))
    if not group or value is None or value < 0:
        return None
    return group, value


def _group_name(log: Any) -> str:
    """@log is "account-id:log-group-name"."""
    if not isinstance(log, str):
        return ""
    return log.split(":", 1)[1] if ":" in log else log


def _number(value: Any) -> float | None:
    """A finite number from Insights' text, or None."""
    if not isinstance(value, str | int | float) or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number >= 0 and number == int(number) else 0
