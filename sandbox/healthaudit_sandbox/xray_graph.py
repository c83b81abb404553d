"""X-Ray GetServiceGraph for the sandbox, built from the segments that PutTraceSegments stored.

moto 5.2.5 stores every segment document it receives (``XRayBackend._segment_collection``) but its
GetServiceGraph always answers with no services. :func:`install_xray_service_graph` replaces it
with a graph computed from those documents the way the X-Ray documentation describes:

* Segment documents (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html):
  a segment is a node named by its ``name``, typed by its ``origin`` and ``State`` "active"; its
  ``parent_id`` names the caller: a segment (Lambda's function segment has the Lambda service
  segment as parent) or a subsegment of another segment (a traced downstream call), which gives
  the caller an edge to it. A segment without ``parent_id`` is a ``Root`` service, called by a
  ``client`` node of the same name (``State`` "unknown"), as in the GetServiceGraph output of
  https://docs.aws.amazon.com/xray/latest/devguide/xray-api-gettingdata.html. Subsegments (nested
  at any depth, embedded or sent separately with ``type`` "subsegment") with ``namespace`` "aws"
  or "remote" and no segment of their own are downstream calls: X-Ray "uses information in
  subsegments to generate inferred segments ... Inferred segments represent downstream services
  and resources in the service map". Their node, ``State`` "unknown" as in that example, is
  named and typed as the documentation shows: a DynamoDB call with ``aws.table_name`` is the
  ``AWS::DynamoDB::Table`` node named by the table (the example's
  ``awseb-e-...-StartupSignupsTable-...`` node; the inferred segment's origin is
  ``AWS::DynamoDB::Table``); another AWS call is ``AWS::<name>`` named by the subsegment (the
  example's ``SNS`` / ``AWS::SNS``; API_Service.html: "AWS::DynamoDB for downstream calls to
  Amazon DynamoDB that didn't target a specific table"); a remote call is type ``remote`` named by
  the subsegment, conventionally the host (the inferred segment ``names.example.com``).
* Lambda (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html): "Lambda records a
  segment for the Lambda service that handles the invocation request, and one for the work done
  by the function", both named after the function, types ``AWS::Lambda`` and
  ``AWS::Lambda::Function``; the function's downstream calls are subsegments of its
  ``Invocation`` subsegment.
* Statistics (API_Service.html, API_Edge.html, API_ServiceStatistics.html, API_EdgeStatistics.html):
  a node counts its segments (an inferred node the subsegments that call it), an edge the calls
  on it, from the caller's subsegment when there is one, else from the called segment. The
  flags of the segment document decide: ``fault`` (5xx) counts in FaultStatistics, else
  ``throttle`` (429) in ErrorStatistics.ThrottleCount, else ``error`` (4xx) in
  ErrorStatistics.OtherCount, else OkCount; so OkCount + errors + faults = TotalCount.
  TotalResponseTime sums end_time - start_time; the histograms count those durations at
  millisecond resolution; StartTime / EndTime are the first start and the last end.

Request (https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html): StartTime and
EndTime in epoch seconds; a segment document belongs to the window when its ``start_time`` lies
in [StartTime, EndTime). The longest window AWS accepts is undocumented: the API reference states
no limit, and no X-Ray page found says one. The sandbox refuses windows longer than
:data:`MAX_TIME_RANGE` (6 hours, the slice the auditor asks for) with an InvalidRequestException:
stricter than AWS may be, never more lenient in the code's favour, and the code depends on neither
answer, since it never asks for more than one slice (tests/integration/test_sandbox_xray.py asks for both).
EndTime before StartTime is an InvalidRequestException too.

Simplified: GroupName / GroupARN are ignored (the graph covers every trace); the graph comes in
one page (no NextToken); in-progress segments (no ``end_time``) and documents marked
``inferred`` are not counted; subsegments inside a downstream call (an ``aws`` or ``remote``
subsegment) are not looked into; Edge Aliases are empty and EdgeType is not set.

:mod:`healthaudit_sandbox.lambda_traces` writes the segment documents of Lambda invocations, for
tests, the demo and the bench.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from moto.xray import responses as xray_responses

__all__ = [
    "MAX_TIME_RANGE",
    "build_service_graph",
    "install_xray_service_graph",
]

#: The longest StartTime..EndTime window the sandbox's GetServiceGraph accepts (see the module docstring).
MAX_TIME_RANGE = timedelta(hours=6)

_install_lock = threading.Lock()
_installed = False
_DOC_ATTR = "_healthaudit_document"


# ------------------------------------------------------------------------------------------------
# The graph
# ------------------------------------------------------------------------------------------------


@dataclass
class _Stats:
    ok: int = 0
    error_other: int = 0
    throttle: int = 0
    fault: int = 0
    total_response_time: float = 0.0
    durations: Counter[float] = field(default_factory=Counter)
    start: float = math.inf
    end: float = -math.inf

    def add(self, document: Mapping[str, Any]) -> None:
        start, end = float(document["start_time"]), float(document["end_time"])
        if document.get("fault") is True:
            self.fault += 1
        elif document.get("throttle") is True:
            self.throttle += 1
        elif document.get("error") is True:
            self.error_other += 1
        else:
            self.ok += 1
        self.total_response_time += end - start
        self.durations[round(end - start, 3)] += 1
        self.start, self.end = min(self.start, start), max(self.end, end)

    def summary(self) -> dict[str, Any]:
        errors = self.error_other + self.throttle
        return {
            "OkCount": self.ok,
            "ErrorStatistics": {"ThrottleCount": self.throttle, "OtherCount": self.error_other, "TotalCount": errors},
            "FaultStatistics": {"OtherCount": self.fault, "TotalCount": self.fault},
            "TotalCount": self.ok + errors + self.fault,
            "TotalResponseTime": round(self.total_response_time, 6),
        }

    def histogram(self) -> list[dict[str, Any]]:
        return [{"Value": value, "Count": count} for value, count in sorted(self.durations.items())]


_NodeKey = tuple[str, str, str]  # (name, type, account); type "" when the segment has no origin


@dataclass
class _Node:
    key: _NodeKey
    state: str
    client: bool = False
    root: bool = False
    stats: _Stats = field(default_factory=_Stats)
    edges: dict[_NodeKey, _Stats] = field(default_factory=dict)

    def edge_to(self, target: _Node) -> _Stats:
        return self.edges.setdefault(target.key, _Stats())


class _Graph:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.nodes: dict[_NodeKey, _Node] = {}

    def node(self, name: str, kind: str, account: str, state: str, *, client: bool = False) -> _Node:
        key = (name, kind, account)
        if key not in self.nodes:
            self.nodes[key] = _Node(key, state, client=client)
        return self.nodes[key]

    def segment_node(self, segment: Mapping[str, Any]) -> _Node:
        return self.node(str(segment["name"]), str(segment.get("origin") or ""), self._account(segment), "active")

    def inferred_node(self, subsegment: Mapping[str, Any], caller_account: str) -> _Node:
        aws = subsegment.get("aws") if isinstance(subsegment.get("aws"), Mapping) else {}
        account = str(aws.get("account_id") or caller_account)
        name = str(subsegment["name"])
        if subsegment.get("namespace") == "remote":
            return self.node(name, "remote", account, "unknown")
        if aws.get("table_name"):
            return self.node(str(aws["table_name"]), "AWS::DynamoDB::Table", account, "unknown")
        return self.node(name, f"AWS::{name}", account, "unknown")

    def _account(self, segment: Mapping[str, Any]) -> str:
        aws = segment.get("aws")
        return str(aws.get("account_id") or self.account_id) if isinstance(aws, Mapping) else self.account_id

    def services(self) -> list[dict[str, Any]]:
        ordered = sorted(self.nodes.values(), key=lambda n: (n.key[0], n.client is False, n.key[1], n.key[2]))
        reference = {node.key: number for number, node in enumerate(ordered)}
        services = []
        for node in ordered:
            name, kind, account = node.key
            edges = [
                {
                    "ReferenceId": reference[target],
                    "StartTime": stats.start,
                    "EndTime": stats.end,
                    "SummaryStatistics": stats.summary(),
                    "ResponseTimeHistogram": stats.histogram(),
                    "Aliases": [],
                }
                for target, stats in sorted(node.edges.items(), key=lambda item: reference[item[0]])
            ]
            service: dict[str, Any] = {"ReferenceId": reference[node.key], "Name": name, "Names": [name]}
            if node.root:
                service["Root"] = True
            if not node.client:
                service["AccountId"] = account
            if kind:
                service["Type"] = kind
            service["State"] = node.state
            if node.client:
                service["StartTime"] = min(s.start for s in node.edges.values())
                service["EndTime"] = max(s.end for s in node.edges.values())
                service["Edges"] = edges
            else:
                service["StartTime"] = node.stats.start
                service["EndTime"] = node.stats.end
                service["Edges"] = edges
                service["SummaryStatistics"] = node.stats.summary()
                service["DurationHistogram"] = node.stats.histogram()
                service["ResponseTimeHistogram"] = node.stats.histogram()
            services.append(service)
        return services


def _children(container: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subsegments = container.get("subsegments")
    return [s for s in subsegments if isinstance(s, Mapping)] if isinstance(subsegments, list) else []


def _all_subsegments(container: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for child in _children(container):
        yield child
        yield from _all_subsegments(child)


def _downstream_calls(container: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The outermost ``aws`` / ``remote`` subsegments under ``container``."""
    for child in _children(container):
        if child.get("namespace") in ("aws", "remote"):
            yield child
        else:
            yield from _downstream_calls(child)


def _complete(document: Mapping[str, Any]) -> bool:
    return isinstance(document.get("start_time"), int | float) and isinstance(document.get("end_time"), int | float)


def build_service_graph(documents: Iterable[Mapping[str, Any]], account_id: str) -> list[dict[str, Any]]:
    """The GetServiceGraph ``Services`` of the parsed segment documents (see the module docstring)."""
    traces: dict[str, dict[str, Mapping[str, Any]]] = {}
    for document in documents:
        if document.get("inferred") is True or not _complete(document) or "trace_id" not in document:
            continue
        traces.setdefault(str(document["trace_id"]), {})[str(document["id"])] = document

    graph = _Graph(account_id)
    for trace in traces.values():
        segments = {i: d for i, d in trace.items() if d.get("type") != "subsegment"}
        owner: dict[str, Mapping[str, Any]] = {}  # segment or subsegment id -> its segment
        subsegments: dict[str, Mapping[str, Any]] = {}
        extra: dict[str, list[Mapping[str, Any]]] = {}  # segment id -> subsegments sent separately
        for segment in segments.values():
            owner[str(segment["id"])] = segment
            for sub in _all_subsegments(segment):
                owner[str(sub.get("id"))], subsegments[str(sub.get("id"))] = segment, sub
        pending = [d for d in trace.values() if d.get("type") == "subsegment"]
        while pending:  # independent subsegments may name each other as parents, in any order
            attached = [d for d in pending if str(d.get("parent_id")) in owner]
            if not attached:
                break
            for sub in attached:
                segment = owner[str(sub["parent_id"])]
                extra.setdefault(str(segment["id"]), []).append(sub)
                for node in (sub, *_all_subsegments(sub)):
                    owner[str(node.get("id"))], subsegments[str(node.get("id"))] = segment, node
            pending = [d for d in pending if d not in attached]
        called = {str(s.get("parent_id")) for s in segments.values()}

        for segment in segments.values():
            node = graph.segment_node(segment)
            node.stats.add(segment)
            parent = segment.get("parent_id")
            if parent is None:
                node.root = True
                client = graph.node(str(segment["name"]), "client", "", "unknown", client=True)
                client.edge_to(node).add(segment)
            elif str(parent) in subsegments and _complete(subsegments[str(parent)]):
                graph.segment_node(owner[str(parent)]).edge_to(node).add(subsegments[str(parent)])
            elif str(parent) in segments:
                graph.segment_node(segments[str(parent)]).edge_to(node).add(segment)
            for container in (segment, *extra.get(str(segment["id"]), [])):
                if container is not segment and container.get("namespace") in ("aws", "remote"):
                    calls: Iterable[Mapping[str, Any]] = (container,)
                else:
                    calls = _downstream_calls(container)
                for call in calls:
                    if str(call.get("id")) in called or not _complete(call):
                        continue
                    target = graph.inferred_node(call, node.key[2])
                    target.stats.add(call)
                    node.edge_to(target).add(call)
    return graph.services()


# ------------------------------------------------------------------------------------------------
# The API
# ------------------------------------------------------------------------------------------------


def _error(code: str, message: str) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "message": message}), {"status": 400}


def _parsed(segment: Any) -> Mapping[str, Any] | None:
    document = getattr(segment, _DOC_ATTR, None)
    if document is None:
        try:
            document = json.loads(segment.raw)
        except (TypeError, ValueError):
            document = {}
        setattr(segment, _DOC_ATTR, document)
    return document if isinstance(document, Mapping) else None


def _service_graph(response: Any) -> str | tuple[str, dict[str, int]]:
    start, end = response._get_param("StartTime"), response._get_param("EndTime")
    if start is None or end is None:
        missing = "StartTime" if start is None else "EndTime"
        return _error("InvalidRequestException", f"Parameter {missing} is missing")
    try:
        start, end = float(start), float(end)
    except (TypeError, ValueError):
        return _error("InvalidRequestException", "StartTime and EndTime must be epoch seconds")
    if end < start:
        return _error("InvalidRequestException", "EndTime must not be before StartTime")
    if end - start > MAX_TIME_RANGE.total_seconds():
        hours = MAX_TIME_RANGE.total_seconds() / 3600
        return _error(
            "InvalidRequestException",
            f"The time range between StartTime and EndTime must not exceed {hours:g} hours",
        )
    backend = response.xray_backend
    documents = []
    for trace in list(backend._segment_collection._traces.values()):
        for segment in list(trace["segments"]):
            document = _parsed(segment)
            at = document.get("start_time") if document is not None else None
            if isinstance(at, int | float) and start <= float(at) < end:
                documents.append(document)
    services = build_service_graph(documents, response.current_account)
    return json.dumps({"StartTime": start, "EndTime": end, "Services": services, "ContainsOldGroupVersions": False})


def install_xray_service_graph() -> None:
    """Serve GetServiceGraph from the stored segment documents (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return

        def service_graph(self: xray_responses.XRayResponse) -> str | tuple[str, dict[str, int]]:
            return _service_graph(self)

        xray_responses.XRayResponse.service_graph = service_graph  # type: ignore[method-assign]
        _installed = True
