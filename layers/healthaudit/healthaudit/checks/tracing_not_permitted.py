from typing import Iterator

from ..config import Thresholds
from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import check


@check(
    id="tracing-not-permitted",
    title="Tracing is on but the role cannot write traces",
    severity=Severity.MEDIUM,
    permissions=("lambda:ListFunctions", "iam:SimulatePrincipalPolicy"),
    remediation=(
        "Attach the AWS managed policy AWSXRayDaemonWriteAccess to the execution role (in SAM, `Tracing:"
        " Active` adds it; in the console, turning on active tracing does), or allow xray:PutTraceSegments and"
        " xray:PutTelemetryRecords."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    needs=(DataSource.ROLE_PERMISSIONS,),
)
def tracing_not_permitted(fn: FunctionSnapshot, thresholds: Thresholds) -> Iterator[Observation]:
    if fn.tracing_mode != "Active" or not fn.xray_permission:
        return
    refused = {action: decision for action, decision in sorted(fn.xray_permission.items()) if decision != "allowed"}
    if refused:
        yield fn.finding(
            f"tracing is Active but the role may not {', '.join(refused)} ({', '.join(sorted(set(refused.values())))})",
            evidence={"role": fn.role, "decisions": dict(fn.xray_permission)},
        )
