"""Findings to their owners (pure): the config's `routes`, and a report split into one view per Slack channel.

    routes:
      tag: team                # the tag key owners are named by
      channels:                # tag value -> Slack channel ID
        payments: C0PAYMENTS1
      default: C0PLATFORM1     # unrouted findings; optional when slack.channel is set

A finding goes to the channel of its function's `tag` value (Finding.tags, as the audit read them).
A finding without the tag, with a value that no route names, or not about one function (account-wide)
is unrouted: it goes to the default channel, and so do the coverage gaps, which the report cannot tie
to an owner. Tag keys and values are case-sensitive, as AWS keeps them.

Only the Slack digests are split; the JSON and HTML reports in S3 stay whole, and every digest links them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import ConfigError
from .model import AuditReport, Finding
from .validate import mapping, optional_string, string_value

ROUTES_KEYS = {"tag", "channels", "default"}
MAX_TAG_KEY_CHARS = 128
"""AWS's limits on tags: https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"""
MAX_TAG_VALUE_CHARS = 256
UNROUTED = "unrouted"
"""What the default channel's outcome names as routed to it, beside any tag values."""


def is_channel_id(value: str) -> bool:
    """A Slack conversation ID (C… public, G… private, D… direct), the rule slack.channel follows."""
    return value[:1] in "CGD" and value[1:].isalnum() and value.isupper()


def channel_problem(value: str, path: str) -> ConfigError | None:
    if is_channel_id(value):
        return None
    return ConfigError(f"{path}: got {value!r}, expected a channel ID such as C0123456789 (not a #name)")


@dataclass(frozen=True)
class Routes:
    """Where findings go: the channel of their function's `tag` value, else the default channel."""

    tag: str
    channels: Mapping[str, str]
    """Tag value -> channel ID; several values may share a channel."""
    default: str | None = None
    """The channel for unrouted findings; None: slack.channel."""

    def channel_for(self, finding: Finding, default: str) -> str:
        value = finding.tags.get(self.tag) if finding.function_name else None
        return self.channels.get(value, default) if value is not None else default

    def channel_order(self, default: str) -> list[str]:
        """Every channel that gets a digest, once each: the routed ones in config order, then the default."""
        return list(dict.fromkeys([*self.channels.values(), default]))

    def routed_to(self, channel: str, default: str) -> tuple[str, ...]:
        """What goes to `channel`, as its outcome names it: `tag=value` for each value, and "unrouted"."""
        routed = [f"{self.tag}={value}" for value, target in self.channels.items() if target == channel]
        return (*routed, UNROUTED) if channel == default else tuple(routed)


def load_routes(raw: Any, path: str, slack: Any) -> Routes | None:
    """The `routes` key of the config document; `slack` is the document's `slack` (for its channel)."""
    if raw is None:
        return None
    entry = mapping(raw, path, ROUTES_KEYS)
    if "tag" not in entry:
        raise ConfigError(f"{path}.tag: missing, expected the tag key that names owners, such as 'team'")
    tag = string_value(entry["tag"], f"{path}.tag")
    if not tag.strip() or len(tag) > MAX_TAG_KEY_CHARS or tag != tag.strip():
        raise ConfigError(
            f"{path}.tag: got {tag!r}, expected a tag key of 1 to {MAX_TAG_KEY_CHARS} characters"
            " without surrounding spaces, such as 'team'"
        )
    channels = _channels(entry.get("channels"), f"{path}.channels")
    default = optional_string(entry.get("default"), f"{path}.default")
    if default is not None and (problem := channel_problem(default, f"{path}.default")):
        raise problem
    slack_channel = slack.get("channel") if isinstance(slack, Mapping) else None
    if default is None and not slack_channel:
        raise ConfigError(
            f"{path}.default: missing, and slack.channel is not set either; expected a channel ID for the"
            " findings no route names (untagged functions, other tag values, account-wide findings)"
        )
    return Routes(tag=tag, channels=channels, default=default)


def _channels(raw: Any, path: str) -> dict[str, str]:
    expected = "expected a mapping of tag values to channel IDs, such as {payments: C0123456789}"
    if raw is None:
        raise ConfigError(f"{path}: missing, {expected}")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{path}: got {raw!r}, {expected}")
    channels: dict[str, str] = {}
    for value, channel in raw.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{path}: got the key {value!r}, expected a tag value as a string (quote it: '{value}': C0123…)"
            )
        if len(value) > MAX_TAG_VALUE_CHARS:
            raise ConfigError(f"{path}: got the key {value!r}, expected a tag value of at most 256 characters")
        where = f"{path}.{value}"
        channel = string_value(channel, where)
        if problem := channel_problem(channel, where):
            raise problem
        channels[value] = channel
    return channels


# -- the split ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelView:
    """One channel's share of a report: only its findings, resolved findings and (default only) coverage gaps."""

    channel: str
    routed: tuple[str, ...]
    """`tag=value` for each value routed here, and "unrouted" for the default channel."""
    report: AuditReport

    @property
    def is_default(self) -> bool:
        return UNROUTED in self.routed

    @property
    def has_news(self) -> bool:
        """An active or a resolved finding: what the single digest's post_when_healthy rule looks at."""
        return bool(self.report.active_findings or self.report.resolved)


def split_report(report: AuditReport, routes: Routes, default: str) -> list[ChannelView]:
    """One view per channel that gets a digest (every routed channel, then the default), each an
    AuditReport with only that channel's findings: its counts follow from them."""
    views = []
    for channel in routes.channel_order(default):
        views.append(
            ChannelView(
                channel=channel,
                routed=routes.routed_to(channel, default),
                report=replace(
                    report,
                    findings=_routed(report.findings, routes, default, channel),
                    resolved=_routed(report.resolved, routes, default, channel),
                    coverage_gaps=report.coverage_gaps if channel == default else (),
                ),
            )
        )
    return views


def _routed(findings: Iterable[Finding], routes: Routes, default: str, channel: str) -> tuple[Finding, ...]:
    return tuple(f for f in findings if routes.channel_for(f, default) == channel)


def default_channel(routes: Routes, slack_channel: str | None) -> str | None:
    """The channel for unrouted findings: routes.default, else slack.channel."""
    return routes.default or slack_channel
