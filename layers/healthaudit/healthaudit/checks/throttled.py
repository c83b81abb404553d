from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Threshold, check


@check(
    id="throttled",
    title="Function is throttled",
    severity=Severity.HIGH,
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
        limit = f"reserved concurrency {reserved}" if reserved is not None else "account concurrency"
        yield fn.finding(
            f"{throttles:.0f} of {attempts:.0f} invocation attempts throttled ({rate:.2%}) by {limit}",
            evidence={
                "throttles": throttles,
                "invocations": invocations,
                "throttle_rate": round(rate, 6),
                "limit": limit,
                "reserved_concurrency": reserved,
            },
        )
