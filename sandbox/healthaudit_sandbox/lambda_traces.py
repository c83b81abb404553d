"""The X-Ray segment documents of Lambda invocations, written through PutTraceSegments.

As Lambda records them (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html): a segment
for the Lambda service that handles the invocation request (``AWS::Lambda``) and one for the work
done by the function (``AWS::Lambda::Function``), whose ``Invocation`` subsegment holds the
function's downstream calls as ``aws`` or ``remote`` subsegments. Fields and identifiers follow
https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html.
:mod:`healthaudit_sandbox.xray_graph` builds the service graph from what these write.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = [
    "MAX_DOCUMENTS_PER_CALL",
    "AwsCall",
    "HttpCall",
    "InvocationTrace",
    "lambda_invocation_documents",
    "put_lambda_invocation_trace",
    "put_trace_documents",
]

#: Segment documents per PutTraceSegments call written by :func:`put_trace_documents`.
MAX_DOCUMENTS_PER_CALL = 50


@dataclass(frozen=True)
class AwsCall:
    """A downstream AWS SDK call: a subsegment with ``namespace`` "aws", named after the service."""

    service: str
    operation: str
    table_name: str | None = None
    region: str | None = None
    duration: float = 0.02
    error: bool = False
    fault: bool = False
    throttle: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def dynamodb(cls, table_name: str, operation: str = "GetItem", **kwargs: Any) -> AwsCall:
        return cls("DynamoDB", operation, table_name=table_name, **kwargs)

    def status(self) -> int:
        return 500 if self.fault else 429 if self.throttle else 400 if self.error else 200


@dataclass(frozen=True)
class HttpCall:
    """A downstream HTTP call: a subsegment with ``namespace`` "remote", named after the host.

    The flags follow the status as the segment document reference defines them: 4xx is ``error``,
    429 also ``throttle``, 5xx ``fault``.
    """

    url: str
    method: str = "GET"
    status: int = 200
    duration: float = 0.05


class InvocationTrace(NamedTuple):
    trace_id: str
    documents: list[str]


def _epoch(at: datetime | float) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


def _flags(*, error: bool = False, fault: bool = False, throttle: bool = False) -> dict[str, bool]:
    flags = {}
    if error or throttle:
        flags["error"] = True
    if throttle:
        flags["throttle"] = True
    if fault:
        flags["fault"] = True
    return flags


def _call_subsegment(call: AwsCall | HttpCall, start: float, region: str, rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {"id": f"{rng.getrandbits(64):016x}", "start_time": round(start, 6)}
    document["end_time"] = round(start + call.duration, 6)
    if isinstance(call, AwsCall):
        aws: dict[str, Any] = {
            "operation": call.operation,
            "region": call.region or region,
            "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "retries": 0,
        }
        if call.table_name:
            aws["table_name"] = call.table_name
            aws["resource_names"] = [call.table_name]
        aws.update(call.fields)
        document.update(name=call.service, namespace="aws", aws=aws)
        document["http"] = {"response": {"status": call.status()}}
        document.update(_flags(error=call.error, fault=call.fault, throttle=call.throttle))
    else:
        host = urlsplit(call.url).hostname or call.url
        document.update(name=host, namespace="remote")
        document["http"] = {"request": {"method": call.method, "url": call.url}, "response": {"status": call.status}}
        document.update(
            _flags(error=400 <= call.status < 500, throttle=call.status == 429, fault=500 <= call.status < 600)
        )
    return document


def lambda_invocation_documents(
    function_name: str,
    account: str,
    region: str,
    at: datetime | float,
    downstream: Sequence[AwsCall | HttpCall] = (),
    *,
    error: bool = False,
    fault: bool = False,
    throttled: bool = False,
    cold_start: bool = False,
    duration: float = 0.1,
    init_duration: float = 0.25,
    rng: random.Random | None = None,
) -> InvocationTrace:
    """The segment documents that one traced invocation of ``function_name`` produces.

    The ``AWS::Lambda`` segment of the Lambda service starts at ``at``; unless ``throttled`` (then
    it alone records the 429, with ``error`` and ``throttle``), the ``AWS::Lambda::Function``
    segment follows, its parent the service segment, with an ``Initialization`` subsegment when
    ``cold_start``, an ``Invocation`` subsegment holding the ``downstream`` calls one after
    another, and ``Overhead``. ``error`` / ``fault`` mark the function segment and its
    Invocation. Trace ID ``1-<8 hex epoch>-<24 hex>``, segment IDs 16 hex digits, times in epoch
    seconds, per https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html.
    """
    rng = rng or random.Random()  # noqa: S311 - identifiers for test data, not secrets
    start = _epoch(at)
    trace_id = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
    function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
    service: dict[str, Any] = {
        "id": f"{rng.getrandbits(64):016x}",
        "name": function_name,
        "trace_id": trace_id,
        "start_time": round(start, 6),
        "origin": "AWS::Lambda",
        "resource_arn": function_arn,
        "aws": {"request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
    }
    if throttled:
        service["end_time"] = round(start + 0.001, 6)
        service["http"] = {"response": {"status": 429}}
        service.update(_flags(throttle=True))
        return InvocationTrace(trace_id, [json.dumps(service)])

    cursor = start + 0.005
    function_start = cursor
    subsegments: list[dict[str, Any]] = []
    if cold_start:
        subsegments.append(
            {
                "id": f"{rng.getrandbits(64):016x}",
                "name": "Initialization",
                "start_time": round(cursor, 6),
                "end_time": round(cursor + init_duration, 6),
                "aws": {"function_arn": function_arn},
            }
        )
        cursor += init_duration
    invocation_start = cursor
    calls = []
    call_start = cursor + 0.001
    for call in downstream:
        calls.append(_call_subsegment(call, call_start, region, rng))
        call_start += call.duration + 0.001
    invocation_end = max(invocation_start + duration, call_start)
    invocation: dict[str, Any] = {
        "id": f"{rng.getrandbits(64):016x}",
        "name": "Invocation",
        "start_time": round(invocation_start, 6),
        "end_time": round(invocation_end, 6),
        "aws": {"function_arn": function_arn},
        **_flags(error=error, fault=fault),
    }
    if calls:
        invocation["subsegments"] = calls
    overhead_end = invocation_end + 0.002
    subsegments += [
        invocation,
        {
            "id": f"{rng.getrandbits(64):016x}",
            "name": "Overhead",
            "start_time": round(invocation_end, 6),
            "end_time": round(overhead_end, 6),
            "aws": {"function_arn": function_arn},
        },
    ]
    function = {
        "id": f"{rng.getrandbits(64):016x}",
        "name": function_name,
        "trace_id": trace_id,
        "parent_id": service["id"],
        "start_time": round(function_start, 6),
        "end_time": round(overhead_end, 6),
        "origin": "AWS::Lambda::Function",
        "aws": {"function_arn": function_arn, "resource_names": [function_name], "account_id": account},
        **_flags(error=error, fault=fault),
        "subsegments": subsegments,
    }
    service["end_time"] = round(overhead_end + 0.001, 6)
    service["http"] = {"response": {"status": 200}}
    return InvocationTrace(trace_id, [json.dumps(service), json.dumps(function)])


def put_trace_documents(xray_client: Any, documents: Sequence[str]) -> None:
    """PutTraceSegments in calls of at most :data:`MAX_DOCUMENTS_PER_CALL`; raise if any is unprocessed."""
    for offset in range(0, len(documents), MAX_DOCUMENTS_PER_CALL):
        batch = list(documents[offset : offset + MAX_DOCUMENTS_PER_CALL])
        unprocessed = xray_client.put_trace_segments(TraceSegmentDocuments=batch).get("UnprocessedTraceSegments")
        if unprocessed:
            raise RuntimeError(f"X-Ray did not process {len(unprocessed)} segment documents: {unprocessed}")


def put_lambda_invocation_trace(
    xray_client: Any,
    function_name: str,
    account: str,
    region: str,
    at: datetime | float,
    downstream: Sequence[AwsCall | HttpCall] = (),
    *,
    error: bool = False,
    fault: bool = False,
    throttled: bool = False,
    cold_start: bool = False,
    duration: float = 0.1,
    rng: random.Random | None = None,
) -> str:
    """Write the segment documents of one invocation (:func:`lambda_invocation_documents`); return its trace ID."""
    trace = lambda_invocation_documents(
        function_name,
        account,
        region,
        at,
        downstream,
        error=error,
        fault=fault,
        throttled=throttled,
        cold_start=cold_start,
        duration=duration,
        rng=rng,
    )
    put_trace_documents(xray_client, trace.documents)
    return trace.trace_id
