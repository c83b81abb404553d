from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check


@check(
    id="provisioned-spillover",
    title="Provisioned concurrency spilled over to on-demand",
    severity=Severity.LOW,
    permissions=("cloudwatch:GetMetricData",),
    remediation=(
        "Raise provisioned concurrency on the alias, or scale it with Application Auto Scaling on"
        " ProvisionedConcurrencyUtilization, so peak traffic does not pay on-demand cold starts."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html",
    needs=(DataSource.METRICS,),
    series=("ProvisionedConcurrencySpilloverInvocations",),
)
def provisioned_spillover(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    spillover = fn.current.sum("ProvisionedConcurrencySpilloverInvocations")
    if spillover > 0:
        invocations = fn.current.sum("Invocations")
        yield fn.finding(
            f"{spillover:.0f} invocations ran on demand because provisioned concurrency was exhausted",
            evidence={"spillover_invocations": spillover, "invocations": invocations},
        )
