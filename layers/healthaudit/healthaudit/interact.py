"""A click on a digest's Snooze or Acknowledge button, as the interactivity endpoint handles it.

Slack POSTs the click (https://api.slack.com/interactivity/handling#payloads) to the function URL:
an `application/x-www-form-urlencoded` body whose `payload` field is the block_actions JSON, signed
with the app's signing secret (https://api.slack.com/authentication/verifying-requests-from-slack).

In order, and nothing happens until every step before it passed:

1. The signature, over the raw body (decoded from base64 where the function URL encoded it), with
   slack-sdk's SignatureVerifier: a missing, forged or malformed signature, or a timestamp more than
   five minutes from now (a replay), is answered 401.
2. The payload: a signed body that is not one block_actions click on one of our buttons, with a
   value this app drew and Slack's own response_url, is answered 400.
3. The finding: the daily report the value names must hold it (the value is never trusted); if not,
   the clicker is told "unknown finding" (HTTP 200, so that Slack shows our answer) and nothing is stored.
4. The snooze is stored (the suppressions table), then the message is updated through response_url.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from .publish.actions import checked_response_url, click_outcome_text, replace_actions
from .publish.digest import escape, shorten
from .publish.slack import SlackConfigError
from .snooze import (
    CHOICES_BY_ACTION_ID,
    FindingRef,
    InvalidValue,
    decode_value,
    snooze_for,
    to_item,
)

SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
MAX_USER_NAME = 80


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to Slack, and what happened (for the log)."""

    status: int
    outcome: str
    stored: dict[str, Any] | None = None

    def as_function_url_response(self) -> dict[str, Any]:
        # https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-response-payload
        return {"statusCode": self.status, "headers": {"Content-Type": "text/plain"}, "body": self.outcome}


class Malformed(ValueError):
    """A signed request that is not one click on one of our buttons."""


@dataclass(frozen=True)
class Click:
    choice_id: str
    ref: FindingRef
    block_id: str
    user_id: str
    user_name: str | None
    response_url: str
    message_blocks: list[Any] | None


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body exactly as Slack sent it (a function URL base64-encodes bodies it deems binary)."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise Malformed("body: expected a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("body: isBase64Encoded, but not base64") from None
    return body.encode("utf-8")


def signed(body: bytes, headers: Mapping[str, Any], signing_secret: str, clock: Clock | None = None) -> bool:
    """Slack's v0 signature over `body`, with a timestamp within five minutes of now (SignatureVerifier)."""
    lowered = {str(name).lower(): value for name, value in headers.items()}
    timestamp, signature = lowered.get("x-slack-request-timestamp"), lowered.get("x-slack-signature")
    if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(signature, str):
        return False
    verifier = SignatureVerifier(signing_secret) if clock is None else SignatureVerifier(signing_secret, clock)
    try:
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, ValueError):
        return False


def parse_click(body: bytes, environ: Mapping[str, str]) -> Click:
    """One click on one of our buttons, or Malformed naming what is wrong."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError):
        raise Malformed("body: expected a form with a JSON payload field") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise Malformed("payload.type: expected block_actions")
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        raise Malformed("payload.actions: expected exactly one action")
    action = actions[0]
    if action.get("action_id") not in CHOICES_BY_ACTION_ID:
        raise Malformed("payload.actions[0].action_id: not one of this app's buttons")
    try:
        ref = decode_value(action.get("value"))
    except InvalidValue as error:
        raise Malformed(f"payload.actions[0].{error}") from None
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    user_id = user.get("id")
    if not (isinstance(user_id, str) and SLACK_USER_ID.fullmatch(user_id)):
        raise Malformed("payload.user.id: expected a Slack user ID")
    name = user.get("username") or user.get("name")
    try:
        response_url = checked_response_url(payload.get("response_url"), environ)
    except SlackConfigError as error:
        raise Malformed(f"payload.{error}") from None
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    blocks = message.get("blocks") if isinstance(message.get("blocks"), list) else None
    return Click(
        choice_id=action["action_id"],
        ref=ref,
        block_id=str(action.get("block_id") or ""),
        user_id=user_id,
        user_name=name[:MAX_USER_NAME] if isinstance(name, str) and name.strip() else None,
        response_url=response_url,
        message_blocks=blocks,
    )


def finding_in(report: Mapping[str, Any] | None, ref: FindingRef) -> Mapping[str, Any] | None:
    """The report's finding the reference names, or None (no report, another account or region, no such finding)."""
    if not isinstance(report, Mapping) or (report.get("account"), report.get("region")) != (ref.account, ref.region):
        return None
    for finding in report.get("findings") or []:
        if not isinstance(finding, Mapping):
            continue
        resource = finding.get("function_arn") or f"account:{report['account']}:{report['region']}"
        if (finding.get("check_id"), resource) == ref.key:
            return finding
    return None


def handle_click(
    event: Mapping[str, Any],
    *,
    signing_secret: Callable[[], str],
    read_report: Callable[[str], Mapping[str, Any] | None],
    store: Callable[[dict[str, Any]], None],
    respond: Callable[..., int],
    now: Callable[[], datetime],
    environ: Mapping[str, str],
    clock: Clock | None = None,
) -> Answer:
    """The whole request, from the function URL's event to the answer; each edge is handed in."""
    try:
        body = raw_body(event)
    except Malformed:
        return Answer(401, "unsigned")
    headers = event.get("headers") if isinstance(event.get("headers"), Mapping) else {}
    if not signed(body, headers, signing_secret(), clock):
        return Answer(401, "invalid signature")
    try:
        click = parse_click(body, environ)
    except Malformed as error:
        return Answer(400, f"malformed: {error}")
    finding = finding_in(read_report(click.ref.report_key), click.ref)
    what = f"`{click.ref.check_id}` on {escape(shorten(_resource_name(click.ref.resource), 80))}"
    if finding is None:
        text = f"Unknown finding: {what} is not in the report of {click.ref.window_end[:10]}; nothing was snoozed."
        with contextlib.suppress(OSError):  # the answer is a courtesy: nothing was stored either way
            respond(click.response_url, text=text, blocks=None)
        return Answer(200, "unknown finding")
    choice = CHOICES_BY_ACTION_ID[click.choice_id]
    snooze = snooze_for(choice, click.user_id, click.user_name, now())
    item = to_item(click.ref, snooze, click.user_id, click.user_name)
    store(item)
    text = click_outcome_text(snooze, click.user_id, what)
    blocks = replace_actions(click.message_blocks or [], click.block_id, text)
    try:
        status = respond(click.response_url, text=text, blocks=blocks)
    except OSError as error:  # stored all the same: the next digest shows it
        return Answer(200, f"{snooze.action} stored; message not updated ({type(error).__name__})", stored=item)
    updated = "message updated" if 200 <= status < 300 else f"message not updated (Slack answered {status})"
    return Answer(200, f"{snooze.action} stored; {updated}", stored=item)


def _resource_name(resource: str) -> str:
    """A function's name from its ARN; an account-wide finding's account and region."""
    if resource.startswith("account:"):
        _, account, region = resource.split(":")
        return f"account {account} ({region})"
    return resource.split(":")[6]
