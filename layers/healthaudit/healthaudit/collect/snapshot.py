"""Collect a snapshot of one account and region: every source read once, failures kept as gaps."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable

from aws_lambda_powertools import Tracer

from ..config import AuditConfig
from ..model import (
    AccountSettings,
    AccountSnapshot,
    AuditWindow,
    CoverageGap,
    DataSource,
    EventSource,
    FunctionSnapshot,
    LogStats,
    MetricWindow,
)
from ..state import History, merge_log_stats
from ..stats import BoundedSample
from . import inventory, lookups, xray
from .clients import AwsClients
from .errors import READ_ERRORS, STOPPED_EARLY, describe_error
from .log_records import GroupStats, ScanSettings, scan_report_records
from .metrics import (
    ACCOUNT_METRICS,
    ACTIVITY_METRICS,
    STREAM_METRICS,
    WORK_METRICS,
    MetricRequest,
    MetricResults,
    fetch_metrics,
)

Progress = Callable[[str, int, int], None]
# One subsegment per data source in the auditor's own traces; a no-op outside Lambda.
tracer = Tracer()

# What each data source needs from IAM; checks declare their own, and the template grants the union.
SOURCE_PERMISSIONS: dict[DataSource, tuple[str, ...]] = {
    DataSource.INVENTORY: ("lambda:ListFunctions",),
    DataSource.TAGS: ("tag:GetResources",),
    DataSource.EVENT_SOURCE_MAPPINGS: ("lambda:ListEventSourceMappings",),
    DataSource.ACCOUNT_SETTINGS: ("lambda:GetAccountSettings",),
    DataSource.METRICS: ("cloudwatch:GetMetricData",),
    DataSource.RESERVED_CONCURRENCY: ("lambda:GetFunctionConcurrency",),
    DataSource.EVENT_INVOKE_CONFIG: ("lambda:ListFunctionEventInvokeConfigs",),
    DataSource.LOG_GROUPS: ("logs:DescribeLogGroups",),
    DataSource.REPORT_RECORDS: ("logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery"),
    DataSource.ROLE_PERMISSIONS: ("iam:SimulatePrincipalPolicy",),
    DataSource.SERVICE_GRAPH: ("xray:GetServiceGraph",),
}


@dataclass
class _Collected:
    """Scratch space while the sources are read; becomes an immutable AccountSnapshot."""

    configs: list[dict[str, Any]]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    event_sources: dict[str, list[EventSource]] = field(default_factory=dict)
    unread: dict[str, dict[DataSource, str]] = field(default_factory=dict)
    gaps: list[CoverageGap] = field(default_factory=list)

    def unread_for_all(self, source: DataSource, reason: str) -> None:
        """An account-wide gap: the checks that need this source run on no function."""
        self.gaps.append(CoverageGap(source=source, reason=reason))

    def unread_for(self, arn: str, source: DataSource, reason: str) -> None:
        self.unread.setdefault(arn, {})[source] = reason


@tracer.capture_method(capture_response=False)
def collect_snapshot(
    clients: AwsClients,
    config: AuditConfig,
    window: AuditWindow,
    account: str,
    progress: Progress | None = None,
    history: History | None = None,
    time_left: Callable[[], float] | None = None,
) -> tuple[AccountSnapshot, int]:
    """The account snapshot and the number of metric queries it took.

    `time_left` (seconds, e.g. from the Lambda context) lets the audit stop reading before its
    deadline: the sources not read yet become coverage gaps, so what was read is still published.
    """
    history = history or History()
    # The default log groups are paged on a thread of their own from the start: at DescribeLogGroups' 5 TPS
    # (ListFunctions has 15), a fleet's log groups take longer to list than its functions, tags and metrics.
    with _DefaultLogGroups(clients.client("logs")) as default_groups:
        return _collect(clients, config, window, account, progress, history, time_left, default_groups)


def _collect(
    clients: AwsClients,
    config: AuditConfig,
    window: AuditWindow,
    account: str,
    progress: Progress | None,
    history: History,
    time_left: Callable[[], float] | None,
    default_groups: _DefaultLogGroups,
) -> tuple[AccountSnapshot, int]:
    enough_time = _time_keeper(time_left)
    report = progress or (lambda stage, done, total: None)
    lambda_client = clients.client("lambda")
    try:
        configs = inventory.list_functions(lambda_client)
    except READ_ERRORS as error:
        gap = CoverageGap(source=DataSource.INVENTORY, reason=describe_error(error))
        return AccountSnapshot(account, clients.region, window, functions=(), gaps=(gap,)), 0
    report("inventory", len(configs), len(configs))
    state = _Collected(configs=configs)

    try:
        state.tags = inventory.list_function_tags(clients.client("resourcegroupstaggingapi"))
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.TAGS, describe_error(error))
    state.configs = [c for c in configs if config.in_scope(_scope_document(c, state.tags))]
    if not any(_log_group(c).startswith(inventory.DEFAULT_LOG_GROUP_PREFIX) for c in state.configs):
        default_groups.stop()  # no function in scope logs to a default group: the pages are not needed

    try:
        state.event_sources = inventory.list_event_sources(lambda_client)
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.EVENT_SOURCE_MAPPINGS, describe_error(error))

    settings: AccountSettings | None = None
    try:
        settings = inventory.get_account_settings(lambda_client)
    except READ_ERRORS as error:
        state.gaps.append(CoverageGap(source=DataSource.ACCOUNT_SETTINGS, reason=describe_error(error)))

    metrics, metric_queries = _fleet_metrics(clients.client("cloudwatch"), state, window, report)
    for owner, reason in metrics.failed.items():
        if owner == "account":
            state.gaps.append(CoverageGap(source=DataSource.METRICS, reason=reason))
        else:
            state.unread_for(owner, DataSource.METRICS, reason)

    by_owner = _points_by_owner(metrics)
    windows = {arn: _split(by_owner.get(arn, {}), window) for arn in (c["FunctionArn"] for c in state.configs)}
    reserved, destinations, retention = {}, {}, None
    logs, permissions, graph = _LogRecords(), {}, {}
    if enough_time(state, DataSource.RESERVED_CONCURRENCY, DataSource.EVENT_INVOKE_CONFIG, DataSource.LOG_GROUPS):
        # Fetched anew: once time is short, the clients retry less (AwsClients.client).
        reserved = _reserved_concurrency(clients.client("lambda"), state, windows, settings, deadline_guard(time_left))
        destinations = _failure_destinations(clients.client("lambda"), state, windows, deadline_guard(time_left))
        retention = _log_retention(clients.client("logs"), default_groups, state)
    else:
        default_groups.stop()
    report("lookups", 1, 1)
    if enough_time(state, DataSource.REPORT_RECORDS):
        logs = _report_records(
            clients.client("logs"), state, retention, window, history, config, windows, deadline_guard(time_left)
        )
    report("logs", 1, 1)
    if enough_time(state, DataSource.ROLE_PERMISSIONS, DataSource.SERVICE_GRAPH):
        permissions, graph = _tracing(clients, state, window, deadline_guard(time_left))
    report("traces", 1, 1)

    functions = tuple(
        replace(
            _function_snapshot(
                c, state, windows[c["FunctionArn"]], reserved, destinations, retention, account, clients.region, window
            ),
            logs_current=logs.current.get(c["FunctionArn"]),
            logs_baseline=logs.baseline.get(c["FunctionArn"]),
            fingerprint=fingerprint(c),
            role=c.get("Role", ""),
            xray_permission=permissions.get(c.get("Role", ""), xray.UNANSWERED).decisions,
            xray_denied_by_scp=permissions.get(c.get("Role", ""), xray.UNANSWERED).denied_by_scp,
            trace_node=graph.get(c["FunctionName"]),
        )
        for c in state.configs
    )
    account_current, _ = _split(by_owner.get("account", {}), window)
    snapshot = AccountSnapshot(
        account=account,
        region=clients.region,
        window=window,
        functions=functions,
        settings=settings,
        current=account_current,
        gaps=tuple(state.gaps),
        log_stats={arn: tuple(ranges) for arn, ranges in logs.scanned.items()},
        log_scan=logs.scan_range,
        logs_bytes_scanned=logs.bytes_scanned,
    )
    return snapshot, metric_queries


#: What the checks, the hourly series and storing the report need after the last source is read.
RESERVE_SECONDS = 60.0


def deadline_guard(time_left: Callable[[], float] | None) -> Callable[[], bool]:
    """True once less time is left than the checks and storing the report need."""
    return lambda: time_left is not None and time_left() < RESERVE_SECONDS


def _time_keeper(time_left: Callable[[], float] | None) -> Callable[..., bool]:
    """A guard before each optional stage: once time runs short, it and every later stage become gaps."""
    stopped = False
    deadline_near = deadline_guard(time_left)

    def enough_time(state: _Collected, *sources: DataSource) -> bool:
        nonlocal stopped
        if not stopped and deadline_near():
            stopped = True
        if stopped:
            for source in sources:
                state.unread_for_all(source, STOPPED_EARLY)
        return not stopped

    return enough_time


def _scope_document(config: dict[str, Any], tags: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {**config, "Tags": tags.get(config["FunctionArn"], {})}


def _fleet_metrics(
    cloudwatch: Any, state: _Collected, window: AuditWindow, report: Progress
) -> tuple[MetricResults, int]:
    """Every function's metrics over the baseline and the current window, one datapoint per window.

    Two passes: the activity metrics of every function (and the account's), then the other metrics
    of the functions that did any work. In an account of mostly idle functions that is a fraction
    of the queries; when every function works it is the same number.
    """

    def fetch(requests: list[MetricRequest]) -> MetricResults:
        return fetch_metrics(
            cloudwatch,
            requests,
            window.baseline_start,
            window.end,
            int(window.length.total_seconds()),
            progress=lambda done, total: report("metrics", done, total),
        )

    first = [
        MetricRequest(owner=c["FunctionArn"], metric=m, function_name=c["FunctionName"])
        for c in state.configs
        for m in ACTIVITY_METRICS
    ]
    first += [MetricRequest(owner="account", metric=metric) for metric in ACCOUNT_METRICS]
    results = fetch(first)
    worked = [
        c
        for c in state.configs
        if c["FunctionArn"] not in results.failed
        and any(
            value > 0 for metric in ACTIVITY_METRICS for _, value in results.points.get((c["FunctionArn"], metric), ())
        )
    ]
    second = [
        MetricRequest(owner=c["FunctionArn"], metric=metric, function_name=c["FunctionName"])
        for c in worked
        for metric in WORK_METRICS + (STREAM_METRICS if _reads_a_stream(c, state) else ())
    ]
    if second:
        more = fetch(second)
        results.points.update(more.points)
        results.failed.update(more.failed)
        results.calls += more.calls
    return results, len(first) + len(second)


def _reads_a_stream(config: dict[str, Any], state: _Collected) -> bool:
    return any(source.is_stream for source in state.event_sources.get(config["FunctionArn"], []))


def _points_by_owner(metrics: MetricResults) -> dict[Any, dict[str, list[tuple[datetime, float]]]]:
    """The metric points regrouped by owner in one pass (a lookup per function would be quadratic)."""
    grouped: dict[Any, dict[str, list[tuple[datetime, float]]]] = {}
    for (owner, metric), pairs in metrics.points.items():
        grouped.setdefault(owner, {})[metric] = pairs
    return grouped


def _split(points: dict[str, list[tuple[datetime, float]]], window: AuditWindow) -> tuple[MetricWindow, MetricWindow]:
    current: dict[str, tuple[float, ...]] = {}
    baseline: dict[str, tuple[float, ...]] = {}
    for metric, pairs in points.items():
        current[metric] = tuple(v for t, v in pairs if _at_or_after(t, window.start))
        baseline[metric] = tuple(v for t, v in pairs if not _at_or_after(t, window.start))
    return MetricWindow(current), MetricWindow(baseline)


def _at_or_after(moment: datetime, start: datetime) -> bool:
    return moment >= start


@tracer.capture_method(capture_response=False)
def _reserved_concurrency(
    lambda_client: Any,
    state: _Collected,
    windows: dict,
    settings: AccountSettings | None,
    near_deadline: Callable[[], bool],
) -> dict:
    if settings is not None and settings.reserved_total <= 0:
        return {}
    throttled, active = [], []
    for config in state.configs:
        arn = config["FunctionArn"]
        current, _ = windows[arn]
        if current.sum("Throttles") > 0:
            throttled.append((current.sum("Throttles"), arn))
        elif (current.max("ConcurrentExecutions") or 0) > 0:
            active.append((current.max("ConcurrentExecutions"), arn))
    candidates = [arn for _, arn in sorted(throttled, reverse=True)] + [arn for _, arn in sorted(active, reverse=True)]
    results = lookups.reserved_concurrency(
        lambda_client, candidates, settings.reserved_total if settings else None, must_stop=near_deadline
    )
    for arn, reason in results.failed.items():
        state.unread_for(arn, DataSource.RESERVED_CONCURRENCY, reason)
    return results.values


@tracer.capture_method(capture_response=False)
def _failure_destinations(
    lambda_client: Any, state: _Collected, windows: dict, near_deadline: Callable[[], bool]
) -> dict:
    candidates = [
        config["FunctionArn"]
        for config in state.configs
        if windows[config["FunctionArn"]][0].sum("AsyncEventsReceived") > 0
        and not config.get("DeadLetterConfig", {}).get("TargetArn")
    ]
    results = lookups.failure_destinations(lambda_client, candidates, must_stop=near_deadline)
    for arn, reason in results.failed.items():
        state.unread_for(arn, DataSource.EVENT_INVOKE_CONFIG, reason)
    return results.values


@tracer.capture_method(capture_response=False)
def _log_retention(
    logs_client: Any, default_groups: _DefaultLogGroups, state: _Collected
) -> dict[str, int | None] | None:
    """Retention in days of each wanted log group that exists: the default groups' pages read in the
    background, then each custom group (LoggingConfig.LogGroup) by its own name, as
    :func:`inventory.describe_log_groups` reads them.

    A group of class DELIVERY keeps its events one day and cannot be queried by Logs Insights
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html): the
    REPORT records of the functions that log to it are a coverage gap naming the class.
    """
    wanted = {_log_group(c) for c in state.configs}
    custom = {name for name in wanted if not name.startswith(inventory.DEFAULT_LOG_GROUP_PREFIX)}
    entries: dict[str, dict[str, Any]] = {}
    try:
        if wanted - custom:
            entries = {name: entry for name, entry in default_groups.result().items() if name in wanted}
        if custom:
            entries.update(inventory.describe_log_groups(logs_client, custom))
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.LOG_GROUPS, describe_error(error))
        return None
    for config in state.configs:
        log_class = entries.get(_log_group(config), {}).get("logGroupClass")
        if log_class == "DELIVERY":
            state.unread_for(
                config["FunctionArn"],
                DataSource.REPORT_RECORDS,
                f"log group {_log_group(config)} is of class DELIVERY: Logs Insights cannot query it",
            )
    return {name: _retention_days(entry) for name, entry in entries.items()}


#: "Log events in log groups in the Delivery class are kept in CloudWatch Logs for only one day."
DELIVERY_RETENTION_DAYS = 1


def _retention_days(entry: dict[str, Any]) -> int | None:
    """retentionInDays (None: never expires); a Delivery-class group's events expire after a day whatever it says."""
    days = entry.get("retentionInDays")
    if days is None and entry.get("logGroupClass") == "DELIVERY":
        return DELIVERY_RETENTION_DAYS
    return days


class _DefaultLogGroups:
    """DescribeLogGroups pages under /aws/lambda/, read on a thread of their own while the audit goes on.

    They are read before the inventory says whether they are wanted (nearly always: a function logs to
    /aws/lambda/<name> unless LoggingConfig names another group); :meth:`stop` ends the paging after
    the page in flight when they are not, or when the audit stops early. Leaving the ``with`` block
    stops and joins the thread, so no call is made after the snapshot is returned. The boto3 client
    is shared with the calling thread (clients are thread-safe) and so is its call counter.
    """

    def __init__(self, logs_client: Any) -> None:
        self._logs = logs_client
        self._stopped = threading.Event()
        self._groups: dict[str, dict[str, Any]] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="healthaudit-log-groups", daemon=True)

    def __enter__(self) -> _DefaultLogGroups:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._thread.join()

    def stop(self) -> None:
        self._stopped.set()

    def result(self) -> dict[str, dict[str, Any]]:
        """Every group under the prefix with its DescribeLogGroups entry; raises what the paging raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._groups

    def _read(self) -> None:
        paginator = self._logs.get_paginator("describe_log_groups")
        pages = paginator.paginate(
            logGroupNamePrefix=inventory.DEFAULT_LOG_GROUP_PREFIX,
            PaginationConfig={"PageSize": inventory.LOG_GROUPS_PAGE},
        )
        try:
            for page in pages:
                for group in page.get("logGroups") or []:
                    if group.get("logGroupName"):
                        self._groups[group["logGroupName"]] = group
                if self._stopped.is_set():
                    return
        except BaseException as error:  # handed to the auditing thread by result()
            self._error = error


def _tracing(
    clients: AwsClients, state: _Collected, window: AuditWindow, near_deadline: Callable[[], bool]
) -> tuple[dict, dict]:
    """The X-Ray permission of each traced function's role, and the service graph of the window.

    The roles are simulated one by one, and the graph read slice by slice, until the deadline
    nears; the roles left, or the whole graph, are then unread (STOPPED_EARLY).
    """
    traced = [c for c in state.configs if c.get("TracingConfig", {}).get("Mode") == "Active"]
    if not traced:
        return {}, {}
    permissions, failed = xray.tracing_permissions(
        clients.client("iam"), (c.get("Role", "") for c in traced), clients.region, must_stop=near_deadline
    )
    for function in traced:
        if function.get("Role", "") in failed:
            state.unread_for(function["FunctionArn"], DataSource.ROLE_PERMISSIONS, failed[function.get("Role", "")])
    try:
        graph, _ = xray.service_graph(clients.client("xray"), window.start, window.end, must_stop=near_deadline)
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.SERVICE_GRAPH, describe_error(error))
        graph = {}
    except xray.StoppedEarly:
        state.unread_for_all(DataSource.SERVICE_GRAPH, STOPPED_EARLY)
        graph = {}
    return permissions, graph


@dataclass
class _LogRecords:
    scanned: dict[str, list[LogStats]] = field(default_factory=dict)
    """By function ARN: the ranges this audit read itself, stored in its report."""
    current: dict[str, LogStats] = field(default_factory=dict)
    baseline: dict[str, LogStats] = field(default_factory=dict)
    scan_range: tuple[datetime, datetime] | None = None
    bytes_scanned: int = 0
    """What the Logs Insights queries scanned, added up."""


@tracer.capture_method(capture_response=False)
def _report_records(
    logs_client: Any,
    state: _Collected,
    retention: dict[str, int | None] | None,
    window: AuditWindow,
    history: History,
    config: AuditConfig,
    windows: dict[str, tuple[MetricWindow, MetricWindow]],
    near_deadline: Callable[[], bool],
) -> _LogRecords:
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
            by_group.setdefault(_log_group(function), []).append(function)
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
        group: _log_format(function) for group, function in readable.items() if retention is None or group in retention
    }
    start = history.scan_start(window)
    ranges = [(start, window.start)] if start < window.start else []
    if max(start, window.start) < window.end:
        ranges.append((max(start, window.start), window.end))
    result = _LogRecords(scan_range=(start, window.end) if ranges else None)
    settings = ScanSettings(
        max_concurrent_queries=config.max_concurrent_queries, deadline_seconds=config.query_deadline_seconds
    )
    for range_start, range_end in ranges:
        part = 0 if range_start >= window.start else 1  # the current window's metrics, or the baseline's
        invoked = {
            group: log_format
            for group, log_format in to_scan.items()
            if DataSource.METRICS in state.unread.get(readable[group]["FunctionArn"], {})
            or windows[readable[group]["FunctionArn"]][part].sum("Invocations") > 0
        }
        scan = scan_report_records(logs_client, invoked, range_start, range_end, settings, must_stop=near_deadline)
        result.bytes_scanned += scan.bytes_scanned
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


def _log_format(config: dict[str, Any]) -> str:
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


def _log_group(config: dict[str, Any]) -> str:
    return config.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{config['FunctionName']}"


def _function_snapshot(
    config: dict[str, Any],
    state: _Collected,
    windows: tuple[MetricWindow, MetricWindow],
    reserved: dict,
    destinations: dict,
    retention: dict[str, int | None] | None,
    account: str,
    region: str,
    window: AuditWindow,
) -> FunctionSnapshot:
    arn = config["FunctionArn"]
    log_group = _log_group(config)
    return FunctionSnapshot(
        name=config["FunctionName"],
        arn=arn,
        account=account,
        region=region,
        as_of=window.end.date(),
        runtime=config.get("Runtime"),
        package_type=config.get("PackageType", "Zip"),
        timeout_seconds=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        code_size=int(config.get("CodeSize", 0)),
        tracing_mode=config.get("TracingConfig", {}).get("Mode", "PassThrough"),
        dead_letter_target=config.get("DeadLetterConfig", {}).get("TargetArn"),
        log_group=log_group,
        architectures=tuple(config.get("Architectures", ["x86_64"])),
        last_modified=config.get("LastModified", ""),
        tags=state.tags.get(arn, {}),
        event_sources=tuple(state.event_sources.get(arn, [])),
        reserved_concurrency=reserved.get(arn),
        failure_destinations=destinations.get(arn, {}),
        log_retention_days=None if retention is None else retention.get(log_group),
        log_group_exists=None if retention is None else log_group in retention,
        log_format=_log_format(config),
        current=windows[0],
        baseline=windows[1],
        unread=state.unread.get(arn, {}),
    )
