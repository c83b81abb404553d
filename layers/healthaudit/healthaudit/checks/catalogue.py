"""Importing this module registers every check; one module per check id."""

from . import (  # noqa: F401
    async_events_dropped,
    audit_coverage_gap,
    cold_start_regression,
    concurrency_near_limit,
    duration_near_timeout,
    error_rate_high,
    iterator_age_high,
    log_retention_unset,
    memory_near_limit,
    memory_overprovisioned,
    no_failure_destination,
    provisioned_spillover,
    runtime_deprecated,
    throttled,
    trace_errors_high,
    traces_missing,
    tracing_disabled,
    tracing_not_permitted,
)
