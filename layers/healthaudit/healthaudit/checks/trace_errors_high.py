from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity, TraceStats
from .registry import CheckThresholds, Figure, Threshold, check
from .severity import SeverityRule


@check(
    id="trace-errors-high",
    title="Traces show errors or faults",
    # Failed calls, as error-rate-high counts them: the same bands.
    severity=SeverityRule.at_least(
        "failure_rate",
        "traced failure rate",
        {Severity.HIGH: 0.05, Severity.MEDIUM: 0.01},
        Severity.LOW,
        unit="%",
    ),
    figure=Figure.share("failure_rate", "traced failure rate"),
    permissions=("xray:GetServiceGraph",),
    remediation=(
        "Open the X-Ray service map and the traces with errors: a downstream service that faults or throttles"
        " needs capacity, retries with backoff or a circuit breaker; the function's own faults need its logs."
    ),
    docs="https://docs.aws.amazon.com/xray/latest/devguide/xray-console-servicemap.html",
    thresholds={
        "max_trace_failure_rate": Threshold(
            0.05, "share of traced calls that failed (errors and faults)", "ratio", minimum=0, maximum=1
        ),
        "min_traced_calls": Threshold(20, "traced calls before the failure rate is judged", "calls", minimum=0),
    },
    needs=(DataSource.SERVICE_GRAPH,),
)
def trace_errors_high(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    node = fn.trace_node
    if node is None:
        return
    failing = []
    if _failing(node.stats, thresholds):
        failing.append({"service": fn.name, "type": "AWS::Lambda::Function", **node.stats.to_dict()})
    failing += [
        {"service": edge.name, "type": edge.type, **edge.stats.to_dict()}
        for edge in node.edges
        if _failing(edge.stats, thresholds)
    ]
    if failing:
        worst = max(failing, key=lambda item: (item["errors"] + item["faults"]) / item["total"])
        rate = (worst["errors"] + worst["faults"]) / worst["total"]
        where = "its own invocations" if worst["service"] == fn.name else f"calls to {worst['service']}"
        yield fn.finding(
            f"{rate:.0%} of {where} failed ({worst['faults']} faults, {worst['errors']} errors of which"
            f" {worst['throttles']} throttled, of {worst['total']} traced)",
            evidence={"failure_rate": round(rate, 6), "failing": failing},
        )


def _failing(stats: TraceStats, thresholds: CheckThresholds) -> bool:
    return stats.total >= thresholds.min_traced_calls and stats.failure_rate > thresholds.max_trace_failure_rate
