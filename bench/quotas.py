"""The physical minimum of calls for each operation, and the time an audit would take at AWS's quotas.

Quotas (per account and Region, defaults), with the pages they come from:

- CloudWatch GetMetricData: 50 TPS; 180,000 datapoints/s when StartTime is within the last 3 hours,
  396,000/s when it is older, counted on estimated datapoints (queries x periods).
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
- Lambda control plane: 15 requests/s for every control-plane API except invocation, GetFunction and
  GetPolicy, shared by ListFunctions, ListEventSourceMappings, GetAccountSettings,
  GetFunctionConcurrency and GetFunctionEventInvokeConfig.
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- CloudWatch Logs: DescribeLogGroups 5 TPS (adjustable; some versions of the page say 10);
  Logs Insights concurrent queries per account: 100 (DESIGN.md; the StartQuery API reference has
  said 20 and 30 over time); the auditor runs at most `logs.max_concurrent_queries`, 20 by default.
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html

Assumptions (no quota page states them; change them here):

- Resource Groups Tagging API GetResources: 5 TPS.
- X-Ray GetServiceGraph: 5 TPS; IAM SimulatePrincipalPolicy, STS: negligible (one call or a few).
- A Logs Insights query over 50 small log groups takes QUERY_SECONDS to complete (seconds, in
  practice 1-5 s; the auditor polls every second); StartQuery and GetQueryResults rates are
  assumed not to bind before the concurrency does.
- The stages run one after another, as `collect_snapshot` runs them; within a stage, calls go at
  the quota (serial pagers at 1/quota seconds a page: no network latency is added).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleet import BASELINE_DAYS, WINDOW_HOURS, Fleet

from healthaudit.collect.metrics import FUNCTION_METRICS, MAX_QUERIES_PER_CALL

SOURCES = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html",
)
ASSUMED = (
    "GetResources 5 TPS, GetServiceGraph 5 TPS, a Logs Insights query {query_seconds:g} s,"
    " no network latency, stages in sequence"
)

LIST_FUNCTIONS_PAGE = 50
TAGGING_PAGE = 100
LOG_GROUPS_PAGE = 50
LOG_GROUPS_PER_QUERY = 50
QUERIES_PER_BATCH = 2  # totals, and the init-duration rows
GRAPH_SLICE_HOURS = 6

GET_METRIC_DATA_TPS = 50
DATAPOINTS_PER_S_OLDER = 396_000  # StartTime more than 3 hours ago: both of the auditor's passes
LAMBDA_CONTROL_PLANE_TPS = 15
DESCRIBE_LOG_GROUPS_TPS = 5
TAGGING_TPS = 5  # assumed
XRAY_TPS = 5  # assumed
INSIGHTS_CONCURRENCY = 20  # the auditor's default logs.max_concurrent_queries
QUERY_SECONDS = 2.0  # assumed

LAMBDA_CONTROL_PLANE = (
    "ListFunctions",
    "ListEventSourceMappings",
    "GetAccountSettings",
    "GetFunctionConcurrency",
    "GetFunctionEventInvokeConfig",
    "GetFunction",
    "ListTags",
    "GetPolicy",
)
FAMILIES = {
    "Lambda control plane": LAMBDA_CONTROL_PLANE,
    "Tagging API": ("GetResources",),
    "CloudWatch metrics": ("GetMetricData", "GetMetricStatistics"),
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


def fleet_metric_queries(fleet: Fleet) -> int:
    """One query per function and metric (no stream consumers in the bench fleet), plus the account's one."""
    return fleet.size * len(FUNCTION_METRICS) + 1


def minimums(fleet: Fleet, series_queries: int, ranges: int) -> dict[str, Minimum]:
    """The fewest calls that read what the audit reads, by operation (GetQueryResults: one poll per query)."""
    n, groups = fleet.size, fleet.size  # every function has its own /aws/lambda/ log group
    invoked = len(fleet.active)  # only invoked functions' groups are queried (their traffic spans both ranges)
    fleet_queries = fleet_metric_queries(fleet)
    batches = math.ceil(invoked / LOG_GROUPS_PER_QUERY)
    lookups = reserved_concurrency_lookups(fleet)
    async_candidates = sum(1 for fn in fleet.active if fn.traffic and fn.traffic.async_received)
    queries = batches * QUERIES_PER_BATCH * ranges
    metric_calls = math.ceil(fleet_queries / MAX_QUERIES_PER_CALL) + math.ceil(series_queries / MAX_QUERIES_PER_CALL)
    return {
        "GetCallerIdentity": Minimum(1, "the account id, once"),
        "ListFunctions": Minimum(max(1, math.ceil(n / LIST_FUNCTIONS_PAGE)), f"⌈{n}/50⌉"),
        "GetResources": Minimum(
            max(1, math.ceil(fleet.tagged / TAGGING_PAGE)),
            f"⌈{fleet.tagged} tagged/100⌉",
            # moto 5.2.5 also applies TagsPerPage=100 with `>=`: 99 one-tag resources a page.
            sandbox_calls=max(1, math.ceil(fleet.tagged / (TAGGING_PAGE - 1))),
            sandbox_why="moto returns 99 one-tag resources a page",
        ),
        "ListEventSourceMappings": Minimum(1, "no mappings: one empty page"),
        "GetAccountSettings": Minimum(1, "once"),
        "GetMetricData": Minimum(
            metric_calls, f"⌈{fleet_queries}/500⌉ fleet + ⌈{series_queries}/500⌉ hourly series for findings"
        ),
        "GetFunctionConcurrency": Minimum(
            lookups, f"candidates, most throttled first, until {fleet.reserved_total} reserved is found"
        ),
        "GetFunctionEventInvokeConfig": Minimum(async_candidates, "async-invoked functions without a DLQ"),
        "DescribeLogGroups": Minimum(max(1, math.ceil(groups / LOG_GROUPS_PAGE)), f"⌈{groups} groups/50⌉"),
        "StartQuery": Minimum(queries, f"⌈{invoked} invoked functions' groups/50⌉ x 2 queries x {ranges} ranges"),
        "GetQueryResults": Minimum(queries, "one poll a query (the sandbox completes queries at once)"),
        "SimulatePrincipalPolicy": Minimum(1, "one per distinct execution role of traced functions"),
        "GetServiceGraph": Minimum(math.ceil(WINDOW_HOURS / GRAPH_SLICE_HOURS), "the window in 6-hour slices"),
    }


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
    seconds: float
    how: str


def projection(
    calls: dict[str, int], fleet_queries: int, series_queries: int, fleet: Fleet, ranges: int
) -> list[Stage]:
    """Seconds per stage of one audit at the quotas above, for the calls the audit made."""
    control_plane = sum(calls.get(op, 0) for op in LAMBDA_CONTROL_PLANE)
    gmd_calls = calls.get("GetMetricData", 0)
    periods_fleet = BASELINE_DAYS + 1  # one datapoint a day: the current window and each baseline day
    periods_series = WINDOW_HOURS  # hourly, over the current window
    datapoints = fleet_queries * periods_fleet + series_queries * periods_series
    batches = math.ceil(len(fleet.active) / LOG_GROUPS_PER_QUERY)
    rounds = math.ceil(batches / INSIGHTS_CONCURRENCY)
    insights = ranges * rounds * QUERIES_PER_BATCH * QUERY_SECONDS
    return [
        Stage(
            "Lambda control plane",
            control_plane / LAMBDA_CONTROL_PLANE_TPS,
            f"{control_plane} calls / {LAMBDA_CONTROL_PLANE_TPS} TPS (ListFunctions, settings, lookups)",
        ),
        Stage("GetResources", calls.get("GetResources", 0) / TAGGING_TPS, f"{TAGGING_TPS} TPS (assumed)"),
        Stage(
            "GetMetricData",
            max(gmd_calls / GET_METRIC_DATA_TPS, datapoints / DATAPOINTS_PER_S_OLDER),
            f"max({gmd_calls} calls / 50 TPS, {datapoints:,} est. datapoints / 396,000 per s)",
        ),
        Stage(
            "DescribeLogGroups",
            calls.get("DescribeLogGroups", 0) / DESCRIBE_LOG_GROUPS_TPS,
            f"{DESCRIBE_LOG_GROUPS_TPS} TPS",
        ),
        Stage(
            "Logs Insights",
            insights,
            f"{ranges} ranges x ⌈{batches} batches / {INSIGHTS_CONCURRENCY} concurrent⌉ x 2 queries"
            f" in sequence x {QUERY_SECONDS:g} s a query (assumed)",
        ),
        Stage(
            "X-Ray, IAM, STS",
            calls.get("GetServiceGraph", 0) / XRAY_TPS,
            f"GetServiceGraph at {XRAY_TPS} TPS (assumed); the rest negligible",
        ),
    ]
