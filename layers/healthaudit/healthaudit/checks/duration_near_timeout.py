from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Threshold, check
from .severity import SeverityRule


@check(
    id="duration-near-timeout",
    title="Duration is close to the timeout",
    # At the timeout Lambda stops the invocation: a p99 within 5 % of it means some already time out.
    severity=SeverityRule.at_least(
        "ratio", "p99 / timeout", {Severity.HIGH: 0.95, Severity.MEDIUM: 0.9}, Severity.LOW, unit="%"
    ),
    permissions=("cloudwatch:GetMetricData",),
    remediation=(
        "Find what is slow (X-Ray traces, downstream latency) and fix it, or raise the timeout with headroom;"
        " more memory also brings more CPU."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html",
    thresholds={
        "max_duration_timeout_ratio": Threshold(
            0.8, "p99 Duration as a share of the configured timeout", "ratio", minimum=0, maximum=1
        )
    },
    needs=(DataSource.METRICS,),
    series=("Duration",),
)
def duration_near_timeout(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    p99 = fn.current.max("Duration")
    timeout_ms = fn.timeout_seconds * 1000
    if p99 is None or not timeout_ms:
        return
    ratio = p99 / timeout_ms
    if ratio > thresholds.max_duration_timeout_ratio:
        yield fn.finding(
            f"p99 duration {p99:.0f} ms is {ratio:.0%} of the {fn.timeout_seconds} s timeout",
            evidence={"p99_duration_ms": p99, "timeout_ms": timeout_ms, "ratio": round(ratio, 4)},
        )
