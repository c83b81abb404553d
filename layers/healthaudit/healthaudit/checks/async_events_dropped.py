from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check

DROP_METRICS = ("AsyncEventsDropped", "DeadLetterErrors", "DestinationDeliveryFailures")


@check(
    id="async-events-dropped",
    title="Asynchronous events were lost",
    severity=Severity.HIGH,
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
    if any(counts.values()):
        parts = ", ".join(f"{value:.0f} {metric}" for metric, value in counts.items() if value)
        yield fn.finding(f"asynchronous events lost: {parts}", evidence=counts)
