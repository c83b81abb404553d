"""An organization through the executed state machine: `make org` (not part of the test suite).

    make org                                              # 1,000 accounts x 4 Regions, 30 % without the role
    .venv/bin/python bench/org_run.py --accounts 20 --merge-targets 4000

Seeds the member accounts in an in-process sandbox (the member role in 70 % of the accounts, and a small
fleet in every Region of those; the others are never read), provisions the auditor's stack from
template.yaml (MultiAccount "true"), and runs template.yaml's own state machine through the sandbox's
Step Functions interpreter (healthaudit_sandbox.stepfunctions): Plan, the Distributed Map over the plan
in S3, one audit per target with the real handler, the results written to S3, Merge. The merge runs in a
child process of its own, as in its own Lambda execution environment, so its peak RSS (VmHWM, this
process image's own high-water mark) and peak Python heap (tracemalloc) are its alone. Then, with
--merge-targets N, the merge alone over N targets: one real target report copied to N keys and a
ResultWriter manifest listing them, to measure the merge's memory at the organization's size (the
issue's target: at most 512 MB at 4,000 targets).

Wall times here are the sandbox's on this machine, not AWS's: bench/organization.py projects the time
at AWS's quotas.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from healthaudit.publish.digest import failure_reason  # noqa: E402
from healthaudit_sandbox import Sandbox  # noqa: E402
from healthaudit_sandbox.fleet import seed_fleet  # noqa: E402
from healthaudit_sandbox.planted_problems import demo_fleet  # noqa: E402
from healthaudit_sandbox.server import account_session  # noqa: E402
from healthaudit_sandbox.stepfunctions import run_execution  # noqa: E402
from tests.support.clock import AT, iso  # noqa: E402
from tests.support.deployment import CHANNEL, provision  # noqa: E402
from tests.support.execution_environments import ExecutionEnvironments  # noqa: E402
from tests.support.stack_roles import (  # noqa: E402
    FUNCTIONS,
    create_role,
    member_role_policies,
)
from tests.support.state_machine import deployed_state_machine  # noqa: E402

HOME = "eu-west-1"
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")
ROLE = "healthaudit-member-audit"
EXTERNAL_ID = "healthaudit-org-bench"
AUDITOR = "750000000001"
FLEET_NAMES = ("fraud-scoring", "audit-trail", "orders-api")
TARGET_MERGE_MB = 512.0

#: Runs functions/merge/app.py once in this child process and prints its answer with its peak memory.
MERGE_DRIVER = """
import json, os, resource, sys, time, tracemalloc
sys.path.insert(0, os.path.join(sys.argv[1], "functions", "merge"))
tracemalloc.start()
import app
from dataclasses import dataclass
@dataclass
class Context:
    function_name: str = "lambda-health-auditor-MergeFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:750000000001:function:lambda-health-auditor-MergeFunction"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "merge-bench"
    log_group_name: str = "/aws/lambda/lambda-health-auditor-MergeFunction"
    log_stream_name: str = "bench"
    def get_remaining_time_in_millis(self): return 300_000
event = json.loads(sys.stdin.read())
started = time.monotonic()
answer = app.lambda_handler(event, Context())
seconds = time.monotonic() - started
_, heap_peak = tracemalloc.get_traced_memory()
# VmHWM: this process image's own peak RSS. getrusage's ru_maxrss would also count the parent's RSS, which
# Linux carries over into a child across fork and exec.
try:
    with open("/proc/self/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
usage = resource.getrusage(resource.RUSAGE_SELF)
print("MERGE-RESULT " + json.dumps({"answer": answer, "seconds": seconds, "heap_peak_mb": heap_peak / 2**20,
                                    "rss_peak_mb": rss_kb / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""


def merge_in_child(stack: dict, event: dict, environment: dict[str, str]) -> dict:
    """The merge handler in a process of its own, under the merge function's role."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(environment)
    child_env.update(stack["credentials"][FUNCTIONS["merge"]])
    child_env["POWERTOOLS_TRACE_DISABLED"] = "true"
    child_env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    result = subprocess.run(
        [sys.executable, "-c", MERGE_DRIVER, str(ROOT)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=child_env,
        timeout=1800,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("MERGE-RESULT ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"the merge failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(lines[-1].removeprefix("MERGE-RESULT "))


def seed_account(endpoint: str, at: datetime, regions: tuple[str, ...], names: tuple[str, ...], account: str) -> None:
    """One member account with the role: its small fleet in every Region, and the member role (in a seeding
    process of its own, talking to the sandbox over HTTP as any client does)."""
    fleet = [fn for fn in demo_fleet() if fn.name in names]
    for region in regions:
        seed_fleet(account_session(endpoint, account, region), at, fleet)
    session = account_session(endpoint, account, HOME)
    parameters = {"AuditorAccountId": AUDITOR, "RoleName": ROLE, "ExternalId": EXTERNAL_ID}
    trust, documents = member_role_policies(account, HOME, parameters)
    create_role(session.client("iam"), ROLE, trust, documents)


def seed_organization(
    endpoint: str, with_role: list[str], regions: tuple[str, ...], names: tuple[str, ...], processes: int
) -> None:
    """The accounts without the role hold nothing: the audit cannot assume a role there."""
    seed = partial(seed_account, endpoint, AT, regions, names)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for _ in pool.imap_unordered(seed, with_role, chunksize=4):
            pass


def function_environment(sandbox: Sandbox, stack: dict, concurrency: int) -> dict[str, str]:
    """What the template gives the functions, aimed at the sandbox and the local Slack server."""
    return {
        "AWS_ENDPOINT_URL": sandbox.endpoint,
        "AWS_REGION": HOME,
        "AWS_DEFAULT_REGION": HOME,
        "HEALTHAUDIT_BUCKET": stack["bucket"],
        "HEALTHAUDIT_IDEMPOTENCY_TABLE": stack["table"],
        "HEALTHAUDIT_CONFIG_PARAMETER": stack["parameter"],
        "HEALTHAUDIT_SLACK_SECRET_ARN": stack["secret"],
        "HEALTHAUDIT_SLACK_CHANNEL": CHANNEL,
        "HEALTHAUDIT_SLACK_API_URL": stack["slack_api_url"],
        "HEALTHAUDIT_MEMBER_ROLE_NAME": ROLE,
        "HEALTHAUDIT_MEMBER_ROLE_EXTERNAL_ID": EXTERNAL_ID,
        "HEALTHAUDIT_MAX_CONCURRENCY": str(concurrency),
    }


def _rss_mb() -> float:
    """This process's resident memory (the sandbox's, with the state machine and the plan), from /proc."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        return 0.0


@contextmanager
def progress_lines(done: Callable[[], int], total: int, every: float = 120.0) -> Iterator[None]:
    """A line every `every` seconds while inside: targets audited so far, and the pace."""
    stop, started = threading.Event(), time.monotonic()

    def report() -> None:
        while not stop.wait(every):
            elapsed, answered = time.monotonic() - started, done()
            print(
                f"  {answered:,} of {total:,} targets after {elapsed:.0f} s ({elapsed / max(1, answered):.2f} s a"
                f" target), sandbox RSS {_rss_mb():,.0f} MB",
                flush=True,
            )

    thread = threading.Thread(target=report, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_organization(
    sandbox: Sandbox, stack: dict, environment: dict, accounts: list[str], regions, environments: int
) -> dict:
    """template.yaml's state machine over the organization: the audits in `environments` execution
    environments of their own, the merge in a child process."""
    merged: dict = {}

    def merge(event, _request_id):
        merged.update(merge_in_child(stack, event, environment))
        return merged["answer"]

    audit_environment = {**environment, **stack["credentials"][FUNCTIONS["audit"]]}
    execution_input = {"time": iso(AT), "targets": {"accounts": ",".join(accounts), "regions": ",".join(regions)}}
    with ExecutionEnvironments(stack, "audit", audit_environment, size=environments) as audit:
        machines = deployed_state_machine(sandbox, stack, {"MultiAccount": "true"}, {"audit": audit, "merge": merge})
        with machines as machine, progress_lines(lambda: audit.invocations, len(accounts) * len(regions)):
            started = time.monotonic()
            outcome = run_execution(
                stack["session"].client("stepfunctions"), machine, execution_input, timeout=6 * 3600
            )
            seconds = time.monotonic() - started
    if outcome.status != "SUCCEEDED":
        raise RuntimeError(f"the execution {outcome.status}: {outcome.error}: {outcome.cause}")
    return {"seconds": seconds, "output": outcome.output, "merge": merged}


def merge_at_scale(stack: dict, environment: dict, targets: int) -> dict:
    """The merge alone over `targets` results: one stored target report copied to every target's key."""
    s3, bucket = stack["s3"], stack["bucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="reports/dt=").get("Contents", [])
    sample_key = next(item["Key"] for item in listed if "/account=" in item["Key"] and item["Key"].endswith(".json"))
    sample = s3.get_object(Bucket=bucket, Key=sample_key)["Body"].read()
    records = []
    for index in range(targets):
        account, region = f"{760000000000 + index // len(REGIONS):012d}", REGIONS[index % len(REGIONS)]
        key = f"reports/dt=bench/account={account}/region={region}/report.json"
        s3.put_object(Bucket=bucket, Key=key, Body=sample)
        output = {"account": account, "region": region, "report_key": key}
        records.append({"Status": "SUCCEEDED", "Input": "{}", "Output": json.dumps(output)})
    folder = "fanout/results/bench-merge/"
    body = json.dumps(records).encode()
    s3.put_object(Bucket=bucket, Key=f"{folder}SUCCEEDED_0.json", Body=body)
    manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": "arn:aws:states:eu-west-1:750000000001:mapRun:bench/merge:bench",
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": f"{folder}SUCCEEDED_0.json", "Size": len(body)}],
        },
    }
    s3.put_object(Bucket=bucket, Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())
    event = {
        "time": iso(AT),
        "map_run": {
            "MapRunArn": manifest["MapRunArn"],
            "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}manifest.json"},
        },
    }
    merged = merge_in_child(stack, event, environment)
    merged["report_bytes"] = len(sample)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=len(REGIONS), choices=range(1, len(REGIONS) + 1))
    parser.add_argument("--without-role", type=float, default=0.3, help="share of accounts without the member role")
    parser.add_argument("--concurrency", type=int, default=40, help="the MaxConcurrency parameter")
    parser.add_argument(
        "--fleet", default=",".join(FLEET_NAMES), help="the demo fleet's functions in each account and Region"
    )
    parser.add_argument("--environments", type=int, default=2, help="the audit function's execution environments")
    parser.add_argument("--processes", type=int, default=2, help="processes seeding the member accounts")
    parser.add_argument("--merge-targets", type=int, default=4000, help="the merge alone at this size (0: skip)")
    args = parser.parse_args()

    regions = REGIONS[: args.regions]
    fleet = tuple(name.strip() for name in args.fleet.split(",") if name.strip())
    unknown = set(fleet) - {fn.name for fn in demo_fleet()}
    if unknown or not fleet:
        parser.error(f"--fleet: {sorted(unknown) or 'nothing'} is not in the demo fleet")
    accounts = [f"{740000000000 + index:012d}" for index in range(args.accounts)]
    without = round(args.accounts * args.without_role)
    with_role = set(accounts[without:])
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HealthAuditBench")

    with Sandbox() as sandbox:
        started = time.monotonic()
        seed_organization(sandbox.endpoint, [a for a in accounts if a in with_role], regions, fleet, args.processes)
        seeding = time.monotonic() - started
        print(
            f"seeded {len(accounts)} accounts x {len(regions)} Regions ({without} without the member role),"
            f" {len(fleet)} function(s) in each Region of the others,"
            f" in {seeding:.0f} s",
            flush=True,
        )
        session = sandbox.session_for_account(AUDITOR, region=HOME)
        credentials = session.get_credentials().get_frozen_credentials()
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token,
            }
        )
        with provision(session, HOME, multi_account=True) as stack:
            environment = function_environment(sandbox, stack, args.concurrency)
            os.environ.update(environment)
            run = run_organization(sandbox, stack, environment, accounts, regions, args.environments)
            output, merge = run["output"], run["merge"]
            targets = len(accounts) * len(regions)
            print(
                f"\norganization: {targets} targets through the executed state machine in {run['seconds']:.0f} s"
                f" (sandbox wall time, MaxConcurrency {args.concurrency})"
            )
            print(
                f"  audited {output['targets_audited']}, not audited {output['targets_not_audited']},"
                f" digest {output['slack']}, {len(stack['slack'].messages)} Slack message(s)"
            )
            seeded = max(1, len(with_role) * len(regions))
            print(
                f"  sandbox seconds a target: {run['seconds'] / targets:.2f}"
                f" (seeding: {seeding / seeded:.2f} an account-Region with the role)"
            )
            print(
                f"  merge: {merge['seconds']:.1f} s, peak RSS {merge['rss_peak_mb']:.0f} MB,"
                f" peak Python heap {merge['heap_peak_mb']:.1f} MB"
            )
            consolidated = json.loads(
                stack["s3"].get_object(Bucket=stack["bucket"], Key=output["report_key"])["Body"].read()
            )
            reasons = Counter(failure_reason(failure["error"]) for failure in consolidated["not_audited"])
            print(f"  the consolidated report ({output['report_key']}) lists the targets not audited:")
            for reason, count in reasons.most_common():
                print(f"    {count:>5}  {reason}")
            if args.merge_targets:
                scaled = merge_at_scale(stack, environment, args.merge_targets)
                verdict = "ok" if scaled["rss_peak_mb"] <= TARGET_MERGE_MB else "OVER"
                print(
                    f"\nmerge alone at {args.merge_targets} targets ({scaled['report_bytes']:,}-byte reports):"
                    f" {scaled['seconds']:.1f} s ({scaled['cpu_seconds']:.1f} CPU s in the merge's process,"
                    f" {1000 * scaled['cpu_seconds'] / args.merge_targets:.1f} ms a report),"
                    f" peak RSS {scaled['rss_peak_mb']:.0f} MB ({verdict}: target"
                    f" <= {TARGET_MERGE_MB:.0f} MB), peak Python heap {scaled['heap_peak_mb']:.1f} MB,"
                    f" audited {scaled['answer']['targets_audited']}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
