from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check
from .severity import SeverityRule


@check(
    id="no-failure-destination",
    title="Asynchronous invocations have nowhere to fail to",
    severity=SeverityRule.fixed(Severity.MEDIUM),
    permissions=("cloudwatch:GetMetricData", "lambda:ListFunctions", "lambda:ListFunctionEventInvokeConfigs"),
    remediation=(
        "Add an on-failure destination (SQS, SNS, EventBridge, S3 or another function) with"
        " PutFunctionEventInvokeConfig on the qualifier callers invoke ($LATEST, a version or an alias), or a"
        " dead-letter queue, so that events that fail every retry are kept."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
    needs=(DataSource.METRICS, DataSource.EVENT_INVOKE_CONFIG),
)
def no_failure_destination(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    """Fires when no qualifier has an on-failure destination.

    The function's AsyncEventsReceived does not say which qualifier received the events, so a
    destination on any of them (an alias that callers invoke, say) counts.
    """
    received = fn.current.sum("AsyncEventsReceived")
    if not received or fn.dead_letter_target or any(fn.failure_destinations.values()):
        return
    configured = sorted(fn.failure_destinations)
    where = (
        f"the asynchronous invocation configs of {', '.join(configured)} name no OnFailure destination"
        if configured
        else "no qualifier has an asynchronous invocation config"
    )
    yield fn.finding(
        f"{received:.0f} asynchronous events received with neither a dead-letter queue nor an on-failure"
        f" destination ({where})",
        evidence={
            "async_events_received": received,
            "on_failure_destination_by_qualifier": {
                qualifier: fn.failure_destinations[qualifier] for qualifier in configured
            },
        },
    )
