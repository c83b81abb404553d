"""The peer: Cloud Custodian (c7n) with policies covering the same ground, through the same counting proxy.

Custodian's ``metrics`` filter asks GetMetricStatistics once per resource and metric
(c7n/filters/metrics.py, ``MetricsFilter.process_resource_set``), so each metric policy costs one
call per function. Its ``reserved-concurrency`` filter (c7n/resources/awslambda.py,
``ReservedConcurrency``) asks GetFunction once per function: Custodian has no cheaper way to learn
a function's reservation. Filters run in order, each on what the one before kept, so the
concurrency policy reads ConcurrentExecutions only for the functions that have a reservation.

The five policies cover the auditor's throttled, error-rate-high, duration-near-timeout,
concurrency-near-limit (per function) and tracing-disabled checks, as far as Custodian can express
them: it compares a metric with a constant or with a top-level attribute (``percent-attr``), so
"Maximum Duration above 80% of Timeout" stands in for the auditor's p99 against the timeout, and
the concurrency policy reads both the reservation and the peak but cannot compare one with the
other (the reservation sits in the GetFunction annotation, not at the top level): it matches every
reserved function that ran. Not covered: logs, log retention, event source mappings, event invoke
config, traces, the account-wide concurrency, runtimes; the auditor's extra calls for those stay
in its total.
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
# throttles, errors, duration against the timeout, concurrency against the reservation, X-Ray tracing.
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
  # The reservation first (GetFunction for every function), then the peak for the reserved ones only.
  # Custodian cannot divide the peak by the reservation: every reserved function that ran matches.
  - name: lambda-concurrency-near-limit
    resource: aws.lambda
    filters:
      - {type: reserved-concurrency, value: present}
      - {type: metrics, name: ConcurrentExecutions, statistics: Maximum, days: 1, value: 0, op: gt}
  - name: lambda-tracing-disabled
    resource: aws.lambda
    filters:
      - {type: value, key: TracingConfig.Mode, value: Active, op: ne}
"""
POLICY_NAMES = (
    "lambda-throttled",
    "lambda-errors",
    "lambda-duration-near-timeout",
    "lambda-concurrency-near-limit",
    "lambda-tracing-disabled",
)


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
