from typing import Iterator

from ..model import DataSource, FunctionSnapshot, Observation, Severity
from .registry import CheckThresholds, check
from .severity import SeverityRule


@check(
    id="tracing-not-permitted",
    title="Tracing is on but the role cannot write traces",
    severity=SeverityRule.fixed(Severity.MEDIUM),
    permissions=("lambda:ListFunctions", "iam:SimulatePrincipalPolicy"),
    remediation=(
        "Attach the AWS managed policy AWSXRayDaemonWriteAccess to the execution role (in SAM, `Tracing:"
        " Active` adds it; in the console, turning on active tracing does), or allow xray:PutTraceSegments and"
        " xray:PutTelemetryRecords. Where the evidence names a service control policy, no change to the role can"
        " help: the organization's administrators must allow these actions in the SCPs over this account."
    ),
    docs="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    needs=(DataSource.ROLE_PERMISSIONS,),
)
def tracing_not_permitted(fn: FunctionSnapshot, thresholds: CheckThresholds) -> Iterator[Observation]:
    if fn.tracing_mode != "Active" or not fn.xray_permission:
        return
    refused = {action: decision for action, decision in sorted(fn.xray_permission.items()) if decision != "allowed"}
    if not refused:
        return
    by_scp = [action for action in refused if action in fn.xray_denied_by_scp]
    by_role = [action for action in refused if action not in fn.xray_denied_by_scp]
    reasons = []
    if by_scp:
        reasons.append(
            f"a service control policy of the AWS Organization denies {', '.join(by_scp)}"
            " (the fix is in the organization's SCPs, not the role)"
        )
    if by_role:
        decisions = ", ".join(sorted({refused[action] for action in by_role}))
        reasons.append(f"the role may not {', '.join(by_role)} ({decisions})")
    yield fn.finding(
        f"tracing is Active but {'; and '.join(reasons)}",
        evidence={
            "role": fn.role,
            "decisions": dict(fn.xray_permission),
            "denied_by_service_control_policy": by_scp,
        },
    )
