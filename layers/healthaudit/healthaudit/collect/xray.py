"""X-Ray: may each execution role write traces, and what the account's service graph shows.

Both are read in bulk: one policy simulation per distinct execution role, and the service graph of
the whole account in the time slices its API allows, never a trace query per function.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Iterable

from aws_lambda_powertools import Tracer

from ..model import TraceEdge, TraceNode, TraceStats
from .errors import READ_ERRORS, describe_error

tracer = Tracer()

# What active tracing needs from the execution role (AWSXRayDaemonWriteAccess grants both):
# https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html#services-xray-permissions
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
# GetServiceGraph (https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html) names no
# maximum range; slices of 6 hours, the longest range the console's service map offers, keep each
# answer bounded at ⌈window / 6 h⌉ calls for the whole account.
GRAPH_SLICE = timedelta(hours=6)
FUNCTION_NODE = "AWS::Lambda::Function"


@tracer.capture_method(capture_response=False)
def tracing_permissions(iam: Any, roles: Iterable[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """IAM's decision for each tracing action, by role ARN; and the roles whose policies could not be read."""
    decisions: dict[str, dict[str, str]] = {}
    failed: dict[str, str] = {}
    for role in sorted(set(roles)):
        if not ROLE_ARN.fullmatch(role):
            failed[role] = f"the execution role {role[:100]!r} is not an IAM role ARN"
            continue
        try:
            response = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=list(TRACING_ACTIONS))
        except READ_ERRORS as error:
            failed[role] = describe_error(error)
            continue
        decisions[role] = {
            result["EvalActionName"]: result["EvalDecision"] for result in response.get("EvaluationResults", [])
        }
    return decisions, failed


@tracer.capture_method(capture_response=False)
def service_graph(xray: Any, start: datetime, end: datetime) -> tuple[dict[str, TraceNode], int]:
    """The function nodes of the account's service graph over [start, end), merged across slices; and the calls made."""
    nodes: dict[str, TraceStats] = {}
    edges: dict[tuple[str, str, str], TraceStats] = {}
    calls = 0
    slice_start = start
    while slice_start < end:
        slice_end = min(slice_start + GRAPH_SLICE, end)
        kwargs: dict[str, Any] = {"StartTime": slice_start, "EndTime": slice_end}
        while True:
            response = xray.get_service_graph(**kwargs)
            calls += 1
            _merge(response.get("Services", []), nodes, edges)
            if not response.get("NextToken"):
                break
            kwargs["NextToken"] = response["NextToken"]
        slice_start = slice_end
    graph = {}
    for name, stats in nodes.items():
        downstream = tuple(
            TraceEdge(name=target, type=kind, stats=edge_stats)
            for (source, target, kind), edge_stats in sorted(edges.items())
            if source == name
        )
        graph[name] = TraceNode(stats=stats, edges=downstream)
    return graph, calls


def _merge(services: list[dict[str, Any]], nodes: dict, edges: dict) -> None:
    by_reference = {service.get("ReferenceId"): service for service in services}
    for service in services:
        if service.get("Type") != FUNCTION_NODE:
            continue
        name = service.get("Name", "")
        nodes[name] = nodes.get(name, TraceStats()) + _stats(service.get("SummaryStatistics", {}))
        for edge in service.get("Edges", []):
            target = by_reference.get(edge.get("ReferenceId"), {})
            key = (name, target.get("Name", "unknown"), target.get("Type", "unknown"))
            edges[key] = edges.get(key, TraceStats()) + _stats(edge.get("SummaryStatistics", {}))


def _stats(summary: dict[str, Any]) -> TraceStats:
    errors = summary.get("ErrorStatistics", {})
    faults = summary.get("FaultStatistics", {})
    return TraceStats(
        ok=int(summary.get("OkCount", 0)),
        errors=int(errors.get("TotalCount", 0)),
        throttles=int(errors.get("ThrottleCount", 0)),
        faults=int(faults.get("TotalCount", 0)),
        total=int(summary.get("TotalCount", 0)),
        total_response_time=float(summary.get("TotalResponseTime", 0.0)),
    )
