"""Snooze and acknowledge from Slack, end to end under the template's roles: the notifier posts the
thread with its buttons to the local Slack server, a click signed as Slack signs it reaches the interact
function as a Lambda function URL event, and the next audit reads the snooze from DynamoDB.

The event is `sam local generate-event apigateway http-api-proxy` (the HTTP API payload 2.0, which
function URLs share: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads),
made by the SAM CLI's own event library and shaped as a function URL sends it. Slack's request
signature is computed as Slack documents it (v0, HMAC-SHA256 over "v0:<timestamp>:<body>":
https://api.slack.com/authentication/verifying-requests-from-slack), independently of slack-sdk.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from samcli.lib.generated_sample_events.events import Events

from healthaudit.model.codec import iso
from healthaudit.snooze import CHOICES_BY_ACTION_ID, FindingRef, encode_value, snooze_for, to_item
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.proxy import AwsProxy, Fault
from tests.support.clock import AT, day
from tests.support.deployment import CHANNEL, SIGNING_SECRET, aim_environment_at, provisioned
from tests.support.events import load_event, report_created_event
from tests.support.functions import LambdaContext, load_function

REGION = "eu-west-1"
ACCOUNT = "300000000015"
FLEET = [fn for fn in demo_fleet() if fn.name in ("nightly-cleanup", "audit-trail")]
REPORT_KEY = f"reports/dt={day(AT)}/account={ACCOUNT}/region={REGION}/report.json"
LATEST_KEY = f"latest/account={ACCOUNT}/region={REGION}/report.json"
USER = {"id": "U0123ABCD", "username": "alice", "name": "alice", "team_id": "T000"}
URL_ID = "abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(scope="module")
def fleet_account(sandbox):
    session = sandbox.session_for_account(ACCOUNT, region=REGION)
    seed_fleet(session, AT, FLEET)
    return session


@pytest.fixture(scope="module")
def stack(sandbox, fleet_account):
    """The stack's resources and roles, once for the module; the day's report audited and its digest posted
    with its thread (`stack["thread"]`, as first posted: the message every click is made on)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        aim_environment_at(fleet_account, sandbox.endpoint, REGION, monkeypatch)
        with provisioned(fleet_account, REGION, monkeypatch) as stack:
            audit_now("first")
            event = report_created_event(stack["bucket"], LATEST_KEY)
            assert load_function("notify").lambda_handler(event, LambdaContext())["status"] == "posted"
            stack["dynamodb"] = fleet_account.client("dynamodb")
            stack["thread"] = thread(stack)
            stack["environment"] = dict(os.environ)
            yield stack


@pytest.fixture
def deployed(stack, monkeypatch):
    """The module's stack with no snooze stored yet, and the functions' environment (tests may change it)."""
    for name, value in stack["environment"].items():
        monkeypatch.setenv(name, value)
    for item in stored_items(stack):
        key = {name: item[name] for name in ("target", "finding")}
        stack["dynamodb"].delete_item(TableName=stack["suppressions_table"], Key=key)
    return stack


def audit_now(run: str) -> None:
    """A scheduled audit at AT; each run is its own delivery (the same schedule and time would be done once)."""
    event = load_event("scheduled.json")
    event = {**event, "id": f"interact-test-{run}", "resources": [f"{event['resources'][0]}-{run}"]}
    load_function("audit").lambda_handler(event, LambdaContext())


def stored_report(stack) -> dict:
    return json.loads(stack["s3"].get_object(Bucket=stack["bucket"], Key=REPORT_KEY)["Body"].read())


def finding_of(report: dict, function: str, check_id: str) -> dict:
    (found,) = [f for f in report["findings"] if (f["function_name"], f["check_id"]) == (function, check_id)]
    return found


def thread(stack) -> dict:
    """The thread reply that lists the findings, with their buttons."""
    (reply,) = [m for m in stack["slack"].messages if m.get("thread_ts")]
    return json.loads(json.dumps(reply))  # as it is now: the server edits its own copy in place


def button(reply: dict, function: str, action_id: str) -> tuple[str, dict]:
    """The clicked actions block's id and the button, found under the finding's line."""
    blocks = reply["blocks"]
    for above, block in zip(blocks, blocks[1:], strict=False):
        if block["type"] == "actions" and f"|{function}>" in above["text"]["text"]:
            (chosen,) = [e for e in block["elements"] if e["action_id"] == action_id]
            return block["block_id"], chosen
    raise AssertionError(f"no buttons under {function}")


def click_payload(stack, reply: dict, block_id: str, element: dict) -> dict:
    """The block_actions payload Slack POSTs for a click on a message button
    (https://api.slack.com/reference/interaction-payloads/block-actions)."""
    return {
        "type": "block_actions",
        "user": USER,
        "api_app_id": "A0123",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": reply["ts"], "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": "123.456.abc",
        "team": {"id": "T000", "domain": "example"},
        "channel": {"id": CHANNEL, "name": "alerts"},
        "message": {"type": "message", "ts": reply["ts"], "text": reply["text"], "blocks": reply["blocks"]},
        "response_url": stack["slack"].response_url(CHANNEL, reply["ts"]),
        "actions": [
            {
                "type": "button",
                "action_id": element["action_id"],
                "block_id": block_id,
                "text": element["text"],
                "value": element["value"],
                "action_ts": "1764500000.000100",
            }
        ],
    }


def slack_signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def function_url_event(body: bytes, headers: dict[str, str], *, base64_encoded: bool = True) -> dict:
    """`sam local generate-event apigateway http-api-proxy` (its library), shaped as a function URL sends it:
    no route, cookies, query or authorizer; lower-case headers; the lambda-url domain."""
    tags = Events().event_mapping["apigateway"]["http-api-proxy"]["tags"]
    values = {tag.replace("-", "_"): spec.get("default") for tag, spec in tags.items()}
    values.update(body=body.decode(), method="POST", path="")
    event = json.loads(Events().generate_event("apigateway", "http-api-proxy", values))
    for absent in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        event.pop(absent, None)
    context = event["requestContext"]
    for absent in ("authorizer", "authentication"):
        context.pop(absent, None)
    domain = f"{URL_ID}.lambda-url.{REGION}.on.aws"
    context.update(accountId="anonymous", apiId=URL_ID, domainName=domain, domainPrefix=URL_ID)
    context["http"].update(method="POST", path="/", userAgent="Slackbot 1.0 (+https://api.slack.com/robots)")
    event.update(rawPath="/", rawQueryString="")
    event["headers"] = {
        "content-type": "application/x-www-form-urlencoded",
        "host": domain,
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **{name.lower(): value for name, value in headers.items()},
    }
    if not base64_encoded:
        event.update(body=body.decode(), isBase64Encoded=False)
    assert event["isBase64Encoded"] is base64_encoded
    return event


def signed_click(payload: dict, *, age_seconds: int = 0, secret: str = SIGNING_SECRET, base64_encoded=True) -> dict:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()) - age_seconds)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": slack_signature(body, timestamp, secret)}
    return function_url_event(body, headers, base64_encoded=base64_encoded)


def click(event: dict) -> dict:
    return load_function("interact").lambda_handler(event, LambdaContext(function_name="InteractFunction"))


def stored_items(stack) -> list[dict]:
    return stack["dynamodb"].scan(TableName=stack["suppressions_table"])["Items"]


def calls_to_slack_since(stack, count: int) -> list:
    return stack["slack"].posts[count:]


# -- a signed click -------------------------------------------------------------------------------------


@pytest.mark.parametrize("base64_encoded", [True, False])
def test_a_signed_click_stores_the_snooze_and_updates_the_message(deployed, base64_encoded):
    """A function URL base64-encodes a body it takes for binary (urls-invocation.html#urls-payloads): the
    signature is checked over the body as Slack sent it, either way."""
    reply = deployed["thread"]
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_7d")
    before = time.time()

    answer = click(signed_click(click_payload(deployed, reply, block_id, snooze_button), base64_encoded=base64_encoded))

    assert answer["statusCode"] == 200 and answer["body"].startswith("snooze stored; message updated")
    (item,) = stored_items(deployed)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nightly-cleanup"
    assert item["target"] == {"S": f"{ACCOUNT}:{REGION}"} and item["finding"] == {"S": f"tracing-disabled {arn}"}
    assert (item["action"], item["user_id"], item["user_name"], item["reason"]) == (
        {"S": "snooze"},
        {"S": "U0123ABCD"},
        {"S": "alice"},
        {"S": "snoozed from Slack"},
    )
    expires = int(item["expires"]["N"])
    assert before + 7 * 86400 - 1 <= expires <= time.time() + 7 * 86400  # the TTL: seven days on
    assert item["until"]["S"] == iso_epoch(expires)

    updated = thread(deployed)  # the same message (same ts), its buttons for that finding replaced
    assert updated["ts"] == reply["ts"] and updated.get("edited") is True
    (note,) = [b for b in updated["blocks"] if b.get("block_id") == block_id or _is_outcome(b)]
    assert note["type"] == "context"
    text = note["elements"][0]["text"]
    assert "`tracing-disabled` on nightly-cleanup snoozed by <@U0123ABCD> until " in text
    assert item["until"]["S"][:10] in text
    assert (
        len([b for b in updated["blocks"] if b["type"] == "actions"])
        == len([b for b in reply["blocks"] if b["type"] == "actions"]) - 1
    )  # the other findings keep their buttons


def test_a_live_snooze_suppresses_the_finding_in_the_next_audit_naming_the_user_and_its_end(deployed):
    reply = deployed["thread"]
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_30d")
    assert click(signed_click(click_payload(deployed, reply, block_id, snooze_button)))["statusCode"] == 200
    (item,) = stored_items(deployed)

    audit_now("after-snooze")

    report = stored_report(deployed)
    snoozed = finding_of(report, "nightly-cleanup", "tracing-disabled")
    assert snoozed["suppressed_by"] == (
        f"snoozed by U0123ABCD (alice) until {item['until']['S'][:10]} {item['until']['S'][11:16]} UTC:"
        " snoozed from Slack"
    )
    assert snoozed["snooze"]["user"] == "U0123ABCD (alice)" and snoozed["snooze"]["until"] == item["until"]["S"]
    assert finding_of(report, "audit-trail", "log-retention-unset")["suppressed_by"] is None


def iso_epoch(seconds: int) -> str:
    from datetime import UTC, datetime

    return iso(datetime.fromtimestamp(seconds, UTC))


def _is_outcome(block: dict) -> bool:
    return block["type"] == "context" and "snoozed by" in json.dumps(block)


def test_an_acknowledgement_keeps_the_finding_active_and_marks_it(deployed):
    reply = deployed["thread"]
    block_id, acknowledge = button(reply, "audit-trail", "acknowledge")

    answer = click(signed_click(click_payload(deployed, reply, block_id, acknowledge)))

    assert answer["statusCode"] == 200 and answer["body"].startswith("acknowledge stored")
    (item,) = stored_items(deployed)
    assert item["action"] == {"S": "acknowledge"} and "until" not in item
    assert "acknowledged by <@U0123ABCD>" in json.dumps(thread(deployed)["blocks"])
    audit_now("after-acknowledge")
    acknowledged = finding_of(stored_report(deployed), "audit-trail", "log-retention-unset")
    assert acknowledged["suppressed_by"] is None and acknowledged["snooze"]["action"] == "acknowledge"


# -- refused: nothing stored, Slack not called -----------------------------------------------------------------


def test_a_forged_signature_is_refused_with_401_and_nothing_happens(deployed):
    reply, before = deployed["thread"], thread(deployed)
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_30d")
    posts = len(deployed["slack"].posts)

    answer = click(signed_click(click_payload(deployed, reply, block_id, snooze_button), secret="not-the-app-secret"))

    assert answer["statusCode"] == 401
    assert stored_items(deployed) == [] and calls_to_slack_since(deployed, posts) == []
    assert thread(deployed) == before


def test_a_replayed_click_older_than_five_minutes_is_refused_with_401_and_nothing_happens(deployed):
    """Slack's guard against replay: a timestamp more than five minutes from now, even with a good signature
    (the exact edge, 300 s against 301 s, is tests/unit/test_snooze.py's, with a fixed clock)."""
    reply, before = deployed["thread"], thread(deployed)
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_7d")
    posts = len(deployed["slack"].posts)

    answer = click(signed_click(click_payload(deployed, reply, block_id, snooze_button), age_seconds=10 * 60))

    assert answer["statusCode"] == 401
    assert stored_items(deployed) == [] and calls_to_slack_since(deployed, posts) == []
    assert thread(deployed) == before


@pytest.mark.parametrize(
    "tamper, status",
    [
        ("unsigned", 401),
        ("body-changed-after-signing", 401),
        ("unknown-action", 400),
        ("value-not-ours", 400),
        ("foreign-response-url", 400),
    ],
)
def test_an_unsigned_tampered_or_malformed_click_is_refused_and_nothing_happens(deployed, tamper, status):
    reply, before = deployed["thread"], thread(deployed)
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_7d")
    payload = click_payload(deployed, reply, block_id, snooze_button)
    if tamper == "unknown-action":
        payload["actions"][0]["action_id"] = "delete_report"
    if tamper == "value-not-ours":
        payload["actions"][0]["value"] = json.dumps({"v": 1, "c": "throttled", "r": "s3://bucket/x", "w": "now"})
    if tamper == "foreign-response-url":
        payload["response_url"] = "https://attacker.example/actions/T000/1/x"
    event = signed_click(payload, base64_encoded=False)
    if tamper == "unsigned":
        event["headers"] = {k: v for k, v in event["headers"].items() if not k.startswith("x-slack-")}
    if tamper == "body-changed-after-signing":
        event["body"] = event["body"].replace("snooze_7d", "snooze_30d")
    posts = len(deployed["slack"].posts)

    assert click(event)["statusCode"] == status
    assert stored_items(deployed) == [] and calls_to_slack_since(deployed, posts) == []
    assert thread(deployed) == before


def test_a_finding_that_is_not_in_the_report_it_names_is_refused_and_nothing_is_stored(deployed):
    """The value is never trusted: a well-signed click naming a finding its report does not hold (another check,
    another function, another day) is told "unknown finding" through its response_url, and nothing is stored."""
    reply, before = deployed["thread"], thread(deployed)
    block_id, snooze_button = button(reply, "nightly-cleanup", "snooze_7d")
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nightly-cleanup"
    for ref in (
        FindingRef("throttled", arn, iso(AT)),  # no such check on it
        FindingRef("tracing-disabled", arn.replace("nightly-cleanup", "payments"), iso(AT)),  # no such function
        FindingRef("tracing-disabled", arn, iso(AT - timedelta(days=40))),  # no report that day
        FindingRef("tracing-disabled", arn.replace(ACCOUNT, "999999999999"), iso(AT)),  # another account's
    ):
        payload = click_payload(deployed, reply, block_id, {**snooze_button, "value": encode_value(ref)})
        posts = len(deployed["slack"].posts)

        answer = click(signed_click(payload))

        assert (answer["statusCode"], answer["body"]) == (200, "unknown finding")
        assert stored_items(deployed) == []
        (told,) = calls_to_slack_since(deployed, posts)  # the clicker is told, the message left alone
        assert told.path.startswith("/actions/") and told.body["response_type"] == "ephemeral"
        assert told.body["text"].startswith("Unknown finding: ") and told.body["replace_original"] is False
        assert thread(deployed) == before


# -- expiry -------------------------------------------------------------------------------------------------------


def test_an_expired_snooze_still_in_the_table_no_longer_suppresses_the_finding(deployed):
    """DynamoDB deletes expired items lazily (howitworks-ttl.html): the audit ignores one past its end."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nightly-cleanup"
    ref = FindingRef("tracing-disabled", arn, iso(AT - timedelta(days=10)))
    clicked = AT - timedelta(days=10)
    expired = snooze_for(CHOICES_BY_ACTION_ID["snooze_7d"], "U0123ABCD", "alice", clicked)
    deployed["dynamodb"].put_item(
        TableName=deployed["suppressions_table"], Item=to_item(ref, expired, "U0123ABCD", "alice")
    )

    audit_now("after-expiry")

    assert len(stored_items(deployed)) == 1  # still there: TTL has not deleted it
    back = finding_of(stored_report(deployed), "nightly-cleanup", "tracing-disabled")
    assert back["suppressed_by"] is None and back["snooze"] is None


def test_an_unreadable_suppressions_table_is_a_note_and_never_hides_a_finding(deployed, sandbox, monkeypatch):
    """The table answers Query with ResourceNotFoundException (deleted, say): the role may query it, so the
    failure is the table's, not a refusal of what the template grants."""
    gone = Fault("Query", code="ResourceNotFoundException", message="Requested resource not found")
    with AwsProxy(sandbox.endpoint, faults=[gone]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)  # botocore's per-service endpoint
        audit_now("unreadable-table")
        assert proxy.answered.count("Query") == 1

    report = stored_report(deployed)
    assert any(
        note.startswith("snoozes from Slack not read (Query failed: ResourceNotFoundException")
        for note in report["notes"]
    )
    assert finding_of(report, "nightly-cleanup", "tracing-disabled")["suppressed_by"] is None
