"""The projected time and cost of an organization run: 1,000 accounts x 4 Regions, one audit per target.

    .venv/bin/python bench/organization.py                    # the default organization
    .venv/bin/python bench/organization.py --accounts 1000 --regions 4 --functions 50 --concurrency 40

Each target (account x Region) is one child execution of the Distributed Map, running one audit in its own
account and Region, so the per-account API quotas of bench/quotas.py bind each audit alone: the four Regions
of an account have quotas of their own (CloudWatch, Lambda and Logs quotas are per account and Region). What
the targets share is the auditor's side: the Map's child concurrency, the audit function's Lambda
concurrency, and Step Functions' state transitions. Quotas, with their sources:

- Distributed Map: up to 10,000 child workflow executions in parallel (MaxConcurrency).
  https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
- Step Functions Standard: state transitions, a token bucket refilled at 800/s in most Regions (5,000/s in
  the largest); each child makes a few.
  https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
- Lambda: 1,000 concurrent executions per account and Region by default (the audit function shares them with
  the auditor account's other functions); each function scales by 1,000 execution environments every 10 s.
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
- Per account and Region (each audit alone): bench/quotas.py.

Assumed (no page states them; change them here): a child's own overhead (Step Functions starting it,
AssumeRole into the member role, a Lambda cold start, writing the report to S3) TARGET_OVERHEAD_S; the plan
PLAN_S; one S3 GET of a target's report S3_GET_S. A role that cannot be assumed ends its target in well under
the overhead; it is counted as a full target here.

Measured: the merge's CPU per target report, MERGE_CPU_PER_REPORT_S (`bench/org_run.py --merge-targets 4000`:
the merge handler in a process of its own over 4,000 copies of a real 20 KB target report). The merge reads
READS_IN_FLIGHT reports at once and parses them on one core, so the slower of the two bounds it.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import quotas
from fleet import plan_fleet

from healthaudit.cost import STATE_TRANSITIONS, price_calls
from healthaudit.fanout.merge import READS_IN_FLIGHT

DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000
LAMBDA_ACCOUNT_CONCURRENCY = 1_000
LAMBDA_SCALING_PER_10_S = 1_000
STATE_TRANSITIONS_PER_S = 800


def template_max_concurrency() -> int:
    """template.yaml's MaxConcurrency parameter: its MaxValue, read from the template itself."""
    from pathlib import Path

    from cfnlint.decode import decode

    template, problems = decode(str(Path(__file__).resolve().parents[1] / "template.yaml"))
    if problems:
        raise ValueError(f"template.yaml does not parse: {problems[0]}")
    return int(template["Parameters"]["MaxConcurrency"]["MaxValue"])


TEMPLATE_MAX_CONCURRENCY = template_max_concurrency()
TRANSITIONS_PER_TARGET = 4  # the child's start, its audit task, its result; the Map's item (approximate)
TARGET_OVERHEAD_S = 3.0  # assumed
PLAN_S = 10.0  # assumed
S3_GET_S = 0.1  # assumed: no page states S3's latency for a small GET
#: 4,000 reports: 98.5 s wall, 99.2 CPU s in the merge's process on this machine (2026-12-02; 154.8 s and
#: 39.4 ms a report before the report codec compiled its decoders once per type).
MERGE_CPU_PER_REPORT_S = 0.025


#: "At 1,769 MB, a function has the equivalent of one vCPU", and less CPU below it, in proportion
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); one vCPU is taken as this machine's core.
ONE_VCPU_MB = 1769


def merge_memory_mb() -> int:
    """template.yaml's MergeFunction MemorySize."""
    from pathlib import Path

    from cfnlint.decode import decode

    template, _ = decode(str(Path(__file__).resolve().parents[1] / "template.yaml"))
    return int(template["Resources"]["MergeFunction"]["Properties"]["MemorySize"])


MERGE_MEMORY_MB = merge_memory_mb()


def merge_seconds(targets: int) -> float:
    """The merge's time: READS_IN_FLIGHT GETs at once, the parsing on the share of a vCPU its memory buys;
    whichever is slower."""
    cpu_share = min(1.0, MERGE_MEMORY_MB / ONE_VCPU_MB)
    return targets * max(S3_GET_S / READS_IN_FLIGHT, MERGE_CPU_PER_REPORT_S / cpu_share)


GOAL_S = 15 * 60
AUDIT_MEMORY_MB = 1024
#: What a target's audit writes besides its calls: the JSON and HTML reports and their latest/ pointers.
REPORT_PUTS = 4
SOURCES = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
)


@dataclass(frozen=True)
class OrganizationRun:
    targets: int
    concurrency: int
    """Children audited at once: the least of MaxConcurrency, the Distributed Map's and Lambda's limits."""
    audit_s: float
    """One target's audit at its account's quotas (bench/quotas.py), plus the child's overhead."""
    seconds: float
    usd: float
    usd_per_target: float
    bound_by: str

    @property
    def meets_goal(self) -> bool:
        return self.seconds <= GOAL_S


def target_audit(functions: int) -> tuple[float, float]:
    """(seconds, dollars) of one target's audit with `functions` functions in a sparse fleet, at the minimum
    calls that bench/quotas.py defines for it."""
    fleet = plan_fleet(functions, "000000000000", "eu-west-1", datetime.now(timezone.utc))
    series = 3 * sum(1 for fn in fleet.functions if fn.problems)  # about what the findings' series read
    ranges = 2  # the first audit: the baseline's logs and the window's
    calls = {op: minimum.calls for op, minimum in quotas.minimums(fleet, series, ranges).items()}
    stages = quotas.projection(calls, quotas.fleet_metric_queries(fleet), series, fleet, ranges)
    seconds = quotas.projected_seconds(stages)
    cost = price_calls(
        {**calls, "PutObject": REPORT_PUTS},
        metrics_requested=quotas.fleet_metric_queries(fleet) + series,
        lambda_seconds=seconds,
        lambda_memory_mb=AUDIT_MEMORY_MB,
        lambda_invocations=1,
    )
    return seconds, cost.usd


def project(accounts: int, regions: int, functions: int, max_concurrency: int) -> OrganizationRun:
    targets = accounts * regions
    limits = {
        "MaxConcurrency": max_concurrency,
        "Distributed Map children": DISTRIBUTED_MAP_MAX_CONCURRENCY,
        "Lambda account concurrency": LAMBDA_ACCOUNT_CONCURRENCY,
    }
    bound_by = min(limits, key=lambda name: limits[name])
    concurrency = min(min(limits.values()), targets)
    seconds, audit_usd = target_audit(functions)
    audit_s = seconds + TARGET_OVERHEAD_S
    rounds = math.ceil(targets / concurrency)
    scale_up = 10.0 * max(0, math.ceil(concurrency / LAMBDA_SCALING_PER_10_S) - 1)
    transitions_s = targets * TRANSITIONS_PER_TARGET / STATE_TRANSITIONS_PER_S
    total = PLAN_S + max(rounds * audit_s + scale_up, transitions_s) + merge_seconds(targets)
    transitions = targets * TRANSITIONS_PER_TARGET + 4
    usd = targets * audit_usd + transitions * STATE_TRANSITIONS.usd / STATE_TRANSITIONS.per
    return OrganizationRun(targets, concurrency, audit_s, total, usd, usd / targets, bound_by)


def needed_concurrency(accounts: int, regions: int, functions: int) -> int:
    """The least MaxConcurrency that meets the 15-minute goal."""
    targets = accounts * regions
    audit_s = target_audit(functions)[0] + TARGET_OVERHEAD_S
    rounds_allowed = max(1, math.floor((GOAL_S - PLAN_S - merge_seconds(targets)) / audit_s))
    return math.ceil(targets / rounds_allowed)


def print_projection(accounts: int, regions: int, sizes: list[int], concurrencies: list[int]) -> None:
    print(f"organization: {accounts:,} accounts x {regions} Regions = {accounts * regions:,} targets")
    print("  quotas: " + "  ".join(SOURCES) + "  (per account and Region: bench/quotas.py)")
    print(
        f"  assumed: a child's overhead {TARGET_OVERHEAD_S:g} s, plan {PLAN_S:g} s, an S3 GET {S3_GET_S:g} s,"
        f" {TRANSITIONS_PER_TARGET} state transitions a target; measured: the merge's CPU"
        f" {1000 * MERGE_CPU_PER_REPORT_S:g} ms a report on one core ({merge_seconds(accounts * regions):.0f} s at"
        f" {accounts * regions:,} reports on the {MERGE_MEMORY_MB:,} MB merge function's share of a vCPU,"
        f" {READS_IN_FLIGHT} read at once)"
    )
    rows = []
    for functions in sizes:
        for concurrency in concurrencies:
            run = project(accounts, regions, functions, concurrency)
            rows.append(
                (
                    f"{functions:,}",
                    f"{concurrency:,}",
                    f"{run.concurrency:,} ({run.bound_by})",
                    f"{run.audit_s:.1f} s",
                    f"{run.seconds / 60:.1f} min",
                    "met" if run.meets_goal else "MISSED",
                    f"${run.usd:.2f}",
                )
            )
        rows.append(
            (
                f"{functions:,}",
                "needed",
                f"{needed_concurrency(accounts, regions, functions):,}",
                "",
                "≤ 15 min",
                "",
                "",
            )
        )
    header = ("functions/target", "MaxConcurrency", "children at once", "one target", "run", "≤ 15 min", "dollars")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--functions", default="50,500", help="functions per target, comma-separated")
    parser.add_argument("--concurrency", default=f"60,200,{TEMPLATE_MAX_CONCURRENCY}")
    args = parser.parse_args(argv)
    print_projection(
        args.accounts,
        args.regions,
        [int(n) for n in args.functions.split(",")],
        [int(c) for c in args.concurrency.split(",")],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
