"""The report as GitHub-flavoured Markdown: for a pull request comment or $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from ..model import AuditReport, Finding
from ..publish.triage import TriageRow
from .terminal import row_link, triage_lines


def report_markdown(report: AuditReport) -> str:
    active = report.active_findings
    counts = report.counts_by_severity()
    new = sum(1 for f in active if f.status == "new")
    lines = [
        f"## Lambda health audit: {report.account} {report.region}",
        "",
        f"Window {report.window.start:%Y-%m-%d %H:%M} – {report.window.end:%Y-%m-%d %H:%M} UTC ·"
        f" {report.functions_audited} functions audited · "
        + (", ".join(f"**{n} {s}**" for s, n in counts.items() if n) if active else "no findings")
        + (f" · {new} new" if new else ""),
        "",
    ]
    if active:
        lines += ["| severity | status | function | check | what |", "|---|---|---|---|---|"]
        lines += [_row(row, status, where) for row, status, where in triage_lines(report)]
        lines.append("")
    lines += _folded("Resolved since the previous report", [_mention(f) for f in report.resolved])
    lines += _folded(
        "Suppressed", [f"{_mention(f)}: {_cell(f.suppressed_by or '')}" for f in report.findings if f.suppressed_by]
    )
    lines += _folded(
        "Coverage gaps (not read, so not judged)",
        [
            f"{_cell(gap.function_name or 'account')}: {gap.source.value}: {_cell(gap.reason)}"
            for gap in report.coverage_gaps
        ],
    )
    if report.partial:
        lines += ["> The audit stopped early to finish in time; the coverage gaps say what was not read.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _row(row: TriageRow, status: str, where: str) -> str:
    return (
        f"| {row.severity.value} | {status} | [{_cell(where)}]({row_link(row)})"
        f" | `{row.check_id}` | {_cell(row.message)} |"
    )


def _mention(finding: Finding) -> str:
    return f"`{finding.check_id}` on {_cell(finding.resource)}"


def _folded(summary: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [
        f"<details><summary>{summary} ({len(items)})</summary>",
        "",
        *(f"- {item}" for item in items),
        "",
        "</details>",
        "",
    ]


def _cell(text: str) -> str:
    """Text that stays inside its table cell and cannot open HTML, a link or an emphasis."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for character in "\\|`*_[]":
        escaped = escaped.replace(character, "\\" + character)
    return " ".join(escaped.split())
