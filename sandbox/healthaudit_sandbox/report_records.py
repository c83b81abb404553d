r"""Lambda platform log records, written to CloudWatch Logs the way Lambda writes them.

The sandbox and the tests use these to give functions realistic REPORT records, in both of the
log formats that ``LoggingConfig.LogFormat`` selects.

Text format (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html), one log event per
line, each ending with a newline::

    INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:aws:lambda:...
    START RequestId: <id> Version: $LATEST
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 2.77 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t
        Max Memory Used: 59 MB\tInit Duration: 147.85 ms\t          (one line)

``Init Duration`` appears on the first invocation of a new execution environment, whether Lambda
initialised it for that invocation (on-demand) or ahead of it (provisioned concurrency: the
environment is initialised when the concurrency is provisioned, and its first REPORT still carries
the Init Duration). In the text format nothing tells the two apart. SnapStart
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html): "the REPORT doesn't
include the Init Duration field" but "includes the Restore Duration and Billed Restore Duration
fields", and the environment starts with ``RESTORE_START`` instead of ``INIT_START``.

JSON format (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html and
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html):
``platform.initStart`` and ``platform.initReport`` (record.initializationType ``on-demand`` or
``provisioned-concurrency``; the report with record.metrics.durationMs) for a new environment,
``platform.restoreStart`` for a SnapStart restore, ``platform.start``, and ``platform.report``
with record.metrics {durationMs, billedDurationMs, memorySizeMB, maxMemoryUsedMB, initDurationMs?,
restoreDurationMs?}. Every record of an execution environment goes to its log stream, so a
``platform.report`` is tied to the initialisation of its environment by the stream.
SnapStart's own ``initStart`` (initializationType ``snap-start``) happens once, when the version is
published, not at invocation, so it is not written here.

System log level (JSON format only; https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
at INFO, the default, Lambda sends the "start" and "report" records, and the records above are all
INFO records. At WARN (``LoggingConfig.SystemLogLevel``; DEBUG, INFO and WARN are its values)
Lambda sends none of them: no ``platform.report`` reaches the log group. DEBUG adds records
(``platform.initRuntimeDone``, ``platform.runtimeDone``) that are not written here. The text format
has no log-level filtering.

Billed Duration is the duration rounded up to the millisecond; for an on-demand initialisation it
also includes the Init phase (Lambda bills the INIT phase since August 2025). Pass
``billed_duration_ms`` to write another value.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from botocore.exceptions import ClientError

__all__ = [
    "DEFAULT_RUNTIME_VERSION",
    "InitializationType",
    "Invocation",
    "LogEvent",
    "LogFormat",
    "PROVISIONED_INIT_LEAD",
    "SystemLogLevel",
    "Written",
    "json_records",
    "records",
    "report_line",
    "text_records",
    "write_invocations",
]

InitializationType = Literal["on-demand", "provisioned-concurrency", "snap-start"]
LogFormat = Literal["Text", "JSON"]
SystemLogLevel = Literal["DEBUG", "INFO", "WARN"]

#: How long before its first invocation a provisioned-concurrency environment was initialised, unless
#: an Invocation says when (``initialized_at``): Lambda initialises it when the concurrency is provisioned.
PROVISIONED_INIT_LEAD = timedelta(minutes=10)

DEFAULT_RUNTIME_VERSION = "python:3.12.v38"

#: PutLogEvents limits (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
#: at most 10,000 events and 1,048,576 bytes a call, counted as the UTF-8 size of each message plus 26
#: bytes; the events of one call must not span more than 24 hours and must be in chronological order.
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Invocation:
    """One invocation of a function, as its platform records describe it.

    ``init_duration_ms`` set: the invocation ran in a new execution environment initialised for it
    (``on-demand``, right before it) or ahead of it (``provisioned-concurrency``, at
    ``initialized_at``, by default :data:`PROVISIONED_INIT_LEAD` before it). ``restore_duration_ms``
    set: a SnapStart environment restored for it (``initialization_type`` must then be
    ``snap-start``). Neither: a warm invocation.
    """

    timestamp: datetime
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    initialization_type: InitializationType = "on-demand"
    restore_duration_ms: float | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    billed_duration_ms: int | None = None
    billed_restore_duration_ms: int | None = None
    initialized_at: datetime | None = None
    """When a provisioned-concurrency environment began its initialisation (provisioned inits only)."""

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ValueError("Invocation.timestamp must be timezone-aware (UTC)")
        if self.initialized_at is not None:
            if self.initialization_type != "provisioned-concurrency" or self.init_duration_ms is None:
                raise ValueError("initialized_at belongs to provisioned-concurrency initialisations only")
            if self.initialized_at.tzinfo is None:
                raise ValueError("Invocation.initialized_at must be timezone-aware (UTC)")
            if self.initialized_at + timedelta(milliseconds=self.init_duration_ms) > self.timestamp:
                raise ValueError("a provisioned environment finishes its init before its first invocation")
        if self.initialization_type not in ("on-demand", "provisioned-concurrency", "snap-start"):
            raise ValueError(f"unknown initialization_type {self.initialization_type!r}")
        if self.initialization_type == "snap-start" and self.init_duration_ms is not None:
            raise ValueError("a SnapStart REPORT has no Init Duration: give restore_duration_ms instead")
        if self.restore_duration_ms is not None and self.initialization_type != "snap-start":
            raise ValueError("restore_duration_ms belongs to snap-start invocations only")
        if self.duration_ms < 0 or self.memory_size_mb <= 0 or self.max_memory_used_mb < 0:
            raise ValueError("durations and memory must not be negative, memory size must be positive")

    @property
    def cold(self) -> bool:
        """True when the invocation ran in a new (initialised or restored) execution environment."""
        return self.init_duration_ms is not None or self.restore_duration_ms is not None

    @property
    def provisioned(self) -> bool:
        """True when the invocation is the first of an environment initialised ahead of it."""
        return self.init_duration_ms is not None and self.initialization_type == "provisioned-concurrency"

    @property
    def billed_ms(self) -> int:
        if self.billed_duration_ms is not None:
            return self.billed_duration_ms
        billed = self.duration_ms
        if self.init_duration_ms is not None and self.initialization_type == "on-demand":
            billed += self.init_duration_ms
        return math.ceil(round(billed, 6))

    @property
    def billed_restore_ms(self) -> int | None:
        if self.restore_duration_ms is None:
            return None
        if self.billed_restore_duration_ms is not None:
            return self.billed_restore_duration_ms
        return math.ceil(round(self.restore_duration_ms, 6))


class LogEvent(NamedTuple):
    """One InputLogEvent: milliseconds since the epoch and the message."""

    timestamp: int
    message: str

    def to_input(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "message": self.message}


class Written(NamedTuple):
    """What :func:`write_invocations` wrote: the log streams (one per execution environment) and events."""

    log_streams: tuple[str, ...]
    events: int


def _ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _runtime_version_arn(region: str, runtime_version: str) -> str:
    digest = hashlib.sha256(runtime_version.encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def report_line(invocation: Invocation) -> str:
    """The text-format REPORT line of one invocation, tabs and trailing newline included."""
    parts = [
        f"REPORT RequestId: {invocation.request_id}",
        f"Duration: {invocation.duration_ms:.2f} ms",
        f"Billed Duration: {invocation.billed_ms} ms",
        f"Memory Size: {invocation.memory_size_mb} MB",
        f"Max Memory Used: {invocation.max_memory_used_mb} MB",
    ]
    if invocation.init_duration_ms is not None:
        parts.append(f"Init Duration: {invocation.init_duration_ms:.2f} ms")
    if invocation.restore_duration_ms is not None:
        parts.append(f"Restore Duration: {invocation.restore_duration_ms:.2f} ms")
        parts.append(f"Billed Restore Duration: {invocation.billed_restore_ms} ms")
    return "\t".join(parts) + "\t\n"


def _times(invocation: Invocation) -> tuple[int, int, int]:
    """(environment start, invocation start, invocation end) in epoch milliseconds."""
    start = _ms(invocation.timestamp)
    end = start + int(math.ceil(invocation.duration_ms))
    if invocation.provisioned:
        ready = invocation.initialized_at or invocation.timestamp - PROVISIONED_INIT_LEAD
        return _ms(ready), start, end
    before = invocation.init_duration_ms if invocation.init_duration_ms is not None else invocation.restore_duration_ms
    environment = start - int(math.ceil(before)) if before is not None else start
    return environment, start, end


def text_records(
    invocation: Invocation,
    *,
    function_version: str = "$LATEST",
    runtime_version: str = DEFAULT_RUNTIME_VERSION,
    region: str = "us-east-1",
) -> list[LogEvent]:
    """The text-format platform records of one invocation, in time order."""
    environment, start, end = _times(invocation)
    arn = _runtime_version_arn(region, runtime_version)
    events: list[LogEvent] = []
    if invocation.restore_duration_ms is not None:
        events.append(
            LogEvent(environment, f"RESTORE_START Runtime Version: {runtime_version}\tRuntime Version ARN: {arn}\n")
        )
    elif invocation.init_duration_ms is not None:
        events.append(
            LogEvent(environment, f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {arn}\n")
        )
    events.append(LogEvent(start, f"START RequestId: {invocation.request_id} Version: {function_version}\n"))
    events.append(LogEvent(end, f"END RequestId: {invocation.request_id}\n"))
    events.append(LogEvent(end, report_line(invocation)))
    return events


def _json_event(ms: int, kind: str, record: dict[str, Any]) -> LogEvent:
    return LogEvent(ms, json.dumps({"time": _iso(ms), "type": kind, "record": record}, separators=(",", ":")))


def _metric(value: float) -> float | int:
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


def json_records(
    invocation: Invocation,
    *,
    function_name: str,
    function_version: str = "$LATEST",
    runtime_version: str = DEFAULT_RUNTIME_VERSION,
    region: str = "us-east-1",
    system_log_level: SystemLogLevel = "INFO",
) -> list[LogEvent]:
    """The JSON-format platform records of one invocation, in time order: none above system log level INFO."""
    if system_log_level not in ("DEBUG", "INFO", "WARN"):
        raise ValueError(f"system_log_level must be DEBUG, INFO or WARN, got {system_log_level!r}")
    if system_log_level == "WARN":
        return []
    environment, start, end = _times(invocation)
    runtime = {
        "runtimeVersion": runtime_version,
        "runtimeVersionArn": _runtime_version_arn(region, runtime_version),
        "functionName": function_name,
        "functionVersion": function_version,
    }
    events: list[LogEvent] = []
    if invocation.restore_duration_ms is not None:
        events.append(_json_event(environment, "platform.restoreStart", runtime))
    elif invocation.init_duration_ms is not None:
        init = {"initializationType": invocation.initialization_type, "phase": "init", **runtime}
        events.append(_json_event(environment, "platform.initStart", init))
        init_report = {
            "initializationType": invocation.initialization_type,
            "phase": "init",
            "status": "success",
            "metrics": {"durationMs": _metric(invocation.init_duration_ms)},
        }
        init_done = environment + int(math.ceil(invocation.init_duration_ms))
        events.append(_json_event(init_done, "platform.initReport", init_report))
    events.append(
        _json_event(start, "platform.start", {"requestId": invocation.request_id, "version": function_version})
    )
    metrics: dict[str, Any] = {
        "durationMs": _metric(invocation.duration_ms),
        "billedDurationMs": invocation.billed_ms,
        "memorySizeMB": invocation.memory_size_mb,
        "maxMemoryUsedMB": invocation.max_memory_used_mb,
    }
    if invocation.init_duration_ms is not None:
        metrics["initDurationMs"] = _metric(invocation.init_duration_ms)
    if invocation.restore_duration_ms is not None:
        metrics["restoreDurationMs"] = _metric(invocation.restore_duration_ms)
    report = {"requestId": invocation.request_id, "metrics": metrics, "status": "success"}
    events.append(_json_event(end, "platform.report", report))
    return events


def records(
    invocation: Invocation,
    log_format: LogFormat = "Text",
    *,
    function_name: str = "function",
    function_version: str = "$LATEST",
    runtime_version: str = DEFAULT_RUNTIME_VERSION,
    region: str = "us-east-1",
    system_log_level: SystemLogLevel = "INFO",
) -> list[LogEvent]:
    """The platform records of one invocation in ``log_format`` ("Text" or "JSON").

    ``system_log_level`` filters JSON records only: Lambda filters by level in the JSON format alone.
    """
    if log_format == "Text":
        return text_records(
            invocation, function_version=function_version, runtime_version=runtime_version, region=region
        )
    if log_format == "JSON":
        return json_records(
            invocation,
            function_name=function_name,
            function_version=function_version,
            runtime_version=runtime_version,
            region=region,
            system_log_level=system_log_level,
        )
    raise ValueError(f"log_format must be 'Text' or 'JSON', got {log_format!r}")


def _batches(events: list[LogEvent]) -> Iterator[list[LogEvent]]:
    """Chronological events cut into PutLogEvents calls within the count, size and 24-hour limits."""
    batch: list[LogEvent] = []
    size = 0
    for event in events:
        event_size = len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if event_size > MAX_BATCH_BYTES:
            raise ValueError(f"a log event of {event_size} bytes exceeds the PutLogEvents limit")
        if batch and (
            len(batch) == MAX_BATCH_EVENTS
            or size + event_size > MAX_BATCH_BYTES
            or event.timestamp - batch[0].timestamp > MAX_BATCH_SPAN_MS
        ):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def write_invocations(
    logs_client: Any,
    log_group: str,
    invocations: Iterable[Invocation],
    log_format: LogFormat = "Text",
    *,
    function_name: str | None = None,
    function_version: str = "$LATEST",
    runtime_version: str = DEFAULT_RUNTIME_VERSION,
    system_log_level: SystemLogLevel = "INFO",
) -> Written:
    """Write the platform records of ``invocations`` to ``log_group`` (created if missing).

    As Lambda does, each execution environment writes to a log stream of its own, named
    ``YYYY/MM/DD/[version]<id>`` after the day the environment started: every cold invocation
    (on-demand, provisioned or restored) opens a new stream, and a warm one goes to the stream of
    the latest environment (a first warm invocation to an environment started before the series).
    A stream with nothing to write (JSON records at system log level WARN) is not created.
    ``function_name`` defaults to the last part of the log group name.
    Raises ValueError if CloudWatch Logs rejects any event (too old, too new, or expired).
    """
    region = logs_client.meta.region_name
    name = function_name or log_group.rstrip("/").rsplit("/", 1)[-1]
    try:
        logs_client.create_log_group(logGroupName=log_group)
    except ClientError as error:
        # By its code: botocore makes a client's exception classes lazily, and threads sharing a new client
        # can each get classes of their own, so `client.exceptions.X` may not be the class raised.
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise

    streams: dict[str, list[LogEvent]] = {}
    current: str | None = None
    for invocation in sorted(invocations, key=lambda inv: inv.timestamp):
        events = records(
            invocation,
            log_format,
            function_name=name,
            function_version=function_version,
            runtime_version=runtime_version,
            region=region,
            system_log_level=system_log_level,
        )
        if not events:
            continue
        if current is None or invocation.cold:
            opened = datetime.fromtimestamp(events[0].timestamp / 1000, tz=UTC)
            current = f"{opened:%Y/%m/%d}/[{function_version}]{uuid.uuid4().hex}"
            streams[current] = []
        streams[current].extend(events)

    written = 0
    for stream, events in streams.items():
        logs_client.create_log_stream(logGroupName=log_group, logStreamName=stream)
        events.sort(key=lambda event: event.timestamp)  # stable: START before END before REPORT
        for batch in _batches(events):
            response = logs_client.put_log_events(
                logGroupName=log_group, logStreamName=stream, logEvents=[event.to_input() for event in batch]
            )
            rejected = response.get("rejectedLogEventsInfo")
            if rejected:
                raise ValueError(f"CloudWatch Logs rejected events of {log_group}/{stream}: {rejected}")
            written += len(batch)
    return Written(tuple(streams), written)
