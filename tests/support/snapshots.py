"""Builders for snapshots in unit tests: metrics by name, everything else by keyword."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from healthaudit.model import (
    AccountSettings,
    AccountSnapshot,
    AuditWindow,
    EventSource,
    FunctionSnapshot,
    LogStats,
    MetricWindow,
)

WINDOW = AuditWindow.ending_at(datetime(2026, 11, 28, 6, tzinfo=timezone.utc))


def function(name: str = "fn", baseline: dict[str, Any] | None = None, **fields: Any) -> FunctionSnapshot:
    """A function snapshot; capitalised keywords are current-window metrics (a number or a tuple of points)."""
    metrics = {key: _points(value) for key, value in fields.items() if key[:1].isupper()}
    attributes = {key: value for key, value in fields.items() if not key[:1].isupper()}
    attributes.setdefault("as_of", date(2026, 11, 28))
    return FunctionSnapshot(
        name=name,
        arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
        account="123456789012",
        region="eu-west-1",
        current=MetricWindow(metrics),
        baseline=MetricWindow({key: _points(value) for key, value in (baseline or {}).items()}),
        **attributes,
    )


def account(
    functions: tuple[FunctionSnapshot, ...] = (),
    settings: AccountSettings | None = None,
    **metrics: Any,
) -> AccountSnapshot:
    return AccountSnapshot(
        account="123456789012",
        region="eu-west-1",
        window=WINDOW,
        functions=functions,
        settings=settings,
        current=MetricWindow({key: _points(value) for key, value in metrics.items()}),
    )


def kinesis_source() -> EventSource:
    return EventSource(arn="arn:aws:kinesis:eu-west-1:123456789012:stream/clicks")


def _points(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else (float(value),)


def log_stats(
    invocations: int = 0,
    init_durations: tuple[float, ...] | list[float] = (),
    cold_starts: int | None = None,
    max_memory_used_mb: float | None = None,
    memory_size_mb: float | None = None,
    fingerprint: dict[str, Any] | None = None,
    billed_duration_ms: float = 0.0,
) -> LogStats:
    values = [float(v) for v in init_durations]
    return LogStats(
        start=WINDOW.start,
        end=WINDOW.end,
        invocations=invocations,
        cold_starts=len(values) if cold_starts is None else cold_starts,
        init_durations={"capacity": 500, "seed": "test", "seen": len(values), "values": values},
        max_memory_used_mb=max_memory_used_mb,
        memory_size_mb=memory_size_mb,
        fingerprint=fingerprint or {},
        billed_duration_ms=billed_duration_ms,
    )
