"""Snooze and acknowledge from Slack, the pure parts: the buttons' value, the table's item, when a snooze
is in force, Slack's signature at its five-minute edge, and the buttons in the digest's thread."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from healthaudit.interact import Malformed, parse_click, raw_body, signed
from healthaudit.model import AuditReport, AuditWindow, Finding, Severity, Snooze
from healthaudit.publish.actions import (
    MAX_FINDINGS_WITH_ACTIONS,
    actions_block_id,
    checked_response_url,
    click_outcome_text,
    replace_actions,
)
from healthaudit.publish.digest import block_texts, build_details
from healthaudit.publish.slack import SlackConfigError
from healthaudit.snooze import (
    CHOICES_BY_ACTION_ID,
    MAX_VALUE_CHARS,
    FindingRef,
    InvalidValue,
    apply,
    decode_value,
    encode_value,
    from_item,
    in_force,
    ref_for,
    snooze_for,
    suppressed_by,
    to_item,
)
from tests.support.reports import a_finding, a_report

ACCOUNT, REGION = "123456789012", "eu-west-1"
AT = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
WINDOW = AuditWindow.ending_at(AT)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LOCAL = {"HEALTHAUDIT_SLACK_API_URL": "http://127.0.0.1:9/api/"}


def finding(function: str | None = "orders-api", check_id: str = "throttled", severity=Severity.HIGH) -> Finding:
    return a_finding(
        check_id,
        function,
        severity=severity,
        message="12 of 1000 invocations throttled",
        remediation="Raise reserved concurrency.",
        docs="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
    )


def report(findings) -> AuditReport:
    return a_report(*findings, window=WINDOW)


# -- the buttons' value ----------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["orders-api", "f" * 64, None])
def test_a_value_names_the_finding_and_its_daily_report_and_decodes_to_the_same(function):
    ref = ref_for(finding(function), AT)
    value = encode_value(ref)
    assert len(value) <= MAX_VALUE_CHARS  # Slack's limit on a button's value
    assert decode_value(value) == ref
    assert ref.report_key == f"reports/dt=2026-11-28/account={ACCOUNT}/region={REGION}/report.json"
    assert (ref.account, ref.region) == (ACCOUNT, REGION)
    assert ref.resource == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}" if function else f"account:{ACCOUNT}:{REGION}"
    )


GOOD = {
    "v": 1,
    "c": "throttled",
    "r": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api",
    "w": "2026-11-28T06:00:00Z",
}


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not json",
        json.dumps([GOOD]),
        json.dumps({**GOOD, "v": 2}),
        json.dumps({**GOOD, "extra": 1}),
        json.dumps({k: v for k, v in GOOD.items() if k != "w"}),
        json.dumps({**GOOD, "c": "Throttled"}),
        json.dumps({**GOOD, "c": "../x"}),
        json.dumps({**GOOD, "r": "arn:aws:lambda:eu-west-1:123456789012:function:../../latest"}),
        json.dumps({**GOOD, "r": "arn:aws:s3:::bucket"}),
        json.dumps({**GOOD, "r": "account:12345678901:eu-west-1"}),  # 11 digits
        json.dumps({**GOOD, "w": "2026-11-28"}),
        json.dumps({**GOOD, "w": "2026-02-30T06:00:00Z"}),  # no such day
        json.dumps({**GOOD, "w": "../../2026-11-28T06:00:00Z"}),
        "x" * (MAX_VALUE_CHARS + 1),
    ],
)
def test_a_value_this_app_did_not_draw_is_refused(value):
    with pytest.raises(InvalidValue):
        decode_value(value)


# -- the table's item and when it is in force ------------------------------------------------------------


@pytest.mark.parametrize(
    "action_id, until",
    [("snooze_7d", "2026-12-05T06:00:00Z"), ("snooze_30d", "2026-12-28T06:00:00Z"), ("acknowledge", None)],
)
def test_a_click_becomes_an_item_with_who_why_and_its_ttl_and_reads_back(action_id, until):
    ref = ref_for(finding(), AT)
    snooze = snooze_for(CHOICES_BY_ACTION_ID[action_id], "U0123ABCD", "alice", AT)
    item = to_item(ref, snooze, "U0123ABCD", "alice")

    assert item["target"] == {"S": f"{ACCOUNT}:{REGION}"}
    assert item["finding"] == {"S": f"throttled {ref.resource}"}
    assert (item["user_id"], item["user_name"], item["user"]) == (
        {"S": "U0123ABCD"},
        {"S": "alice"},
        {"S": "U0123ABCD (alice)"},
    )
    assert snooze.until == until and item.get("until") == ({"S": until} if until else None)
    ends = datetime.fromisoformat(until.replace("Z", "+00:00")) if until else AT + timedelta(days=90)
    assert item["expires"] == {"N": str(int(ends.timestamp()))}  # epoch seconds, as DynamoDB TTL reads them
    assert from_item(item) == (ref.key, snooze, int(ends.timestamp()))


@pytest.mark.parametrize(
    "now, applies",
    [
        (AT + timedelta(days=7) - timedelta(seconds=1), True),
        (AT + timedelta(days=7), False),  # ends at its until: the finding comes back
        (AT + timedelta(days=8), False),  # long expired, and DynamoDB's lazy TTL may not have deleted it yet
    ],
)
def test_a_snooze_is_in_force_until_its_end_even_before_ttl_deletes_it(now, applies):
    snooze = snooze_for(CHOICES_BY_ACTION_ID["snooze_7d"], "U0123ABCD", None, AT)
    assert in_force(snooze, int((AT + timedelta(days=7)).timestamp()), now) is applies


def test_an_item_of_another_shape_is_ignored():
    assert from_item({"target": {"S": "x"}}) is None
    assert (
        from_item(
            {
                **to_item(
                    ref_for(finding(), AT),
                    snooze_for(CHOICES_BY_ACTION_ID["acknowledge"], "U1AB", None, AT),
                    "U1AB",
                    None,
                ),
                "action": {"S": "delete"},
            }
        )
        is None
    )


def test_a_snooze_suppresses_naming_the_user_and_its_end_an_acknowledgement_only_marks():
    snoozed = apply(finding(), snooze_for(CHOICES_BY_ACTION_ID["snooze_30d"], "U0123ABCD", "alice", AT))
    assert snoozed.suppressed_by == "snoozed by U0123ABCD (alice) until 2026-12-28 06:00 UTC: snoozed from Slack"
    acknowledged = apply(finding(), snooze_for(CHOICES_BY_ACTION_ID["acknowledge"], "U0123ABCD", None, AT))
    assert acknowledged.suppressed_by is None and acknowledged.snooze.action == "acknowledge"
    by_config = apply(replace(finding(), suppressed_by="config: known"), snoozed.snooze)
    assert by_config.suppressed_by == "config: known"  # the config's reason stays first
    assert suppressed_by(
        Snooze(action="snooze", user="U1", at="2026-11-28T06:00:00Z", until="2026-12-05T06:00:00Z")
    ).endswith(": snoozed from Slack")


# -- Slack's signature ------------------------------------------------------------------------------------


class FixedClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    """Slack's v0 signature, computed as Slack documents it (not with slack-sdk, which the code uses)."""
    return "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


NOW = 1_764_500_000


@pytest.mark.parametrize(
    "age, valid",
    [(0, True), (300, True), (301, False), (-300, True), (-301, False)],  # five minutes either way, as slack-sdk
)
def test_the_signature_holds_only_within_five_minutes_of_its_timestamp(age, valid):
    body, timestamp = b"payload=%7B%7D", str(NOW - age)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature(body, timestamp)}
    assert signed(body, headers, SECRET, FixedClock(NOW)) is valid


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-slack-request-timestamp": str(NOW)},
        {"x-slack-signature": signature(b"body", str(NOW))},
        {"x-slack-request-timestamp": "soon", "x-slack-signature": signature(b"body", "soon")},
        {"x-slack-request-timestamp": str(NOW), "x-slack-signature": signature(b"body", str(NOW), "another secret")},
        {"x-slack-request-timestamp": str(NOW), "x-slack-signature": signature(b"other body", str(NOW))},
        {"x-slack-request-timestamp": str(NOW), "x-slack-signature": "v0=" + "0" * 64},
    ],
)
def test_a_missing_malformed_or_forged_signature_is_not_signed(headers):
    assert signed(b"body", headers, SECRET, FixedClock(NOW)) is False


def test_the_body_is_verified_as_sent_even_when_the_function_url_base64_encoded_it():
    assert raw_body({"body": "cGF5bG9hZD0lN0IlN0Q=", "isBase64Encoded": True}) == b"payload=%7B%7D"
    assert raw_body({"body": "payload=%7B%7D", "isBase64Encoded": False}) == b"payload=%7B%7D"
    with pytest.raises(Malformed):
        raw_body({"body": "not base64!", "isBase64Encoded": True})


# -- the click's payload ------------------------------------------------------------------------------------


def click_body(**changes) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0123ABCD", "username": "alice"},
        "actions": [{"action_id": "snooze_7d", "block_id": "finding-x", "value": json.dumps(GOOD)}],
        "response_url": "https://hooks.slack.com/actions/T000/1/abc",
        "message": {"ts": "1.000001", "blocks": []},
        **changes,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_a_click_on_one_of_our_buttons_parses():
    click = parse_click(click_body(), {})
    assert (click.choice_id, click.user_id, click.user_name, click.block_id) == (
        "snooze_7d",
        "U0123ABCD",
        "alice",
        "finding-x",
    )
    assert click.ref == FindingRef("throttled", GOOD["r"], GOOD["w"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=not-json",
        b"token=x",
        click_body(type="view_submission"),
        click_body(actions=[]),
        click_body(actions=[{"action_id": "delete_everything", "value": json.dumps(GOOD)}]),
        click_body(actions=[{"action_id": "snooze_7d", "value": "{}"}]),
        click_body(user={"id": "alice"}),
        click_body(response_url="https://evil.example/actions/T000/1/abc"),
        click_body(response_url="http://hooks.slack.com/actions/T000/1/abc"),
        click_body(response_url="https://hooks.slack.com:8443/actions/T000/1/abc"),
        click_body(response_url="http://127.0.0.1:9/actions/T000/1/abc"),  # loopback only with the local switch
        b"\xff\xfe",
    ],
)
def test_a_signed_body_that_is_not_one_click_on_our_buttons_is_malformed(body):
    with pytest.raises(Malformed):
        parse_click(body, {})


@pytest.mark.parametrize(
    "url, environ, accepted",
    [
        ("https://hooks.slack.com/actions/T000/1/abc", {}, True),
        ("https://hooks.slack.com/services/T000/B000/X", {}, False),  # a webhook, not a response_url
        ("https://user@hooks.slack.com/actions/T000/1/abc", {}, False),
        ("http://127.0.0.1:9/actions/T000/1/abc", LOCAL, True),
        ("http://10.0.0.1/actions/T000/1/abc", LOCAL, False),
        (None, {}, False),
    ],
)
def test_only_slacks_response_url_is_answered(url, environ, accepted):
    if accepted:
        assert checked_response_url(url, environ) == url
    else:
        with pytest.raises(SlackConfigError):
            checked_response_url(url, environ)


def test_the_clicked_findings_buttons_become_who_snoozed_it_and_until_when():
    snooze = snooze_for(CHOICES_BY_ACTION_ID["snooze_7d"], "U0123ABCD", "alice", AT)
    text = click_outcome_text(snooze, "U0123ABCD", "`throttled` on orders-api")
    assert text == (
        "\N{SLEEPING SYMBOL} `throttled` on orders-api snoozed by <@U0123ABCD> until 2026-12-05 06:00 UTC:"
        " it is left out of the digests until then."
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "a"}},
        {"type": "actions", "block_id": "b1", "elements": []},
        {"type": "actions", "block_id": "b2", "elements": []},
    ]
    replaced = replace_actions(blocks, "b1", text)
    assert [b["type"] for b in replaced] == ["section", "context", "actions"]
    assert replaced[1]["elements"][0]["text"] == text
    assert replace_actions(blocks, "missing", text) is None


# -- the buttons in the thread --------------------------------------------------------------------------------


def test_each_finding_in_the_thread_gets_its_buttons_under_its_line_within_block_kit():
    findings = [finding(f"fn-{i:02d}", check_id="tracing-disabled", severity=Severity.LOW) for i in range(12)]
    findings += [finding("orders-api"), finding(None, check_id="concurrency-near-limit")]
    messages = build_details(report(findings), None, actions=True)

    blocks = [block.to_dict() for _, message in messages for block in message]
    assert all(len(message) <= 50 for _, message in messages)
    actions = [block for block in blocks if block["type"] == "actions"]
    assert len(actions) == len(findings)
    for block in actions:
        assert [e["text"]["text"] for e in block["elements"]] == ["Snooze 7 days", "Snooze 30 days", "Acknowledge"]
        assert [e["action_id"] for e in block["elements"]] == ["snooze_7d", "snooze_30d", "acknowledge"]
        assert len({e["value"] for e in block["elements"]}) == 1
    named = {decode_value(block["elements"][0]["value"]).key: block["block_id"] for block in actions}
    assert named == {f.key: actions_block_id(f) for f in findings}  # each block's buttons name the finding above them
    for index, block in enumerate(blocks):
        if block["type"] == "actions":
            above = blocks[index - 1]["text"]["text"]
            ref = decode_value(block["elements"][0]["value"])
            assert ref.resource.rsplit(":", 1)[-1] in above or "account" in above
    assert "_Fix:_ Raise reserved concurrency." in block_texts(messages[0][1])[0]


def test_past_the_findings_with_buttons_the_rest_are_listed_without_and_all_replies_fit():
    findings = [finding(f"fn-{i:03d}", check_id="tracing-disabled", severity=Severity.LOW) for i in range(300)]
    messages = build_details(report(findings), None, actions=True)

    buttons = sum(1 for _, message in messages for block in message if block.type == "actions")
    assert buttons == MAX_FINDINGS_WITH_ACTIONS
    listed = "\n".join(text for _, message in messages for text in block_texts(message))
    assert all(f"|fn-{i:03d}>: " in listed for i in range(300))  # every one still listed
    assert all(len(message) <= 50 for _, message in messages)
    assert listed.count("_Fix:_") == 1


def test_without_actions_the_thread_has_no_buttons():
    messages = build_details(report([finding()]), None)
    assert not [block for _, message in messages for block in message if block.type == "actions"]
