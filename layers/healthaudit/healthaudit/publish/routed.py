"""The routed Slack digests, rendered (pure): one channel's share of a report or of a multi-account run.

A routed digest is the usual digest (publish.digest) of the channel's view, with one context line under
the header saying what the channel gets ("Routed here: functions tagged `team=payments`"), so that a
team never takes its share for the whole account. A channel with no active finding gets one line that
names its share instead of digest's "all N functions healthy", which would speak for the whole account.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from ..model import ConsolidatedReport
from ..routing import UNROUTED, ChannelView
from .digest import (
    RESOLVED,
    WARNING,
    _mrkdwn,
    _plural,
    _report_pointer,
    build_digest,
    build_grouped_digest,
    escape,
)


def share(routed: Sequence[str], tag: str) -> str:
    """What a channel gets, in mrkdwn: `functions tagged team=payments`, and the unrouted findings."""
    values = [item for item in routed if item != UNROUTED]
    parts = []
    if values:
        parts.append("functions tagged " + ", ".join(f"`{escape(value)}`" for value in values))
    if UNROUTED in routed:
        parts.append(f"functions without a routed `{escape(tag)}` tag and account-wide findings")
    return " and ".join(parts)


def routed_digest(
    view: ChannelView, tag: str, report_url: str | None, max_findings: int = 10
) -> tuple[str, list[Block]]:
    """The main message for one channel: its findings worst first, under a line naming its share."""
    what = share(view.routed, tag)
    report = view.report
    if not report.active_findings:
        return _quiet_share(view, what, report_url)
    text, blocks = build_digest(report, report_url, max_findings=max_findings)
    at = 1 if blocks and isinstance(blocks[0], HeaderBlock) else 0
    blocks.insert(at, ContextBlock(elements=[_mrkdwn(f"Routed here: {what}")]))
    return f"{text} · {_plain(what)}", blocks


def _quiet_share(view: ChannelView, what: str, report_url: str | None) -> tuple[str, list[Block]]:
    report = view.report
    n, where = report.functions_audited, f"{escape(report.account)} {escape(report.region)}"
    text = f"No findings for {what} in {where}"
    gaps = len(report.coverage_gaps)
    line = f"{WARNING if gaps else RESOLVED} {text} ({n:,} {_plural(n, 'function')} audited in all)."
    if gaps:
        line += f" {gaps:,} {_plural(gaps, 'coverage gap')}: some data could not be read."
    if report.resolved:
        resolved = len(report.resolved)
        line += f" {resolved:,} {_plural(resolved, 'finding')} resolved since the previous audit."
    if report_url:
        line += f" {_report_pointer(report_url)}"
    return f"Lambda health audit {_plain(text)}", [SectionBlock(text=_mrkdwn(line))]


def routed_grouped_digest(
    consolidated: ConsolidatedReport, routed: Sequence[str], tag: str, report_url: str | None, max_findings: int = 10
) -> tuple[str, list[Block]]:
    """The multi-account run's digest for one channel (its share of the run), under a line naming the share."""
    what = share(routed, tag)
    text, blocks = build_grouped_digest(consolidated, report_url, max_findings=max_findings)
    blocks.insert(1, ContextBlock(elements=[_mrkdwn(f"Routed here: {what}")]))
    return f"{text} · {_plain(what)}", blocks


def _plain(mrkdwn: str) -> str:
    """The share for a notification's fallback text, where mrkdwn's backticks would show."""
    return mrkdwn.replace("`", "")
