"""The end of the audit window the tests seed and audit: the current hour.

CloudWatch Logs refuses events more than 2 hours in the future or older than 14 days
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html), and the
sandbox does too, so seeded REPORT records must sit near the real now. The events/ files carry a
fixed `time`; tests that seed logs aim those events at AT.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

AT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
YESTERDAY = AT - timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def at_audit_time(event: dict) -> dict:
    """An events/ file's event, happening at AT."""
    return {**event, "time": iso(AT)}
