"""The report in S3: reports/dt=YYYY-MM-DD/account=ID/region=R/report.json, and a latest/ copy."""

from __future__ import annotations

import json
from typing import Any

from ..model import AuditReport

LATEST_PREFIX = "latest/"


def report_json(report: AuditReport) -> bytes:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, default=str).encode("utf-8")


def report_key(report: AuditReport, prefix: str = "reports/") -> str:
    day = report.window.end.strftime("%Y-%m-%d")
    return f"{prefix}dt={day}/account={report.account}/region={report.region}/report.json"


def latest_key(report: AuditReport) -> str:
    return f"{LATEST_PREFIX}account={report.account}/region={report.region}/report.json"


def store_report(s3: Any, bucket: str, report: AuditReport, prefix: str = "reports/") -> str:
    """Write the report, then its latest/ copy; returns the dated key."""
    body = report_json(report)
    key = report_key(report, prefix)
    for target in (key, latest_key(report)):
        s3.put_object(
            Bucket=bucket,
            Key=target,
            Body=body,
            ContentType="application/json",
        )
    return key
