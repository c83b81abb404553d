"""The auditor under test: `healthaudit run --format json` in a child process, through the counting proxy."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from measure import ChildRun, run_measured
from sandbox_proc import REGION, Credentials

AUDIT_BUDGET_S = 1800.0  # 10,000 functions take minutes in the sandbox


@dataclass(frozen=True)
class AuditorRun:
    child: ChildRun
    report: dict[str, Any]
    profile: Path | None = None  # cProfile output, when the run was profiled

    @property
    def api_calls(self) -> dict[str, int]:
        return dict(self.report.get("api_calls", {}))

    @property
    def metric_queries(self) -> dict[str, int]:
        return dict(self.report.get("metric_queries", {}))

    def findings_by_check(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.report.get("findings", []):
            if finding.get("suppressed_by") or finding.get("status") == "resolved":
                continue
            counts[finding["check_id"]] = counts.get(finding["check_id"], 0) + 1
        return dict(sorted(counts.items()))


def run_auditor(
    endpoint: str, credentials: Credentials, at: datetime, workdir: Path, profile: bool = False
) -> AuditorRun:
    """`healthaudit run` for the window ending at `at`; with `profile`, under cProfile (slower)."""
    report_path = workdir / "report.json"
    profile_path = workdir / "auditor.prof" if profile else None
    profiler = ["-m", "cProfile", "-o", str(profile_path)] if profile_path else []
    command = [
        sys.executable,
        *profiler,
        "-m",
        "healthaudit.cli",
        "run",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        "--output",
        str(report_path),
        "--at",
        at.isoformat(),
    ]
    child = run_measured(
        command,
        env=clean_env(credentials),
        stdout=workdir / "auditor.stdout",
        stderr=workdir / "auditor.stderr",
        budget_s=AUDIT_BUDGET_S,
    )
    if child.returncode != 0 or not report_path.exists():
        tail = (workdir / "auditor.stderr").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the auditor failed ({child.returncode}, timed out: {child.timed_out}):\n{tail}")
    return AuditorRun(child=child, report=json.loads(report_path.read_text()), profile=profile_path)


def clean_env(credentials: Credentials) -> dict[str, str]:
    """The child's environment: PATH and HOME, the account's credentials, and no user AWS config."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TZ") if key in os.environ}
    env.update(credentials.env())
    env.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
