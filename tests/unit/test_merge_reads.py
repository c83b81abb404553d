"""The merge reads reports a bounded number ahead, in order: memory holds READS_IN_FLIGHT reports at most."""

from __future__ import annotations

import threading

import pytest

from healthaudit.fanout.merge import TargetResult, _read_ahead


@pytest.mark.parametrize("targets, in_flight", [(0, 4), (1, 4), (3, 4), (4, 4), (5, 4), (100, 16), (37, 1)])
def test_reports_come_back_in_the_results_order_never_more_than_in_flight_ahead(targets, in_flight):
    results = [
        TargetResult(
            f"{i:012d}", "eu-west-1", report_key=None if i % 7 == 3 else f"k/{i}", error="x" if i % 11 == 5 else None
        )
        for i in range(targets)
    ]
    lock, started = threading.Lock(), []

    def read(key):
        with lock:
            started.append(key)
        return f"report {key}"

    seen = []
    for consumed, (result, report) in enumerate(_read_ahead(results, read, in_flight)):
        with lock:
            assert len(started) <= consumed + in_flight  # reads started, at most in_flight past what was consumed
        seen.append((result, report))
    assert [result for result, _ in seen] == results
    assert [report for _, report in seen] == [
        f"report {r.report_key}" if r.report_key and r.error is None else None for r in results
    ]
    assert sorted(started) == sorted(r.report_key for r in results if r.report_key and r.error is None)


def test_a_read_that_raises_stops_the_merge_with_its_error():
    results = [TargetResult("111111111111", "eu-west-1", report_key="k/1")]

    def read(key):
        raise OSError("the bucket is gone")

    with pytest.raises(OSError, match="the bucket is gone"):
        list(_read_ahead(results, read, 2))
