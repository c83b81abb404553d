"""Routing findings to their owners (healthaudit.routing): the config's `routes`, the split of a report
into one view per channel, the routed digests' text, and the merge's share of a run per channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from healthaudit.config import AuditConfig, ConfigError, config_to_dict, load_config
from healthaudit.fanout.merge import TargetResult, merge_results, merge_results_by_channel
from healthaudit.model import AuditReport, AuditWindow, CoverageGap, DataSource, Finding, Severity
from healthaudit.publish.outcome import HEALTHY_SKIP, ChannelOutcome, post_routed_digests, routed_status
from healthaudit.publish.routed import routed_digest, routed_grouped_digest
from healthaudit.routing import Routes, split_report

ACCOUNT, REGION = "123456789012", "eu-west-1"
WINDOW = AuditWindow.ending_at(datetime(2024, 5, 2, 6, 30, tzinfo=UTC))
ROUTES = {"tag": "team", "channels": {"payments": "C0PAYMENTS1", "search": "C0SEARCH001"}, "default": "C0PLATFORM1"}


def routes_of(document: dict) -> Routes | None:
    return load_config(document).routes


@pytest.mark.parametrize(
    "document, expected",
    [
        ({"routes": ROUTES}, Routes("team", {"payments": "C0PAYMENTS1", "search": "C0SEARCH001"}, "C0PLATFORM1")),
        # no default: unrouted findings go to slack.channel
        (
            {"routes": {"tag": "owner", "channels": {"ana": "G0PRIVATE01"}}, "slack": {"channel": "C0123456789"}},
            Routes("owner", {"ana": "G0PRIVATE01"}, None),
        ),
        # two values may share a channel; an AWS-made tag key may name owners too
        (
            {
                "routes": {
                    "tag": "aws:cloudformation:stack-name",
                    "channels": {"a": "C0AAA", "b": "C0AAA"},
                    "default": "C0B",
                }
            },
            Routes("aws:cloudformation:stack-name", {"a": "C0AAA", "b": "C0AAA"}, "C0B"),
        ),
        ({}, None),
    ],
    ids=["valid", "default-from-slack-channel", "shared-channel", "no-routes"],
)
def test_valid_routes_are_read(document, expected):
    assert routes_of(document) == expected


@pytest.mark.parametrize(
    "routes, slack, says",
    [
        ({**ROUTES, "chanels": {}}, None, r"config\.routes: unknown key 'chanels' \(did you mean 'channels'\?\)"),
        (
            {**ROUTES, "channels": {"payments": "#payments"}},
            None,
            r"config\.routes\.channels\.payments: got '#payments', expected a channel ID",
        ),
        (
            {**ROUTES, "channels": {"payments": "c0lower"}},
            None,
            r"config\.routes\.channels\.payments: got 'c0lower', expected a channel ID",
        ),
        ({**ROUTES, "default": "platform"}, None, r"config\.routes\.default: got 'platform', expected a channel ID"),
        ({**ROUTES, "tag": ""}, None, r"config\.routes\.tag: got '', expected a tag key of 1 to 128 characters"),
        ({**ROUTES, "tag": " team"}, None, r"config\.routes\.tag: got ' team', expected a tag key"),
        ({**ROUTES, "tag": "t" * 129}, None, r"config\.routes\.tag: got 't+', expected a tag key of 1 to 128"),
        ({**ROUTES, "tag": 7}, None, r"config\.routes\.tag: got 7, expected a string"),
        (
            {"channels": ROUTES["channels"], "default": "C0X"},
            None,
            r"config\.routes\.tag: missing, expected the tag key",
        ),
        (
            {**ROUTES, "channels": {"payments": 123}},
            None,
            r"config\.routes\.channels\.payments: got 123, expected a string",
        ),
        (
            {**ROUTES, "channels": {2024: "C0YEAR"}},
            None,
            r"config\.routes\.channels: got the key 2024, expected a tag value as a string",
        ),
        ({**ROUTES, "channels": {}}, None, r"config\.routes\.channels: got \{\}, expected a mapping of tag values"),
        ({**ROUTES, "channels": ["C0A"]}, None, r"config\.routes\.channels: got \['C0A'\], expected a mapping"),
        ({"tag": "team", "default": "C0X"}, None, r"config\.routes\.channels: missing, expected a mapping"),
        ({**ROUTES, "default": 5}, None, r"config\.routes\.default: got 5, expected a string"),
        (
            {"tag": "team", "channels": {"a": "C0A"}},
            None,
            r"config\.routes\.default: missing, and slack\.channel is not set",
        ),
        (
            {"tag": "team", "channels": {"a": "C0A"}},
            {"max_findings": 5},
            r"config\.routes\.default: missing, and slack",
        ),
        ("team", None, r"config\.routes: got 'team', expected a mapping"),
    ],
    ids=[
        "unknown-key",
        "channel-name-not-id",
        "lowercase-id",
        "bad-default",
        "empty-tag",
        "padded-tag",
        "tag-too-long",
        "non-string-tag",
        "no-tag",
        "non-string-channel",
        "non-string-tag-value",
        "no-channels",
        "channels-not-a-mapping",
        "channels-missing",
        "non-string-default",
        "no-default-no-slack",
        "no-default-no-slack-channel",
        "routes-not-a-mapping",
    ],
)
def test_invalid_routes_name_the_path_the_value_and_what_was_expected(routes, slack, says):
    document = {"routes": routes, **({"slack": slack} if slack else {})}
    with pytest.raises(ConfigError, match=says):
        load_config(document)


def test_routes_show_in_the_effective_config():
    assert config_to_dict(load_config({"routes": ROUTES}))["routes"] == ROUTES


# -- the split -----------------------------------------------------------------------------------


def finding(function: str | None, team: str | None = None, severity=Severity.HIGH, suppressed: str | None = None):
    tags = {"team": team} if team is not None else {}
    return Finding(
        "throttled",
        "Function is throttled",
        severity,
        ACCOUNT,
        REGION,
        f"{function} throttled",
        "Raise reserved concurrency.",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
        function_name=function,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}" if function else None,
        tags=tags,
        suppressed_by=suppressed,
    )


def report(findings=(), resolved=(), gaps: int = 0) -> AuditReport:
    return AuditReport(
        ACCOUNT,
        REGION,
        WINDOW,
        40,
        (),
        tuple(findings),
        tuple(CoverageGap(DataSource.METRICS, "throttled", f"fn-{i}") for i in range(gaps)),
        {},
        {},
        resolved=tuple(resolved),
        previous_report="reports/dt=2024-05-01/report.json",
    )


ROUTED = Routes("team", {"payments": "C0PAYMENTS1", "search": "C0SEARCH001"}, "C0PLATFORM1")


def names_by_channel(views) -> dict[str, list[str | None]]:
    return {view.channel: [f.function_name for f in view.report.findings] for view in views}


def test_each_finding_goes_to_its_teams_channel_and_the_rest_to_the_default():
    whole = report(
        [
            finding("pay-api", "payments"),
            finding("pay-worker", "payments", suppressed="config suppression"),
            finding("search-api", "search"),
            finding("checkout-api", "checkout"),  # a value no route names
            finding("legacy"),  # no team tag at all
            finding("Payments-api", "Payments"),  # tag values are case-sensitive, as AWS keeps them
            finding(None),  # account-wide
        ],
        resolved=[finding("pay-old", "payments"), finding("gone")],
        gaps=2,
    )
    views = split_report(whole, ROUTED, "C0PLATFORM1")
    assert names_by_channel(views) == {
        "C0PAYMENTS1": ["pay-api", "pay-worker"],
        "C0SEARCH001": ["search-api"],
        "C0PLATFORM1": ["checkout-api", "legacy", "Payments-api", None],
    }
    payments, search, default = views
    assert payments.routed == ("team=payments",) and default.routed == ("unrouted",)
    assert payments.report.counts_by_severity()["high"] == 1  # the suppressed one is not counted
    assert [f.function_name for f in payments.report.resolved] == ["pay-old"]
    assert [f.function_name for f in default.report.resolved] == ["gone"]
    assert (len(payments.report.coverage_gaps), len(default.report.coverage_gaps)) == (0, 2)
    assert sum(len(v.report.findings) for v in views) == len(whole.findings)  # nothing lost, nothing twice
    assert whole.findings == report(whole.findings).findings  # the whole report is untouched


def test_a_channel_routed_two_values_and_the_default_gets_one_view():
    routes = Routes("team", {"payments": "C0SHARED01", "billing": "C0SHARED01"}, None)
    views = split_report(
        report([finding("a", "payments"), finding("b", "billing"), finding("c")]), routes, "C0SHARED01"
    )
    (view,) = views
    assert view.routed == ("team=payments", "team=billing", "unrouted")
    assert [f.function_name for f in view.report.findings] == ["a", "b", "c"]


# -- the routed digests' text --------------------------------------------------------------------


def test_a_routed_digest_names_its_share_under_the_header_and_counts_only_its_findings():
    views = split_report(report([finding("pay-api", "payments"), finding("legacy")]), ROUTED, "C0PLATFORM1")
    text, blocks = routed_digest(views[0], "team", "https://example.com/r")
    payload = json.dumps([block.to_dict() for block in blocks])
    assert blocks[0].type == "header" and "1 high" in blocks[0].text.text
    assert blocks[1].elements[0].text == "Routed here: functions tagged `team=payments`"
    assert "pay-api" in payload and "legacy" not in payload
    assert text.endswith("· functions tagged team=payments")


def test_a_quiet_channel_says_its_share_has_no_findings_not_that_the_account_is_healthy():
    views = split_report(report([finding("legacy")], resolved=[finding("s", "search")]), ROUTED, "C0PLATFORM1")
    _, blocks = routed_digest(views[1], "team", None)
    (section,) = blocks
    assert section.text.text == (
        "\N{WHITE HEAVY CHECK MARK} No findings for functions tagged `team=search` in 123456789012 eu-west-1"
        " (40 functions audited in all). 1 finding resolved since the previous audit."
    )


def test_tag_values_are_escaped_in_the_share():
    routes = Routes("team", {"<!channel>": "C0HOSTILE1"}, "C0PLATFORM1")
    views = split_report(report([]), routes, "C0PLATFORM1")
    _, blocks = routed_digest(views[0], "team", None)
    assert "<!channel>" not in blocks[0].text.text and "&lt;!channel&gt;" in blocks[0].text.text


@pytest.mark.parametrize(
    "statuses, overall",
    [
        (["posted", "posted"], "posted"),
        (["posted", HEALTHY_SKIP], "posted"),
        ([HEALTHY_SKIP, HEALTHY_SKIP], HEALTHY_SKIP),
        (
            ["posted", "failed: Slack answered not_in_channel"],
            "failed: 1 of 2 channels not posted: C1: Slack answered not_in_channel",
        ),
    ],
)
def test_the_runs_status_is_posted_only_when_no_channel_failed(statuses, overall):
    outcomes = [ChannelOutcome(f"C{i}", ("team=x",), status) for i, status in enumerate(statuses)]
    assert routed_status(outcomes) == overall


# -- the multi-account run's shares ---------------------------------------------------------------


def test_the_runs_share_per_channel_counts_every_routed_finding_and_leaves_failures_to_the_default():
    reports = {
        "k1": report([finding(f"pay-{i}", "payments") for i in range(7)] + [finding("legacy")]),
        "k2": report([finding("search-api", "search", Severity.MEDIUM)]),
    }
    results = [
        TargetResult("111111111111", REGION, report_key="k1"),
        TargetResult("222222222222", REGION, report_key="k2"),
        TargetResult("333333333333", REGION, error="AssumeRoleFailed: cannot assume"),
    ]
    whole, shares = merge_results_by_channel(
        results, reports.get, routes=ROUTED, default_channel="C0PLATFORM1", generated_at=WINDOW.end
    )
    assert whole == merge_results(results, reports.get, generated_at=WINDOW.end)  # the stored report is whole
    by_channel = {share.channel: share.consolidated for share in shares}
    assert list(by_channel) == ["C0PAYMENTS1", "C0SEARCH001", "C0PLATFORM1"]
    payments = by_channel["C0PAYMENTS1"]
    assert [t.findings for t in payments.targets] == [7, 0]  # all seven, though only five are briefed
    assert payments.counts_by_severity()["high"] == 7 and payments.not_audited == ()
    search = by_channel["C0SEARCH001"].counts_by_severity()
    assert (search["medium"], search["high"]) == (1, 0)
    assert [t.account for t in by_channel["C0PLATFORM1"].not_audited] == ["333333333333"]
    text, blocks = routed_grouped_digest(payments, shares[0].routed, "team", None)
    payload = json.dumps([block.to_dict() for block in blocks])
    assert "pay-" in payload and "legacy" not in payload and "search-api" not in payload
    assert blocks[1].elements[0].text == "Routed here: functions tagged `team=payments`"


# -- posting, where it fails before reaching Slack -------------------------------------------------


def routed_config(**slack) -> AuditConfig:
    return load_config({"slack": {"channel": "C0123456789", **slack}, "routes": ROUTES})


def test_an_incoming_webhook_cannot_route_and_every_channel_records_why():
    webhook = {"SLACK_BOT_TOKEN": "https://hooks.slack.com/services/T000/B000/XXXX"}
    outcomes = post_routed_digests(report([finding("pay-api", "payments")]), routed_config(), None, webhook)
    assert [o.channel for o in outcomes] == ["C0PAYMENTS1", "C0SEARCH001", "C0PLATFORM1"]
    assert {o.status for o in outcomes} == {
        "failed: routes need a bot token (chat.postMessage to each channel); an incoming webhook posts to one channel"
    }
    assert not any(o.retryable for o in outcomes)


def test_a_channel_posted_before_keeps_its_outcome_when_the_retry_cannot_read_the_token():
    before = {"C0SEARCH001": ChannelOutcome("C0SEARCH001", ("team=search",), "posted", "1700000000.000001")}
    outcomes = post_routed_digests(report(), routed_config(), None, {}, before)
    assert outcomes[1] == before["C0SEARCH001"]
    assert outcomes[0].status.startswith("failed: Slack token not found") and outcomes[2].status == outcomes[0].status
