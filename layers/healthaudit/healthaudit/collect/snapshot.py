"""Collect a snapshot of one account and region: every source read once, failures kept as gaps."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable

from aws_lambda_powertools import Tracer

from ..config import AuditConfig
from ..history import History
from ..model import (
    AccountSettings,
    AccountSnapshot,
    AuditWindow,
    CoverageGap,
    DataSource,
    FunctionSnapshot,
    MetricWindow,
)
from ..prices import lambda_price
from . import inventory, lookups, xray
from .clients import AwsClients
from .collected import Collected, Progress
from .errors import READ_ERRORS, STOPPED_EARLY, describe_error
from .fleet_metrics import fleet_metrics, points_by_owner, split_windows
from .log_groups import DefaultLogGroups, log_group_of, log_retention
from .log_stats import LogStatsRead, fingerprint, log_format_of, read_log_stats

# One subsegment per data source in the auditor's own traces; a no-op outside Lambda.
tracer = Tracer()

# What each data source needs from IAM; checks declare their own, and the template grants the union.
SOURCE_PERMISSIONS: dict[DataSource, tuple[str, ...]] = {
    DataSource.INVENTORY: ("lambda:ListFunctions",),
    DataSource.TAGS: ("tag:GetResources",),
    DataSource.EVENT_SOURCE_MAPPINGS: ("lambda:ListEventSourceMappings",),
    DataSource.ACCOUNT_SETTINGS: ("lambda:GetAccountSettings",),
    DataSource.METRICS: ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"),
    DataSource.RESERVED_CONCURRENCY: ("lambda:GetFunctionConcurrency",),
    DataSource.EVENT_INVOKE_CONFIG: ("lambda:ListFunctionEventInvokeConfigs",),
    DataSource.LOG_GROUPS: ("logs:DescribeLogGroups",),
    DataSource.REPORT_RECORDS: ("logs:StartQuery", "logs:GetQueryResults", "logs:StopQuery"),
    DataSource.ROLE_PERMISSIONS: ("iam:SimulatePrincipalPolicy",),
    DataSource.SERVICE_GRAPH: ("xray:GetServiceGraph",),
}


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
    with DefaultLogGroups(clients.client("logs")) as default_groups:
        return _collect(clients, config, window, account, progress, history, time_left, default_groups)


def _collect(
    clients: AwsClients,
    config: AuditConfig,
    window: AuditWindow,
    account: str,
    progress: Progress | None,
    history: History,
    time_left: Callable[[], float] | None,
    default_groups: DefaultLogGroups,
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
    state = Collected(configs=configs)

    try:
        state.tags = inventory.list_function_tags(clients.client("resourcegroupstaggingapi"))
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.TAGS, describe_error(error))
    state.configs = [c for c in configs if config.in_scope(_scope_document(c, state.tags))]
    if not any(log_group_of(c).startswith(inventory.DEFAULT_LOG_GROUP_PREFIX) for c in state.configs):
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

    windows, account_current, metric_queries = _metric_windows(clients.client("cloudwatch"), state, window, report)
    reserved, destinations, retention = {}, {}, None
    logs, permissions, graph = LogStatsRead(), {}, {}
    if enough_time(state, DataSource.RESERVED_CONCURRENCY, DataSource.EVENT_INVOKE_CONFIG, DataSource.LOG_GROUPS):
        # Fetched anew: once time is short, the clients retry less (AwsClients.client).
        reserved = _reserved_concurrency(clients.client("lambda"), state, windows, settings, deadline_guard(time_left))
        destinations = _failure_destinations(clients.client("lambda"), state, windows, deadline_guard(time_left))
        retention = log_retention(clients.client("logs"), default_groups, state)
    else:
        default_groups.stop()
    report("lookups", 1, 1)
    read_logs = enough_time(state, DataSource.REPORT_RECORDS)
    read_traces = enough_time(state, DataSource.ROLE_PERMISSIONS, DataSource.SERVICE_GRAPH)
    # IAM and X-Ray have quotas of their own: they are read on a thread while Logs Insights runs, into
    # scratch space of their own, taken into the state once both are done.
    tracing_state = Collected(configs=state.configs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthaudit-tracing") as tracing_thread:
        tracing = (
            tracing_thread.submit(_tracing, clients, tracing_state, window, deadline_guard(time_left))
            if read_traces
            else None
        )
        if read_logs:
            logs = read_log_stats(
                clients.client("logs"), state, retention, window, history, config, windows, deadline_guard(time_left)
            )
        report("logs", 1, 1)
        if tracing is not None:
            permissions, graph = tracing.result()
    state.take(tracing_state)
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
            window_length=window.length,
            lambda_price=lambda_price(clients.region, (c.get("Architectures") or ["x86_64"])[0], config.lambda_prices),
        )
        for c in state.configs
    )
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
        notes=tuple(state.notes),
    )
    return snapshot, metric_queries


def _metric_windows(
    cloudwatch: Any, state: Collected, window: AuditWindow, report: Progress
) -> tuple[dict[str, tuple[MetricWindow, MetricWindow]], MetricWindow, int]:
    """Each function's metrics split into the current window and the baseline, the account's current window,
    and the metric queries made. Only the windows' values are kept: the datapoints with their timestamps, a
    fleet's largest answer, are let go before the log scan rather than held to the end of the snapshot."""
    metrics, metric_queries = fleet_metrics(cloudwatch, state, window, report)
    for owner, reason in metrics.failed.items():
        if owner == "account":
            state.gaps.append(CoverageGap(source=DataSource.METRICS, reason=reason))
        else:
            state.unread_for(owner, DataSource.METRICS, reason)
    by_owner = points_by_owner(metrics)
    windows = {arn: split_windows(by_owner.get(arn, {}), window) for arn in (c["FunctionArn"] for c in state.configs)}
    account_current, _ = split_windows(by_owner.get("account", {}), window)
    return windows, account_current, metric_queries


#: What the checks, the hourly series and storing the report need after the last source is read.
RESERVE_SECONDS = 60.0


def deadline_guard(time_left: Callable[[], float] | None) -> Callable[[], bool]:
    """True once less time is left than the checks and storing the report need."""
    return lambda: time_left is not None and time_left() < RESERVE_SECONDS


def _time_keeper(time_left: Callable[[], float] | None) -> Callable[..., bool]:
    """A guard before each optional stage: once time runs short, it and every later stage become gaps."""
    stopped = False
    deadline_near = deadline_guard(time_left)

    def enough_time(state: Collected, *sources: DataSource) -> bool:
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


@tracer.capture_method(capture_response=False)
def _reserved_concurrency(
    lambda_client: Any,
    state: Collected,
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
    lambda_client: Any, state: Collected, windows: dict, near_deadline: Callable[[], bool]
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


def _tracing(
    clients: AwsClients, state: Collected, window: AuditWindow, near_deadline: Callable[[], bool]
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


def _function_snapshot(
    config: dict[str, Any],
    state: Collected,
    windows: tuple[MetricWindow, MetricWindow],
    reserved: dict,
    destinations: dict,
    retention: dict[str, int | None] | None,
    account: str,
    region: str,
    window: AuditWindow,
) -> FunctionSnapshot:
    arn = config["FunctionArn"]
    log_group = log_group_of(config)
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
        log_format=log_format_of(config),
        current=windows[0],
        baseline=windows[1],
        unread=state.unread.get(arn, {}),
    )
