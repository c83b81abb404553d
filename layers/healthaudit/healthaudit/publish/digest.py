"""The Slack digests, rendered (pure): one Block Kit message per audit, and one per multi-account run.

`build_digest` renders an AuditReport, `build_details` its thread reply, `build_grouped_digest` a
ConsolidatedReport grouped by account; publish.slack posts them.

Every digest fits Slack's limits (50 blocks, 3,000 characters a section, 150 a header) by
summarising: it shows the worst findings, says how many more there are, and shortens an overlong
message at a word boundary. Text that comes from AWS is escaped for mrkdwn and sent `verbatim`,
so a function name cannot ping a channel or hide a link.
"""

from __future__ import annotations

import re
from datetime import UTC
from urllib.parse import quote

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ..model import AuditReport, AuditWindow, ConsolidatedReport, Finding, FindingBrief, Severity, TargetAudited
from ..model.codec import iso

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_URL_CHARS = 2500
FRAME_BLOCKS = 7
"""Blocks around the findings: header, context, divider, "and N more", coverage gaps, full report."""
MAX_DETAIL_LINE = 400
WORST_PER_ACCOUNT = 3
"""Worst findings shown per account in the grouped digest."""

SEVERITY_MARKS = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":large_blue_circle:",
    Severity.INFO: ":white_circle:",
}

# RFC 3986 reserved characters and "%" stay as they are; anything else that could end a Slack
# link (<, >, |, spaces, quotes) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


# -- one audit's digest ----------------------------------------------------------------------------


def build_digest(report: AuditReport, report_url: str | None, max_findings: int = 10) -> tuple[str, list[Block]]:
    """The fallback text (for notifications) and the Block Kit blocks of the report's digest."""
    # New findings first, then ongoing ones; worst first within each (the sort is stable).
    active = sorted(report.worst_first(), key=lambda finding: finding.status != "new")
    if not active:
        return _quiet_day(report, report_url)

    shown = active[: max(0, min(max_findings, MAX_BLOCKS - FRAME_BLOCKS))]
    blocks: list[Block] = [
        HeaderBlock(text=shorten(f"Lambda health audit: {report.account} {report.region}", MAX_HEADER_CHARS)),
        ContextBlock(
            elements=[_mrkdwn(_window_line(report)), _mrkdwn(_counts_line(report)), _mrkdwn(_history_line(report))]
        ),
        DividerBlock(),
    ]
    blocks += [SectionBlock(text=_mrkdwn(finding_text(finding))) for finding in shown]
    if report.resolved:
        blocks.append(SectionBlock(text=_mrkdwn(_resolved_text(report))))
    if len(active) > len(shown):
        more = len(active) - len(shown)
        where = " in the full report" if report_url else ""
        blocks.append(ContextBlock(elements=[_mrkdwn(f"…and {more} more {_plural(more, 'finding')}{where}")]))
    if report.coverage_gaps:
        blocks.append(ContextBlock(elements=[_mrkdwn(_gaps_line(report))]))
    if report_url:
        blocks.append(ContextBlock(elements=[_mrkdwn(_report_pointer(report_url))]))
    return _summary_text(report), blocks


def finding_text(finding: Finding) -> str:
    """One finding as a section's mrkdwn: severity, title, linked resource, message, remediation.

    Everything but the message is short; the message gets what is left of the 3,000 characters.
    """
    since = (
        " · *NEW*" if finding.status == "new" else f" · since {finding.first_seen[:10]}" if finding.first_seen else ""
    )
    head = (
        f"{SEVERITY_MARKS[finding.severity]} *{finding.severity.value.upper()}*{since} · "
        f"*{shorten(escape(finding.title), 150)}*\n"
        f"{_link(finding.console_url, shorten(escape(finding.resource), 150))}: "
    )
    fix = f"\n_Fix:_ {shorten(escape(finding.remediation), 600)}"
    if finding.docs:
        fix += f" ({_link(finding.docs, 'docs')})"
    return head + shorten(escape(finding.message), MAX_SECTION_CHARS - len(head) - len(fix)) + fix


def escape(text: str) -> str:
    """Slack's three control characters as entities: https://api.slack.com/reference/surfaces/formatting#escaping"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at the last word boundary and ended with "…".

    Escaped entities (&amp;) hold no whitespace, so a cut never splits one. A text without any
    whitespace before the limit (one enormous token) is cut before the limit, outside an entity.
    """
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    spaces = [match.start() for match in re.finditer(r"\s", text[:limit])]
    cut = text[: spaces[-1]].rstrip() if spaces else ""
    if not cut:
        cut = text[: limit - 1]
        entity = cut.rfind("&")
        if entity > cut.rfind(";"):
            cut = cut[:entity]
    return cut + "…"


def _quiet_day(report: AuditReport, report_url: str | None) -> tuple[str, list[Block]]:
    n, where = report.functions_audited, f"{escape(report.account)} {escape(report.region)}"
    gaps = len(report.coverage_gaps)
    if gaps:
        text = f"No findings in {n} {_plural(n, 'function')}, but {gaps} {_plural(gaps, 'coverage gap')}"
        line = f":grey_question: {text} in {where}: some data could not be read."
    elif n == 0:
        text = "No functions audited"
        line = f":white_check_mark: {text} in {where}."
    else:
        text = f"All {n} {_plural(n, 'function')} healthy"
        line = f":white_check_mark: {text} in {where}."
    if report.resolved:
        line += f" {len(report.resolved)} {_plural(len(report.resolved), 'finding')} resolved since the previous audit."
    if report_url:
        line += f" {_report_pointer(report_url)}"
    return f"Lambda health audit {where}: {text}", [SectionBlock(text=_mrkdwn(line))]


def build_details(report: AuditReport) -> tuple[str, list[Block]]:
    """The thread reply: every active finding, one line each, packed into sections within Slack's limits."""
    lines = [
        shorten(f"• {f.severity.value} · `{f.check_id}` · {escape(f.resource)}: {escape(f.message)}", MAX_DETAIL_LINE)
        for f in report.worst_first()
    ]
    blocks: list[Block] = []
    section: list[str] = []
    for index, line in enumerate(lines):
        if sum(len(item) + 1 for item in section) + len(line) > MAX_SECTION_CHARS:
            blocks.append(SectionBlock(text=_mrkdwn("\n".join(section))))
            section = []
        if len(blocks) == MAX_BLOCKS - 1:
            rest = len(lines) - index
            blocks.append(ContextBlock(elements=[_mrkdwn(f"…and {rest} more in the full report")]))
            section = []
            break
        section.append(line)
    if section:
        blocks.append(SectionBlock(text=_mrkdwn("\n".join(section))))
    return f"All {len(lines)} findings", blocks


def _history_line(report: AuditReport) -> str:
    if report.previous_report is None:
        return "first audit of this account and region: nothing to compare with"
    new = sum(1 for finding in report.active_findings if finding.status == "new")
    return f"*{new}* new · *{len(report.resolved)}* resolved since the previous audit"


def _resolved_text(report: AuditReport) -> str:
    head = f":white_check_mark: *Resolved since the previous audit ({len(report.resolved)}):* "
    items = ", ".join(f"`{finding.check_id}` on {escape(finding.resource)}" for finding in report.resolved)
    return head + shorten(items, MAX_SECTION_CHARS - len(head))


def _summary_text(report: AuditReport) -> str:
    active = len(report.active_findings)
    counts = ", ".join(f"{count} {severity}" for severity, count in report.counts_by_severity().items() if count)
    functions = f"{report.functions_audited} {_plural(report.functions_audited, 'function')}"
    where = f"{escape(report.account)} {escape(report.region)}"
    return f"Lambda health audit {where}: {active} {_plural(active, 'finding')} ({counts}) in {functions}"


def _window_line(report: AuditReport) -> str:
    functions = f"{report.functions_audited} {_plural(report.functions_audited, 'function')}"
    return f"{_window(report.window)} · {functions} audited"


def _window(window: AuditWindow) -> str:
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def _counts_line(report: AuditReport) -> str:
    counts = report.counts_by_severity()
    line = " · ".join(f"*{count}* {severity}" for severity, count in counts.items() if count)
    suppressed = len(report.findings) - len(report.active_findings)
    return line + (f" · {suppressed} suppressed" if suppressed else "")


def _gaps_line(report: AuditReport) -> str:
    gaps = len(report.coverage_gaps)
    return (
        f":warning: {gaps} {_plural(gaps, 'coverage gap')}: some data could not be read, "
        "so what it would show is unknown, not healthy."
    )


def _report_pointer(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return _link(url, "Full report")
    return f"Full report: `{escape(url)}`"


def _link(url: str, label: str) -> str:
    """A mrkdwn link; `label` must already be escaped. The URL cannot break out of the <…|…> markup.

    A URL longer than MAX_URL_CHARS (only from an absurd name) leaves the label unlinked.
    """
    target = escape(quote(url, safe=_URL_SAFE))
    return f"<{target}|{label}>" if len(target) <= MAX_URL_CHARS else label


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack does not auto-link names or parse mentions in what we did not mark up ourselves.
    return MarkdownTextObject(text=text, verbatim=True)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


# -- the multi-account run's digest ----------------------------------------------------------------


def build_grouped_digest(consolidated: ConsolidatedReport, report_url: str | None = None) -> tuple[str, list[Block]]:
    """ONE Slack message for the run: a section per account (counts per region, the worst findings,
    the targets not audited with their error), within Block Kit's limits."""
    accounts = consolidated.accounts
    counts = " · ".join(f"*{n}* {severity}" for severity, n in consolidated.counts_by_severity().items() if n)
    header = f"Lambda health audit: {len(accounts)} {_plural(len(accounts), 'account')}"
    summary = (
        f"{consolidated.targets_audited} of {consolidated.targets_audited + consolidated.targets_not_audited}"
        f" targets audited · {consolidated.functions_audited} functions · {counts or 'no findings'}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=shorten(header, MAX_HEADER_CHARS)),
        ContextBlock(elements=[_mrkdwn(f"Window ending {escape(iso(consolidated.window_end))}"), _mrkdwn(summary)]),
        DividerBlock(),
    ]
    footer = 1 + (1 if report_url else 0)
    shown = accounts[: MAX_BLOCKS - len(blocks) - footer]
    for account in shown:
        blocks.append(SectionBlock(text=_mrkdwn(_account_text(consolidated, account))))
    if len(accounts) > len(shown):
        more = len(accounts) - len(shown)
        blocks.append(
            ContextBlock(elements=[_mrkdwn(f"…and {more} more {_plural(more, 'account')} in the consolidated report")])
        )
    if report_url:
        blocks.append(ContextBlock(elements=[_mrkdwn(f"Consolidated report: `{escape(report_url)}`")]))
    text = f"{header}: {summary.replace('*', '')}"
    if consolidated.not_audited:
        text += f" · {len(consolidated.not_audited)} not audited"
    return text, blocks


def _account_text(consolidated: ConsolidatedReport, account: str) -> str:
    lines = [f"*Account {escape(account)}*"]
    findings: list[tuple[FindingBrief, str]] = []
    for target in (t for t in consolidated.targets if t.account == account):
        lines.append(f"• {escape(target.region)}: {target.functions_audited} functions · {_target_counts(target)}")
        findings += [(finding, target.region) for finding in target.worst_findings]
    for target in (t for t in consolidated.not_audited if t.account == account):
        lines.append(f":warning: {escape(target.region)} *not audited*: {escape(shorten(target.error, 300))}")
    findings.sort(key=lambda pair: pair[0].severity.rank)
    for finding, region in findings[:WORST_PER_ACCOUNT]:
        where = escape(finding.function_name or "account")
        lines.append(
            f"{SEVERITY_MARKS[finding.severity]} *{finding.severity.value.upper()}* · {escape(finding.title)}"
            f" · {where} ({escape(region)})"
        )
    return shorten("\n".join(lines), MAX_SECTION_CHARS)


def _target_counts(target: TargetAudited) -> str:
    counts = ", ".join(f"{n} {severity.value}" for severity, n in target.counts_by_severity.items() if n) or "healthy"
    gaps = f", {target.coverage_gaps} coverage gaps" if target.coverage_gaps else ""
    return counts + gaps
