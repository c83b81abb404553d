"""Collected.take: what a collector on another thread could not read joins the state after what it recorded."""

from __future__ import annotations

from healthaudit.collect.collected import Collected
from healthaudit.model import CoverageGap, DataSource

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders"


def test_take_appends_the_other_threads_gaps_notes_and_unread_sources_after_this_ones():
    state, tracing = Collected(configs=[]), Collected(configs=[])
    state.unread_for_all(DataSource.REPORT_RECORDS, "stopped early")
    state.unread_for(ARN, DataSource.METRICS, "throttled")
    state.notes.append("logs read in one range")
    tracing.unread_for_all(DataSource.SERVICE_GRAPH, "AccessDenied")
    tracing.unread_for(ARN, DataSource.ROLE_PERMISSIONS, "NoSuchEntity")
    tracing.notes.append("graph read in 4 slices")

    state.take(tracing)

    assert state.gaps == [
        CoverageGap(source=DataSource.REPORT_RECORDS, reason="stopped early"),
        CoverageGap(source=DataSource.SERVICE_GRAPH, reason="AccessDenied"),
    ]
    assert state.unread == {ARN: {DataSource.METRICS: "throttled", DataSource.ROLE_PERMISSIONS: "NoSuchEntity"}}
    assert state.notes == ["logs read in one range", "graph read in 4 slices"]
