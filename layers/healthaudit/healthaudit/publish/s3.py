"""Reports in S3: reports/dt=YYYY-MM-DD/account=ID/region=R/report.{json,html}, and latest/ copies.

Storage only: the report arrives rendered (publish.render), and is read back as its JSON document.

The latest/ JSON is written last: its arrival is what triggers the notification.

A manual run's report goes under manual/dt=YYYY-MM-DD/account=ID/region=R/<run id>/ and nowhere
else: it never replaces the day's report or latest/, so history (which reads reports/ only) never
takes it for the previous daily report, and the notifier (which reacts to latest/ only) never posts it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import quote

from botocore.exceptions import ClientError

from ..model import AuditReport, Severity
from ..model.report import FleetDay

LATEST_PREFIX = "latest/"
MANUAL_PREFIX = "manual/"
#: A manual run's id becomes one key segment: S3's safe characters only, so it can never climb out of it.
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html ("Safe characters")
MANUAL_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
NOTIFY_METADATA = "healthaudit-notify"


TREND_NAME = "trend.json"
"""Beside each day's report.json: that day's counts by severity alone (a FleetDay), so the 30-day fleet trend
reads 30 tiny objects instead of 30 whole reports (healthaudit.history)."""


def fleet_day(report: AuditReport) -> FleetDay:
    """A report's day of the fleet trend: its active findings by severity, as trend.json stores it."""
    counts = {Severity(name): count for name, count in report.counts_by_severity().items()}
    return FleetDay(day=report.window.end.date().isoformat(), counts=counts)


def dated_key(account: str, region: str, window_end: str, prefix: str = "reports/", name: str = "report.json") -> str:
    return f"{prefix}dt={window_end[:10]}/account={account}/region={region}/{name}"


def report_key(report: AuditReport, prefix: str = "reports/", name: str = "report.json") -> str:
    return dated_key(report.account, report.region, report.window.end.strftime("%Y-%m-%d"), prefix, name)


def latest_key(account: str, region: str, name: str = "report.json") -> str:
    return f"{LATEST_PREFIX}account={account}/region={region}/{name}"


def manual_run_key(account: str, region: str, window_end: str, run_id: str, name: str = "report.json") -> str:
    if not MANUAL_RUN_ID.fullmatch(run_id):
        raise ValueError(f"manual run id {run_id[:80]!r}: expected 1 to 128 of A-Z a-z 0-9 . _ - (not first: . _ -)")
    return f"{MANUAL_PREFIX}dt={window_end[:10]}/account={account}/region={region}/{run_id}/{name}"


def store_manual_report(
    s3: Any, bucket: str, report: AuditReport, body: bytes, page: bytes, run_id: str, notify: bool = False
) -> str:
    """Write a manual run's report (its JSON `body` and HTML `page`) under manual/ only; returns the JSON key.

    The JSON is written last, as for a daily report: the notifier posts it only when `notify` is on.
    """
    window_end = report.window.end.strftime("%Y-%m-%d")
    writes = [
        (
            manual_run_key(report.account, report.region, window_end, run_id, "report.html"),
            page,
            "text/html; charset=utf-8",
        ),
        (manual_run_key(report.account, report.region, window_end, run_id), body, "application/json"),
    ]
    for key, data, content_type in writes:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={NOTIFY_METADATA: "true" if notify else "false"},
        )
    return writes[-1][0]


def store_report(
    s3: Any,
    bucket: str,
    report: AuditReport,
    body: bytes,
    page: bytes,
    prefix: str = "reports/",
    notify: bool = True,
) -> str:
    """Write the report (its JSON `body` and HTML `page`), its day's trend.json and its latest/ copies; returns
    the dated JSON key."""
    metadata = {NOTIFY_METADATA: "true" if notify else "false"}
    trend = json.dumps(fleet_day(report).to_dict(), separators=(",", ":")).encode("utf-8")
    writes = [
        (report_key(report, prefix, TREND_NAME), trend, "application/json"),
        (report_key(report, prefix, "report.html"), page, "text/html; charset=utf-8"),
        (report_key(report, prefix), body, "application/json"),
        (latest_key(report.account, report.region, "report.html"), page, "text/html; charset=utf-8"),
        (latest_key(report.account, report.region), body, "application/json"),
    ]
    for key, data, content_type in writes:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata)
    return report_key(report, prefix)


S3_CONSOLE_OBJECT = "https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}"
"""The S3 console's page of one object, in the form the console itself links to (AWS documents no URL
scheme for its console). It asks whoever opens it to sign in, and never expires."""


def report_link(bucket: str, key: str, region: str, viewer_url: str | None = None) -> str:
    """A link to a stored report that still works next week: `viewer_url` (config `report.viewer_url`,
    with {bucket}, {key} and {region} placeholders) if one is configured, else the S3 console's page.

    Never a pre-signed URL: one signed with a Lambda role's temporary credentials stops working when
    those credentials expire, whatever its own expiry says, within hours
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html).
    """
    template = viewer_url or S3_CONSOLE_OBJECT
    return template.format(bucket=quote(bucket, safe=""), key=quote(key, safe="/"), region=quote(region, safe=""))


def read_report(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any] | None, Mapping[str, str]]:
    """A stored report and its object metadata; (None, {}) when there is none."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None, {}
        raise
    return json.loads(response["Body"].read()), response.get("Metadata", {})
