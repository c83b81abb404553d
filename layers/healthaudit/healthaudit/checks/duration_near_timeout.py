from typing import Iterator

from ..cost import dollars, failure_cost, function_price, usage_of
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="duration-near-timeout",
    title="Duration is close to the timeout",
    # At the timeout Lambda stops the invocation: a p99 within 5 % of it means some already time out.
    severity=SeverityRule.at_least(
        "ratio", "p99 / timeout", {Severity.HIGH: 0.95, Severity.MEDIUM: 0.9}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("ratio", "p99 duration as a share of the timeout"),
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
        usage = usage_of(fn)
        timed_out = fn.current.sum("Errors")
        cost = (
            None
            if usage is None
            else failure_cost(
                function_price(fn),
                usage,
                timed_out,
                timeout_ms,
                "Lambda counts timeouts among Errors and has no metric of its own for them: every error is"
                " priced as a timeout, billed for the whole timeout, an upper bound",
            )
        )
        if cost is None:
            priced = ""
        elif timed_out:
            failed = dollars(cost.failed_monthly_usd or 0.0)
            priced = f"; its {timed_out:.0f} errors, if timed out, cost up to {failed} a month"
        else:
            priced = "; no invocation failed, so none timed out"
        yield fn.finding(
            f"p99 duration {p99:.0f} ms is {ratio:.0%} of the {fn.timeout_seconds} s timeout{priced}",
            evidence={"p99_duration_ms": p99, "timeout_ms": timeout_ms, "ratio": round(ratio, 4)},
            cost=cost,
        )
