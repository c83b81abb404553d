"""The checks that exist: importing this module registers every one (one module per check id).

The config, the orchestrator and the docs read the checks and their thresholds from here.
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import Mapping

from ..model import Severity
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
from .registry import REGISTRY, CheckSpec, Threshold


def all_checks() -> list[CheckSpec]:
    """Every check, the most severe first (by the worst severity its rule can give)."""
    return sorted(REGISTRY.values(), key=lambda spec: (spec.severity.worst.rank, spec.id))


def possible_severities() -> tuple[Severity, ...]:
    """The severities some check can give, worst first: a report needs no tile for the others."""
    possible = {severity for spec in REGISTRY.values() for severity in spec.severity.levels}
    return tuple(severity for severity in Severity if severity in possible)


def _explanations_name_checks() -> None:
    for spec in REGISTRY.values():
        unknown = set(spec.explained_by) - REGISTRY.keys()
        if unknown:
            raise ValueError(f"check {spec.id!r} is explained by unregistered checks {sorted(unknown)}")


_explanations_name_checks()


@cache
def declared_thresholds() -> Mapping[str, Threshold]:
    """Every threshold that a check declares, by name (in name order); a name belongs to one check."""
    owners: dict[str, str] = {}
    declared: dict[str, Threshold] = {}
    for spec in all_checks():
        for name, threshold in spec.thresholds.items():
            if name in owners:
                raise ValueError(f"threshold {name!r} is declared by both {owners[name]} and {spec.id}")
            owners[name] = spec.id
            declared[name] = threshold
    return MappingProxyType(dict(sorted(declared.items())))
