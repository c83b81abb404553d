"""The report for a terminal: a triage table (worst first, new before ongoing, a console link under each
row), coloured only where a person is looking."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, TextIO

from ..model import AuditReport, Finding, Severity
from ..publish.triage import TriageRow, triage, triage_rows

MAX_COLUMN = 60
SEVERITY_COLOURS = {
    Severity.CRITICAL: "1;35",
    Severity.HIGH: "1;31",
    Severity.MEDIUM: "33",
    Severity.LOW: "36",
    Severity.INFO: "2",
}
BOLD, DIM = "1", "2"


def wants_colour(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour on a terminal only, and never with NO_COLOR set to anything (https://no-color.org) or TERM=dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def triage_lines(report: AuditReport) -> list[tuple[TriageRow, str, str]]:
    """The HTML report's triage rows, in its order (publish/triage.py), each with its status and where it is."""
    rows = triage_rows(triage(report.findings, report.window.end))
    return [(row, row_status(row), row_where(row)) for row in rows]


def row_status(row: TriageRow) -> str:
    """`new`, `ongoing 3d` (days since first seen), or for a collapsed check `2 new, 410 ongoing`."""
    if row.collapsed or row.status != "ongoing":
        return row.status
    return f"ongoing {row.days_open}d"


def row_where(row: TriageRow) -> str:
    return f"{len(row.findings)} functions" if row.collapsed else row.findings[0].resource


def row_link(row: TriageRow) -> str:
    """The finding's console page; for a collapsed check, the region's list of functions."""
    if not row.collapsed:
        return row.findings[0].console_url
    region = row.findings[0].region
    return f"https://{region}.console.aws.amazon.com/lambda/home?region={region}#/functions"


def print_report(report: AuditReport, stream: TextIO, colour: bool = False) -> None:
    paint = _painter(colour)
    counts = report.counts_by_severity()
    active = report.active_findings
    print(
        f"Audited {report.functions_audited} functions in {report.account} {report.region},"
        f" window {report.window.start:%Y-%m-%d %H:%M} – {report.window.end:%Y-%m-%d %H:%M} UTC",
        file=stream,
    )
    if active:
        by_severity = ", ".join(paint(f"{n} {s}", SEVERITY_COLOURS[Severity(s)]) for s, n in counts.items() if n)
        new = sum(1 for f in active if f.status == "new")
        print(f"Findings: {by_severity} ({new} new, {len(active) - new} ongoing)", file=stream)
        print(file=stream)
        _print_findings(report, stream, paint)
    else:
        print("Findings: none", file=stream)
    if report.resolved:
        fixed = "; ".join(f"{f.check_id} on {f.resource}" for f in report.resolved)
        print(f"Resolved since the previous report: {len(report.resolved)} ({fixed})", file=stream)
    suppressed = [f for f in report.findings if f.suppressed_by]
    if suppressed:
        print(
            f"Suppressed: {len(suppressed)} (" + "; ".join(f"{f.check_id} on {f.resource}" for f in suppressed) + ")",
            file=stream,
        )
    if report.coverage_gaps:
        print(f"Coverage gaps: {len(report.coverage_gaps)} (see the report's coverage_gaps)", file=stream)
    calls = ", ".join(f"{op} {n}" for op, n in sorted(report.api_calls.items()))
    print(f"API calls: {calls}", file=stream)


def _print_findings(report: AuditReport, stream: TextIO, paint: Any) -> None:
    header = ("SEVERITY", "STATUS", "FUNCTION", "CHECK", "WHAT")
    lines = triage_lines(report)
    cells = [(row.severity.value, status, where, row.check_id, row.message) for row, status, where in lines]
    widths = column_widths([header, *cells])
    print(paint(format_row(header, widths), BOLD), file=stream)
    indent = " " * (widths[0] + 2)
    for (row, _, _), text in zip(lines, cells, strict=True):
        shown = _cells(text, widths)
        shown[0] = paint(shown[0], SEVERITY_COLOURS[row.severity])
        if row.new:
            shown[1] = paint(shown[1], BOLD)
        print("  ".join(shown).rstrip(), file=stream)
        if row.collapsed:
            print(indent + _names(row.findings), file=stream)
        print(indent + paint(row_link(row), DIM), file=stream)


def _names(findings: Sequence[Finding], shown: int = 5) -> str:
    names = [f.resource for f in findings]
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {rest} more" if rest > 0 else "")


def print_table(rows: Sequence[tuple[Any, ...]], header: tuple[str, ...], stream: TextIO) -> None:
    widths = column_widths([header, *rows])
    for row in [header, *rows]:
        print(format_row(row, widths), file=stream)


def column_widths(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    return [min(max(len(str(row[i])) for row in rows), MAX_COLUMN) for i in range(len(rows[0]))]


def format_row(row: tuple[Any, ...], widths: list[int]) -> str:
    return "  ".join(_cells(row, widths)).rstrip()


def _cells(row: tuple[Any, ...], widths: list[int]) -> list[str]:
    """Each cell cut to its column and padded, the last left whole (it is the one that may be long)."""
    last = len(row) - 1
    return [str(cell) if i == last else _fit(str(cell), widths[i]) for i, cell in enumerate(row)]


def _fit(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def _painter(colour: bool):
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    return paint


def render_blocks(blocks: list) -> str:
    """A terminal rendering of a Block Kit message (mrkdwn left as it is)."""
    lines = []
    for block in blocks:
        data = block.to_dict() if hasattr(block, "to_dict") else block
        kind = data.get("type")
        if kind == "header":
            lines += [data["text"]["text"].upper(), ""]
        elif kind == "divider":
            lines.append("-" * 60)
        elif kind == "section":
            if data.get("text"):
                lines.append(data["text"]["text"])
            for item in data.get("fields", []):
                lines.append(item["text"])
            lines.append("")
        elif kind == "context":
            lines.append("  ".join(element.get("text", "") for element in data.get("elements", [])))
            lines.append("")
        else:  # rich_text and the like: their words, in order
            lines += ["".join(_texts(data)), ""]
    return "\n".join(lines).rstrip()


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        own = [data["text"]] if isinstance(data.get("text"), str) else []
        return own + [text for key, value in data.items() if key != "text" for text in _texts(value)]
    if isinstance(data, list):
        return [text for item in data for text in _texts(item)]
    return []
