from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Threshold, check
from .severity import SeverityRule


@check(
    id="traces-missing",
    title="Tracing is on but no traces arrive",
    severity=SeverityRule.fixed(Severity.MEDIUM),
    permissions=("cloudwatch:GetMetricData", "iam:SimulatePrincipalPolicy", "xray:GetServiceGraph"),
    remediation=(
        "Check the sampling rules (a rule with rate 0 or a reservoir of 0 drops every trace), that the function's"
        " callers do not pass a trace header with Sampled=0, and that the X-Ray SDK or OpenTelemetry layer is set up."
    ),
    docs="https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html",
    thresholds={
        "traces_min_invocations": Threshold(
            100, "invocations in the window before missing traces count", "invocations", minimum=0
        )
    },
    needs=(DataSource.METRICS, DataSource.ROLE_PERMISSIONS, DataSource.SERVICE_GRAPH),
)
def traces_missing(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if fn.tracing_mode != "Active" or fn.trace_node is not None:
        return
    if not fn.xray_permission or any(decision != "allowed" for decision in fn.xray_permission.values()):
        return  # tracing-not-permitted explains it
    invocations = fn.current.sum("Invocations")
    if invocations >= thresholds.traces_min_invocations:
        yield fn.finding(
            f"{invocations:.0f} invocations and no node in the X-Ray service graph",
            evidence={
                "invocations": invocations,
                "likely_causes": [
                    "sampling rules that sample nothing for this function",
                    "callers passing Sampled=0 in the trace header",
                    "an X-Ray segment limit or a quota reached in the account",
                ],
            },
        )
