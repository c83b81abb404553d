"""REPORT records through CloudWatch Logs Insights: invocations, on-demand cold starts, init durations, memory.

Up to 50 log groups a query, queries run concurrently under a limit below the account's quota of
concurrent queries, each polled until a deadline and stopped if it runs past it. StartQuery takes a
limit of up to 100,000 rows and GetQueryResults pages them, 10,000 a page, with nextToken
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html:
"You can retrieve up to 100,000 log event results from a query ... by using pagination"): every
page is read, and a query that returns its row limit is split in two time halves and run again, so
no row is lost. Each query's ``statistics.bytesScanned`` (what Insights bills) is added up.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html

When a query fails, one bad log group must not blind the other 49: a batch whose StartQuery is
refused (a group deleted since it was listed, access denied on one group, a group Insights cannot
query) or whose query ends Failed is bisected until the groups that fail are alone; throttling,
service errors and a malformed query are not a group's fault and fail the batch as they are. Once
eight groups of a batch have been bisected down to groups that each failed for the same reason
(every one of them denied, say), that reason is the account's, not a group's, and the batches
failing for it are not bisected further. A query that times out
(Insights' Timeout status, or still running at the deadline) is split into its two time halves and
each is run once more; a half that times out again makes its groups a gap.

Each batch of log groups has two queries: the totals (a ``stats`` by log group) and the init durations
(one row per cold start). Several adjacent ranges (a first audit's baseline and window) are read with
their own totals queries but one init-duration query over all of them: its rows carry their time
(``toMillis(@timestamp)``, a documented datetime function) and are told apart by it, so a first audit
runs three queries a batch where four would read the same records (Insights bills the bytes scanned,
the same either way). Every query is a task of its own in the shared pool of concurrent queries.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html
How GetQueryResults prints a number, toMillis' among them, is undocumented: it is read as any number.

Init Duration is read from the text REPORT line with ``parse``: Insights' discovered-fields table
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)
lists @type, @requestId, @duration, @billedDuration, @memorySize and @maxMemoryUsed for Lambda, not
@initDuration; whether Insights discovers that one is undocumented, and nothing here depends on it.

Cold starts are on-demand initialisations. Provisioned-concurrency environments are initialised
ahead of their first invocation, and that invocation's REPORT carries an Init Duration all the
same; SnapStart restores report a Restore Duration instead. In the text format nothing tells a
provisioned initialisation from an on-demand one, so text-format cold starts include provisioned
ones (the cold-start check does not judge a window in which the function ran on provisioned
concurrency). In the JSON format each execution environment writes to a log stream of its own,
opened by its ``platform.initStart`` / ``platform.initReport`` with ``initializationType``
(https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html): a
``platform.report`` with ``initDurationMs`` counts as a cold start only when its stream's
initialisation was ``on-demand``. One whose stream's initialisation is not in the span read (a
provisioned environment initialised earlier, or an on-demand one whose init straddled the span's
start) is not counted; a first audit reads its baseline and window as one span for this.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from botocore.exceptions import ClientError

from ..stats import BoundedSample
from .errors import READ_ERRORS, STOPPED_EARLY, MalformedResponse, describe_error

MAX_LOG_GROUPS_PER_QUERY = 50
MAX_ROWS = 100_000
"""StartQuery's largest limit: "The maximum limit is 100,000"."""
RESULTS_PAGE = 10_000
"""GetQueryResults' maxItems: "The maximum is 10,000 log events per request"."""
MIN_SPLIT = timedelta(minutes=1)

# Lambda's text REPORT line: @type, @maxMemoryUsed and @memorySize are discovered fields (memory in bytes,
# as AWS's sample queries divide by 1000 twice); Init Duration is parsed from the message, as AWS's
# SnapStart sample query parses Restore Duration.
_PARSE_INIT = r"parse @message /Init Duration: (?<init_ms>[0-9.]+) ms/"
TEXT_TOTALS = (
    f'filter @type = "REPORT" | {_PARSE_INIT}'
    " | stats count(*) as invocations, count(init_ms) as cold_starts,"
    " max(@maxMemoryUsed) as max_memory_used, max(@memorySize) as memory_size, sum(@billedDuration) as billed_ms"
    " by @log"
)
TEXT_INITS = (
    f'filter @type = "REPORT" | {_PARSE_INIT} | filter ispresent(init_ms)'
    " | fields @log, toMillis(@timestamp) as at_ms, init_ms"
)
# The JSON log format's platform records:
# https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
JSON_TOTALS = (
    'filter type = "platform.report"'
    " | stats count(*) as invocations, max(record.metrics.maxMemoryUsedMB) as max_memory_used,"
    " max(record.metrics.memorySizeMB) as memory_size, sum(record.metrics.billedDurationMs) as billed_ms by @log"
)
JSON_INITS = (
    'filter type in ["platform.initStart", "platform.initReport"]'
    ' or (type = "platform.report" and ispresent(record.metrics.initDurationMs))'
    " | fields @log, @logStream, toMillis(@timestamp) as at_ms, type, record.initializationType as init_type,"
    " record.metrics.initDurationMs as init_ms"
)
BYTES_PER_MB = 1_000_000

#: Groups of one batch that, bisected one by one, all failed for the same reason: the reason is the account's.
ACCOUNT_WIDE_AFTER = 8
#: Errors that are no log group's fault: bisecting the batch would only multiply them.
NOT_A_GROUPS_FAULT = frozenset(
    {
        "ThrottlingException",
        "LimitExceededException",
        "ServiceUnavailableException",
        "MalformedQueryException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)


@dataclass
class GroupStats:
    """What one log group's REPORT records said over one time range."""

    invocations: int = 0
    cold_starts: int = 0
    max_memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    init_durations: BoundedSample = field(default_factory=BoundedSample)
    billed_duration_ms: float = 0.0
    """Billed Duration added up over the REPORT records: what Lambda bills in GB-seconds, with memory_size_mb."""


@dataclass
class LogScan:
    stats: dict[str, GroupStats] = field(default_factory=dict)
    """By log group name; groups without a REPORT record in the range are absent."""
    failed: dict[str, str] = field(default_factory=dict)
    """Log groups whose records could not be read, with the reason."""
    queries: int = 0
    bytes_scanned: int = 0
    """The sum of the queries' statistics.bytesScanned: what Logs Insights bills."""
    query_bytes: tuple[int, ...] = ()
    """statistics.bytesScanned of each query started, in the order they ended."""


@dataclass
class RangeScan:
    """What one of several ranges read together holds: its statistics and its failed groups, as in LogScan."""

    stats: dict[str, GroupStats] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class RangesScan:
    """Adjacent ranges read together: each range's statistics, and the queries of all of them (the
    init-duration queries span the ranges, so their queries and bytes belong to no one range)."""

    ranges: list[RangeScan] = field(default_factory=list)
    queries: int = 0
    bytes_scanned: int = 0
    query_bytes: tuple[int, ...] = ()


@dataclass(frozen=True)
class ScanSettings:
    max_concurrent_queries: int = 20
    """Below the account's quota of 100 concurrent Logs Insights queries, leaving room for people."""
    deadline_seconds: float = 300.0
    poll_seconds: float = 1.0
    sample_capacity: int = 500
    max_rows: int = MAX_ROWS
    """Rows a query may return (StartQuery's limit); a range that fills it is split."""
    page_size: int = RESULTS_PAGE
    """Rows a GetQueryResults page may hold (maxItems)."""


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
    near), is stopped with StopQuery: none is left running. A stop for the Lambda deadline makes
    its groups failed with :data:`STOPPED_EARLY`.
    """
    scans = scan_ranges(logs, [(groups, start, end)], settings, clock, sleep, must_stop)
    return LogScan(
        stats=scans.ranges[0].stats,
        failed=scans.ranges[0].failed,
        queries=scans.queries,
        bytes_scanned=scans.bytes_scanned,
        query_bytes=scans.query_bytes,
    )


def scan_ranges(
    logs: Any,
    ranges: Sequence[tuple[Mapping[str, str], datetime, datetime]],
    settings: ScanSettings = ScanSettings(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    must_stop: Callable[[], bool] = lambda: False,
) -> RangesScan:
    """Scan adjacent (groups, start, end) ranges, each as scan_report_records does: a totals query for each
    batch of a range's groups, and one init-duration query for each batch of all the ranges' groups over
    all of them, its rows told apart by their time. Every query is a task of one pool of
    `max_concurrent_queries`: never more queries in flight than the settings allow."""
    for (_, _, end), (_, start, _) in zip(ranges, ranges[1:], strict=False):
        if start != end:
            raise ValueError(f"scan_ranges reads adjacent ranges: one ends at {end}, the next starts at {start}")
    runner = _QueryRunner(logs, settings, clock, sleep, must_stop)
    formats = {name: fmt for groups, _, _ in ranges for name, fmt in groups.items()}
    with ThreadPoolExecutor(max_workers=max(1, settings.max_concurrent_queries)) as pool:
        totals_jobs = [
            [pool.submit(_scan_batch, runner, _read_totals, fmt, names, start, end) for fmt, names in _batches(groups)]
            for groups, start, end in ranges
        ]
        init_jobs = [
            pool.submit(_scan_batch, runner, _read_inits, fmt, names, ranges[0][1], ranges[-1][2])
            for fmt, names in _batches(formats)
        ]
        inits, inits_failed = _merged(job.result() for job in init_jobs)
        scans = []
        for (groups, start, end), jobs in zip(ranges, totals_jobs, strict=True):
            totals, failed = _merged(job.result() for job in jobs)
            failed.update((name, reason) for name, reason in inits_failed.items() if name in groups)
            scans.append(_range_scan(totals, failed, inits, formats, start, end))
    return RangesScan(
        ranges=scans,
        queries=runner.started,
        bytes_scanned=sum(runner.query_bytes),
        query_bytes=tuple(runner.query_bytes),
    )


def _merged(results: Iterable[tuple[dict[str, Any], dict[str, str]]]) -> tuple[dict[str, Any], dict[str, str]]:
    found: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for part, part_failed in results:
        found.update(part)
        failed.update(part_failed)
    return found, failed


def _range_scan(
    totals: dict[str, GroupStats],
    failed: dict[str, str],
    inits: Mapping[str, Sequence[tuple[float, float]]],
    formats: Mapping[str, str],
    start: datetime,
    end: datetime,
) -> RangeScan:
    """One range's totals with the init durations of its own time; a group whose inits failed has failed."""
    start_ms, end_ms = start.timestamp() * 1000, end.timestamp() * 1000
    stats = {name: group_stats for name, group_stats in totals.items() if name not in failed}
    for name, group_stats in stats.items():
        values = [value for at_ms, value in inits.get(name, ()) if start_ms <= at_ms < end_ms]
        for value in values:
            group_stats.init_durations.add(value)
        if formats[name] == "JSON":  # the on-demand inits; the text totals query counts the cold starts itself
            group_stats.cold_starts = len(values)
    return RangeScan(stats=stats, failed=failed)


def _batches(groups: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """The groups in queries of at most MAX_LOG_GROUPS_PER_QUERY, one log format per query."""
    batches = []
    for log_format in ("Text", "JSON"):
        names = sorted(name for name, fmt in groups.items() if fmt == log_format)
        batches += [
            (log_format, names[i : i + MAX_LOG_GROUPS_PER_QUERY])
            for i in range(0, len(names), MAX_LOG_GROUPS_PER_QUERY)
        ]
    return batches


#: One query over a batch: (runner, log format, group names, start, end) -> what it read, by log group.
BatchRead = Callable[["_QueryRunner", str, list[str], datetime, datetime], dict[str, Any]]


def _scan_batch(
    runner: _QueryRunner, read: BatchRead, log_format: str, names: list[str], start: datetime, end: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    """What `read` found by log group; on a failure that may be one group's, the batch's halves, each on its own."""
    try:
        return read(runner, log_format, names, start, end), {}
    except (*READ_ERRORS, QueryFailed) as error:
        reason = _reason(error)
        if len(names) == 1 or not _may_be_one_groups_fault(error) or runner.is_account_wide(reason):
            return {}, {name: reason for name in names}
    middle = len(names) // 2
    found, failed = _merged(
        _scan_batch(runner, read, log_format, half, start, end) for half in (names[:middle], names[middle:])
    )
    if not found and len(set(failed.values())) == 1 and len(names) >= ACCOUNT_WIDE_AFTER:
        runner.learn_account_wide(next(iter(failed.values())))
    return found, failed


def _read_totals(
    runner: _QueryRunner, log_format: str, names: list[str], start: datetime, end: datetime
) -> dict[str, GroupStats]:
    query = TEXT_TOTALS if log_format == "Text" else JSON_TOTALS
    return merge_totals(runner.rows(query, names, start, end), log_format, runner.settings.sample_capacity)


def _read_inits(
    runner: _QueryRunner, log_format: str, names: list[str], start: datetime, end: datetime
) -> dict[str, list[tuple[float, float]]]:
    """(time in epoch ms, init duration in ms) of each cold start, by log group: every init of the text format,
    the on-demand ones of the JSON format."""
    if log_format == "Text":
        found: dict[str, list[tuple[float, float]]] = {}
        for row in runner.rows(TEXT_INITS, names, start, end):
            init = init_duration_from_row(row)
            if init is not None:
                found.setdefault(init[0], []).append(init[1:])
        return found
    return on_demand_inits(runner.rows(JSON_INITS, names, start, end))


#: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html (status)
QUERY_STATUSES = ("Scheduled", "Running", "Complete", "Failed", "Cancelled", "Timeout", "Unknown")
RUNNING_STATUSES = ("Scheduled", "Running")


class QueryFailed(RuntimeError):
    """A query that ended without results: Failed, Cancelled, Unknown, or stopped."""


class QueryTimedOut(QueryFailed):
    """A query that timed out: Insights' Timeout status, or still running at the deadline."""


def _reason(error: Exception) -> str:
    return str(error) if isinstance(error, QueryFailed) else describe_error(error)


def _may_be_one_groups_fault(error: Exception) -> bool:
    """A refused StartQuery or a Failed query may come from one log group; throttling or a timeout does not."""
    if isinstance(error, QueryTimedOut) or str(error) == STOPPED_EARLY:
        return False
    if isinstance(error, QueryFailed):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        return code not in NOT_A_GROUPS_FAULT and status < 500
    return False


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
        self.query_bytes: list[int] = []
        self._account_wide: set[str] = set()
        self._lock = threading.Lock()

    def is_account_wide(self, reason: str) -> bool:
        with self._lock:
            return reason in self._account_wide

    def learn_account_wide(self, reason: str) -> None:
        with self._lock:
            self._account_wide.add(reason)

    def rows(
        self, query: str, names: Sequence[str], start: datetime, end: datetime, retried: bool = False
    ) -> list[dict[str, str]]:
        """All result rows for [start, end).

        A range that hits the row cap is split in halves; a range whose query times out is split
        in halves too, each run once more (a half that times out again raises).
        """
        try:
            rows = self._run(query, names, start, end)
        except QueryTimedOut:
            if retried or end - start <= MIN_SPLIT:
                raise
            middle = start + (end - start) / 2
            try:
                return self.rows(query, names, start, middle, retried=True) + self.rows(
                    query, names, middle, end, retried=True
                )
            except QueryTimedOut as again:
                raise QueryTimedOut(f"{again}, and again when retried on half of the range") from None
        if len(rows) < self.settings.max_rows or end - start <= MIN_SPLIT:
            return rows
        middle = start + (end - start) / 2
        return self.rows(query, names, start, middle, retried) + self.rows(query, names, middle, end, retried)

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
        with self._lock:
            self.started += 1
        deadline = self.clock() + self.settings.deadline_seconds
        response: Mapping[str, Any] = {}
        try:
            while True:
                response = self.logs.get_query_results(queryId=query_id, maxItems=self.settings.page_size)
                status = response.get("status")
                if status == "Complete":
                    return self._all_pages(query_id, response)
                if status == "Timeout":
                    raise QueryTimedOut("Logs Insights query timed out")
                if status in ("Failed", "Cancelled", "Unknown"):
                    raise QueryFailed(f"Logs Insights query {status.lower()}")
                if status not in RUNNING_STATUSES:
                    self.logs.stop_query(queryId=query_id)
                    raise MalformedResponse(
                        f"GetQueryResults answered status {status!r}, none of the documented"
                        f" {', '.join(QUERY_STATUSES)}"
                    )
                if self.clock() >= deadline:
                    self.logs.stop_query(queryId=query_id)
                    raise QueryTimedOut(
                        f"Logs Insights query still {status} after {self.settings.deadline_seconds:.0f} s"
                    )
                if self.must_stop():
                    self.logs.stop_query(queryId=query_id)
                    raise QueryFailed(STOPPED_EARLY)
                self.sleep(self.settings.poll_seconds)
        finally:
            self._record_bytes(response)

    def _all_pages(self, query_id: str, first: Mapping[str, Any]) -> list[dict[str, str]]:
        rows = _rows(first)
        token = first.get("nextToken")
        while token:
            page = self.logs.get_query_results(queryId=query_id, nextToken=token, maxItems=self.settings.page_size)
            rows += _rows(page)
            token = page.get("nextToken")
        return rows

    def _record_bytes(self, response: Mapping[str, Any]) -> None:
        """The last answer's statistics.bytesScanned: a stopped query is billed for what it scanned too."""
        scanned = _number((response.get("statistics") or {}).get("bytesScanned"))
        with self._lock:
            self.query_bytes.append(int(scanned) if scanned is not None and scanned > 0 else 0)


def _rows(response: Mapping[str, Any]) -> list[dict[str, str]]:
    """The result rows; every query here groups or lists by @log, so a row without it is a malformed answer
    (dropping it would make a function look as if it wrote no REPORT record)."""
    rows = [
        {cell["field"]: cell["value"] for cell in row if isinstance(cell, Mapping) and "field" in cell}
        for row in response.get("results") or []
    ]
    if any(not _group_name(row.get("@log")) for row in rows):
        raise MalformedResponse("GetQueryResults returned rows without the @log field every query here asks for")
    return rows


def merge_totals(rows: Iterable[Mapping[str, Any]], log_format: str, sample_capacity: int) -> dict[str, GroupStats]:
    """Each log group's totals; the rows of a range read in parts add up (counts) or take the largest (memory)."""
    merged: dict[str, GroupStats] = {}
    for row in rows:
        parsed = totals_from_row(row, log_format, sample_capacity)
        if parsed is None:
            continue
        group, part = parsed
        known = merged.get(group)
        if known is None:
            merged[group] = part
            continue
        known.invocations += part.invocations
        known.cold_starts += part.cold_starts
        known.max_memory_used_mb = _larger(known.max_memory_used_mb, part.max_memory_used_mb)
        known.memory_size_mb = _larger(known.memory_size_mb, part.memory_size_mb)
        known.billed_duration_ms += part.billed_duration_ms
    return merged


def totals_from_row(row: Mapping[str, Any], log_format: str, sample_capacity: int) -> tuple[str, GroupStats] | None:
    """One log group's totals from a totals-query row; None for a row that names no log group.

    Insights returns every value as a string. A count that is not a whole number >= 0, or a memory or
    billed-duration figure that is not a finite number > 0, is read as absent rather than trusted.
    """
    group = _group_name(row.get("@log"))
    if not group:
        return None
    to_mb = (lambda v: v / BYTES_PER_MB) if log_format == "Text" else (lambda v: v)
    max_used, size = _number(row.get("max_memory_used")), _number(row.get("memory_size"))
    billed = _number(row.get("billed_ms"))
    return group, GroupStats(
        invocations=_count(row.get("invocations")),
        cold_starts=_count(row.get("cold_starts")),
        max_memory_used_mb=to_mb(max_used) if max_used is not None and max_used > 0 else None,
        memory_size_mb=to_mb(size) if size is not None and size > 0 else None,
        init_durations=BoundedSample(capacity=sample_capacity, seed=group),
        billed_duration_ms=billed if billed is not None and billed > 0 else 0.0,
    )


def init_duration_from_row(row: Mapping[str, Any]) -> tuple[str, float, float] | None:
    """(log group, time in epoch ms, init duration in ms) from an init-duration row; None unless all three are
    there and sane."""
    group, at_ms, value = _group_name(row.get("@log")), _number(row.get("at_ms")), _number(row.get("init_ms"))
    if not group or at_ms is None or value is None or value < 0:
        return None
    return group, at_ms, value


def on_demand_inits(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """By log group, (time in epoch ms, init duration) of the JSON platform.report records whose environment was
    initialised on demand.

    Rows are platform.initStart / platform.initReport records (their initializationType) and
    platform.report records with an initDurationMs; they are matched by log group and log stream,
    since each execution environment writes to a stream of its own.
    """
    init_types: dict[tuple[str, str], str] = {}
    reports: list[tuple[str, str, float, float]] = []
    for row in rows:
        group, stream = _group_name(row.get("@log")), row.get("@logStream")
        if not group or not isinstance(stream, str):
            continue
        if row.get("type") in ("platform.initStart", "platform.initReport"):
            if isinstance(row.get("init_type"), str):
                init_types[(group, stream)] = row["init_type"]
        elif row.get("type") == "platform.report":
            at_ms, value = _number(row.get("at_ms")), _number(row.get("init_ms"))
            if at_ms is not None and value is not None and value >= 0:
                reports.append((group, stream, at_ms, value))
    found: dict[str, list[tuple[float, float]]] = {}
    for group, stream, at_ms, value in reports:
        if init_types.get((group, stream)) == "on-demand":
            found.setdefault(group, []).append((at_ms, value))
    return found


def _larger(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


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
