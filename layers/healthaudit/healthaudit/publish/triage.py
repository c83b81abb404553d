"""What is wrong, in the order an on-call engineer reads it: the triage table's rows, as plain data.

Rows are grouped by function; a group's rows run worst first (severity, then new before ongoing),
and the groups run by their worst row. A check that fires on more than `collapse_over` functions
(tracing-disabled across a thousand-function account, say) becomes one group of its own with one
row, so that it cannot bury the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..model import Finding, Severity
from .markup import moment

DEFAULT_COLLAPSE_OVER = 10


@dataclass(frozen=True)
class TriageRow:
    """One finding, or (collapsed) every finding of one check across many functions."""

    check_id: str
    title: str
    severity: Severity
    findings: tuple[Finding, ...]
    days_open: int
    """Whole days from the first report that had it to this window's end (the oldest, when collapsed)."""
    collapsed: bool = False

    @property
    def new(self) -> int:
        return sum(1 for f in self.findings if f.status == "new")

    @property
    def ongoing(self) -> int:
        return len(self.findings) - self.new

    @property
    def status(self) -> str:
        if not self.collapsed:
            return self.findings[0].status
        return ", ".join(f"{n} {word}" for n, word in ((self.new, "new"), (self.ongoing, "ongoing")) if n)

    @property
    def functions(self) -> int:
        return len({f.function_arn for f in self.findings})

    @property
    def message(self) -> str:
        if self.collapsed:
            return f"{self.check_id} on {self.functions} functions"
        return self.findings[0].message

    @property
    def order(self) -> tuple[int, int]:
        """Severity first, then new before ongoing."""
        return (self.severity.rank, 0 if self.new else 1)


@dataclass(frozen=True)
class TriageGroup:
    """A function's rows, or one collapsed check's row (function None)."""

    function: str | None
    rows: tuple[TriageRow, ...]

    @property
    def order(self) -> tuple[int, int, str]:
        return (*self.rows[0].order, self.function or self.rows[0].check_id)


def days_open(finding: Finding, window_end: datetime) -> int:
    """The finding's own days_open (healthaudit.history); from first_seen for a report stored without it."""
    if finding.days_open is not None:
        return finding.days_open
    first = moment(finding.first_seen) if finding.first_seen else None
    if first is None:
        return 0
    return max((moment(window_end) - first).days, 0)


def triage(
    findings: Sequence[Finding], window_end: datetime, collapse_over: int = DEFAULT_COLLAPSE_OVER
) -> list[TriageGroup]:
    """The active findings as triage groups, worst first; suppressed and resolved ones are not triaged."""
    active = [f for f in findings if f.suppressed_by is None and f.status != "resolved"]
    functions_by_check: dict[str, set[str]] = defaultdict(set)
    for finding in active:
        if finding.function_arn:
            functions_by_check[finding.check_id].add(finding.function_arn)
    collapsed = {check for check, arns in functions_by_check.items() if len(arns) > collapse_over}

    groups: list[TriageGroup] = []
    for check_id in sorted(collapsed):
        members = tuple(
            sorted(
                (f for f in active if f.check_id == check_id and f.function_arn),
                key=lambda f: (f.severity.rank, f.status != "new", f.resource),
            )
        )
        row = TriageRow(
            check_id=check_id,
            title=members[0].title,
            severity=members[0].severity,
            findings=members,
            days_open=max(days_open(f, window_end) for f in members),
            collapsed=True,
        )
        groups.append(TriageGroup(function=None, rows=(row,)))

    by_resource: dict[str, list[TriageRow]] = defaultdict(list)
    for finding in active:
        if finding.check_id in collapsed and finding.function_arn:
            continue
        row = TriageRow(
            check_id=finding.check_id,
            title=finding.title,
            severity=finding.severity,
            findings=(finding,),
            days_open=days_open(finding, window_end),
        )
        by_resource[finding.resource].append(row)
    for resource, rows in by_resource.items():
        rows.sort(key=lambda r: (*r.order, r.check_id))
        groups.append(TriageGroup(function=resource, rows=tuple(rows)))
    return sorted(groups, key=lambda group: group.order)


def triage_rows(groups: Sequence[TriageGroup]) -> list[TriageRow]:
    return [row for group in groups for row in group.rows]
