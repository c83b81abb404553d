"""The physical minimum of calls for each operation, and the time an audit would take at AWS's quotas.

Quotas (per account and Region, defaults), with the pages they come from:

- CloudWatch GetMetricData: 50 TPS; 180,000 datapoints/s when StartTime is within the last 3 hours,
  396,000/s when it is older, counted on estimated datapoints (queries x periods).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
  ListMetrics: 25 TPS, from the same page's API table (the stored copy read here did not show that row:
  not verified here); 500 metrics a page
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html).
- Lambda control plane: 15 requests/s for every control-plane API except invocation, GetFunction and
  GetPolicy, taken here as shared by ListFunctions, ListEventSourceMappings, GetAccountSettings,
  GetFunctionConcurrency and ListFunctionEventInvokeConfigs (the auditor makes them all on one thread).
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- CloudWatch Logs DescribeLogGroups: 5 TPS per account and Region, adjustable. Logs Insights
  concurrent queries: the auditor runs at most `logs.max_concurrent_queries`, 20 by default, below
  the account's quota (the Logs quotas page above; the StartQuery API reference has said 20 and 30 over time).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
- Resource Groups Tagging API GetResources: "maximum of 15 calls per second" (Tag Editor quotas).
  https://docs.aws.amazon.com/tag-editor/latest/userguide/reference.html

Assumptions (no quota page found states them; change them here):

- X-Ray GetServiceGraph: 5 TPS (https://docs.aws.amazon.com/general/latest/gr/xray.html lists no
  rate for it that could be found); IAM SimulatePrincipalPolicy, STS: negligible (one call or a few).
- A Logs Insights query over 50 small log groups takes QUERY_SECONDS to complete (seconds, in
  practice 1-5 s; the auditor polls every second); StartQuery and GetQueryResults rates are
  assumed not to bind before the concurrency does.
- Within a stage, calls go at the quota (serial pagers at 1/quota seconds a page): no network
  latency is added.

The stages are timed as `collect_snapshot` and `audit` run them (healthaudit/collect/snapshot.py):
the DescribeLogGroups pages under /aws/lambda/ are read on a thread of their own from the start;
everything else runs one stage after another on the auditing thread: ListFunctions, GetResources,
ListEventSourceMappings and GetAccountSettings, the ListMetrics pages, the fleet's GetMetricData, the reservation and
event invoke config lookups, then the log retention waits for the background pages (and reads any
custom log group by name), then Logs Insights with X-Ray and IAM on a thread beside it (their quotas are
their own), and last the checks' hourly series (GetMetricData again). The projected time is the end of that
critical path, not a sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleet import BASELINE_DAYS, WINDOW_HOURS, Fleet, seeded_metrics

from healthaudit.collect.metrics import ACCOUNT_METRICS, FUNCTION_METRICS, calls_needed

SOURCES = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html",
    "https://docs.aws.amazon.com/tag-editor/latest/userguide/reference.html",
)
ASSUMED = (
    "GetServiceGraph 5 TPS, a Logs Insights query {query_seconds:g} s, no network latency;"
    " stages timed as the auditor runs them (DescribeLogGroups pages in the background)"
)

LIST_FUNCTIONS_PAGE = 50
TAGGING_PAGE = 100
LOG_GROUPS_PAGE = 50
LOG_GROUPS_PER_QUERY = 50
GRAPH_SLICE_HOURS = 6

GET_METRIC_DATA_TPS = 50
LIST_METRICS_TPS = 25
LIST_METRICS_PAGE = 500
DATAPOINTS_PER_S_OLDER = 396_000  # StartTime more than 3 hours ago: both of the auditor's passes
LAMBDA_CONTROL_PLANE_TPS = 15
DESCRIBE_LOG_GROUPS_TPS = 5
TAGGING_TPS = 15
XRAY_TPS = 5  # assumed
INSIGHTS_CONCURRENCY = 20  # the auditor's default logs.max_concurrent_queries
QUERY_SECONDS = 2.0  # assumed

LAMBDA_CONTROL_PLANE = (
    "ListFunctions",
    "ListEventSourceMappings",
    "GetAccountSettings",
    "GetFunctionConcurrency",
    "ListFunctionEventInvokeConfigs",
    "GetFunction",
    "ListTags",
    "GetPolicy",
)
FAMILIES = {
    "Lambda control plane": LAMBDA_CONTROL_PLANE,
    "Tagging API": ("GetResources",),
    "CloudWatch metrics": ("GetMetricData", "GetMetricStatistics", "ListMetrics"),
    "CloudWatch Logs": ("DescribeLogGroups", "StartQuery", "GetQueryResults", "StopQuery"),
    "X-Ray": ("GetServiceGraph",),
    "IAM": ("SimulatePrincipalPolicy",),
    "STS": ("GetCallerIdentity",),
}


def family_of(operation: str) -> str:
    for family, operations in FAMILIES.items():
        if operation in operations:
            return family
    return "other"


@dataclass(frozen=True)
class Minimum:
    calls: int
    why: str
    sandbox_calls: int | None = None
    """Where moto cannot do the minimum AWS allows, the fewest calls it allows, and why."""
    sandbox_why: str = ""


def listed_metrics(fleet: Fleet) -> int:
    """The AWS/Lambda metrics with data in the past two weeks: ListMetrics lists exactly these (the account's
    ClaimedAccountConcurrency and each function's seeded metrics; no stream consumers in the bench fleet)."""
    return len(ACCOUNT_METRICS) + sum(len(seeded_metrics(fn)) for fn in fleet.functions)


def fleet_metric_queries(fleet: Fleet) -> int:
    """GetMetricData's metrics: the listed ones the audit reads (here every listed one)."""
    wanted = set(FUNCTION_METRICS)
    return len(ACCOUNT_METRICS) + sum(1 for fn in fleet.functions for m in seeded_metrics(fn) if m in wanted)


def list_metrics_pages(fleet: Fleet) -> int:
    return max(1, math.ceil(listed_metrics(fleet) / LIST_METRICS_PAGE))


#: Datapoints one query can return: the fleet pass, one a window (the current one and each baseline window);
#: the hourly series of findings, one an hour from the baseline's start to the window's end.
FLEET_PERIODS = BASELINE_DAYS + 1
SERIES_PERIODS = (BASELINE_DAYS + 1) * WINDOW_HOURS


def fleet_metric_calls(fleet: Fleet) -> int:
    """⌈queries / 500⌉, or fewer queries a call where 500 could return more than 100,800 datapoints (a page)."""
    return calls_needed(fleet_metric_queries(fleet), FLEET_PERIODS)


def series_metric_calls(series_queries: int) -> int:
    return calls_needed(series_queries, SERIES_PERIODS)


def minimums(fleet: Fleet, series_queries: int, ranges: int) -> dict[str, Minimum]:
    """The fewest calls that read what the audit reads, by operation (GetQueryResults: one poll per query)."""
    n, groups = fleet.size, fleet.size  # every function has its own /aws/lambda/ log group
    invoked = len(fleet.active)  # only invoked functions' groups are queried (their traffic spans both ranges)
    fleet_queries = fleet_metric_queries(fleet)
    batches = math.ceil(invoked / LOG_GROUPS_PER_QUERY)
    lookups = reserved_concurrency_lookups(fleet)
    async_candidates = sum(1 for fn in fleet.active if fn.traffic and fn.traffic.async_received)
    queries = insights_queries(batches, ranges)
    metric_calls = fleet_metric_calls(fleet) + series_metric_calls(series_queries)
    return {
        "GetCallerIdentity": Minimum(1, "the account id, once"),
        "ListFunctions": Minimum(max(1, math.ceil(n / LIST_FUNCTIONS_PAGE)), f"⌈{n}/50⌉"),
        "GetResources": Minimum(max(1, math.ceil(fleet.tagged / TAGGING_PAGE)), f"⌈{fleet.tagged} tagged/100⌉"),
        "ListEventSourceMappings": Minimum(1, "no mappings: one empty page"),
        "GetAccountSettings": Minimum(1, "once"),
        "ListMetrics": Minimum(
            list_metrics_pages(fleet), f"⌈{listed_metrics(fleet)} AWS/Lambda metrics with data/500⌉ pages"
        ),
        "GetMetricData": Minimum(
            metric_calls,
            f"⌈{fleet_queries} listed metrics/500⌉ + ⌈{series_queries}/500⌉ hourly series for findings"
            f" ({SERIES_PERIODS} datapoints a query, at most 100,800 a call)",
        ),
        "GetFunctionConcurrency": Minimum(
            lookups, f"candidates, most throttled first, until {fleet.reserved_total} reserved is found"
        ),
        "ListFunctionEventInvokeConfigs": Minimum(async_candidates, "async-invoked functions without a DLQ"),
        "DescribeLogGroups": Minimum(max(1, math.ceil(groups / LOG_GROUPS_PAGE)), f"⌈{groups} groups/50⌉"),
        "StartQuery": Minimum(
            queries,
            f"⌈{invoked} invoked functions' groups/50⌉ x ({ranges} ranges' totals + one init-duration query over them)",
        ),
        "GetQueryResults": Minimum(queries, "one poll a query (the sandbox completes queries at once)"),
        "SimulatePrincipalPolicy": Minimum(1, "one per distinct execution role of traced functions"),
        "GetServiceGraph": Minimum(math.ceil(WINDOW_HOURS / GRAPH_SLICE_HOURS), "the window in 6-hour slices"),
    }


def insights_queries(batches: int, ranges: int) -> int:
    """Logs Insights queries over `batches` of log groups: a totals query a batch in each range, and one
    init-duration query a batch over all the ranges (collect.log_records.scan_ranges)."""
    return batches * (ranges + 1) if ranges else 0


def reserved_concurrency_lookups(fleet: Fleet) -> int:
    """GetFunctionConcurrency calls under the design's rule: throttled candidates (most throttles first),
    then active ones (highest concurrency first), until the reservations found add up to the account's total.
    """
    total = fleet.reserved_total
    if total <= 0:
        return 0
    throttled = sorted(
        (
            (fn.traffic.throttles * WINDOW_HOURS, fn.arn, fn)
            for fn in fleet.active
            if fn.traffic and fn.traffic.throttles
        ),
        key=lambda item: item[:2],
        reverse=True,
    )
    active = sorted(
        ((fn.traffic.concurrency, fn.arn, fn) for fn in fleet.active if fn.traffic and not fn.traffic.throttles),
        key=lambda item: item[:2],
        reverse=True,
    )
    found = calls = 0
    for _, _, fn in throttled + active:
        if found >= total:
            break
        calls += 1
        found += fn.reserved or 0
    return calls


@dataclass(frozen=True)
class Stage:
    name: str
    start: float
    seconds: float
    how: str
    background: bool = False

    @property
    def end(self) -> float:
        return self.start + self.seconds


def projection(
    calls: dict[str, int],
    fleet_queries: int,
    series_queries: int,
    fleet: Fleet,
    ranges: int,
    custom_log_groups: int = 0,
) -> list[Stage]:
    """The stages of one audit at the quotas above, each with its start on the auditor's timeline.

    `custom_log_groups`: DescribeLogGroups calls made by name for LoggingConfig.LogGroup groups outside
    /aws/lambda/ (none in the bench fleet); they come after the background pages.
    """
    lambda_tps = LAMBDA_CONTROL_PLANE_TPS
    gmd_calls = calls.get("GetMetricData", 0)
    fleet_calls = min(gmd_calls, fleet_metric_calls(fleet))
    series_calls = gmd_calls - fleet_calls
    batches = math.ceil(len(fleet.active) / LOG_GROUPS_PER_QUERY)
    # Every query is a task of one pool of INSIGHTS_CONCURRENCY (collect.log_records.scan_ranges).
    queries = insights_queries(batches, ranges)
    rounds = math.ceil(queries / INSIGHTS_CONCURRENCY)
    default_pages = calls.get("DescribeLogGroups", 0) - custom_log_groups
    listing = calls.get("ListFunctions", 0)
    settings = calls.get("ListEventSourceMappings", 0) + calls.get("GetAccountSettings", 0)
    lookups = calls.get("GetFunctionConcurrency", 0) + calls.get("ListFunctionEventInvokeConfigs", 0)

    main: list[tuple[str, float, str]] = [
        ("ListFunctions", listing / lambda_tps, f"{listing} calls / {lambda_tps} TPS (Lambda control plane)"),
        ("GetResources", calls.get("GetResources", 0) / TAGGING_TPS, f"{TAGGING_TPS} TPS"),
        ("ListEventSourceMappings, GetAccountSettings", settings / lambda_tps, f"{settings} calls / {lambda_tps} TPS"),
        (
            "ListMetrics pages",
            calls.get("ListMetrics", 0) / LIST_METRICS_TPS,
            f"{calls.get('ListMetrics', 0)} pages / {LIST_METRICS_TPS} TPS, one after another",
        ),
        (
            "GetMetricData, the fleet",
            max(fleet_calls / GET_METRIC_DATA_TPS, fleet_queries * FLEET_PERIODS / DATAPOINTS_PER_S_OLDER),
            f"max({fleet_calls} calls / 50 TPS, {fleet_queries * FLEET_PERIODS:,} est. datapoints / 396,000 per s)",
        ),
        ("reservation and invoke config lookups", lookups / lambda_tps, f"{lookups} calls / {lambda_tps} TPS"),
    ]
    stages, clock = [], 0.0
    for name, seconds, how in main:
        stages.append(Stage(name, clock, seconds, how))
        clock += seconds
    pages = Stage(
        "DescribeLogGroups /aws/lambda/ pages",
        0.0,
        default_pages / DESCRIBE_LOG_GROUPS_TPS,
        f"{default_pages} calls / {DESCRIBE_LOG_GROUPS_TPS} TPS, on their own thread from the start",
        background=True,
    )
    stages.append(pages)
    clock = max(clock, pages.end)  # the log retention waits for the background pages
    custom = Stage(
        "DescribeLogGroups, custom groups",
        clock,
        custom_log_groups / DESCRIBE_LOG_GROUPS_TPS,
        f"{custom_log_groups} calls / {DESCRIBE_LOG_GROUPS_TPS} TPS, by name, after the pages",
    )
    insights = Stage(
        "Logs Insights",
        custom.end,
        rounds * QUERY_SECONDS,
        f"⌈{queries} queries ({batches} batches x ({ranges} ranges' totals + 1 init-duration query))"
        f" / {INSIGHTS_CONCURRENCY} concurrent⌉ x {QUERY_SECONDS:g} s a query (assumed)",
    )
    tracing = Stage(
        "X-Ray, IAM",
        custom.end,
        calls.get("GetServiceGraph", 0) / XRAY_TPS,
        f"GetServiceGraph at {XRAY_TPS} TPS (assumed), SimulatePrincipalPolicy negligible;"
        " on a thread of their own while Logs Insights runs",
        background=True,
    )
    series = Stage(
        "GetMetricData, hourly series of findings",
        max(insights.end, tracing.end),
        max(series_calls / GET_METRIC_DATA_TPS, series_queries * SERIES_PERIODS / DATAPOINTS_PER_S_OLDER),
        f"max({series_calls} calls / 50 TPS, {series_queries * SERIES_PERIODS:,} est. datapoints / 396,000 per s)",
    )
    stages += [custom, insights, tracing, series]
    return stages


def projected_seconds(stages: list[Stage]) -> float:
    """When the last stage ends: the critical path."""
    return max((stage.end for stage in stages), default=0.0)


def sequential_seconds(stages: list[Stage]) -> float:
    """The same stages one after another, as the auditor ran them before the background pages."""
    return sum(stage.seconds for stage in stages)
