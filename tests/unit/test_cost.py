"""Dollars per audit: a call log priced at AWS's list prices, each part with its source, free tiers apart."""

from __future__ import annotations

import re

import pytest

from healthaudit.cost import GB, PRICES, audit_cost, price_calls
from healthaudit.model.report import AuditCost


@pytest.mark.parametrize(
    "priced, item, quantity, usd",
    [
        # CloudWatch bills GetMetricData per metric requested, whatever the number of calls.
        (
            dict(api_calls={"GetMetricData": 3}, metrics_requested=1_000),
            "CloudWatch GetMetricData",
            1_000,
            0.01,
        ),
        (dict(api_calls={"GetMetricData": 1}, metrics_requested=1), "CloudWatch GetMetricData", 1, 0.00001),
        # GetMetricStatistics and ListMetrics per request.
        (
            dict(api_calls={"GetMetricStatistics": 30_000}),
            "CloudWatch API requests (GetMetricStatistics, ListMetrics)",
            30_000,
            0.30,
        ),
        (
            dict(api_calls={"ListMetrics": 2, "GetMetricStatistics": 998}),
            "CloudWatch API requests (GetMetricStatistics, ListMetrics)",
            1_000,
            0.01,
        ),
        # Logs Insights per GB scanned (2^30 bytes), not per query.
        (dict(api_calls={"StartQuery": 40}, bytes_scanned=GB), "CloudWatch Logs Insights", 1.0, 0.005),
        (dict(api_calls={"StartQuery": 1}, bytes_scanned=GB // 2), "CloudWatch Logs Insights", 0.5, 0.0025),
        # Lambda on arm64: GB-seconds (memory in GB x seconds) and requests.
        (
            dict(api_calls={}, lambda_seconds=100, lambda_memory_mb=1024),
            "Lambda duration (arm64)",
            100.0,
            0.00133334,
        ),
        (
            dict(api_calls={}, lambda_seconds=10, lambda_memory_mb=512),
            "Lambda duration (arm64)",
            5.0,
            0.000066667,
        ),
        (dict(api_calls={}, lambda_invocations=1_000_000), "Lambda requests", 1_000_000, 0.20),
        (
            dict(api_calls={}, state_transitions=4_000),
            "Step Functions state transitions (Standard)",
            4_000,
            0.10,
        ),
        (
            dict(api_calls={"PutObject": 600, "ListObjectsV2": 400}),
            "S3 PUT, COPY, POST, LIST requests (Standard)",
            1_000,
            0.005,
        ),
        (
            dict(api_calls={"GetObject": 900, "HeadObject": 100}),
            "S3 GET and other requests (Standard)",
            1_000,
            0.0004,
        ),
        (
            dict(api_calls={"PutItem": 500_000, "UpdateItem": 500_000}),
            "DynamoDB on-demand write request units",
            1_000_000,
            0.625,
        ),
        (dict(api_calls={"GetItem": 1_000_000}), "DynamoDB on-demand read request units", 1_000_000, 0.125),
        (dict(api_calls={}, traces_read=1_000_000), "X-Ray traces retrieved or scanned", 1_000_000, 0.50),
    ],
)
def test_each_price_follows_its_pricing_page(priced, item, quantity, usd):
    cost = price_calls(**priced)
    (part,) = [p for p in cost.parts if p.item == item]
    assert part.quantity == pytest.approx(quantity)
    assert part.usd == pytest.approx(usd)
    assert cost.usd == pytest.approx(sum(p.usd for p in cost.parts))


def test_every_price_names_its_pricing_page_and_the_date_it_was_read():
    for price in PRICES:
        part = price.part(1)
        assert part.source.startswith("https://aws.amazon.com/"), price
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", part.read_on)
        assert part.price.startswith("$") and "e-" not in part.price  # never in scientific notation


@pytest.mark.parametrize(
    "priced, eligible",
    [
        # GetMetricData has no free tier: none of its cost may ever be shown as covered.
        (dict(api_calls={"GetMetricData": 2}, metrics_requested=30_000), 0.0),
        # GetMetricStatistics sits in the 1 M API requests a month: all of it may be covered.
        (dict(api_calls={"GetMetricStatistics": 30_000}), 0.30),
        (dict(api_calls={"GetMetricStatistics": 30_000, "GetMetricData": 1}, metrics_requested=1_000), 0.30),
    ],
)
def test_free_tiers_are_reported_apart_never_subtracted(priced, eligible):
    cost = price_calls(**priced)
    assert cost.free_tier_eligible_usd == pytest.approx(eligible)
    assert cost.usd == pytest.approx(sum(p.usd for p in cost.parts))  # the total stays at list price
    assert cost.usd >= cost.free_tier_eligible_usd
    by_item = {p.item: p for p in cost.parts}
    if "CloudWatch GetMetricData" in by_item:
        assert by_item["CloudWatch GetMetricData"].free_tier is None


def test_calls_without_a_published_price_are_listed_not_priced():
    cost = price_calls({"ListFunctions": 200, "GetResources": 50, "GetServiceGraph": 4, "StartQuery": 8})
    assert cost.not_billed == {"ListFunctions": 200, "GetResources": 50, "GetServiceGraph": 4}
    assert cost.usd == 0 and cost.parts == ()  # StartQuery is priced by bytes scanned, and none were


def test_an_audit_costs_its_metrics_of_every_pass_its_scans_and_one_invocation():
    cost = audit_cost(
        {"GetMetricData": 4, "ListMetrics": 1, "StartQuery": 2},
        {"fleet": 1_500, "series": 500},
        bytes_scanned=2 * GB,
        lambda_seconds=60,
        lambda_memory_mb=1024,
    )
    by_item = {p.item: p.usd for p in cost.parts}
    assert by_item["CloudWatch GetMetricData"] == pytest.approx(0.02)
    assert by_item["CloudWatch Logs Insights"] == pytest.approx(0.01)
    assert by_item["Lambda requests"] == pytest.approx(0.0000002)
    assert by_item["Lambda duration (arm64)"] == pytest.approx(60 * 0.0000133334)
    assert by_item["CloudWatch API requests (GetMetricStatistics, ListMetrics)"] == pytest.approx(0.00001)
    assert AuditCost.from_dict(cost.to_dict()) == cost
