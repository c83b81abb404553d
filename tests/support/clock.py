"""The end of the audit window the tests seed and audit: the latest hour that ended 15 minutes ago or more.

CloudWatch Logs refuses events more than 2 hours in the future or older than 14 days
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html), and the
sandbox does too, so seeded REPORT records must sit near the real now. The events/ files carry a
fixed `time`; tests that seed logs aim those events at AT.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from healthaudit.collect.metrics import LISTING_DELAY


def latest_listed_hour() -> datetime:
    """The hour at least LISTING_DELAY ago, now, as a schedule 15 minutes or more past the hour audits:
    ListMetrics, which lists a new metric up to 15 minutes late, then tells every metric with data in the window."""
    return (datetime.now(UTC) - LISTING_DELAY).replace(minute=0, second=0, microsecond=0)


#: latest_listed_hour() when the tests start. Later it is only further past: a window ending at AT stays one
#: the listing covers; a test that needs a window it does not yet cover reckons its own hour.
AT = latest_listed_hour()
YESTERDAY = AT - timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def at_audit_time(event: dict) -> dict:
    """An events/ file's event, happening at AT."""
    return {**event, "time": iso(AT)}
