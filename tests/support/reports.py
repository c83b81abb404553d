"""Findings and single-account reports for tests: every field a valid default, any of them changed by name."""

from __future__ import annotations

from typing import Any

from healthaudit.model import AuditReport, Finding, Severity
from tests.support.snapshots import WINDOW

ACCOUNT, REGION = "123456789012", "eu-west-1"


def function_arn(name: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def a_finding(check_id: str = "throttled", function_name: str | None = "orders-api", **changes: Any) -> Finding:
    """A HIGH finding of `check_id` on `function_name` (None: account-wide, with no ARN)."""
    account, region = changes.get("account", ACCOUNT), changes.get("region", REGION)
    fields: dict[str, Any] = {
        "title": f"Title of {check_id}",
        "severity": Severity.HIGH,
        "account": account,
        "region": region,
        "message": "m",
        "remediation": "r",
        "docs": "https://docs.aws.amazon.com/lambda/",
        "function_arn": function_arn(function_name, account, region) if function_name else None,
    }
    return Finding(check_id=check_id, function_name=function_name, **{**fields, **changes})


def a_report(*findings: Finding, **changes: Any) -> AuditReport:
    """A report holding `findings`, of tests.support.snapshots.WINDOW unless `window` says otherwise."""
    fields: dict[str, Any] = {
        "account": ACCOUNT,
        "region": REGION,
        "window": WINDOW,
        "functions_audited": len(findings),
        "functions": (),
        "coverage_gaps": (),
        "api_calls": {},
        "metric_queries": {},
    }
    return AuditReport(findings=tuple(findings), **{**fields, **changes})
