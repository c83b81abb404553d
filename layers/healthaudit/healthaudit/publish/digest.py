"""The Slack digests, rendered (pure): one short Block Kit message per audit, its thread, and one per run.

`build_digest` renders an AuditReport as the main message: the counts by severity in the header,
then one line per finding (severity, linked function, short message), at most `max_findings` lines
and at most MAIN_MESSAGE_CHARS characters. `build_details` renders the thread: every finding with its
link, grouped by check, with each check's fix said once. `build_grouped_digest` renders a
ConsolidatedReport (a multi-account run) within the same limits, however many targets it has.

Severity colours follow the HTML report's (publish/html.py: critical #7f1d1d and high #b91c1c are
reds, medium #b45309 is amber, low #1d4ed8 blue, info #475569 slate). Slack text has no colour, so
each severity has the coloured emoji closest in hue, and its name beside it for whoever cannot tell
the colours apart: critical a red square (the darker, stronger red), high a red circle, medium an
orange circle, low a blue circle, info a white circle.

Every message fits Slack's limits (50 blocks, 3,000 characters a section, 150 a header) by
summarising, never by failing; an overlong text is shortened at a word boundary. Text that comes
from AWS is escaped for mrkdwn and sent `verbatim`, so a function name cannot ping a channel or
hide a link.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC
from urllib.parse import quote

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ..cost import dollars
from ..model import (
    AuditReport,
    AuditWindow,
    ConsolidatedReport,
    Finding,
    FindingBrief,
    Severity,
    TargetAudited,
    TargetNotAudited,
)
from ..model.codec import iso
from .actions import MAX_FINDINGS_WITH_ACTIONS, finding_actions
from .change import change_text

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_URL_CHARS = 2500
MAIN_MESSAGE_CHARS = 2000
"""The main message's budget: every character of its blocks' texts, link targets included."""
LINE_MESSAGE_CHARS = 100
"""A finding's message in the main message is shortened to this; the thread has it whole (up to DETAIL_LINE_CHARS)."""
DETAIL_LINE_CHARS = 500
REMEDIATION_CHARS = 600
DETAIL_SECTIONS_PER_MESSAGE = 40
MAX_DETAIL_MESSAGES = 5
"""Thread replies at most; a larger report ends the last one with "…and N more in the full report"."""

SEVERITY_MARKS = {
    Severity.CRITICAL: "\N{LARGE RED SQUARE}",
    Severity.HIGH: "\N{LARGE RED CIRCLE}",
    Severity.MEDIUM: "\N{LARGE ORANGE CIRCLE}",
    Severity.LOW: "\N{LARGE BLUE CIRCLE}",
    Severity.INFO: "\N{MEDIUM WHITE CIRCLE}",
}
WARNING = "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"
RESOLVED = "\N{WHITE HEAVY CHECK MARK}"

# RFC 3986 reserved characters and "%" stay as they are; anything else that could end a Slack
# link (<, >, |, spaces, quotes) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


# -- one audit's main message ----------------------------------------------------------------------


def build_digest(
    report: AuditReport, report_url: str | None, max_findings: int = 10, *, details_in_thread: bool = True
) -> tuple[str, list[Block]]:
    """The fallback text (for notifications) and the blocks of the main message.

    The worst findings come first (severity, then new before ongoing), as many as `max_findings`
    and the MAIN_MESSAGE_CHARS budget allow; the rest are counted, and said to be in the thread
    (`details_in_thread`) or, for an incoming webhook, which cannot reply in a thread, in the report.
    """
    active = report.worst_first()
    if not active:
        return _quiet_day(report, report_url)
    mark_new = report.previous_report is not None
    lines = [finding_line(finding, mark_new=mark_new) for finding in active[: max(max_findings, 1)]]
    where = "in the thread" if details_in_thread else "in the full report"

    def message(shown: int) -> list[Block]:
        blocks: list[Block] = [
            HeaderBlock(text=shorten(_header_text(report), MAX_HEADER_CHARS)),
            ContextBlock(elements=[_mrkdwn(_facts_line(report))]),
            SectionBlock(text=_mrkdwn("\n".join(lines[:shown]))),
        ]
        footer = _footer(len(active) - shown, where, report_url)
        if footer:
            blocks.append(ContextBlock(elements=[_mrkdwn(footer)]))
        return blocks

    return _summary_text(report), _largest_within_budget(message, len(lines))


def finding_line(finding: Finding, *, mark_new: bool = True, message_chars: int = LINE_MESSAGE_CHARS) -> str:
    """One finding on one line: its severity, its function linked to the console, and its message, shortened;
    marked when its main figure got worse since the previous report ("↑ worse: 2.1 % → 8.0 %")."""
    new = " · _new_" if mark_new and finding.status == "new" else ""
    worse = change_text(finding) if finding.change is not None and finding.change.direction == "worse" else None
    return (
        f"{_severity(finding.severity)} {_link(finding.console_url, shorten(escape(finding.resource), 80))}: "
        f"{shorten(escape(finding.message), message_chars)}{new}{f' · *{escape(worse)}*' if worse else ''}"
    )


def message_chars(blocks: Iterable[Block]) -> int:
    """What the main message's budget counts: every text of every block, mrkdwn link targets included."""
    return sum(len(text) for text in block_texts(blocks))


def block_texts(blocks: Iterable[Block]) -> list[str]:
    """Every text of the blocks, in order, read without Block Kit's checks (a candidate may be over a limit)."""
    texts = []
    for block in blocks:
        text = getattr(block, "text", None)
        if text is not None:
            texts.append(text.text)
        texts += [field.text for field in getattr(block, "fields", None) or []]
        # a context's texts; not a button's label (an object of its own)
        elements = getattr(block, "elements", None) or []
        texts += [element.text for element in elements if isinstance(getattr(element, "text", None), str)]
    return texts


def _largest_within_budget(message, most: int) -> list[Block]:
    """message(n) for the largest n ≤ most whose text fits MAIN_MESSAGE_CHARS; message(1) at the least."""
    for shown in range(most, 0, -1):
        blocks = message(shown)
        if message_chars(blocks) <= MAIN_MESSAGE_CHARS:
            return blocks
    return message(1)


def _header_text(report: AuditReport) -> str:
    return f"Lambda health audit: {_severity_counts(report.counts_by_severity())}"


def _severity_counts(counts: dict[str, int]) -> str:
    shown = [f"{SEVERITY_MARKS[Severity(name)]} {n:,} {name}" for name, n in counts.items() if n]
    return " · ".join(shown) or "no findings"


def _facts_line(report: AuditReport) -> str:
    facts = [
        f"{escape(report.account)} {escape(report.region)}",
        _window(report.window),
        f"{report.functions_audited:,} {_plural(report.functions_audited, 'function')}",
    ]
    if report.previous_report is None:
        facts.append("first audit: nothing to compare with")
    else:
        new = sum(1 for finding in report.active_findings if finding.status == "new")
        changes = [f"{n:,} {word}" for n, word in ((new, "new"), (len(report.resolved), "resolved")) if n]
        facts.append(" · ".join(changes) or "nothing new or resolved")
    suppressed = len(report.findings) - len(report.active_findings)
    if suppressed:
        facts.append(f"{suppressed:,} suppressed")
    if report.coverage_gaps:
        gaps = len(report.coverage_gaps)
        facts.append(f"{WARNING} {gaps:,} {_plural(gaps, 'coverage gap')}: unknown, not healthy")
    if report.possible_savings_usd_month > 0:
        facts.append(f"possible savings {dollars(report.possible_savings_usd_month)} a month")
    return " · ".join(facts)


def _footer(more: int, where: str, report_url: str | None) -> str:
    parts = []
    if more > 0:
        parts.append(f"…and {more:,} more {_plural(more, 'finding')} {where}")
    if report_url:
        parts.append(_report_pointer(report_url))
    return " · ".join(parts)


def _summary_text(report: AuditReport) -> str:
    active = len(report.active_findings)
    counts = ", ".join(f"{count} {severity}" for severity, count in report.counts_by_severity().items() if count)
    functions = f"{report.functions_audited} {_plural(report.functions_audited, 'function')}"
    where = f"{escape(report.account)} {escape(report.region)}"
    return f"Lambda health audit {where}: {active} {_plural(active, 'finding')} ({counts}) in {functions}"


def _window(window: AuditWindow) -> str:
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def _quiet_day(report: AuditReport, report_url: str | None) -> tuple[str, list[Block]]:
    n, where = report.functions_audited, f"{escape(report.account)} {escape(report.region)}"
    gaps = len(report.coverage_gaps)
    if gaps:
        text = f"No findings in {n} {_plural(n, 'function')}, but {gaps} {_plural(gaps, 'coverage gap')}"
        line = f"{WARNING} {text} in {where}: some data could not be read."
    elif n == 0:
        text = "No functions audited"
        line = f"{RESOLVED} {text} in {where}."
    else:
        text = f"All {n} {_plural(n, 'function')} healthy"
        line = f"{RESOLVED} {text} in {where}."
    if report.resolved:
        line += f" {len(report.resolved)} {_plural(len(report.resolved), 'finding')} resolved since the previous audit."
    if report_url:
        line += f" {_report_pointer(report_url)}"
    return f"Lambda health audit {where}: {text}", [SectionBlock(text=_mrkdwn(line))]


# -- one audit's thread ----------------------------------------------------------------------------


def build_details(
    report: AuditReport, report_url: str | None = None, *, actions: bool = False
) -> list[tuple[str, list[Block]]]:
    """The thread replies: every active finding on one line with its link, grouped by check (worst
    check first), each check's fix said once; then what was resolved. As many replies as it takes,
    up to MAX_DETAIL_MESSAGES, each within Block Kit's limits.

    With `actions`, the worst MAX_FINDINGS_WITH_ACTIONS findings each get a section of their own and
    the buttons to snooze or acknowledge them (publish.actions); the others are listed as before."""
    active = report.worst_first()
    buttoned = {f.key for f in active[:MAX_FINDINGS_WITH_ACTIONS]} if actions else set()
    chunks: list[Chunk] = []
    for findings in _by_check(active):
        chunks += _check_chunks(findings, buttoned, report)
    if report.resolved:
        head = f"{RESOLVED} *Resolved since the previous audit ({len(report.resolved):,})*"
        lines = [
            f"• `{f.check_id}` on {_link(f.console_url, shorten(escape(f.resource), 80))}" for f in report.resolved
        ]
        chunks += [(text, 0, None) for text, _ in _pack(head, lines)]
    return _as_messages(chunks, len(active), report_url)


Chunk = tuple[str, int, ActionsBlock | None]
"""A section's text, how many findings it lists, and the buttons that follow it (if any)."""


def _check_chunks(findings: Sequence[Finding], buttoned: set[tuple[str, str]], report: AuditReport) -> list[Chunk]:
    """One check's findings: those with buttons one section each (the first after the check's head), the
    rest packed into as few sections as fit."""
    head = _check_head(findings)
    chunks: list[Chunk] = []
    rest = []
    for finding in findings:
        line = finding_line(finding, mark_new=False, message_chars=DETAIL_LINE_CHARS)
        if finding.key in buttoned:
            text = line if chunks else f"{head}\n{line}"
            chunks.append((shorten(text, MAX_SECTION_CHARS), 1, finding_actions(finding, report.window.end)))
        else:
            rest.append(line)
    if rest:
        if chunks:  # the head went with the first finding that has buttons
            (text, n), *more = _pack(rest[0], rest[1:])
            packed = [(text, n + 1), *more]
        else:
            packed = _pack(head, rest)
        chunks += [(text, n, None) for text, n in packed]
    return chunks


def _by_check(findings: Sequence[Finding]) -> list[list[Finding]]:
    """The findings grouped by check, the groups in the order of their first (worst) finding."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.check_id].append(finding)
    return list(groups.values())


def _check_head(findings: Sequence[Finding]) -> str:
    first, n = findings[0], len(findings)
    what = f"{n:,} {_plural(n, 'function' if first.function_name else 'finding')}"
    fix = f"_Fix:_ {shorten(escape(first.remediation), REMEDIATION_CHARS)}"
    if first.docs:
        fix += f" ({_link(first.docs, 'docs')})"
    return f"*{shorten(escape(first.title), 150)}* · `{first.check_id}` · {what}\n{fix}"


def _pack(head: str, lines: Sequence[str]) -> list[tuple[str, int]]:
    """`head` and then `lines` in sections of at most MAX_SECTION_CHARS, each with how many lines it holds."""
    sections: list[tuple[str, int]] = []
    text, count = head, 0
    for line in lines:
        line = shorten(line, MAX_SECTION_CHARS)
        if len(text) + 1 + len(line) > MAX_SECTION_CHARS:
            sections.append((text, count))
            text, count = line, 1
        else:
            text, count = f"{text}\n{line}", count + 1
    sections.append((text, count))
    return sections


def _as_messages(chunks: list[Chunk], total: int, report_url: str | None) -> list[tuple[str, list[Block]]]:
    """Chunks in replies of at most DETAIL_SECTIONS_PER_MESSAGE blocks (a section, and its buttons if any)."""
    batches: list[list[Chunk]] = []
    for chunk in chunks:
        used = sum(1 + (actions is not None) for _, _, actions in batches[-1]) if batches else None
        if used is None or used + 1 + (chunk[2] is not None) > DETAIL_SECTIONS_PER_MESSAGE:
            batches.append([])
        batches[-1].append(chunk)
    kept = batches[:MAX_DETAIL_MESSAGES]
    listed = sum(count for batch in kept for _, count, _ in batch)
    messages = []
    for index, batch in enumerate(kept, start=1):
        blocks: list[Block] = []
        for text, _, actions in batch:
            blocks += [SectionBlock(text=_mrkdwn(text)), *([actions] if actions is not None else [])]
        part = f" ({index} of {len(kept)})" if len(kept) > 1 else ""
        what = (
            f"All {total:,} {_plural(total, 'finding')}, with fixes" if total else "Resolved since the previous audit"
        )
        messages.append((what + part, blocks))
    if listed < total and messages:
        more = _footer(total - listed, "in the full report", report_url)
        messages[-1][1].append(ContextBlock(elements=[_mrkdwn(more)]))
    return messages


# -- the multi-account run's digest ----------------------------------------------------------------

CHECKS_SHOWN = 6
REGIONS_PER_CHECK = 3
REASONS_SHOWN = 3
EXAMPLES_PER_REASON = 3


def build_grouped_digest(
    consolidated: ConsolidatedReport, report_url: str | None = None, max_findings: int = 10
) -> tuple[str, list[Block]]:
    """ONE message for the whole run, as short at 4,000 targets as at 4: the counts by severity in the
    header; the worst findings across the organization; the counts per check and per Region; and the
    targets not audited, grouped by reason. Within MAIN_MESSAGE_CHARS, by showing fewer lines."""
    worst = _worst_across(consolidated.targets)
    by_check = _counts_by_check(consolidated.targets)
    reasons = _not_audited_by_reason(consolidated.not_audited)
    header = shorten(
        f"Lambda health audit: {len(consolidated.accounts):,} {_plural(len(consolidated.accounts), 'account')}"
        f" · {_severity_counts(consolidated.counts_by_severity())}",
        MAX_HEADER_CHARS,
    )
    facts = _run_facts(consolidated)

    def message(findings: int, checks: int, causes: int) -> list[Block]:
        blocks: list[Block] = [HeaderBlock(text=header), ContextBlock(elements=[_mrkdwn(facts)])]
        sections = [
            _worst_section(worst, findings),
            _checks_section(by_check, checks, consolidated.targets),
            _not_audited_section(reasons, causes),
        ]
        blocks += [SectionBlock(text=_mrkdwn(shorten(text, MAX_SECTION_CHARS))) for text in sections if text]
        if report_url:
            blocks.append(ContextBlock(elements=[_mrkdwn(_report_pointer(report_url, "Consolidated report"))]))
        return blocks

    blocks: list[Block] = []
    for plan in _shrinking(min(max_findings, len(worst)), min(CHECKS_SHOWN, len(by_check)), REASONS_SHOWN):
        blocks = message(*plan)
        if message_chars(blocks) <= MAIN_MESSAGE_CHARS:
            break
    text = f"{header}: {facts}".replace("*", "")
    return text, blocks


def _shrinking(findings: int, checks: int, reasons: int) -> list[tuple[int, int, int]]:
    """(findings, checks, reasons) to show, from all of them to the fewest: first fewer worst findings
    (down to three), then fewer checks (down to two), then fewer reasons (down to one), then fewer findings."""
    few_findings, few_checks = min(findings, 3), min(checks, 2)
    plans = [(n, checks, reasons) for n in range(findings, few_findings - 1, -1)]
    plans += [(few_findings, c, reasons) for c in range(checks - 1, few_checks - 1, -1)]
    plans += [(few_findings, few_checks, r) for r in range(reasons - 1, 0, -1)]
    plans += [(n, few_checks, 1) for n in range(few_findings - 1, -1, -1)]
    return plans


def _run_facts(consolidated: ConsolidatedReport) -> str:
    planned = consolidated.targets_audited + consolidated.targets_not_audited
    facts = (
        f"Window ending {escape(iso(consolidated.window_end))} · {consolidated.targets_audited:,} of {planned:,}"
        f" {_plural(planned, 'target')} audited · {consolidated.functions_audited:,} functions"
    )
    if consolidated.not_audited:
        facts += f" · {WARNING} {consolidated.targets_not_audited:,} not audited"
    if consolidated.possible_savings_usd_month > 0:
        facts += f" · possible savings {dollars(consolidated.possible_savings_usd_month)} a month"
    return facts


def _worst_across(targets: Sequence[TargetAudited]) -> list[tuple[FindingBrief, TargetAudited]]:
    """Every target's worst findings, the organization's worst first (severity, then new before ongoing)."""
    pairs = [(finding, target) for target in targets for finding in target.worst_findings]
    return sorted(
        pairs,
        key=lambda pair: (
            pair[0].severity.rank,
            pair[0].status != "new",
            pair[0].check_id,
            pair[1].account,
            pair[1].region,
            pair[0].function_name or "",
        ),
    )


def _worst_section(worst: Sequence[tuple[FindingBrief, TargetAudited]], shown: int) -> str:
    """The worst findings, one line each; the same check at the same severity in many places is one
    line with an example and a count, so that one widespread check cannot fill the list."""
    if not worst or shown < 1:
        return ""
    alike: dict[tuple[Severity, str], list[tuple[FindingBrief, TargetAudited]]] = defaultdict(list)
    for finding, target in worst:
        alike[(finding.severity, finding.check_id)].append((finding, target))
    lines = ["*Worst findings*"]
    for group in list(alike.values())[:shown]:
        finding, target = group[0]
        where = shorten(escape(finding.function_name or "account-wide"), 80)
        new = " · _new_" if finding.status == "new" else ""
        more = f" and {len(group) - 1:,} more like it" if len(group) > 1 else ""
        lines.append(
            f"{_severity(finding.severity)} {where}: {shorten(escape(finding.title), 80)}"
            f" · {escape(target.account)} {escape(target.region)}{new}{more}"
        )
    return "\n".join(lines)


def _counts_by_check(targets: Sequence[TargetAudited]) -> list[tuple[str, int, Counter[str]]]:
    """Per check: its findings across the run and per Region, the most frequent check first."""
    per_region: dict[str, Counter[str]] = defaultdict(Counter)
    for target in targets:
        for check_id, n in target.counts_by_check.items():
            per_region[check_id][target.region] += n
    rows = [(check_id, sum(regions.values()), regions) for check_id, regions in per_region.items()]
    return sorted((row for row in rows if row[1]), key=lambda row: (-row[1], row[0]))


def _checks_section(rows: Sequence[tuple[str, int, Counter[str]]], shown: int, targets: Sequence[TargetAudited]) -> str:
    if not rows:
        return ""
    lines = ["*Findings per check and Region*"]
    for check_id, total, regions in rows[:shown]:
        top = regions.most_common(REGIONS_PER_CHECK)
        split = " · ".join(f"{escape(region)} {n:,}" for region, n in top)
        rest = len(regions) - len(top)
        more = f" · +{rest} {_plural(rest, 'Region')}" if rest > 0 else ""
        lines.append(f"`{check_id}` *{total:,}*: {split}{more}")
    if len(rows) > shown:
        hidden = len(rows) - shown
        lines.append(f"…and {hidden} more {_plural(hidden, 'check')} in the consolidated report")
    region_totals: Counter[str] = Counter()
    for target in targets:
        region_totals[target.region] += target.findings
    busiest = region_totals.most_common(6)
    regions = " · ".join(f"{escape(region)} {n:,}" for region, n in busiest)
    rest = len(region_totals) - len(busiest)
    lines.append(f"All checks: {regions}{f' · +{rest} more' if rest > 0 else ''}")
    return "\n".join(lines)


_ARN = re.compile(r"arn:[A-Za-z0-9-]+:\S*?(?=:?\s|:?$)")
_PATH = re.compile(r"\S*/\S*[^\s:.,;]")
_NUMBER = re.compile(r"\d[\d.,]*\d|\d")


def failure_reason(error: str) -> str:
    """What failed, without what differs from one target to the next (ARNs, account ids, keys, numbers),
    so that the same failure in a thousand accounts is one reason."""
    masked = _NUMBER.sub("…", _PATH.sub("…", _ARN.sub("arn:…", error.strip())))
    return re.sub(r"\s+", " ", masked) or "no error given"


def _not_audited_by_reason(failures: Sequence[TargetNotAudited]) -> list[tuple[str, list[TargetNotAudited]]]:
    groups: dict[str, list[TargetNotAudited]] = defaultdict(list)
    for failure in failures:
        groups[failure_reason(failure.error)].append(failure)
    return sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))


def _not_audited_section(reasons: Sequence[tuple[str, list[TargetNotAudited]]], shown: int) -> str:
    if not reasons:
        return ""
    lines = [f"{WARNING} *Not audited*"]
    for reason, targets in reasons[:shown]:
        examples = ", ".join(f"{escape(t.account)} {escape(t.region)}" for t in targets[:EXAMPLES_PER_REASON])
        more = f" and {len(targets) - EXAMPLES_PER_REASON:,} more" if len(targets) > EXAMPLES_PER_REASON else ""
        lines.append(
            f"*{len(targets):,} {_plural(len(targets), 'target')}*: {shorten(escape(reason), 160)} ({examples}{more})"
        )
    if len(reasons) > shown:
        hidden = sum(len(targets) for _, targets in reasons[shown:])
        lines.append(f"…and {hidden:,} more for {len(reasons) - shown} other reasons, in the consolidated report")
    return "\n".join(lines)


# -- shared ------------------------------------------------------------------------------------------


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


def _severity(severity: Severity) -> str:
    return f"{SEVERITY_MARKS[severity]} *{severity.value.upper()}*"


def _report_pointer(url: str, label: str = "Full report") -> str:
    if url.startswith(("https://", "http://")):
        return _link(url, label)
    return f"{label}: `{escape(url)}`"


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
