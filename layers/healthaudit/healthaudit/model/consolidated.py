"""The consolidated report of a multi-account run: per target its counts and worst findings, and the failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .codec import Computed, Record, Shape
from .common import SCHEMA_VERSION, Account, CheckId, Count, FindingStatus, Region, SchemaVersion, Severity

CONSOLIDATED = "consolidated"


@dataclass(frozen=True)
class FindingBrief(Record):
    """One of a target's worst findings, as the run's digest shows it."""

    severity: Severity
    check_id: CheckId
    title: str
    function_name: str | None
    """null for an account-wide finding."""
    status: FindingStatus


@dataclass(frozen=True)
class TargetAudited(Record):
    """A target whose report was stored: its counts, and where the report is."""

    account: Account
    region: Region
    report_key: str
    """The S3 key of the target's report."""
    functions_audited: Count
    findings: Count
    """Active (unsuppressed) findings."""
    counts_by_severity: Mapping[Severity, Count]
    coverage_gaps: Count
    worst_findings: tuple[FindingBrief, ...]
    """The worst active findings, worst first."""
    counts_by_check: Mapping[CheckId, Count] = field(default_factory=dict)
    """Active findings per check; empty in a report written before the key existed."""
    possible_savings_usd_month: float = 0.0
    """The target report's possible_savings_usd_month; 0 in a report written before the key existed."""


@dataclass(frozen=True)
class TargetNotAudited(Record):
    """A target without a report: its role could not be assumed, its audit failed, or its report is gone."""

    account: str
    """The target's account, or "?" when the Map's item did not name one."""
    region: str
    error: str
    """What failed, as the audit or the Map's Catch said it."""


def _totals(report: ConsolidatedReport) -> dict[Severity, int]:
    return {severity: sum(t.counts_by_severity.get(severity, 0) for t in report.targets) for severity in Severity}


@dataclass(frozen=True)
class ConsolidatedReport(Record):
    """One multi-account run, as the merge step writes it to S3: each target audited, and those that were not."""

    window_end: datetime
    targets: tuple[TargetAudited, ...]
    """By account, then region."""
    not_audited: tuple[TargetNotAudited, ...]
    """By account, then region."""
    schema_version: SchemaVersion = SCHEMA_VERSION
    kind: Literal["consolidated"] = CONSOLIDATED

    __wire__ = Shape(
        order=(
            "schema_version",
            "kind",
            "window_end",
            "accounts",
            "targets_audited",
            "targets_not_audited",
            "functions_audited",
            "counts_by_severity",
            "possible_savings_usd_month",
            "targets",
            "not_audited",
        ),
        computed=(
            Computed("accounts", tuple[str, ...], lambda r: r.accounts, "Every account of the run, audited or not."),
            Computed("targets_audited", Count, lambda r: r.targets_audited),
            Computed("targets_not_audited", Count, lambda r: r.targets_not_audited),
            Computed("functions_audited", Count, lambda r: r.functions_audited),
            Computed("counts_by_severity", Mapping[Severity, Count], _totals, "Active findings of every target."),
            Computed(
                "possible_savings_usd_month",
                float,
                lambda r: r.possible_savings_usd_month,
                "Every target's possible savings in US dollars a month, added up.",
            ),
        ),
    )

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted({t.account for t in self.targets} | {t.account for t in self.not_audited}))

    @property
    def targets_audited(self) -> int:
        return len(self.targets)

    @property
    def targets_not_audited(self) -> int:
        return len(self.not_audited)

    @property
    def functions_audited(self) -> int:
        return sum(t.functions_audited for t in self.targets)

    @property
    def possible_savings_usd_month(self) -> float:
        return round(sum((t.possible_savings_usd_month for t in self.targets), 0.0), 2)

    def counts_by_severity(self) -> dict[str, int]:
        return {severity.value: count for severity, count in _totals(self).items()}
