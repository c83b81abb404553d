from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, Figure, check
from .severity import SeverityRule

DROP_METRICS = ("AsyncEventsDropped", "DeadLetterErrors", "DestinationDeliveryFailures")


@check(
    id="async-events-dropped",
    title="Asynchronous events were lost",
    # Every lost event is data loss, so never LOW; HIGH once it is a share a caller would notice.
    severity=SeverityRule.at_least("lost_rate", "async events lost", {Severity.HIGH: 0.01}, Severity.MEDIUM, unit="%"),
    figure=Figure.share("lost_rate", "share of async events lost"),
    permissions=("cloudwatch:GetMetricData",),
    remediation=(
        "Give the function an on-failure destination, check that its execution role may send to the DLQ or"
        " destination, and raise MaximumEventAgeInSeconds if events expired while throttled."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html",
    needs=(DataSource.METRICS,),
    series=DROP_METRICS,
)
def async_events_dropped(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    counts = {metric: fn.current.sum(metric) for metric in DROP_METRICS}
    lost = sum(counts.values())
    if lost:
        received = fn.current.sum("AsyncEventsReceived")
        share = lost / max(received, lost)  # events queued before the window can be lost in it
        parts = ", ".join(f"{value:.0f} {metric}" for metric, value in counts.items() if value)
        of_received = (
            f"{share:.2%} of {received:,.0f} received"
            if received >= lost
            else f"more than the {received:,.0f} received in the window"
        )
        yield fn.finding(
            f"asynchronous events lost: {parts} ({of_received})",
            evidence={**counts, "async_events_received": received, "lost_rate": round(share, 6)},
        )
