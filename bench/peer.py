"""The peer: Cloud Custodian (c7n) with policies covering the same ground, through the same counting proxy.

Custodian's ``metrics`` filter asks GetMetricStatistics once per resource and metric
(c7n/filters/metrics.py, ``MetricsFilter.process_resource_set``), so each metric policy costs one
call per function. Its policies cover less than the auditor: three metrics (the auditor reads ten
in the same pass) and tracing; no logs, concurrency or event invoke config. The ratio is therefore
a lower bound on what covering the same checks would cost Custodian.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from auditor import clean_env
from measure import ChildRun, run_measured
from sandbox_proc import REGION, Credentials

C7N_VERSION = "0.9.53"  # the Makefile pins the same version

POLICIES = """\
# Cloud Custodian policies covering the auditor's ground that Custodian can express:
# throttles, errors, duration against the timeout, and X-Ray tracing.
policies:
  - name: lambda-throttled
    resource: aws.lambda
    filters:
      - {type: metrics, name: Throttles, statistics: Sum, days: 1, value: 0, op: gt}
  - name: lambda-errors
    resource: aws.lambda
    filters:
      - {type: metrics, name: Errors, statistics: Sum, days: 1, value: 0, op: gt}
  # Custodian has no p99-against-timeout: Maximum Duration above 80% of Timeout (seconds x 1000) instead.
  - name: lambda-duration-near-timeout
    resource: aws.lambda
    filters:
      - type: metrics
        name: Duration
        statistics: Maximum
        days: 1
        percent-attr: Timeout
        attr-multiplier: 1000
        value: 80
        op: gt
  - name: lambda-tracing-disabled
    resource: aws.lambda
    filters:
      - {type: value, key: TracingConfig.Mode, value: Active, op: ne}
"""
POLICY_NAMES = ("lambda-throttled", "lambda-errors", "lambda-duration-near-timeout", "lambda-tracing-disabled")


@dataclass(frozen=True)
class PeerRun:
    child: ChildRun
    matched: dict[str, int]  # resources each policy matched; -1 where its output could not be read


def run_custodian(custodian: Path, endpoint: str, credentials: Credentials, workdir: Path, budget_s: float) -> PeerRun:
    workdir.mkdir(parents=True, exist_ok=True)
    policy = workdir / "policy.yml"
    policy.write_text(POLICIES)
    output = workdir / "output"
    env = clean_env(credentials)
    # botocore (>= 1.31) sends every client to AWS_ENDPOINT_URL; Custodian builds its clients without
    # an endpoint_url of its own, so this points all of them at the proxy.
    env["AWS_ENDPOINT_URL"] = endpoint
    env["HOME"] = str(workdir)  # Custodian's default cache lives under ~/.cache
    command = [
        str(custodian),
        "run",
        "--output-dir",
        str(output),
        "--region",
        REGION,
        "--cache",
        str(workdir / "c7n.cache"),  # a fresh cache for each run; default period (15 min) within the run
        str(policy),
    ]
    child = run_measured(
        command,
        env=env,
        stdout=workdir / "custodian.stdout",
        stderr=workdir / "custodian.stderr",
        budget_s=budget_s,
    )
    return PeerRun(child=child, matched={name: _matched(output / name) for name in POLICY_NAMES})


def _matched(policy_output: Path) -> int:
    try:
        return len(json.loads((policy_output / "resources.json").read_text()))
    except (OSError, ValueError):
        return -1
