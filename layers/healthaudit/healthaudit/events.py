"""The events the functions accept, read with errors that name the field that is wrong.

- the scheduled event (EventBridge "Scheduled Event", or Scheduler's input in the same envelope);
- the manual-run event (source `healthaudit.manual`, overrides in `detail`);
- a Map item of the multi-account state machine, `{"target": {...}, "time": ...}`;
- S3's "Object Created" event through EventBridge, for the notifier;
- the state machine's input (the plan step) and the Map's output (the merge step).

Each parsed event also says what identifies its delivery (`delivery`): two deliveries of the same
event carry the same delivery, so the handlers do the work once (healthaudit.idempotency).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .model.target import Target

SCHEDULED_SOURCE = "aws.events"
MANUAL_SOURCE = "healthaudit.manual"
MAX_FIELD_LENGTH = 2048


class InvalidEvent(ValueError):
    """The event is not one this function accepts; the message names the field, the value and the expectation."""


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    """The run's time: the window ends on its hour."""
    manual: bool
    detail: Mapping[str, Any] = field(default_factory=dict)
    """A manual run's overrides, checked by config.apply_run_overrides."""
    delivery: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetEvent:
    target: Target
    at: datetime


@dataclass(frozen=True)
class ReportCreated:
    bucket: str
    key: str
    delivery: dict[str, Any]


def parse_audit_event(event: Any, now: datetime | None = None) -> AuditEvent:
    """The scheduled or manual-run event. A scheduled run is identified by its schedule and time (Scheduler
    gives every attempt a new id, but the same scheduled time); a manual run by its event id."""
    fields = _mapping(event, "event")
    source = _text(fields, "source", "event")
    if source not in (MANUAL_SOURCE, SCHEDULED_SOURCE):
        raise InvalidEvent(
            f"event.source: got {_shown(source)}, expected {SCHEDULED_SOURCE!r} (the schedule)"
            f" or {MANUAL_SOURCE!r} (a manual run)"
        )
    at = audit_time(fields.get("time"), "event.time", now)
    if source == MANUAL_SOURCE:
        detail = fields.get("detail", {})
        if detail is not None and not isinstance(detail, Mapping):
            raise InvalidEvent(f"event.detail: got {_shown(detail)}, expected a mapping of run overrides")
        delivery = {"manual-run": _text(fields, "id", "event")}
        return AuditEvent(at=at, manual=True, detail=detail or {}, delivery=delivery)
    resources = fields.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise InvalidEvent(f"event.resources: got {_shown(resources)}, expected a list of ARNs")
    delivery = {
        "scheduled-run": fields.get("time"),
        "account": str(fields.get("account", "")),
        "region": str(fields.get("region", "")),
        "schedule": sorted(resources),
    }
    return AuditEvent(at=at, manual=False, delivery=delivery)


def parse_target_event(event: Any, now: datetime | None = None) -> TargetEvent:
    fields = _mapping(event, "event")
    return TargetEvent(
        target=Target.from_dict(fields.get("target"), "event.target"),
        at=audit_time(fields.get("time"), "event.time", now),
    )


@dataclass(frozen=True)
class MergeEvent:
    at: datetime
    results: list[Mapping[str, Any]]
    """An inline Map's results, one per target: the audit's summary with its report_key, or the Map's
    caught {target, error}. Empty after a Distributed Map, whose results are in S3."""
    result_writer: tuple[str, str] | None = None
    """After a Distributed Map: the bucket and key of its ResultWriter's manifest."""


def parse_plan_event(event: Any) -> Mapping[str, Any]:
    """The execution input (events/plan.json): `time` (optional) and `targets`; plan_targets reads the rest."""
    fields = _mapping(event, "event")
    if fields.get("time") is not None:
        parse_time(fields["time"], "event.time")
    targets = fields.get("targets")
    if targets is not None and not isinstance(targets, Mapping | list):
        raise InvalidEvent(f"event.targets: got {_shown(targets)}, expected a mapping or a list of targets")
    return fields


def parse_merge_event(event: Any) -> MergeEvent:
    """The Map's output: `time` and either the Distributed Map's `map_run` (its ResultWriter's manifest
    in S3, as the state machine passes it) or, from an inline Map, one result object per target
    (events/merge.json)."""
    fields = _mapping(event, "event")
    if fields.get("map_run") is not None and "results" not in fields:
        map_run = _mapping(fields["map_run"], "event.map_run")
        details = _mapping(map_run.get("ResultWriterDetails"), "event.map_run.ResultWriterDetails")
        bucket = _text(details, "Bucket", "event.map_run.ResultWriterDetails")
        key = _text(details, "Key", "event.map_run.ResultWriterDetails")
        return MergeEvent(at=parse_time(fields.get("time"), "event.time"), results=[], result_writer=(bucket, key))
    results = fields.get("results")
    if not isinstance(results, list):
        raise InvalidEvent(f"event.results: got {_shown(results)}, expected a list with one result per target")
    for index, result in enumerate(results):
        _mapping(result, f"event.results[{index}]")
    return MergeEvent(at=parse_time(fields.get("time"), "event.time"), results=results)


def parse_report_created(event: Any) -> ReportCreated:
    """S3's Object Created event (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).

    A delivery is one object version: the key, and the version ID and sequencer S3 gives each write.
    """
    fields = _mapping(event, "event")
    detail = _mapping(fields.get("detail"), "event.detail")
    bucket = _text(_mapping(detail.get("bucket"), "event.detail.bucket"), "name", "event.detail.bucket")
    written = _mapping(detail.get("object"), "event.detail.object")
    key = _text(written, "key", "event.detail.object")
    delivery = {
        "bucket": bucket,
        "key": key,
        "version-id": str(written.get("version-id", "")),
        "sequencer": str(written.get("sequencer", "")),
    }
    return ReportCreated(bucket=bucket, key=key, delivery=delivery)


#: CloudWatch keeps data points of an hour or longer for 455 days (15 months):
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
METRIC_RETENTION = timedelta(days=455)
#: How far ahead of this clock an event's time may be before it is refused as a time nobody can audit yet.
CLOCK_SKEW = timedelta(minutes=5)


def audit_time(value: Any, source: str, now: datetime | None = None) -> datetime:
    """The end of the window to audit: a time whose metrics CloudWatch may still hold, and not in the future.

    `sam local generate-event` fills in 1970-01-01; auditing that would publish an empty, all-healthy report.
    """
    at = parse_time(value, source)
    now = now or datetime.now(UTC)
    if at > now + CLOCK_SKEW:
        raise InvalidEvent(f"{source}: got {value!r}, which is in the future (now {now:%Y-%m-%dT%H:%M:%SZ})")
    if at < now - METRIC_RETENTION:
        raise InvalidEvent(
            f"{source}: got {value!r}, more than {METRIC_RETENTION.days} days ago: CloudWatch keeps no metrics"
            " for that window"
        )
    return at


def parse_time(value: Any, source: str) -> datetime:
    """An ISO 8601 time with its zone, as EventBridge writes it (2026-11-28T06:00:00Z)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{source}: got {_shown(value)}, expected an ISO 8601 time such as 2026-11-28T06:00:00Z")
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(
            f"{source}: got {_shown(value)}, expected an ISO 8601 time such as 2026-11-28T06:00:00Z"
        ) from None
    if at.tzinfo is None:
        raise InvalidEvent(f"{source}: got {_shown(value)}, which has no time zone; expected e.g. 2026-11-28T06:00:00Z")
    return at.astimezone(UTC)


def _mapping(value: Any, source: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"{source}: got {_shown(value)}, expected a JSON object")
    return value


def _text(fields: Mapping[str, Any], name: str, source: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{source}.{name}: got {_shown(value)}, expected a non-empty string")
    if len(value) > MAX_FIELD_LENGTH:
        raise InvalidEvent(f"{source}.{name}: {len(value)} characters, expected at most {MAX_FIELD_LENGTH}")
    return value


def _shown(value: Any) -> str:
    """The value as the error shows it: its repr, cut short, so an error never floods a log."""
    text = repr(value) if value is not None else "nothing"
    return text if len(text) <= 80 else text[:77] + "..."
