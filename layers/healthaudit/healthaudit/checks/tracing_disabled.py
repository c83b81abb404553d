from typing import Iterator

from ..config import Thresholds
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import check

# Event sources whose invocations X-Ray cannot trace:
# https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
UNTRACEABLE_SOURCES = {"kafka": "Amazon MSK", "mq": "Amazon MQ", "rds": "Amazon DocumentDB"}


@check(
    id="tracing-disabled",
    title="X-Ray active tracing is off",
    severity=Severity.LOW,
    permissions=("lambda:ListFunctions", "lambda:ListEventSourceMappings"),
    remediation=(
        "Turn on active tracing (TracingConfig Mode=Active; in SAM `Tracing: Active`) and give the execution role"
        " the AWSXRayDaemonWriteAccess managed policy."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    needs=(DataSource.INVENTORY, DataSource.EVENT_SOURCE_MAPPINGS),
)
def tracing_disabled(fn: FunctionSnapshot, thresholds: Thresholds) -> Iterator[Observation]:
    if fn.tracing_mode == "Active":
        return
    if any(source.service in UNTRACEABLE_SOURCES for source in fn.event_sources):
        return
    yield fn.finding(
        f"tracing mode is {fn.tracing_mode}, not Active",
        evidence={"tracing_mode": fn.tracing_mode},
    )
