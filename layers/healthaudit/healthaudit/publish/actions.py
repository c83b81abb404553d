"""Snooze and acknowledge from Slack: the buttons under each finding of the digest's thread, and the
message that answers a click (through the click's response_url).

The buttons (https://api.slack.com/reference/block-kit/block-elements#button) carry the finding's
reference (healthaudit.snooze.encode_value) as their value; the interactivity endpoint
(functions/interact) verifies Slack's signature, checks the finding against its report, stores the
snooze, and replaces the buttons with who snoozed what and until when.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.models.blocks import ActionsBlock, ButtonElement
from slack_sdk.webhook import WebhookClient

from ..model import Finding, Snooze
from ..snooze import CHOICES, encode_value, ref_for
from .slack import SlackConfigError, local_slack

MAX_FINDINGS_WITH_ACTIONS = 40
"""Findings given buttons in a thread (the worst first): each costs two blocks (its line and its buttons),
so 40 take two replies of Slack's 50 blocks; the others are listed as before, without buttons."""
RESPONSE_URL_HOST = "hooks.slack.com"
SNOOZED = "\N{SLEEPING SYMBOL}"
ACKNOWLEDGED = "\N{EYES}"
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


def actions_block_id(finding: Finding) -> str:
    """One block id per finding (Slack allows 255 characters, unique within a message)."""
    check_id, resource = finding.key
    return "finding-" + hashlib.sha256(f"{check_id} {resource}".encode()).hexdigest()[:32]


def finding_actions(finding: Finding, window_end: datetime) -> ActionsBlock:
    """The buttons under one finding: Snooze 7 days, Snooze 30 days, Acknowledge."""
    value = encode_value(ref_for(finding, window_end))
    return ActionsBlock(
        block_id=actions_block_id(finding),
        elements=[ButtonElement(text=choice.label, action_id=choice.action_id, value=value) for choice in CHOICES],
    )


def click_outcome_text(snooze: Snooze, user_id: str, what: str) -> str:
    """What replaces the buttons: who did what, and until when (mrkdwn; `what` is already escaped)."""
    who = f"<@{user_id}>" if SLACK_USER_ID.fullmatch(user_id) else "someone"
    if snooze.action == "snooze" and snooze.until:
        until = f"{snooze.until[:10]} {snooze.until[11:16]} UTC"
        return f"{SNOOZED} {what} snoozed by {who} until {until}: it is left out of the digests until then."
    return f"{ACKNOWLEDGED} {what} acknowledged by {who}: it stays in the digests, marked."


def replace_actions(blocks: Sequence[Any], block_id: str, text: str) -> list[dict[str, Any]] | None:
    """The message's blocks with the clicked finding's buttons replaced by a context line; None when the
    message holds no such block (then nothing is replaced)."""
    replaced, found = [], False
    for block in blocks:
        if isinstance(block, Mapping) and block.get("type") == "actions" and block.get("block_id") == block_id:
            replaced.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
            found = True
        elif isinstance(block, Mapping):
            replaced.append(dict(block))
        else:
            return None
    return replaced if found else None


def checked_response_url(url: Any, environ: Mapping[str, str]) -> str:
    """Slack's response_url (https://hooks.slack.com/actions/…), or a loopback one while HEALTHAUDIT_SLACK_API_URL
    names a loopback server (local tests). Anything else is refused before anything is sent."""
    if isinstance(url, str):
        parts = urlsplit(url)
        plain = not (parts.username or parts.password) and parts.path.startswith("/actions/")
        slack_hosted = parts.scheme == "https" and parts.hostname == RESPONSE_URL_HOST and parts.port is None
        if plain and (slack_hosted or (_loopback(parts.scheme, parts.hostname) and local_slack(environ))):
            return url
    raise SlackConfigError(f"response_url is not https://{RESPONSE_URL_HOST}/actions/…; refused")


def respond(
    url: str, environ: Mapping[str, str], *, text: str, blocks: list[dict[str, Any]] | None, timeout_seconds: int = 5
) -> int:
    """Answer a click through its response_url: replace the message (blocks given) or tell only the clicker
    (ephemeral, no blocks). Returns Slack's HTTP status."""
    client = WebhookClient(checked_response_url(url, environ), timeout=timeout_seconds)
    if blocks is None:
        response = client.send(text=text, response_type="ephemeral", replace_original=False)
    else:
        response = client.send(text=text, blocks=blocks, replace_original=True)
    return response.status_code


def _loopback(scheme: str, host: str | None) -> bool:
    if scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
