"""The merge (pure): the per-target results of a run folded into one ConsolidatedReport."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..model import (
    CONSOLIDATED,
    AuditReport,
    ConsolidatedReport,
    FindingBrief,
    Severity,
    TargetAudited,
    TargetNotAudited,
)
from ..model.codec import parse_iso


def consolidated_keys(window_end: str, prefix: str = "reports/") -> tuple[str, str]:
    """The dated key and the latest/ key of a run's consolidated report."""
    return f"{prefix}dt={window_end[:10]}/{CONSOLIDATED}/report.json", f"latest/{CONSOLIDATED}/report.json"


def merge_reports(
    results: Iterable[Mapping[str, Any]],
    reports: Mapping[str, AuditReport],
    *,
    generated_at: datetime | str,
    worst_per_target: int = 5,
) -> ConsolidatedReport:
    """One report for the run: per audited target its counts and worst findings, and the failures.

    ``results`` are the Map's items: an audit's answer (``target``, ``report_key``, counts) or the
    Catch's ``{target, error: {Error, Cause}}``; ``reports`` maps report keys to the stored reports.
    A result whose report is missing counts as not audited.
    """
    audited, failed = [], []
    for result in results:
        target = result.get("target") or {}
        account, region = str(target.get("account", "?")), str(target.get("region", "?"))
        key = result.get("report_key")
        report = reports.get(key) if key else None
        if "error" in result or report is None:
            failed.append(TargetNotAudited(account=account, region=region, error=_error_text(result.get("error"), key)))
            continue
        audited.append(_target_audited(account, region, key, report, worst_per_target))
    return ConsolidatedReport(
        window_end=parse_iso(generated_at) if isinstance(generated_at, str) else generated_at,
        targets=tuple(sorted(audited, key=lambda t: (t.account, t.region))),
        not_audited=tuple(sorted(failed, key=lambda t: (t.account, t.region))),
    )


def _target_audited(account: str, region: str, key: str, report: AuditReport, worst: int) -> TargetAudited:
    return TargetAudited(
        account=account,
        region=region,
        report_key=key,
        functions_audited=report.functions_audited,
        findings=len(report.active_findings),
        counts_by_severity={Severity(s): n for s, n in report.counts_by_severity().items()},
        coverage_gaps=len(report.coverage_gaps),
        worst_findings=tuple(
            FindingBrief(
                severity=f.severity,
                check_id=f.check_id,
                title=f.title,
                function_name=f.function_name,
                status=f.status,
            )
            for f in report.worst_first()[:worst]
        ),
    )


def _error_text(error: Any, key: str | None) -> str:
    if isinstance(error, Mapping):
        name, cause = str(error.get("Error", "Error")), error.get("Cause")
        # Lambda's Cause is the function's error document as JSON: its errorMessage says what failed.
        if isinstance(cause, str) and cause.startswith("{"):
            with contextlib.suppress(ValueError):
                cause = json.loads(cause).get("errorMessage", cause)
        return f"{name}: {cause}" if cause else name
    if error:
        return str(error)
    return f"report {key} not found" if key else "no report"
