"""Findings reach their owners: routed digests, posted by the deployed notifier and merge step under the
template's roles, to a local Slack server through slack-sdk.

Three teams (tag team=payments/search/checkout) and an unrouted function give four digests, each with
exactly its findings; a channel the app is not a member of answers `not_in_channel`
(https://api.slack.com/methods/chat.postMessage) and is recorded, naming the channel and the tag value,
while the others get their posts; a retry after a failure that may pass posts only the channels not yet
posted; the multi-account run's digest is routed the same way.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from healthaudit.config import AuditConfig
from healthaudit.model import AuditReport, AuditWindow, Finding, Severity
from healthaudit.publish.outcome import publish
from tests.support.clock import AT, day, iso
from tests.support.deployment import TOKEN, aim_environment_at, provisioned
from tests.support.events import report_created_event
from tests.support.functions import LambdaContext, load_function
from tests.support.slack_server import SlackServer

REGION = "eu-west-1"
PAYMENTS, SEARCH, CHECKOUT, PLATFORM = "C0PAYMENTS1", "C0SEARCH001", "C0CHECKOUT1", "C0PLATFORM1"
ROUTES = {
    "tag": "team",
    "channels": {"payments": PAYMENTS, "search": SEARCH, "checkout": CHECKOUT},
    "default": PLATFORM,
}
#: function name -> its team tag (None: untagged)
FLEET = {
    "pay-api": "payments",
    "pay-ledger": "payments",
    "search-indexer": "search",
    "checkout-cart": "checkout",
    "nightly-cron": None,
}
EXPECTED = {
    PAYMENTS: {"pay-api", "pay-ledger"},
    SEARCH: {"search-indexer"},
    CHECKOUT: {"checkout-cart"},
    PLATFORM: {"nightly-cron"},
}


def finding(account: str, function: str, severity: Severity = Severity.HIGH) -> Finding:
    team = FLEET[function]
    return Finding(
        "error-rate-high",
        "Error rate is high",
        severity,
        account,
        REGION,
        f"{function}: 9 % of 400 invocations failed",
        "Read the function's errors in its logs.",
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
        function_name=function,
        function_arn=f"arn:aws:lambda:{REGION}:{account}:function:{function}",
        tags={"team": team, "cost-center": "42"} if team else {"cost-center": "42"},
    )


def fleet_report(account: str) -> AuditReport:
    return AuditReport(
        account,
        REGION,
        AuditWindow.ending_at(AT),
        len(FLEET),
        (),
        tuple(finding(account, name) for name in FLEET),
        (),
        {},
        {},
    )


@pytest.fixture
def channels_without_the_app() -> set[str]:
    """Channels of the workspace that the app was never invited to (a test parametrizes it)."""
    return set()


@pytest.fixture
def slack(channels_without_the_app):
    """The workspace: the four channels exist, and the app is a member of all but those a test names."""
    channels = {PAYMENTS, SEARCH, CHECKOUT, PLATFORM}
    with SlackServer(tokens={TOKEN}, channels=channels, without_the_app=channels_without_the_app) as server:
        yield server


@pytest.fixture
def stack(aws, sandbox, slack, monkeypatch):
    """The deployed stack with the routes in its config document, posting to this test's Slack server."""
    aim_environment_at(aws, sandbox.endpoint, REGION, monkeypatch)
    with provisioned(aws, REGION, monkeypatch, multi_account=True) as deployed:
        monkeypatch.setenv("HEALTHAUDIT_SLACK_API_URL", slack.api_url)
        config = {"slack": {"timeout_seconds": 5}, "routes": ROUTES}
        ssm = deployed["session"].client("ssm")
        ssm.put_parameter(Name=deployed["parameter"], Value=json.dumps(config), Type="String", Overwrite=True)
        yield {**deployed, "slack": slack}


def store(stack: dict) -> str:
    """The audit's report stored as the audit function stores it; returns its latest/ key."""
    report = fleet_report(stack["account"])
    publish(report, AuditConfig(bucket=stack["bucket"]), stack["s3"], post_to_slack=False)
    return f"latest/account={stack['account']}/region={REGION}/report.json"


def recorded_outcome(stack: dict) -> dict:
    key = f"reports/dt={day(AT)}/account={stack['account']}/region={REGION}/notify.json"
    return json.loads(stack["s3"].get_object(Bucket=stack["bucket"], Key=key)["Body"].read())


def functions_named(messages: list[dict]) -> set[str]:
    text = json.dumps([message.get("blocks") for message in messages])
    return {name for name in FLEET if re.search(rf"\|{re.escape(name)}>", text)}


def digests_by_channel(slack: SlackServer) -> dict[str, list[dict]]:
    """Each channel's main messages, each with its thread replies after it."""
    found: dict[str, list[dict]] = {}
    for message in slack.messages:
        found.setdefault(message["channel"], []).append(message)
    return found


def main_messages(slack: SlackServer) -> list[dict]:
    return [m for m in slack.messages if not m.get("thread_ts")]


def test_three_teams_and_an_unrouted_function_give_four_digests_each_with_exactly_its_findings(stack):
    event = report_created_event(stack["bucket"], store(stack))
    outcome = load_function("notify").lambda_handler(event, LambdaContext())

    assert outcome["status"] == "posted"
    mains = main_messages(stack["slack"])
    assert sorted(m["channel"] for m in mains) == sorted(EXPECTED)  # one digest per channel
    for channel, messages in digests_by_channel(stack["slack"]).items():
        (main,) = [m for m in messages if not m.get("thread_ts")]
        assert functions_named([main]) == EXPECTED[channel]  # the main message
        replies = [m for m in messages if m.get("thread_ts")]
        assert replies and all(m["thread_ts"] == main["ts"] for m in replies)  # its details, in its thread
        assert functions_named(replies) == EXPECTED[channel]
        assert "Routed here:" in json.dumps(main["blocks"])
        assert "report.html" in json.dumps(main["blocks"])  # every digest links the same whole report
    assert "`team=payments`" in json.dumps(digests_by_channel(stack["slack"])[PAYMENTS][0]["blocks"])
    recorded = recorded_outcome(stack)
    assert recorded["status"] == "posted" and recorded["channels"] == outcome["channels"]
    assert {c["channel"]: (c["status"], c["ts"]) for c in recorded["channels"]} == {
        m["channel"]: ("posted", m["ts"]) for m in mains
    }
    assert {c["channel"]: c["routed"] for c in recorded["channels"]} == {
        PAYMENTS: ["team=payments"],
        SEARCH: ["team=search"],
        CHECKOUT: ["team=checkout"],
        PLATFORM: ["unrouted"],
    }
    # The stored report stays whole: every finding, with its function's tags.
    latest = json.loads(
        stack["s3"].get_object(Bucket=stack["bucket"], Key=event["detail"]["object"]["key"])["Body"].read()
    )
    assert {f["function_name"]: f["tags"].get("team") for f in latest["findings"]} == FLEET


@pytest.mark.parametrize("channels_without_the_app", [{CHECKOUT}])  # the app was never invited to #checkout
def test_a_channel_the_app_is_not_in_is_recorded_and_the_other_three_still_get_their_digests(stack):
    outcome = load_function("notify").lambda_handler(
        report_created_event(stack["bucket"], store(stack)), LambdaContext()
    )

    assert sorted(m["channel"] for m in main_messages(stack["slack"])) == sorted([PAYMENTS, SEARCH, PLATFORM])
    for channel, messages in digests_by_channel(stack["slack"]).items():
        assert functions_named(messages) == EXPECTED[channel]
    refused = [m for m in stack["slack"].posts if m.answer.get("error") == "not_in_channel"]
    assert [m.body["channel"] for m in refused] == [CHECKOUT]  # asked once: not in the channel is not retried
    recorded = recorded_outcome(stack)
    (failed,) = [c for c in recorded["channels"] if c["status"] != "posted"]
    assert failed["channel"] == CHECKOUT and failed["routed"] == ["team=checkout"] and failed["ts"] is None
    assert failed["status"] == (
        "failed: Slack answered not_in_channel: the Slack app is not a member of channel C0CHECKOUT1,"
        " where team=checkout is routed; invite it with /invite @app"
    )
    assert recorded["status"].startswith(
        "failed: 1 of 4 channels not posted: C0CHECKOUT1: Slack answered not_in_channel"
    )
    assert outcome["status"] == recorded["status"]


def test_a_retry_after_a_failure_that_may_pass_posts_only_the_channels_not_yet_posted(stack):
    from healthaudit.publish.notify import NotifyRetry

    event = report_created_event(stack["bucket"], store(stack))
    stack["slack"].fail_next(1, status=503)  # the first channel's main message: Slack is briefly down
    notify = load_function("notify")
    with pytest.raises(NotifyRetry, match="1 of 4 channels not posted: C0PAYMENTS1: Slack answered internal_error"):
        notify.lambda_handler(event, LambdaContext())
    first = {c["channel"]: c["status"] for c in recorded_outcome(stack)["channels"]}
    assert first == {
        PAYMENTS: "failed: Slack answered internal_error",
        SEARCH: "posted",
        CHECKOUT: "posted",
        PLATFORM: "posted",
    }

    retried = notify.lambda_handler(copy.deepcopy(event), LambdaContext())  # Lambda's retry of the same event
    assert retried["status"] == "posted"
    assert sorted(m["channel"] for m in main_messages(stack["slack"])) == sorted(EXPECTED)  # each channel once
    for channel, messages in digests_by_channel(stack["slack"]).items():
        assert functions_named(messages) == EXPECTED[channel]
    assert {c["status"] for c in recorded_outcome(stack)["channels"]} == {"posted"}


def test_the_multi_account_digest_is_routed_the_same_way_and_failures_go_to_the_default(stack):
    members = ("111111111111", "222222222222")
    results = []
    for account in members:
        key = f"reports/dt={day(AT)}/account={account}/region={REGION}/report.json"
        body = json.dumps(fleet_report(account).to_dict(), default=str).encode()
        stack["s3"].put_object(Bucket=stack["bucket"], Key=key, Body=body, ContentType="application/json")
        results.append({"target": {"account": account, "region": REGION}, "report_key": key})
    lost = {"account": "333333333333", "region": REGION}
    results.append({"target": lost, "error": {"Error": "AssumeRoleFailed", "Cause": "cannot assume: AccessDenied"}})

    merged = load_function("merge").lambda_handler({"time": iso(AT), "results": results}, LambdaContext())

    assert merged["slack"] == "posted" and merged["targets_audited"] == 2
    assert sorted(c["channel"] for c in merged["slack_channels"]) == sorted(EXPECTED)
    digests = digests_by_channel(stack["slack"])
    assert sorted(digests) == sorted(EXPECTED) and all(len(d) == 1 for d in digests.values())  # no thread
    for channel, (digest,) in digests.items():
        blocks = json.dumps(digest["blocks"])
        named = {name for name in FLEET if name in blocks}
        assert named and named <= EXPECTED[channel]  # alike findings are one line: an example and a count
        assert f"*{2 * len(EXPECTED[channel])}*" in blocks  # its own findings counted per check: 2 accounts
        more = 2 * len(EXPECTED[channel]) - 1
        assert (f"and {more} more like it" in blocks) is (more > 0)
        assert ("AssumeRoleFailed" in blocks) is (channel == PLATFORM)  # targets not audited: the default's
    consolidated = json.loads(stack["s3"].get_object(Bucket=stack["bucket"], Key=merged["report_key"])["Body"].read())
    assert sum(t["findings"] for t in consolidated["targets"]) == 2 * len(FLEET)  # the stored report is whole
