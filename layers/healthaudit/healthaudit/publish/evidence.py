"""A finding's evidence in words: each key's label and unit, and its value as a reader reads it.

Evidence is free-form in the model (its keys depend on the check), so the known keys are listed
here, once, with their label and unit; a key that is not listed still reads as words, its unit
taken from its suffix (`_ms`, `_mb`, `_seconds`, `_rate`, `_ratio`, `_days`). Ratios read as
percentages, as the findings' messages give them; durations read in the unit the message uses.
Values come back as plain text (or lines of text): the page escapes them where it places them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

SAMPLE_KEYS = ("baseline_samples", "current_samples")


@dataclass(frozen=True)
class EvidenceField:
    label: str
    unit: str = ""
    """"ms", "s", "MB", "%" (a ratio, shown ×100), "ms→s" (milliseconds shown in seconds), "×" (a factor),
    "date", "days_left", "p" (a p-value), "count", or "" for text."""


EVIDENCE: Mapping[str, EvidenceField] = {
    # throttled, error-rate-high, traces-missing, provisioned-spillover, memory-overprovisioned
    "throttles": EvidenceField("Throttled attempts", "count"),
    "invocations": EvidenceField("Invocations", "count"),
    "throttle_rate": EvidenceField("Throttle rate", "%"),
    "limit": EvidenceField("Limit that throttled"),
    "reserved_concurrency": EvidenceField("Reserved concurrency", "count"),
    "errors": EvidenceField("Errors", "count"),
    "error_rate": EvidenceField("Error rate", "%"),
    "baseline_error_rate": EvidenceField("Baseline error rate", "%"),
    # duration-near-timeout
    "p99_duration_ms": EvidenceField("p99 duration", "ms"),
    "timeout_ms": EvidenceField("Timeout", "ms→s"),
    # concurrency-near-limit
    "peak_concurrency": EvidenceField("Peak concurrency", "count"),
    "claimed_concurrency": EvidenceField("Peak claimed account concurrency", "count"),
    "account_limit": EvidenceField("Account concurrency quota", "count"),
    # iterator-age-high
    "max_iterator_age_ms": EvidenceField("Oldest record's age", "ms→s"),
    "streams": EvidenceField("Streams"),
    # async-events-dropped (its evidence keys are the metrics' names)
    "AsyncEventsDropped": EvidenceField("Events dropped", "count"),
    "DeadLetterErrors": EvidenceField("Dead-letter queue errors", "count"),
    "DestinationDeliveryFailures": EvidenceField("Destination delivery failures", "count"),
    "lost_rate": EvidenceField("Share of received events lost", "%"),
    # no-failure-destination
    "async_events_received": EvidenceField("Asynchronous events received", "count"),
    "on_failure_destination_by_qualifier": EvidenceField("On-failure destination by qualifier"),
    # memory-near-limit, memory-overprovisioned
    "max_memory_used_mb": EvidenceField("Max memory used", "MB"),
    "memory_size_mb": EvidenceField("Memory size", "MB"),
    "suggested_memory_mb": EvidenceField("Suggested memory size", "MB"),
    # cold-start-regression
    "times_baseline": EvidenceField("Times the baseline", "×"),
    "baseline_p50_ms": EvidenceField("Baseline p50 init duration", "ms"),
    "baseline_p95_ms": EvidenceField("Baseline p95 init duration", "ms"),
    "current_p50_ms": EvidenceField("Current p50 init duration", "ms"),
    "current_p95_ms": EvidenceField("Current p95 init duration", "ms"),
    "baseline_cold_starts": EvidenceField("Baseline cold starts", "count"),
    "current_cold_starts": EvidenceField("Current cold starts", "count"),
    "p_value": EvidenceField("p-value", "p"),
    "test": EvidenceField("Test"),
    "baseline_cold_start_rate": EvidenceField("Baseline cold-start rate", "%"),
    "current_cold_start_rate": EvidenceField("Current cold-start rate", "%"),
    "rate_p_value": EvidenceField("p-value of the rate rise", "p"),
    "configuration_changes": EvidenceField("What changed"),
    "baseline_samples": EvidenceField("Baseline init durations"),
    "current_samples": EvidenceField("Current init durations"),
    # runtime-deprecated
    "runtime": EvidenceField("Runtime"),
    "deprecation_date": EvidenceField("Deprecation date", "date"),
    "days_left": EvidenceField("Deprecation", "days_left"),
    # traces-missing, tracing-disabled, tracing-not-permitted, trace-errors-high
    "likely_causes": EvidenceField("Likely causes"),
    "tracing_mode": EvidenceField("Tracing mode"),
    "role": EvidenceField("Execution role"),
    "decisions": EvidenceField("IAM decisions"),
    "denied_by_service_control_policy": EvidenceField("Denied by a service control policy"),
    "failing": EvidenceField("Failing calls"),
    "failure_rate": EvidenceField("Worst failure rate", "%"),
    # log-retention-unset, audit-coverage-gap
    "log_group": EvidenceField("Log group"),
    "source": EvidenceField("Data source"),
    "reason": EvidenceField("Reason"),
    "spillover_invocations": EvidenceField("Invocations spilled over to on-demand", "count"),
    "spillover_rate": EvidenceField("Share of invocations spilled over", "%"),
}

# "ratio" means a different share for each check that gives it.
RATIO_LABELS: Mapping[str, str] = {
    "duration-near-timeout": "p99 duration as a share of the timeout",
    "concurrency-near-limit": "Peak as a share of the limit",
    "memory-near-limit": "Memory used as a share of memory size",
    "memory-overprovisioned": "Memory used as a share of memory size",
}

SUFFIX_UNITS = (
    ("_ms", "ms"),
    ("_mb", "MB"),
    ("_seconds", "s"),
    ("_rate", "%"),
    ("_ratio", "%"),
    ("_days", "count"),
)
ACRONYMS = {"iam": "IAM", "arn": "ARN", "dlq": "DLQ", "sqs": "SQS", "sns": "SNS", "scp": "SCP", "xray": "X-Ray"}
DECISIONS = {"allowed": "allowed", "implicitDeny": "implicit deny", "explicitDeny": "explicit deny"}


def field_for(key: str, check_id: str = "") -> EvidenceField:
    """The label and unit of an evidence key: the table's, or words made from the key."""
    if key == "ratio":
        return EvidenceField(RATIO_LABELS.get(check_id, "Share of the limit"), "%")
    if key in EVIDENCE:
        return EVIDENCE[key]
    unit = ""
    stem = key
    for suffix, suffix_unit in SUFFIX_UNITS:
        if key.lower().endswith(suffix):
            unit = suffix_unit
            stem = key[: -len(suffix)] if suffix_unit in ("ms", "MB", "s") else key
            break
    return EvidenceField(words(stem), unit)


def words(key: str) -> str:
    """`max_iterator_age` and `MaxIteratorAge` → "Max iterator age"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").replace("-", " ")
    parts = [ACRONYMS.get(part.lower(), part.lower()) for part in spaced.split()]
    text = " ".join(parts) or "(no name)"
    return text[0].upper() + text[1:]


def evidence_rows(evidence: Mapping[str, Any], check_id: str = "") -> list[tuple[str, list[str]]]:
    """Each evidence entry as (label, lines of text); the init-duration samples are left to the chart."""
    rows = []
    for key, value in evidence.items():
        field = field_for(str(key), check_id)
        if key in SAMPLE_KEYS and isinstance(value, list | tuple):
            rows.append((field.label, [f"{len(value)} samples (in the chart)"]))
            continue
        rows.append((field.label, value_lines(key, value, field)))
    return rows


def value_lines(key: str, value: Any, field: EvidenceField) -> list[str]:
    if key == "failing" and isinstance(value, list | tuple):
        return [traced_calls(item) if isinstance(item, Mapping) else plain(item) for item in value] or ["none"]
    if key == "decisions" and isinstance(value, Mapping):
        return [f"{action}: {DECISIONS.get(str(d), words(str(d)).lower())}" for action, d in value.items()] or ["none"]
    if isinstance(value, Mapping):
        return [f"{words(str(k))}: {plain(v)}" for k, v in value.items()] or ["none configured"]
    if isinstance(value, list | tuple):
        return [plain(item) for item in value] or ["none"]
    return [formatted(value, field.unit)]


def formatted(value: Any, unit: str) -> str:
    """One value in its unit: 0.0005 as "0.05 %", 900000 ms→s as "900 s", -351 days_left as "351 days ago"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit == "date":
        return long_date(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return plain(value)
    if unit == "%":
        return percent(value)
    if unit == "ms→s":
        return f"{quantity(value / 1000)} s"
    if unit == "days_left":
        days = int(value)
        if days < 0:
            return f"deprecated {-days:,} day{'s' if days != -1 else ''} ago"
        return "deprecated today" if days == 0 else f"in {days:,} day{'s' if days != 1 else ''}"
    if unit == "×":
        return f"{value:.3g}×"
    if unit == "p":
        return "< 0.0001" if value < 0.0001 else f"{value:.2g}"
    if unit in ("ms", "s", "MB"):
        return f"{quantity(value)} {unit}"
    return quantity(value)


def percent(ratio: float) -> str:
    """A ratio as a percentage with the precision it needs: 0.0005 → "0.05 %", 0.9766 → "97.7 %", 0.08 → "8 %"."""
    share = ratio * 100
    text = "0" if share == 0 else f"{share:.3g}" if abs(share) >= 0.01 else f"{share:.1g}"
    return f"{text} %"


def quantity(value: float) -> str:
    """Thousands separated, at most one decimal above 100, three significant figures below."""
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def long_date(value: Any) -> str:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return plain(value)
    return f"{day.day} {day:%b %Y}"


def traced_calls(item: Mapping[str, Any]) -> str:
    """A failing X-Ray node or edge: "stock (AWS::DynamoDB::Table): 8 of 24 traced calls failed: …"."""
    total = item.get("total") or 0
    errors, faults, throttles = (item.get(k) or 0 for k in ("errors", "faults", "throttles"))
    name = f"{item.get('service', '?')} ({item['type']})" if item.get("type") else str(item.get("service", "?"))
    text = (
        f"{name}: {quantity(errors + faults)} of {quantity(total)} traced calls failed"
        f" ({quantity(faults)} faults, {quantity(errors)} errors of which {quantity(throttles)} throttled)"
    )
    if isinstance(item.get("average_response_ms"), int | float):
        text += f", average response {quantity(item['average_response_ms'])} ms"
    return text


def plain(value: Any) -> str:
    """A nested value as text, never as JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return quantity(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{words(str(k))}: {plain(v)}" for k, v in value.items()) or "none"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(plain(v) for v in value) or "none"
    return str(value)


def long_key_values(values: Sequence[str]) -> bool:
    """Whether the lines are identifiers (ARNs, log groups) that read better in code type."""
    return all(re.fullmatch(r"(arn:|/)\S+", v) for v in values)
