from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="throttled",
    title="Function is throttled",
    # A throttled attempt fails for its caller as an error does: the same bands as error-rate-high.
    severity=SeverityRule.at_least(
        "throttle_rate", "throttle rate", {Severity.HIGH: 0.05, Severity.MEDIUM: 0.01}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("throttle_rate", "throttle rate"),
    permissions=("cloudwatch:GetMetricData", "lambda:GetAccountSettings", "lambda:GetFunctionConcurrency"),
    remediation=(
        "Raise the function's reserved concurrency, or ask for a higher account concurrency quota; for bursts from"
        " queues, cap the event source's maximum concurrency below the function's."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
    thresholds={
        "max_throttle_rate": Threshold(0.01, "share of invocation attempts throttled", "ratio", minimum=0, maximum=1)
    },
    needs=(DataSource.METRICS, DataSource.RESERVED_CONCURRENCY),
    series=("Throttles", "Invocations"),
)
def throttled(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    throttles = fn.current.sum("Throttles")
    invocations = fn.current.sum("Invocations")
    attempts = throttles + invocations
    if not throttles:
        return
    rate = throttles / attempts
    reserved = fn.reserved_concurrency
    if rate > thresholds.max_throttle_rate or reserved is not None:
        peak = fn.current.max("ConcurrentExecutions")
        limit = f"reserved concurrency {reserved}" if reserved is not None else "account concurrency"
        yield fn.finding(
            f"{throttles:,.0f} of {attempts:,.0f} invocation attempts throttled ({rate:.2%}) by {limit}"
            + _peak_against_reservation(peak, reserved),
            evidence={
                "throttles": throttles,
                "invocations": invocations,
                "throttle_rate": round(rate, 6),
                "limit": limit,
                "reserved_concurrency": reserved,
                "peak_concurrency": peak,
            },
        )


def _peak_against_reservation(peak: float | None, reserved: int | None) -> str:
    """The concurrency signal of the same cause, which concurrency-near-limit leaves to this finding."""
    if peak is None or not reserved:
        return ""
    return f"; peak concurrency {peak:.0f} of {reserved} reserved ({peak / reserved:.0%})"
