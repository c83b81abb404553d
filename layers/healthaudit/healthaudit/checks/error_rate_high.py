from typing import Iterator

from ..cost import dollars, failure_cost, function_price, usage_of
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="error-rate-high",
    title="Error rate is high",
    # 5 % is the error rate CloudWatch's recommended alarms use for API Gateway (4XXError, 5XXError: 0.05):
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html
    severity=SeverityRule.at_least(
        "error_rate", "error rate", {Severity.HIGH: 0.05, Severity.MEDIUM: 0.01}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("error_rate", "error rate"),
    permissions=("cloudwatch:GetMetricData",),
    remediation=(
        "Open the function's recent error logs (CloudWatch Logs Insights: filter @message like /ERROR/) and its"
        " X-Ray traces; roll back the last deployment if the errors started with it."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
    thresholds={
        "max_error_rate": Threshold(0.05, "share of invocations that failed", "ratio", minimum=0, maximum=1),
        "min_invocations_for_error_rate": Threshold(
            20, "invocations in the window before the error rate is judged", "invocations", minimum=0
        ),
    },
    needs=(DataSource.METRICS,),
    series=("Errors", "Invocations"),
)
def error_rate_high(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    invocations = fn.current.sum("Invocations")
    errors = fn.current.sum("Errors")
    if invocations < thresholds.min_invocations_for_error_rate or invocations == 0:
        return
    rate = errors / invocations
    if rate > thresholds.max_error_rate:
        baseline_invocations = fn.baseline.sum("Invocations")
        baseline_rate = fn.baseline.sum("Errors") / baseline_invocations if baseline_invocations else None
        usage = usage_of(fn)
        cost = (
            None
            if usage is None
            else failure_cost(
                function_price(fn),
                usage,
                errors,
                usage.duration_ms,
                "failed invocations at the function's duration: Lambda bills a failed invocation as any other",
            )
        )
        priced = "" if cost is None else f"; the failures cost about {dollars(cost.failed_monthly_usd or 0.0)} a month"
        yield fn.finding(
            f"{errors:.0f} errors in {invocations:.0f} invocations ({rate:.1%}){priced}",
            evidence={
                "errors": errors,
                "invocations": invocations,
                "error_rate": round(rate, 6),
                "baseline_error_rate": None if baseline_rate is None else round(baseline_rate, 6),
            },
            cost=cost,
        )
