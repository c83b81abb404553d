"""History: findings new, ongoing or resolved against the previous typed report; stored reports read back from S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from healthaudit.history import History, diff_reports, load_history
from healthaudit.model import AuditReport, AuditWindow, Finding, LogStats
from healthaudit.publish.render import render_report
from healthaudit.publish.s3 import dated_key, store_report
from tests.support.reports import a_finding, a_report

ACCOUNT, REGION = "123456789012", "eu-west-1"
ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
TODAY = AuditWindow.ending_at(datetime(2024, 5, 2, 6, tzinfo=UTC))
YESTERDAY = AuditWindow.ending_at(datetime(2024, 5, 1, 6, tzinfo=UTC))


def finding(check_id: str, **changes) -> Finding:
    return a_finding(check_id, **{"title": check_id, "docs": "", **changes})


def report(window: AuditWindow, *findings: Finding, **changes) -> AuditReport:
    return a_report(*findings, window=window, functions_audited=1, **changes)


def test_without_a_previous_report_every_finding_is_new_since_this_window():
    (only,) = diff_reports(report(TODAY, finding("throttled")), None, None).findings
    assert (only.status, only.first_seen) == ("new", "2024-05-02T06:00:00Z")


def test_a_finding_of_the_previous_report_is_ongoing_since_it_was_first_seen():
    earlier = report(YESTERDAY, finding("throttled", status="ongoing", first_seen="2024-04-28T06:00:00Z"))
    diffed = diff_reports(report(TODAY, finding("throttled")), earlier, "reports/yesterday")
    (only,) = diffed.findings
    assert (only.status, only.first_seen, diffed.previous_report) == (
        "ongoing",
        "2024-04-28T06:00:00Z",
        "reports/yesterday",
    )


def test_a_stored_finding_without_first_seen_is_ongoing_since_the_previous_window_end():
    diffed = diff_reports(report(TODAY, finding("throttled")), report(YESTERDAY, finding("throttled")), "k")
    assert diffed.findings[0].first_seen == "2024-05-01T06:00:00Z"


def test_a_finding_gone_from_this_report_is_resolved_but_a_suppressed_one_is_not():
    earlier = report(YESTERDAY, finding("throttled"), finding("error-rate-high", suppressed_by="tag"))
    diffed = diff_reports(report(TODAY), earlier, "k")
    assert [(f.check_id, f.status, f.suppressed_by, f.series) for f in diffed.resolved] == [
        ("throttled", "resolved", None, ())
    ]


def test_the_log_scan_starts_where_the_previous_audit_ended_within_the_baseline():
    assert History().scan_start(TODAY) == TODAY.baseline_start
    assert History(reports=(report(YESTERDAY),)).scan_start(TODAY) == YESTERDAY.end
    ancient = AuditWindow.ending_at(TODAY.baseline_start - timedelta(days=3))
    assert History(reports=(report(ancient),)).scan_start(TODAY) == TODAY.baseline_start


def test_a_later_report_wins_for_the_same_log_range():
    start, end = YESTERDAY.start, YESTERDAY.end
    first = report(YESTERDAY, log_stats={ARN: (LogStats(start, end, invocations=1),)})
    second = report(YESTERDAY, log_stats={ARN: (LogStats(start, end, invocations=2),)})
    assert [s.invocations for s in History(reports=(first, second)).stored_log_stats(ARN)] == [2]


def test_history_reads_stored_reports_typed_skips_this_window_and_names_one_that_does_not_parse(aws):
    """S3 GetObject of a missing day answers NoSuchKey (the bucket grants ListBucket): that day has no report."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
    for stored in (report(YESTERDAY, finding("throttled")), report(TODAY, finding("throttled"))):
        rendered = render_report(stored)
        store_report(s3, "reports", stored, rendered.json, rendered.html)
    broken = dated_key(ACCOUNT, REGION, "2024-04-30")
    s3.put_object(Bucket="reports", Key=broken, Body=json.dumps({"account": ACCOUNT}).encode())

    history = load_history(s3, "reports", ACCOUNT, REGION, TODAY)

    assert history.keys == (dated_key(ACCOUNT, REGION, "2024-05-01"),)
    assert isinstance(history.previous, AuditReport) and history.previous.findings[0].check_id == "throttled"
    assert list(history.unreadable) == [broken] and "KeyError" in history.unreadable[broken]
