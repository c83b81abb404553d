"""StartQuery, GetQueryResults and StopQuery of moto's CloudWatch Logs, answered by the evaluator.

moto 5.2.5 runs ``fields``, ``sort`` and ``limit`` only and ignores ``filter``, ``parse`` and
``stats`` (every event comes back). :func:`install_logs_insights` replaces its StartQuery and
GetQueryResults and adds StopQuery, with the evaluator of the Logs Insights query language
(:mod:`.evaluator`) over moto's stored log events. Syntax outside the subset is a
MalformedQueryException naming the part, never a silently wrong answer.

API (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html,
API_GetQueryResults.html, API_StopQuery.html): exactly one of logGroupName, logGroupNames or
logGroupIdentifiers (names or ARNs without a trailing ``*``), up to 50 log groups; startTime and
endTime in epoch seconds, "the range is inclusive" (an event counts when its second lies in
[startTime, endTime]); without ``limit`` a query returns up to 10,000 rows, ``limit`` (command or
parameter) goes up to 100,000; GetQueryResults pages at most 10,000 rows (maxItems) with
nextToken; ``@ptr`` in every row of a non-aggregating query; values as strings; statistics
recordsMatched, recordsScanned, bytesScanned (the UTF-8 size of the messages of the queried
groups' events in the range), logGroupsScanned. Queries complete as they start unless
:func:`set_query_polls` says otherwise; at most 100 run at once in an account and Region. A query
ends with status ``Timeout`` past its run time limit
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html: queries time
out after 60 minutes); :func:`set_query_timeout_bytes` makes queries that scan more than a given
size time out, so that a big range times out where its halves do not.

Log classes
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html): the
Delivery class "doesn't offer rich CloudWatch Logs capabilities such as CloudWatch Logs Insights
queries" (CreateLogGroup's logGroupClass). StartQuery over a log group of class DELIVERY (kept by
:func:`healthaudit_sandbox.fidelity.logs.install_logs_log_group_class`) fails. Which error AWS
answers is undocumented; the sandbox answers InvalidParameterException, and the auditor must not
depend on it.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time_millis, utcnow
from moto.logs import models as logs_models
from moto.logs import responses as logs_responses
from moto.logs.exceptions import InvalidParameterException, LimitExceededException, ResourceNotFoundException

from healthaudit_sandbox.logs_insights.discovery import UNDOCUMENTED_INIT_DURATION, discover_fields
from healthaudit_sandbox.logs_insights.evaluator import evaluate
from healthaudit_sandbox.logs_insights.parser import parse_query
from healthaudit_sandbox.logs_insights.syntax import MAX_LIMIT, MalformedQueryError
from healthaudit_sandbox.logs_insights.values import Timestamp

#: Rows in one GetQueryResults response ("The maximum is 10,000 log events per request").
MAX_PAGE_SIZE = 10_000
#: Log groups in one query ("You can include up to 50 log groups").
MAX_LOG_GROUPS = 50
#: "You can have up to 100 concurrent CloudWatch Logs Insights queries" per account and Region.
MAX_CONCURRENT_QUERIES = 100

_RUNNING = ("Scheduled", "Running")

_FIELDS_ATTR = "_healthaudit_insights_fields"
_POLLS_ATTR = "_healthaudit_insights_polls"
_INIT_DURATION_ATTR = "_healthaudit_insights_init_duration"
_TIMEOUT_BYTES_ATTR = "_healthaudit_insights_timeout_bytes"
#: The attribute of moto's LogGroup holding its class (set by the fidelity extension; STANDARD if absent).
LOG_GROUP_CLASS_ATTR = "log_group_class"
_install_lock = threading.Lock()
_installed = False


class MalformedQueryException(JsonRESTError):
    """HTTP 400 with the QueryCompileError that AWS adds (location offsets and message)."""

    code = 400

    def __init__(self, error: MalformedQueryError) -> None:
        super().__init__("MalformedQueryException", error.message)
        self.description = json.dumps(
            {
                "__type": "MalformedQueryException",
                "message": error.message,
                "queryCompileError": {
                    "location": {"startCharOffset": error.start, "endCharOffset": error.end},
                    "message": error.message,
                },
            }
        )


class _InsightsQuery:
    """One query of an account and Region; shaped for moto's DescribeQueries too."""

    def __init__(self, query_id: str, text: str, group_names: list[str], start: int, end: int) -> None:
        self.query_id = query_id
        self.query = text
        self.log_group_names = group_names
        self.start_time = start
        self.end_time = end
        self.create_time = utcnow()
        self.status = "Complete"
        self.final_status = "Complete"
        """What the query ends as once its polls run out: Complete, or Timeout."""
        self.polls_left = 0
        self.rows: list[list[dict[str, str]]] = []
        self.statistics: dict[str, float] = {}

    def to_json(self, log_group_name: str) -> dict[str, Any]:
        return {
            "queryId": self.query_id,
            "queryString": self.query,
            "status": self.status,
            "createTime": int(unix_time_millis(self.create_time)),
            "logGroupName": log_group_name,
        }


def set_query_polls(account_id: str, region: str, polls: int) -> None:
    """Make queries of an account and Region answer ``Running`` to their first ``polls`` GetQueryResults calls.

    0 (the default) completes every query as it starts. Running queries count against the quota of
    :data:`MAX_CONCURRENT_QUERIES`. The setting lives on moto's backend, so a moto reset forgets it.
    """
    if int(polls) < 0:
        raise ValueError(f"polls must not be negative, got {polls}")
    setattr(logs_models.logs_backends[account_id][region], _POLLS_ATTR, int(polls))


def set_init_duration_discovered(account_id: str, region: str, discovered: bool) -> None:
    """Whether queries of an account and Region discover ``@initDuration`` in REPORT lines (default: no).

    AWS's discovered-fields table does not list it (undocumented): tests run the auditor both ways.
    The setting lives on moto's backend, so a moto reset forgets it.
    """
    setattr(logs_models.logs_backends[account_id][region], _INIT_DURATION_ATTR, bool(discovered))


def set_query_timeout_bytes(account_id: str, region: str, max_bytes: int | None) -> None:
    """Make queries of an account and Region that would scan more than ``max_bytes`` end with status Timeout.

    None (the default) lets every query complete. AWS ends a query at its run time limit (60 minutes);
    a query's run time grows with what it scans, so a size stands for it here.
    """
    if max_bytes is not None and int(max_bytes) < 0:
        raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
    setattr(logs_models.logs_backends[account_id][region], _TIMEOUT_BYTES_ATTR, max_bytes)


def _fields_of(event: Any) -> dict[str, Any]:
    found = event.__dict__.get(_FIELDS_ATTR)
    if found is None:
        found = discover_fields(event.message, init_duration=True)
        setattr(event, _FIELDS_ATTR, found)
    return found


def _ptr(account: str, group: str, stream: str, event_id: int) -> str:
    return base64.b64encode(f"{account}:{group}:{stream}:{event_id}".encode()).decode().rstrip("=")


def _records(backend: Any, groups: list[Any], start_ms: int, end_ms: int) -> tuple[list[dict[str, Any]], int, int]:
    """The records of ``groups`` in [start_ms, end_ms], with the count and bytes scanned."""
    records: list[dict[str, Any]] = []
    scanned_bytes = 0
    init_duration = bool(getattr(backend, _INIT_DURATION_ATTR, False))
    for group in groups:
        log = f"{backend.account_id}:{group.name}"
        for stream in list(group.streams.values()):
            for event in list(stream.events):
                if not start_ms <= event.timestamp <= end_ms:
                    continue
                record = dict(_fields_of(event))
                if not init_duration:
                    record.pop(UNDOCUMENTED_INIT_DURATION, None)
                record["@timestamp"] = Timestamp(event.timestamp)
                record["@ingestionTime"] = Timestamp(event.ingestion_time)
                record["@message"] = event.message
                record["@log"] = log
                record["@logStream"] = stream.log_stream_name
                record["@ptr"] = _ptr(backend.account_id, group.name, stream.log_stream_name, event.event_id)
                records.append(record)
                scanned_bytes += len(event.message.encode())
    return records, len(records), scanned_bytes


def _resolve_groups(backend: Any, region: str, names: list[str]) -> list[Any]:
    groups, seen = [], set()
    for identifier in names:
        name = identifier
        if identifier.startswith("arn:"):
            if identifier.endswith("*"):
                raise InvalidParameterException(
                    f"A log group ARN in logGroupIdentifiers must not end with '*': {identifier}"
                )
            parts = identifier.split(":", 6)
            if len(parts) != 7 or parts[2] != "logs" or parts[5] != "log-group":
                raise InvalidParameterException(f"Invalid log group ARN: {identifier}")
            if parts[3] != region or parts[4] != backend.account_id:
                raise ResourceNotFoundException(f"The specified log group does not exist: {identifier}")
            name = parts[6]
        if name not in backend.groups:
            raise ResourceNotFoundException(f"The specified log group does not exist: {identifier}")
        if name not in seen:
            seen.add(name)
            groups.append(backend.groups[name])
    return groups


def _start_query(response: Any) -> str:
    backend = response.logs_backend
    language = response._get_param("queryLanguage") or "CWLI"
    if language != "CWLI":
        raise InvalidParameterException(f"The sandbox runs Logs Insights QL (CWLI) queries only, not {language}")
    single = response._get_param("logGroupName")
    many = response._get_param("logGroupNames")
    identifiers = response._get_param("logGroupIdentifiers")
    given = [p for p in (single, many, identifiers) if p]
    if len(given) != 1:
        raise InvalidParameterException(
            "A StartQuery operation must include exactly one of logGroupName, logGroupNames or logGroupIdentifiers"
        )
    names = [single] if single else list(given[0])
    if len(names) > MAX_LOG_GROUPS:
        raise InvalidParameterException(f"A query can include up to {MAX_LOG_GROUPS} log groups, got {len(names)}")
    start, end = response._get_param("startTime"), response._get_param("endTime")
    if start is None or end is None:
        raise InvalidParameterException("startTime and endTime are required")
    start, end = int(start), int(end)
    if end < start:
        raise InvalidParameterException("endTime must not be before startTime")
    limit = response._get_param("limit")
    if limit is not None and not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidParameterException(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    text = response._get_param("queryString") or ""
    try:
        query = parse_query(text)
    except MalformedQueryError as error:
        raise MalformedQueryException(error) from None
    groups = _resolve_groups(backend, response.region, names)
    delivery = [g.name for g in groups if getattr(g, LOG_GROUP_CLASS_ATTR, "STANDARD") == "DELIVERY"]
    if delivery:
        raise InvalidParameterException(
            f"Logs Insights cannot query log groups of class DELIVERY: {', '.join(delivery)}"
        )
    queries = backend.queries
    running = sum(1 for q in list(queries.values()) if isinstance(q, _InsightsQuery) and q.status in _RUNNING)
    if running >= MAX_CONCURRENT_QUERIES:
        raise LimitExceededException()

    records, scanned, scanned_bytes = _records(backend, groups, start * 1000, end * 1000 + 999)
    outcome = evaluate(query, records, limit=None if limit is None else int(limit))
    entry = _InsightsQuery(str(uuid.uuid4()), text, [g.name for g in groups], start, end)
    entry.rows = outcome.rows
    entry.statistics = {
        "recordsMatched": float(outcome.records_matched),
        "recordsScanned": float(scanned),
        "bytesScanned": float(scanned_bytes),
        "logGroupsScanned": float(len(groups)),
    }
    timeout_bytes = getattr(backend, _TIMEOUT_BYTES_ATTR, None)
    if timeout_bytes is not None and scanned_bytes > timeout_bytes:
        entry.rows, entry.final_status = [], "Timeout"
    entry.polls_left = int(getattr(backend, _POLLS_ATTR, 0))
    entry.status = "Running" if entry.polls_left else entry.final_status
    queries[entry.query_id] = entry
    return json.dumps({"queryId": entry.query_id})


def _lookup(response: Any) -> _InsightsQuery:
    query_id = response._get_param("queryId")
    query = response.logs_backend.queries.get(query_id)
    if not isinstance(query, _InsightsQuery):
        raise ResourceNotFoundException(f"Query {query_id} does not exist")
    return query


def _encode_token(query_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([query_id, offset]).encode()).decode()


def _decode_token(token: str, query_id: str) -> int:
    try:
        owner, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
        if owner != query_id or not isinstance(offset, int) or offset < 0:
            raise ValueError(token)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameterException("The specified nextToken is invalid.") from None
    return offset


def _get_query_results(response: Any) -> str:
    query = _lookup(response)
    if query.status in _RUNNING:
        query.polls_left -= 1
        if query.polls_left < 0:
            query.status = query.final_status
    if query.status != "Complete":  # Running: no partial results yet; Cancelled, Timeout: none
        statistics_ = {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}
        return json.dumps({"queryLanguage": "CWLI", "results": [], "statistics": statistics_, "status": query.status})
    size = response._get_param("maxItems")
    size = MAX_PAGE_SIZE if not size else int(size)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidParameterException(f"maxItems must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    token = response._get_param("nextToken")
    offset = _decode_token(token, query.query_id) if token else 0
    body: dict[str, Any] = {
        "queryLanguage": "CWLI",
        "results": query.rows[offset : offset + size],
        "statistics": query.statistics,
        "status": query.status,
    }
    if offset + size < len(query.rows):
        body["nextToken"] = _encode_token(query.query_id, offset + size)
    return json.dumps(body)


def _stop_query(response: Any) -> str:
    query = _lookup(response)
    if query.status not in _RUNNING:
        raise InvalidParameterException(f"Query {query.query_id} is not running: its status is {query.status}")
    query.status = "Cancelled"
    return json.dumps({"success": True})


def install_logs_insights() -> None:
    """Serve StartQuery, GetQueryResults and StopQuery with :func:`.evaluator.evaluate` (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return

        def start_query(self: logs_responses.LogsResponse) -> str:
            return _start_query(self)

        def get_query_results(self: logs_responses.LogsResponse) -> str:
            return _get_query_results(self)

        def stop_query(self: logs_responses.LogsResponse) -> str:
            return _stop_query(self)

        logs_responses.LogsResponse.start_query = start_query  # type: ignore[method-assign]
        logs_responses.LogsResponse.get_query_results = get_query_results  # type: ignore[method-assign]
        logs_responses.LogsResponse.stop_query = stop_query  # type: ignore[attr-defined]
        _installed = True
