from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, check
from .severity import SeverityRule


@check(
    id="provisioned-spillover",
    title="Provisioned concurrency spilled over to on-demand",
    # Spillover costs cold starts, not requests: MEDIUM once a tenth of the traffic pays them.
    severity=SeverityRule.at_least(
        "spillover_rate", "invocations spilled over", {Severity.MEDIUM: 0.1}, Severity.LOW, unit="%"
    ),
    figure=Figure.share("spillover_rate", "invocations spilled over"),
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
        share = spillover / max(invocations, spillover)  # spillover invocations are among the Invocations
        yield fn.finding(
            f"{spillover:.0f} invocations ({share:.1%}) ran on demand because provisioned concurrency was exhausted",
            evidence={
                "spillover_invocations": spillover,
                "invocations": invocations,
                "spillover_rate": round(share, 6),
            },
        )
