"""GetMetricData batches: as many queries a call as one page of datapoints holds, never more than 500.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html: "as many as 500
different metrics in a single request, with a total of as many as 100,800 data points"; MaxDatapoints, "The
maximum number of data points the request should return before paginating", defaults to 100,800. A call whose
queries may return more is answered in pages, each page a call: batches sized to one page take the fewest calls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.collect.metrics import (
    HOURLY,
    MAX_DATAPOINTS_PER_CALL,
    MAX_QUERIES_PER_CALL,
    calls_needed,
    periods_between,
    queries_per_call,
)

END = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "periods, per_call",
    [
        (8, 500),  # the fleet pass: one datapoint a day over the baseline and the window
        (192, 500),  # the hourly series of findings: 8 days, 96,000 datapoints for 500 queries
        (201, 500),  # 100,500: the largest that still fits 500 queries in one page
        (202, 499),  # 101,000 for 500 queries would be paged: 499 x 202 = 100,798
        (360, 280),  # a 14-day baseline and its window, hourly: 280 x 360 = 100,800 exactly
        (100_800, 1),
        (200_000, 1),  # one query larger than a page is still asked (AWS pages it), never zero queries
    ],
)
def test_get_metric_data_queries_per_call_fit_500_metrics_and_100800_datapoints(periods, per_call):
    assert queries_per_call(periods) == per_call
    assert per_call <= MAX_QUERIES_PER_CALL
    assert per_call * periods <= MAX_DATAPOINTS_PER_CALL or per_call == 1


@pytest.mark.parametrize(
    "queries, periods, calls",
    [
        (500, 192, 1),
        (501, 192, 2),
        (30_154, 8, 61),  # the bench's dense fleet of 10,000 functions, one call for each 500 listed metrics
        (500, 201, 1),
        (500, 202, 2),
        (499, 202, 1),
        (1_000, 360, 4),  # two 500-query calls, each paged in two, would make 4 calls as well
        (10_000, 360, 36),  # twenty 500-query calls, each paged in two, would make 40
    ],
)
def test_get_metric_data_calls_for_queries_at_the_500_and_100800_edges(queries, periods, calls):
    assert calls_needed(queries, periods) == calls


@pytest.mark.parametrize(
    "length, period, periods",
    [
        (timedelta(days=8), HOURLY, 192),
        (timedelta(days=8), 86_400, 8),
        (timedelta(minutes=90), HOURLY, 2),  # a partial last period still returns a datapoint
        (timedelta(seconds=1), HOURLY, 1),
    ],
)
def test_periods_between_counts_a_partial_last_period(length, period, periods):
    assert periods_between(END - length, END, period) == periods
