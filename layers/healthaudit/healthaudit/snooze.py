"""Snoozes and acknowledgements clicked in Slack (pure): the buttons' value, the table's item, and what applies.

A button's `value` names the finding it was drawn for: its check, its resource (the function's ARN, or
`account:<account>:<region>` for an account-wide finding) and the end of the report's window. It is
whatever Slack sends back, so it is never trusted: `decode_value` refuses anything that is not exactly
that shape, and the endpoint then looks the finding up in the daily report the value names
(`report_key`) before storing anything.

The suppressions table holds one item per finding: partition key `target` ("<account>:<region>", so
the audit reads its own with one bounded Query), sort key `finding` ("<check id> <resource>").
A snooze ends at `until`; DynamoDB's TTL deletes the item some time later (TTL deletion is lazy:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html), so an item past
its `until` is ignored whether or not it is still there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .model import Finding, Snooze
from .model.codec import iso, parse_iso

VALUE_VERSION = 1
MAX_VALUE_CHARS = 2000
"""Slack's limit on a button's value: https://api.slack.com/reference/block-kit/block-elements#button"""
ACKNOWLEDGEMENT_DAYS = 90
"""How long an acknowledgement is kept (it never hides the finding; the item ages out after this)."""
SLACK_REASON = "snoozed from Slack"
ACKNOWLEDGED_REASON = "acknowledged from Slack"


@dataclass(frozen=True)
class Choice:
    """What a button does: its action id, its label, and for a snooze how many days it lasts."""

    action_id: str
    label: str
    action: str
    days: int | None


CHOICES = (
    Choice("snooze_7d", "Snooze 7 days", "snooze", 7),
    Choice("snooze_30d", "Snooze 30 days", "snooze", 30),
    Choice("acknowledge", "Acknowledge", "acknowledge", None),
)
CHOICES_BY_ACTION_ID = {choice.action_id: choice for choice in CHOICES}

_CHECK_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ACCOUNT = r"[0-9]{12}"
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]+"
_FUNCTION_ARN = re.compile(
    rf"arn:aws[a-z-]*:lambda:(?P<region>{_REGION}):(?P<account>{_ACCOUNT}):function:[A-Za-z0-9_-]{{1,64}}(:[A-Za-z0-9$_-]+)?"
)
_ACCOUNT_WIDE = re.compile(rf"account:(?P<account>{_ACCOUNT}):(?P<region>{_REGION})")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class InvalidValue(ValueError):
    """A button value that is not one this app draws; the message says what was expected, never echoes it whole."""


@dataclass(frozen=True)
class FindingRef:
    """A finding as a button names it: its key (check, resource) and the window end of its report."""

    check_id: str
    resource: str
    window_end: str

    @property
    def account(self) -> str:
        return _resource_match(self.resource)["account"]

    @property
    def region(self) -> str:
        return _resource_match(self.resource)["region"]

    @property
    def key(self) -> tuple[str, str]:
        return (self.check_id, self.resource)

    @property
    def report_key(self) -> str:
        """The daily report the finding was drawn from (publish.s3.dated_key's layout, under reports/)."""
        return f"reports/dt={self.window_end[:10]}/account={self.account}/region={self.region}/report.json"


def ref_for(finding: Finding, window_end: datetime) -> FindingRef:
    check_id, resource = finding.key
    return FindingRef(check_id=check_id, resource=resource, window_end=iso(window_end))


def encode_value(ref: FindingRef) -> str:
    value = json.dumps(
        {"v": VALUE_VERSION, "c": ref.check_id, "r": ref.resource, "w": ref.window_end}, separators=(",", ":")
    )
    if len(value) > MAX_VALUE_CHARS:  # an ARN is at most 140 characters: only a bug gets here
        raise InvalidValue(f"a button value of {len(value)} characters is over Slack's {MAX_VALUE_CHARS}")
    return value


def decode_value(value: Any) -> FindingRef:
    """The finding a button names, or InvalidValue: anything but this app's exact shape is refused."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VALUE_CHARS:
        raise InvalidValue(f"value: expected a string of 1 to {MAX_VALUE_CHARS} characters")
    try:
        fields = json.loads(value)
    except ValueError:
        raise InvalidValue("value: expected JSON") from None
    if not isinstance(fields, dict) or set(fields) != {"v", "c", "r", "w"} or fields["v"] != VALUE_VERSION:
        raise InvalidValue(f"value: expected the keys v (= {VALUE_VERSION}), c, r and w")
    check_id, resource, window_end = fields["c"], fields["r"], fields["w"]
    if not (isinstance(check_id, str) and _CHECK_ID.fullmatch(check_id)):
        raise InvalidValue("value.c: expected a check id (lower-case words joined by '-')")
    if not (isinstance(resource, str) and (_FUNCTION_ARN.fullmatch(resource) or _ACCOUNT_WIDE.fullmatch(resource))):
        raise InvalidValue("value.r: expected a Lambda function ARN or account:<account>:<region>")
    if not (isinstance(window_end, str) and _TIMESTAMP.fullmatch(window_end)):
        raise InvalidValue("value.w: expected a UTC timestamp such as 2024-05-02T06:00:00Z")
    try:
        parse_iso(window_end)
    except ValueError:
        raise InvalidValue("value.w: not a real date and time") from None
    return FindingRef(check_id=check_id, resource=resource, window_end=window_end)


def _resource_match(resource: str) -> re.Match[str]:
    match = _FUNCTION_ARN.fullmatch(resource) or _ACCOUNT_WIDE.fullmatch(resource)
    if match is None:
        raise InvalidValue("expected a Lambda function ARN or account:<account>:<region>")
    return match


# -- what a click makes ----------------------------------------------------------------------------


def slack_user(user_id: str, name: str | None) -> str:
    """Snooze.user: the Slack user ID, with the name where Slack sent one."""
    return f"{user_id} ({name})" if name else user_id


def snooze_for(choice: Choice, user_id: str, user_name: str | None, at: datetime) -> Snooze:
    """The snooze or acknowledgement a click on `choice` makes at `at`."""
    if choice.action == "snooze":
        assert choice.days is not None
        return Snooze(
            action="snooze",
            user=slack_user(user_id, user_name),
            at=iso(at),
            until=iso(at + timedelta(days=choice.days)),
            reason=SLACK_REASON,
        )
    return Snooze(action="acknowledge", user=slack_user(user_id, user_name), at=iso(at), reason=ACKNOWLEDGED_REASON)


def target_key(account: str, region: str) -> str:
    return f"{account}:{region}"


def finding_sort_key(check_id: str, resource: str) -> str:
    return f"{check_id} {resource}"


def to_item(ref: FindingRef, snooze: Snooze, user_id: str, user_name: str | None) -> dict[str, Any]:
    """The table's item (DynamoDB's typed JSON): the finding's key, who, why, and when it ends.

    `expires` (epoch seconds) is the TTL attribute: a snooze's end, or ACKNOWLEDGEMENT_DAYS after an
    acknowledgement."""
    ends = parse_iso(snooze.until) if snooze.until else parse_iso(snooze.at) + timedelta(days=ACKNOWLEDGEMENT_DAYS)
    item = {
        "target": {"S": target_key(ref.account, ref.region)},
        "finding": {"S": finding_sort_key(ref.check_id, ref.resource)},
        "check_id": {"S": ref.check_id},
        "resource": {"S": ref.resource},
        "action": {"S": snooze.action},
        "user_id": {"S": user_id},
        "user": {"S": snooze.user},
        "reason": {"S": snooze.reason},
        "at": {"S": snooze.at},
        "expires": {"N": str(int(ends.timestamp()))},
        "report_window_end": {"S": ref.window_end},
    }
    if user_name:
        item["user_name"] = {"S": user_name}
    if snooze.until:
        item["until"] = {"S": snooze.until}
    return item


def from_item(item: Mapping[str, Any]) -> tuple[tuple[str, str], Snooze, int] | None:
    """(the finding's key, its Snooze, the TTL epoch) from a table item; None for an item of another shape."""
    try:
        action = item["action"]["S"]
        if action not in ("snooze", "acknowledge"):
            return None
        snooze = Snooze(
            action=action,
            user=item["user"]["S"],
            at=item["at"]["S"],
            until=item["until"]["S"] if "until" in item else None,
            reason=item.get("reason", {}).get("S", ""),
        )
        return (item["check_id"]["S"], item["resource"]["S"]), snooze, int(item["expires"]["N"])
    except (KeyError, TypeError, ValueError):
        return None


def in_force(snooze: Snooze, expires: int, now: datetime) -> bool:
    """Whether the item still applies at `now`: a snooze until its end (exclusive), an acknowledgement
    until its TTL; DynamoDB may not have deleted an expired item yet."""
    if snooze.until is not None:
        return now < parse_iso(snooze.until)
    return now.timestamp() < expires


def suppressed_by(snooze: Snooze) -> str:
    """A snoozed finding's suppressed_by: who, until when, and why."""
    until = snooze.until or ""
    return f"snoozed by {snooze.user} until {until[:10]} {until[11:16]} UTC: {snooze.reason or SLACK_REASON}"


def apply(finding: Finding, snooze: Snooze | None) -> Finding:
    """The finding with its snooze: a snooze suppresses it (unless config or a tag already does); an
    acknowledgement only marks it."""
    if snooze is None:
        return finding
    if snooze.action == "snooze":
        return replace(finding, snooze=snooze, suppressed_by=finding.suppressed_by or suppressed_by(snooze))
    return replace(finding, snooze=snooze)
