from __future__ import annotations

from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check
from .severity import SeverityRule

# Event sources whose invocations X-Ray cannot trace:
# https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
UNTRACEABLE_SOURCES = {"kafka": "Amazon MSK", "mq": "Amazon MQ", "rds": "Amazon DocumentDB"}


def untraceable_sources_exemption(fn: FunctionSnapshot) -> str | None:
    sources = sorted({UNTRACEABLE_SOURCES[s.service] for s in fn.event_sources if s.service in UNTRACEABLE_SOURCES})
    if fn.tracing_mode == "Active" or not sources:
        return None
    return f"exempt from tracing-disabled: X-Ray cannot trace invocations from {', '.join(sources)}"


@check(
    id="tracing-disabled",
    title="X-Ray active tracing is off",
    severity=SeverityRule.fixed(Severity.LOW),
    permissions=("lambda:ListFunctions", "lambda:ListEventSourceMappings"),
    remediation=(
        "Turn on active tracing (TracingConfig Mode=Active; in SAM `Tracing: Active`) and give the execution role"
        " the AWSXRayDaemonWriteAccess managed policy."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    needs=(DataSource.INVENTORY, DataSource.EVENT_SOURCE_MAPPINGS),
    not_judged=untraceable_sources_exemption,
)
def tracing_disabled(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if fn.tracing_mode == "Active":
        return
    if any(source.service in UNTRACEABLE_SOURCES for source in fn.event_sources):
        return
    yield fn.finding(
        f"tracing mode is {fn.tracing_mode}, not Active",
        evidence={"tracing_mode": fn.tracing_mode},
    )
