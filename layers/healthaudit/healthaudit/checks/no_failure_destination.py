from typing import Iterator

from ..config import Thresholds
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import check


@check(
    id="no-failure-destination",
    title="Asynchronous invocations have nowhere to fail to",
    severity=Severity.MEDIUM,
    permissions=("cloudwatch:GetMetricData", "lambda:ListFunctions", "lambda:GetFunctionEventInvokeConfig"),
    remediation=(
        "Add an on-failure destination (SQS, SNS, EventBridge, S3 or another function) with"
        " PutFunctionEventInvokeConfig, or a dead-letter queue, so that events that fail every retry are kept."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
    needs=(DataSource.METRICS, DataSource.EVENT_INVOKE_CONFIG),
)
def no_failure_destination(fn: FunctionSnapshot, thresholds: Thresholds) -> Iterator[Observation]:
    received = fn.current.sum("AsyncEventsReceived")
    if received and not fn.dead_letter_target and not fn.on_failure_destination:
        yield fn.finding(
            f"{received:.0f} asynchronous events received with neither a dead-letter queue nor an on-failure"
            " destination",
            evidence={"async_events_received": received},
        )
