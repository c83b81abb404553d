"""Dollars per finding: Lambda's list prices (healthaudit.prices), GB-seconds as AWS's pricing page counts them,
scaled to a month, and the checks that state what a finding costs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from healthaudit.checks.duration_near_timeout import duration_near_timeout
from healthaudit.checks.error_rate_high import error_rate_high
from healthaudit.checks.memory_overprovisioned import memory_overprovisioned, suggested_memory_mb
from healthaudit.config import Thresholds, load_config
from healthaudit.cost import Usage, dollars, failure_cost, memory_cost
from healthaudit.errors import ConfigError
from healthaudit.fanout.merge import _target_audited
from healthaudit.model import (
    AuditReport,
    ConsolidatedReport,
    Finding,
    FindingCost,
    Severity,
    TargetAudited,
)
from healthaudit.prices import LAMBDA_PRICING, READ_ON, PriceOverride, lambda_price
from healthaudit.publish.digest import build_digest, build_grouped_digest
from healthaudit.publish.html import render_html
from tests.support.reports import a_finding, a_report
from tests.support.snapshots import WINDOW, function, log_stats

DEFAULTS = Thresholds()
X86 = lambda_price("us-east-1", "x86_64")
ARM = lambda_price("us-east-1", "arm64")
MONTH = timedelta(days=30)


@pytest.mark.parametrize(
    "invocations, duration_ms, memory_mb, gb_seconds",
    [
        # https://aws.amazon.com/lambda/pricing/, example 1: 512 MB, 3 million times, 1 s each.
        (3_000_000, 1000, 512, 1_500_000),
        # Example 2: 128 MB, 30 million times, 200 ms each.
        (30_000_000, 200, 128, 750_000),
    ],
)
def test_gb_seconds_follow_the_lambda_pricing_pages_worked_examples(invocations, duration_ms, memory_mb, gb_seconds):
    usage = Usage(invocations, duration_ms, "given", memory_mb, MONTH)
    assert usage.gb_seconds() == pytest.approx(gb_seconds)


def test_the_pricing_pages_example_1_charges_come_out_of_the_same_arithmetic():
    # The page subtracts the free tier (400,000 GB-s, 1M requests) at its rounded $0.00001667: $18.34 + $0.40.
    usage = Usage(3_000_000, 1000, "given", 512, MONTH)
    assert round((usage.gb_seconds() - 400_000) * 0.00001667, 2) == 18.34
    assert round((usage.invocations - 1_000_000) * X86.requests_per_million / 1_000_000, 2) == 0.40
    # The audit never subtracts the shared free tier: the whole month at the first tier's price.
    cost = memory_cost(X86, usage, 512)
    assert cost.monthly_usd == pytest.approx(1_500_000 * 0.0000166667 + 3 * 0.20)


@pytest.mark.parametrize(
    "window_hours, invocations, monthly",
    [
        # 100,000 invocations x 0.2 s x 1 GB = 20,000 GB-s a day; x 30 = 600,000 GB-s; 3M requests.
        (24, 100_000, 600_000 * 0.0000166667 + 3 * 0.20),
        # The same invocations over 12 hours are twice the rate: twice the month.
        (12, 100_000, 2 * (600_000 * 0.0000166667 + 3 * 0.20)),
        (24, 0, 0.0),
    ],
)
def test_a_windows_cost_is_scaled_to_30_days_and_says_so(window_hours, invocations, monthly):
    usage = Usage(invocations, 200, "given", 1024, timedelta(hours=window_hours))
    cost = memory_cost(X86, usage, 1024)
    assert cost.monthly_usd == pytest.approx(monthly)
    assert "scaled to 30 days" in cost.basis
    assert "first tier" in cost.basis and "upper bound" in cost.basis
    assert (cost.source, cost.read_on) == (LAMBDA_PRICING, READ_ON)


@pytest.mark.parametrize(
    "architecture, gb_second",
    [("x86_64", 0.0000166667), ("arm64", 0.0000133334)],
)
def test_each_architecture_has_its_own_gb_second_price_and_the_same_request_price(architecture, gb_second):
    price = lambda_price("us-east-1", architecture)
    assert (price.gb_second, price.requests_per_million) == (gb_second, 0.20)
    assert f"({architecture}, us-east-1, not verified)" in price.describe()


def test_arm64_costs_less_than_x86_for_the_same_invocations():
    usage = Usage(1_000_000, 100, "given", 1024, timedelta(hours=24))
    assert memory_cost(ARM, usage, 1024).monthly_usd < memory_cost(X86, usage, 1024).monthly_usd


@pytest.mark.parametrize(
    "region, architecture, gb_second, note",
    [
        (
            "eu-west-1",
            "x86_64",
            0.0000166667,
            "no Lambda price for eu-west-1 in the table: the us-east-1 price is used",
        ),
        ("xx-nowhere-9", "arm64", 0.0000133334, "no Lambda price for xx-nowhere-9"),
        ("af-south-1", "x86_64", 0.0000221, "no request price for af-south-1 in the table: us-east-1's is used"),
        ("us-east-1", "mips", 0.0000166667, "architecture 'mips' has no Lambda price: x86_64's is used"),
    ],
)
def test_a_region_or_architecture_without_a_price_uses_us_east_1s_and_the_basis_says_so(
    region, architecture, gb_second, note
):
    price = lambda_price(region, architecture)
    assert price.gb_second == gb_second
    assert any(note in line for line in price.notes)
    cost = memory_cost(price, Usage(1000, 100, "given", 512, timedelta(hours=24)), 256)
    assert f"Note: {note}" in cost.basis


def test_us_east_1_prices_carry_no_note():
    assert lambda_price("us-east-1", "x86_64").notes == ()


def test_config_prices_override_the_table_and_say_read_on_config():
    config = load_config(
        {"prices": {"lambda": {"arm64": {"gb_second": 0.00001, "requests_per_million": 0.1}}}}, "config.yaml"
    )
    assert config.lambda_prices == {"arm64": PriceOverride(0.00001, 0.1)}
    arm = lambda_price("eu-west-1", "arm64", config.lambda_prices)
    x86 = lambda_price("eu-west-1", "x86_64", config.lambda_prices)
    assert (arm.gb_second, arm.requests_per_million, arm.read_on) == (0.00001, 0.1, "config")
    assert x86.read_on == READ_ON  # only the architecture the config names
    cost = memory_cost(arm, Usage(1000, 1000, "given", 1024, timedelta(hours=24)), 512)
    assert cost.read_on == "config"
    assert "prices.lambda.arm64 set by the config" in cost.basis
    assert cost.monthly_usd == pytest.approx(30 * (1000 * 1.0 * 0.00001 + 1000 * 0.1 / 1e6))


@pytest.mark.parametrize(
    "prices, problem",
    [
        (
            {"lambda": {"x86_64": {"gb_second": -0.1, "requests_per_million": 0.2}}},
            "config.prices.lambda.x86_64.gb_second",
        ),
        ({"lambda": {"x86_64": {"gb_second": "cheap", "requests_per_million": 0.2}}}, "got 'cheap'"),
        ({"lambda": {"x86_64": {"gb_second": True, "requests_per_million": 0.2}}}, "got True"),
        ({"lambda": {"x86_64": {"gb_second": 0.0000166667}}}, "missing requests_per_million"),
        ({"lambda": {"x86_64": {"gb_second": 0.5, "requests_per_million": 0.2}}}, "from 0 to 0.01"),
        ({"lambda": {"x86": {"gb_second": 0.1, "requests_per_million": 0.2}}}, "unknown key 'x86'"),
        ({"lambda": {"arm64": {"gb_second": float("nan"), "requests_per_million": 0.2}}}, "got nan"),
        ({"ec2": {}}, "unknown key 'ec2'"),
    ],
)
def test_config_prices_are_validated_naming_the_field(prices, problem):
    with pytest.raises(ConfigError, match=None) as raised:
        load_config({"prices": prices})
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    "max_used_mb, suggested",
    [(10, 128), (85.3, 128), (86, 192), (180, 320), (1000, 1536)],
)
def test_the_suggested_memory_keeps_half_again_as_headroom_in_64_mb_steps(max_used_mb, suggested):
    assert suggested_memory_mb(max_used_mb) == suggested


@pytest.mark.parametrize(
    "size_mb, suggested_mb, savings",
    [
        (3008, 320, (3008 - 320) / 1024 * 100_000 * 0.1 * 0.0000166667 * 30),
        (512, 512, 0.0),  # not smaller: no saving
        (512, 1024, 0.0),  # larger: no saving, never a negative one
    ],
)
def test_savings_are_the_gb_seconds_the_smaller_size_would_not_bill(size_mb, suggested_mb, savings):
    cost = memory_cost(X86, Usage(100_000, 100, "given", size_mb, timedelta(hours=24)), suggested_mb)
    assert cost.monthly_savings_usd == pytest.approx(savings)
    assert cost.monthly_usd - (cost.suggested_monthly_usd or 0) == pytest.approx(savings)


def overprovisioned(billed_ms: float = 0.0, **metrics) -> object:
    """3008 MB, 180 MB used, over 2,400 REPORT records that billed `billed_ms` in all."""
    logs = log_stats(invocations=2400, max_memory_used_mb=180.0, memory_size_mb=3008, billed_duration_ms=billed_ms)
    return function(memory_mb=3008, logs_current=logs, **metrics)


def test_memory_overprovisioned_states_its_monthly_cost_and_saving_in_words():
    fn = overprovisioned(billed_ms=2400 * 150.0, Invocations=2400, Duration=900.0)
    (observation,) = memory_overprovisioned(fn, DEFAULTS)
    cost = observation.cost
    month = 2400 * 30
    assert cost.monthly_usd == pytest.approx(month * 0.15 * 3008 / 1024 * 0.0000166667 + month * 0.2e-6, abs=1e-6)
    assert cost.suggested_monthly_usd == pytest.approx(
        month * 0.15 * 320 / 1024 * 0.0000166667 + month * 0.2e-6, abs=1e-6
    )
    assert observation.evidence["suggested_memory_mb"] == 320
    assert "the REPORT records' Billed Duration, on average" in cost.basis
    assert "Lambda allocates CPU in proportion to memory" in cost.basis
    assert observation.message.endswith(
        f"costs {dollars(cost.monthly_usd)} a month; at 320 MB about {dollars(cost.suggested_monthly_usd)}:"
        f" save {dollars(cost.monthly_savings_usd)}"
    )


def test_without_billed_durations_the_p99_prices_it_as_an_upper_bound():
    (observation,) = memory_overprovisioned(overprovisioned(Invocations=2400, Duration=900.0), DEFAULTS)
    assert observation.cost.monthly_usd == pytest.approx(2400 * 30 * (0.9 * 3008 / 1024 * 0.0000166667 + 0.2e-6))
    assert "p99, no REPORT record being read: an upper bound" in observation.cost.basis


def test_without_metrics_a_finding_is_stated_but_not_priced():
    (observation,) = memory_overprovisioned(overprovisioned(), DEFAULTS)
    assert observation.cost is None
    assert "$" not in observation.message


@pytest.mark.parametrize(
    "check, fn",
    [
        # 256 MB is not above the floor: no finding, no price.
        (
            memory_overprovisioned,
            function(
                memory_mb=256,
                logs_current=log_stats(invocations=10, max_memory_used_mb=20, memory_size_mb=256),
                Invocations=10,
                Duration=100.0,
            ),
        ),
        (error_rate_high, function(Errors=1, Invocations=20, Duration=100.0)),  # exactly 5 %
        (duration_near_timeout, function(timeout_seconds=10, Invocations=100, Duration=8000.0)),  # exactly 80 %
    ],
)
def test_a_check_that_finds_nothing_prices_nothing(check, fn):
    assert list(check(fn, DEFAULTS)) == []


def test_error_rate_high_states_what_its_failures_cost():
    logs = log_stats(invocations=500, billed_duration_ms=500 * 200.0)
    fn = function(Errors=40, Invocations=500, Duration=400.0, memory_mb=1024, logs_current=logs)
    (observation,) = error_rate_high(fn, DEFAULTS)
    failed = 40 * 30 * (0.2 * 1.0 * 0.0000166667 + 0.2e-6)
    assert observation.cost.failed_monthly_usd == pytest.approx(failed, abs=1e-6)
    assert observation.cost.monthly_usd == pytest.approx(500 * 30 * (0.2 * 0.0000166667 + 0.2e-6), abs=1e-6)
    assert observation.message.endswith(
        f"the failures cost about {dollars(observation.cost.failed_monthly_usd)} a month"
    )


@pytest.mark.parametrize(
    "errors, failed",
    [
        # Each error priced as a timeout: the whole 10 s timeout at 2 GB.
        (6, 6 * 30 * (10 * 2.0 * 0.0000166667 + 0.2e-6)),
        (0, 0.0),
    ],
)
def test_duration_near_timeout_prices_each_error_at_the_whole_timeout(errors, failed):
    logs = log_stats(invocations=60, billed_duration_ms=60 * 4000.0)
    fn = function(timeout_seconds=10, memory_mb=2048, Invocations=60, Errors=errors, Duration=9500.0, logs_current=logs)
    (observation,) = duration_near_timeout(fn, DEFAULTS)
    assert observation.cost.failed_monthly_usd == pytest.approx(failed, abs=1e-6)
    assert "whole timeout" in observation.cost.basis
    if not errors:
        assert observation.message.endswith("no invocation failed, so none timed out")


def test_failure_cost_of_nothing_failed_is_zero():
    cost = failure_cost(X86, Usage(100, 100, "given", 128, timedelta(hours=24)), 0, 3000, "how")
    assert cost.failed_monthly_usd == 0.0


def test_the_collector_resolved_price_is_the_one_a_check_uses():
    price = lambda_price("eu-west-1", "x86_64", {"x86_64": PriceOverride(0.0001, 1.0)})
    fn = replace(overprovisioned(billed_ms=2400 * 1000.0, Invocations=100), lambda_price=price)
    (observation,) = memory_overprovisioned(fn, DEFAULTS)
    assert observation.cost.read_on == "config"
    assert observation.cost.monthly_usd == pytest.approx(100 * 30 * (3008 / 1024 * 0.0001 + 1e-6))


def finding(check_id: str, savings: float | None, suppressed: str | None = None) -> Finding:
    cost = None
    if savings is not None:
        cost = FindingCost(
            monthly_usd=100.0,
            price="p",
            source=LAMBDA_PRICING,
            read_on=READ_ON,
            basis="b",
            suggested_monthly_usd=100.0 - savings,
            monthly_savings_usd=savings,
        )
    return a_finding(check_id, f"fn-{check_id}-{savings}", severity=Severity.LOW, cost=cost, suppressed_by=suppressed)


def report(*findings: Finding) -> AuditReport:
    return a_report(*findings)


@pytest.mark.parametrize(
    "findings, savings",
    [
        ((finding("memory-overprovisioned", 342.0), finding("memory-overprovisioned", 0.5)), 342.5),
        ((finding("memory-overprovisioned", 342.0, suppressed="tag"),), 0.0),  # suppressed: not counted
        ((finding("error-rate-high", None), finding("memory-overprovisioned", 0.0)), 0.0),
        ((), 0.0),
    ],
)
def test_possible_savings_add_up_the_active_findings_savings(findings, savings):
    audited = report(*findings)
    assert audited.possible_savings_usd_month == savings
    assert audited.summary()["possible_savings_usd_month"] == savings
    assert audited.to_dict()["possible_savings_usd_month"] == savings


@pytest.mark.parametrize("savings, shown", [(342.0, True), (0.0, False)])
def test_the_digest_and_the_html_show_possible_savings_only_when_there_are_some(savings, shown):
    audited = report(finding("memory-overprovisioned", savings))
    facts = str(build_digest(audited, None))
    html = render_html(audited)
    assert ("possible savings $342 a month" in facts) is shown
    assert ("Possible savings a month" in html) is shown
    assert ('<p class="cost"><strong>Cost:</strong> $100 a month' in html) is True


def target(account: str, savings: float) -> TargetAudited:
    return TargetAudited(
        account=account,
        region="eu-west-1",
        report_key=f"reports/dt=2026-11-28/account={account}/region=eu-west-1/report.json",
        functions_audited=3,
        findings=1,
        counts_by_severity={Severity.LOW: 1},
        coverage_gaps=0,
        worst_findings=(),
        possible_savings_usd_month=savings,
    )


@pytest.mark.parametrize(
    "savings, total, shown",
    [((342.0, 0.5), 342.5, "possible savings $342 a month"), ((0.0, 0.0), 0.0, None)],
)
def test_a_multi_account_run_adds_up_its_targets_possible_savings(savings, total, shown):
    consolidated = ConsolidatedReport(
        window_end=WINDOW.end,
        targets=tuple(target(f"11111111111{i}", usd) for i, usd in enumerate(savings)),
        not_audited=(),
    )
    assert consolidated.possible_savings_usd_month == total
    assert consolidated.to_dict()["possible_savings_usd_month"] == total
    text = str(build_grouped_digest(consolidated))
    assert ("possible savings" in text) is (shown is not None)
    if shown:
        assert shown in text


def test_the_merge_carries_each_targets_possible_savings():
    audited = report(finding("memory-overprovisioned", 12.5))
    assert _target_audited("123456789012", "eu-west-1", "k", audited, worst=3).possible_savings_usd_month == 12.5
