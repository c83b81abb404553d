"""X-Ray: may each execution role write traces, and what the account's service graph shows.

Both are read in bulk: one policy simulation per distinct execution role, and the service graph of
the whole account in the time slices its API allows, never a trace query per function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from aws_lambda_powertools import Tracer

from ..model import TraceEdge, TraceNode, TraceStats
from .errors import READ_ERRORS, STOPPED_EARLY, MalformedResponse, describe_error
from .lookups import never

tracer = Tracer()

# What active tracing needs from the execution role (AWSXRayDaemonWriteAccess grants both):
# https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html#services-xray-permissions
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
#: EvalDecision's valid values (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html).
DECISIONS = ("allowed", "explicitDeny", "implicitDeny")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
# GetServiceGraph (https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html) names no
# maximum range; slices of 6 hours, the longest range the console's service map offers, keep each
# answer bounded at ⌈window / 6 h⌉ calls for the whole account.
GRAPH_SLICE = timedelta(hours=6)
FUNCTION_NODE = "AWS::Lambda::Function"


@dataclass(frozen=True)
class RolePermission:
    """IAM's answer for one execution role: the decision on each tracing action, and which of those
    decisions an AWS Organizations service control policy made (the role cannot fix those)."""

    decisions: dict[str, str]
    denied_by_scp: tuple[str, ...] = ()


#: What a function whose role was not simulated (untraced, unread) carries: no decision at all.
UNANSWERED = RolePermission(decisions={})


@tracer.capture_method(capture_response=False)
def tracing_permissions(
    iam: Any, roles: Iterable[str], region: str, must_stop: Callable[[], bool] = never
) -> tuple[dict[str, RolePermission], dict[str, str]]:
    """IAM's answer for each role ARN; and the roles it gave no answer for, with the reason.

    Each role is simulated with the request context the audit knows of its trace writes
    (:func:`request_context`). "MissingContextValues: A list of context keys that are required by
    the included input policies but that were not provided" (API_EvaluationResult.html): the
    answer then depends on a value nobody gave IAM, so the role is unread, never "not permitted".
    `must_stop` is asked before each role: once it is true, the rest are unread (STOPPED_EARLY).
    """
    answers: dict[str, RolePermission] = {}
    failed: dict[str, str] = {}
    pending = sorted(set(roles))
    for index, role in enumerate(pending):
        if must_stop():
            failed.update(dict.fromkeys(pending[index:], STOPPED_EARLY))
            break
        if not ROLE_ARN.fullmatch(role):
            failed[role] = f"the execution role {role[:100]!r} is not an IAM role ARN"
            continue
        try:
            answers[role] = _simulate(iam, role, region)
        except READ_ERRORS as error:
            failed[role] = describe_error(error)
        except _Undecided as undecided:
            failed[role] = str(undecided)
    return answers, failed


def request_context(role: str, region: str) -> list[dict[str, Any]]:
    """The global condition keys of the role's own trace writes that the audit knows for certain.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html:
    aws:RequestedRegion is the Region the request was sent to (X-Ray is regional: the audited
    one); for a role session, aws:PrincipalArn holds the role's ARN ("Do not specify the assumed
    role session ARN as a value for this condition key"); aws:PrincipalAccount is the account the
    principal belongs to. aws:SourceAccount is left out: it "is only available when the call to
    your resource is made directly by an AWS service principal", and the function's traces are
    written with the role's own credentials.
    """
    account = role.split(":")[4]
    known = {"aws:RequestedRegion": region, "aws:PrincipalArn": role, "aws:PrincipalAccount": account}
    return [
        {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"} for key, value in known.items()
    ]


class StoppedEarly(Exception):
    """The deadline came before the source was read whole."""


class _Undecided(Exception):
    """IAM answered, but not with a decision the audit can use; the message says why."""


def _simulate(iam: Any, role: str, region: str) -> RolePermission:
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=role, ActionNames=list(TRACING_ACTIONS), ContextEntries=request_context(role, region)
    )
    decisions: dict[str, str] = {}
    denied_by_scp: list[str] = []
    missing: set[str] = set()
    for page in pages:
        for result in page.get("EvaluationResults") or []:
            action, decision = result.get("EvalActionName"), result.get("EvalDecision")
            if action not in TRACING_ACTIONS:
                continue  # not asked about: it decides nothing here
            if decision not in DECISIONS:
                raise _Undecided(f"SimulatePrincipalPolicy answered {action} with the decision {decision!r}")
            decisions[action] = decision
            missing.update(result.get("MissingContextValues") or [])
            organizations = result.get("OrganizationsDecisionDetail") or {}
            if organizations.get("AllowedByOrganizations") is False:
                denied_by_scp.append(action)
    if missing:
        raise _Undecided(
            "IAM cannot decide whether the role may write traces: its policies test condition keys the audit"
            f" cannot supply (MissingContextValues: {', '.join(sorted(missing))})"
        )
    if set(decisions) != set(TRACING_ACTIONS):
        unanswered = ", ".join(sorted(set(TRACING_ACTIONS) - set(decisions)))
        raise _Undecided(f"SimulatePrincipalPolicy answered no decision for {unanswered}")
    return RolePermission(decisions=decisions, denied_by_scp=tuple(sorted(denied_by_scp)))


@tracer.capture_method(capture_response=False)
def service_graph(
    xray: Any, start: datetime, end: datetime, must_stop: Callable[[], bool] = never
) -> tuple[dict[str, TraceNode], int]:
    """The function nodes of the account's service graph over [start, end), merged across slices; and the calls made.

    Raises StoppedEarly when `must_stop` turns true before a call (a graph with slices missing would
    call the functions of those hours untraced), and MalformedResponse for an answer without Services.
    """
    nodes: dict[str, TraceStats] = {}
    edges: dict[tuple[str, str, str], TraceStats] = {}
    calls = 0
    slice_start = start
    while slice_start < end:
        slice_end = min(slice_start + GRAPH_SLICE, end)
        kwargs: dict[str, Any] = {"StartTime": slice_start, "EndTime": slice_end}
        while True:
            if must_stop():
                raise StoppedEarly(STOPPED_EARLY)
            response = xray.get_service_graph(**kwargs)
            calls += 1
            if not isinstance(response.get("Services"), list):
                raise MalformedResponse("GetServiceGraph answered without its Services list")
            _merge(response["Services"], nodes, edges)
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
