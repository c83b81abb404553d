"""When ListMetrics tells every metric with data in a range (collect/metrics.py, listing_covers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.collect.metrics import listing_covers

NOW = datetime(2026, 12, 2, 6, 20, tzinfo=UTC)
EARLIEST = NOW - timedelta(days=13)  # two weeks, less a day: AWS does not say to the hour where they begin
LATEST = NOW - timedelta(minutes=15)  # "allow up to 15 minutes for the metric to appear"


@pytest.mark.parametrize(
    "start, end, covered",
    [
        (EARLIEST, LATEST, True),
        (EARLIEST - timedelta(seconds=1), LATEST, False),
        (EARLIEST, LATEST + timedelta(seconds=1), False),
        (NOW - timedelta(days=8), NOW - timedelta(minutes=20), True),  # the default schedule: 06:20, to 06:00
        (NOW - timedelta(days=8), NOW, False),  # an audit on the hour
    ],
)
def test_the_listing_covers_ranges_inside_two_weeks_that_ended_15_minutes_ago(start, end, covered):
    assert listing_covers(start, end, NOW) is covered
