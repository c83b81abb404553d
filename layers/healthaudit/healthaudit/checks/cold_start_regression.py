from __future__ import annotations

from typing import Any, Iterator, Mapping

from ..model import DataSource, FunctionSnapshot, LogStats, Observation, Severity
from ..stats import mann_whitney_u_greater, percentile, two_proportion_greater
from .memory_near_limit import PERMISSIONS
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule

SAMPLES_IN_EVIDENCE = 200


def provisioned_invocations_hiding_cold_starts(fn: FunctionSnapshot) -> float:
    """Invocations on provisioned concurrency, in the window or its baseline, that make the cold starts unjudgeable.

    A provisioned-concurrency environment's first REPORT carries an Init Duration as an on-demand
    cold start's does, and the text log format cannot tell them apart: a window in which the function
    ran on provisioned concurrency (ProvisionedConcurrencyInvocations > 0) is not judged. The JSON
    format can (platform.initStart's initializationType), so its cold starts are on-demand only: 0.
    https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
    """
    if fn.log_format == "JSON":
        return 0.0
    metric = "ProvisionedConcurrencyInvocations"
    return fn.current.sum(metric) + fn.baseline.sum(metric)


def provisioned_concurrency_note(fn: FunctionSnapshot) -> str | None:
    invocations = provisioned_invocations_hiding_cold_starts(fn)
    if not invocations or fn.logs_current is None or fn.logs_baseline is None:
        return None
    return (
        "cold-start-regression not judged: it ran on provisioned concurrency"
        f" ({invocations:.0f} invocations in the window and its baseline), whose initialisations"
        " write an Init Duration as cold starts do, and text-format REPORT lines cannot tell them"
        " apart (the JSON log format can)"
    )


@check(
    id="cold-start-regression",
    title="Cold starts got worse than the function's own baseline",
    # Slower starts cost latency, not requests: MEDIUM once they are twice the baseline, never HIGH.
    severity=SeverityRule.at_least(
        "times_baseline",
        "times the baseline",
        {Severity.MEDIUM: 2.0},
        Severity.LOW,
        unit="×",
    ),
    figure=Figure("times_baseline", "times the baseline", "×", decimals=2),
    permissions=PERMISSIONS,
    remediation=(
        "Look at what changed (evidence): trim the deployment package and its imports, move work out of the"
        " init phase, or use provisioned concurrency or SnapStart for latency-sensitive paths."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
    thresholds={
        "cold_start_min_ratio": Threshold(
            1.25,
            "current p95 init duration (or cold-start rate) over the baseline's",
            "ratio",
            minimum=1,
            noun="a ratio",
            example="1.25 means 25% worse than the baseline",
        ),
        "cold_start_min_rise_ms": Threshold(100.0, "rise of the p95 init duration", "ms", minimum=0),
        "cold_start_min_samples": Threshold(20, "cold starts needed in each window", "cold starts", above=0),
        "cold_start_max_p_value": Threshold(
            0.01, "p-value below which the rise is significant", "probability", minimum=0, maximum=1
        ),
    },
    needs=(DataSource.REPORT_RECORDS, DataSource.METRICS),
    not_judged=provisioned_concurrency_note,
)
def cold_start_regression(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    current, baseline = fn.logs_current, fn.logs_baseline
    if current is None or baseline is None or provisioned_invocations_hiding_cold_starts(fn):
        return
    duration = _duration_regression(current, baseline, thresholds)
    rate = _rate_regression(current, baseline, thresholds)
    if not duration and not rate:
        return
    changes = configuration_changes(baseline.fingerprint, fn.fingerprint or current.fingerprint)
    what = " and ".join(part for part in (duration.get("summary"), rate.get("summary")) if part)
    yield fn.finding(
        f"{what}; {', '.join(changes)}",
        evidence={
            "times_baseline": _worst_ratio(duration, rate),
            **{k: v for k, v in duration.items() if k != "summary"},
            **{k: v for k, v in rate.items() if k != "summary"},
            "configuration_changes": changes,
            "baseline_samples": list(baseline.init_values[:SAMPLES_IN_EVIDENCE]),
            "current_samples": list(current.init_values[:SAMPLES_IN_EVIDENCE]),
        },
    )


def _worst_ratio(duration: Mapping[str, Any], rate: Mapping[str, Any]) -> float | None:
    """How many times worse than the baseline, the worse of p95 init duration and cold-start rate
    (None where a baseline of zero makes it unbounded)."""
    ratios = []
    for now, before in (
        (duration.get("current_p95_ms"), duration.get("baseline_p95_ms")),
        (rate.get("current_cold_start_rate"), rate.get("baseline_cold_start_rate")),
    ):
        if now is None:
            continue
        if not before:
            return None
        ratios.append(now / before)
    return round(max(ratios), 3)


def _duration_regression(current: LogStats, baseline: LogStats, thresholds: CheckThresholds) -> dict[str, Any]:
    """p95 init duration up by the ratio and the absolute rise, and a one-sided Mann-Whitney U test agrees."""
    now, before = current.init_values, baseline.init_values
    if min(len(now), len(before)) < thresholds.cold_start_min_samples:
        return {}
    p95_now, p95_before = percentile(now, 95), percentile(before, 95)
    if (
        p95_now < p95_before * thresholds.cold_start_min_ratio
        or p95_now - p95_before < thresholds.cold_start_min_rise_ms
    ):
        return {}
    test = mann_whitney_u_greater(now, before)
    if test.p_value >= thresholds.cold_start_max_p_value:
        return {}
    return {
        "summary": f"p95 init duration rose from {p95_before:.0f} ms to {p95_now:.0f} ms",
        "baseline_p50_ms": percentile(before, 50),
        "baseline_p95_ms": p95_before,
        "current_p50_ms": percentile(now, 50),
        "current_p95_ms": p95_now,
        "baseline_cold_starts": baseline.cold_starts,
        "current_cold_starts": current.cold_starts,
        "p_value": test.p_value,
        "test": f"one-sided Mann-Whitney U ({test.method})",
    }


def _rate_regression(current: LogStats, baseline: LogStats, thresholds: CheckThresholds) -> dict[str, Any]:
    """The share of invocations that were cold rose by the ratio, and a two-proportion test agrees."""
    if current.cold_starts < thresholds.cold_start_min_samples or not current.invocations or not baseline.invocations:
        return {}
    rate_now = current.cold_starts / current.invocations
    rate_before = baseline.cold_starts / baseline.invocations
    if rate_now < rate_before * thresholds.cold_start_min_ratio:
        return {}
    test = two_proportion_greater(current.cold_starts, current.invocations, baseline.cold_starts, baseline.invocations)
    if test.p_value >= thresholds.cold_start_max_p_value:
        return {}
    return {
        "summary": f"cold-start rate rose from {rate_before:.1%} to {rate_now:.1%}",
        "baseline_cold_start_rate": round(rate_before, 6),
        "current_cold_start_rate": round(rate_now, 6),
        "rate_p_value": test.p_value,
    }


def configuration_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed between two configuration fingerprints, in words; "no configuration change" if nothing did."""
    if not before or not after:
        return ["configuration before the baseline unknown"]
    changes = []
    if before.get("code_sha256") != after.get("code_sha256"):
        changes.append("new code deployed")
    old_size, new_size = before.get("code_size") or 0, after.get("code_size") or 0
    if new_size != old_size:
        direction = "bigger" if new_size > old_size else "smaller"
        changes.append(f"{direction} package ({_size(old_size)} → {_size(new_size)})")
    for key, label in (("runtime", "runtime"), ("memory_mb", "memory"), ("architectures", "architecture")):
        if before.get(key) != after.get(key):
            changes.append(f"{label} {before.get(key)} → {after.get(key)}")
    if before.get("layers") != after.get("layers"):
        changes.append("layers changed")
    if before.get("version") != after.get("version") and not changes:
        changes.append(f"version {before.get('version')} → {after.get('version')}")
    return changes or ["no configuration change"]


def _size(octets: float) -> str:
    return f"{octets / 1e6:.1f} MB" if octets >= 100_000 else f"{octets / 1e3:.1f} kB"
