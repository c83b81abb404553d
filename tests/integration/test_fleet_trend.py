"""The 30-day fleet trend read back from S3: one GetObject per day shown at most, never a list.

S3 GetObject of a key that does not exist answers NoSuchKey when the caller may s3:ListBucket, which the
audit's role may (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"): a
day without a report reads as a gap. The calls are counted with botocore's before-call event, once per
API call, on a real client talking to the sandbox.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from healthaudit.history import FLEET_TREND_DAYS, load_history
from healthaudit.model import AuditReport, AuditWindow, Finding, Severity
from healthaudit.publish.charts import fleet_chart
from healthaudit.publish.render import render_report
from healthaudit.publish.s3 import TREND_NAME, dated_key, store_report

ACCOUNT, REGION = "123456789012", "eu-west-1"
END = datetime(2024, 5, 31, 6, tzinfo=UTC)
TODAY = AuditWindow.ending_at(END)
MISSING = {1, 5, 6, 14, 22}  # days back from today with no audit at all


def findings_for(days_back: int) -> tuple[Finding, ...]:
    """days_back % 3 HIGH findings and one LOW, so each day's counts differ from its neighbours'."""
    severities = [Severity.HIGH] * (days_back % 3) + [Severity.LOW]
    return tuple(
        Finding(
            f"check-{n}",
            "t",
            severity,
            ACCOUNT,
            REGION,
            "m",
            "r",
            "",
            function_name=f"fn-{n}",
            function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-{n}",
        )
        for n, severity in enumerate(severities)
    )


def stored_report(days_back: int) -> AuditReport:
    window = AuditWindow.ending_at(END - timedelta(days=days_back))
    return AuditReport(ACCOUNT, REGION, window, 3, (), findings_for(days_back), (), {}, {})


@pytest.fixture
def bucket(aws, request) -> str:
    """A bucket of this test's own (bucket names are global, the sandbox's accounts are not)."""
    name = f"fleet-trend-{zlib.crc32(request.node.name.encode()):08x}"
    aws.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def s3(aws, bucket):
    return aws.client("s3")


def store_days(s3, bucket: str, days_back) -> None:
    for back in days_back:
        stored = stored_report(back)
        rendered = render_report(stored)
        store_report(s3, bucket, stored, rendered.json, rendered.html)


def counting(client) -> Counter:
    calls: Counter = Counter()
    client.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
    return calls


def test_thirty_days_of_reports_some_missing_give_thirty_points_with_gaps_in_one_get_a_day(s3, bucket):
    store_days(s3, bucket, [back for back in range(1, FLEET_TREND_DAYS + 5) if back not in MISSING])
    calls = counting(s3)

    history = load_history(s3, bucket, ACCOUNT, REGION, TODAY)
    today = AuditReport(ACCOUNT, REGION, TODAY, 3, (), findings_for(0), (), {}, {})
    trend = history.fleet_trend(today)

    assert calls["ListObjectsV2"] == 0  # ≤ one per partition: none is needed
    assert calls["GetObject"] <= FLEET_TREND_DAYS  # no more reads than the days shown
    # 10 report.json for the baseline (the day before it to today) and 20 trend.json for the days before.
    assert calls["GetObject"] == 30 and set(calls) == {"GetObject"}
    assert history.unreadable == {}
    assert len(trend) == FLEET_TREND_DAYS and trend[-1].day == "2024-05-31" and trend[0].day == "2024-05-02"
    for back, day in zip(range(FLEET_TREND_DAYS - 1, -1, -1), trend, strict=True):
        assert day.day == (END - timedelta(days=back)).date().isoformat()
        if back in MISSING:
            assert day.counts is None, day
        else:
            assert day.counts is not None
            assert (day.counts.get(Severity.HIGH, 0), day.counts.get(Severity.LOW, 0)) == (back % 3, 1), day

    chart = fleet_chart(trend)
    gaps = re.findall(r'<g class="fleet-day gap" data-day="([\d-]+)"', chart)
    assert gaps == sorted((END - timedelta(days=back)).date().isoformat() for back in MISSING)
    totals = dict(re.findall(r'<g class="fleet-day" data-day="([\d-]+)" data-total="(\d+)"', chart))
    assert totals["2024-05-31"] == "1" and totals["2024-05-29"] == "3"  # 29 May: 2 days back, 2 HIGH + 1 LOW


def test_a_report_stored_before_trend_json_counts_inside_the_baseline_and_is_a_gap_before_it(s3, bucket):
    store_days(s3, bucket, [2, 20])
    for back in (3, 21):  # written as reports were before trend.json existed: report.json only
        stored = stored_report(back)
        key = dated_key(ACCOUNT, REGION, stored.window.end.date().isoformat())
        s3.put_object(Bucket=bucket, Key=key, Body=render_report(stored).json)
    calls = counting(s3)

    history = load_history(s3, bucket, ACCOUNT, REGION, TODAY)
    counts = {day.day: day.counts for day in history.fleet_trend(stored_report(0))}

    assert calls["GetObject"] == FLEET_TREND_DAYS and calls["ListObjectsV2"] == 0
    assert counts["2024-05-29"] is not None and counts["2024-05-28"] is not None  # in the baseline: read whole
    assert counts["2024-05-11"] is not None  # its trend.json
    assert counts["2024-05-10"] is None  # no trend.json, and its report is not read: a gap, never a zero


def test_a_trend_json_that_does_not_parse_is_named_and_its_day_is_a_gap(s3, bucket):
    store_days(s3, bucket, [15, 16])
    broken = dated_key(ACCOUNT, REGION, "2024-05-16", name=TREND_NAME)
    s3.put_object(Bucket=bucket, Key=broken, Body=json.dumps({"counts": {"high": "many"}}).encode())

    history = load_history(s3, bucket, ACCOUNT, REGION, TODAY)
    counts = {day.day: day.counts for day in history.fleet_trend(stored_report(0))}

    assert list(history.unreadable) == [broken]
    assert counts["2024-05-16"] is None
    assert (counts["2024-05-15"][Severity.HIGH], counts["2024-05-15"][Severity.LOW]) == (1, 1)  # 16 days back


def test_store_report_writes_the_days_counts_beside_the_report_on_one_line_without_schema_version(s3, bucket):
    store_days(s3, bucket, [0])
    body = s3.get_object(Bucket=bucket, Key=dated_key(ACCOUNT, REGION, "2024-05-31", name=TREND_NAME))["Body"]
    text = body.read().decode()
    assert "\n" not in text and "schema_version" not in text  # Athena's schema_version filter leaves it out
    assert json.loads(text) == {
        "day": "2024-05-31",
        "counts": {"critical": 0, "high": 0, "info": 0, "low": 1, "medium": 0},
    }
