"""A fleet of N functions with sparse (or dense) traffic and planted problems, seeded into one sandbox account.

Sparse: about 3% of the functions had traffic in the audit window. Dense: every function had traffic, and
the problems are planted in the same functions as in the sparse fleet (the others run healthily). Among the
functions with planted traffic, one in six is throttled
(the most throttled ones by their reserved concurrency), one in six fails too often, one in six runs
close to its timeout, one in six is invoked asynchronously with nowhere for failed events to go.
Independently of traffic: 5% run without X-Ray tracing, 1% on a deprecated runtime, 2% with a log
group that never expires; half of the functions are tagged. Every function has its log group; the
functions with traffic have REPORT records over the last two days, and the traced ones a trace.
"""

from __future__ import annotations

import io
import json
import math
import random
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from healthaudit_sandbox.lambda_traces import MAX_DOCUMENTS_PER_CALL, lambda_invocation_documents, put_trace_documents
from healthaudit_sandbox.report_records import Invocation, write_invocations

SEED_WORKERS = 8
#: PutMetricData takes up to 1,000 datums a call:
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
MAX_DATUMS_PER_CALL = 1000
ACTIVE_EVERY = 33  # ~3% of the functions have traffic
WINDOW_HOURS = 24
BASELINE_DAYS = 7
LOG_HOURS = 48  # REPORT records: the current window and the last day of the baseline
HEALTHY_LOG_EVERY_HOURS = 6  # dense fleets: the healthy functions' REPORT records, a few in each range
SEED_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=SEED_WORKERS + 2)


@dataclass(frozen=True)
class Traffic:
    """Per hour of the current window."""

    invocations: int = 100
    errors: int = 0
    throttles: int = 0
    concurrency: int = 2
    tail_ms: float = 250.0  # the slowest ~2% of invocations: sets the p99
    async_received: int = 0


@dataclass(frozen=True)
class PlannedFunction:
    name: str
    arn: str
    tagged: bool
    tracing: str
    runtime: str
    timeout: int
    retention_days: int | None
    traffic: Traffic | None
    reserved: int | None
    problems: tuple[str, ...]  # the check ids planted by traffic


@dataclass(frozen=True)
class Fleet:
    account: str
    region: str
    window_end: datetime
    functions: tuple[PlannedFunction, ...]
    dense: bool = False

    @property
    def size(self) -> int:
        return len(self.functions)

    @property
    def active(self) -> list[PlannedFunction]:
        return [fn for fn in self.functions if fn.traffic]

    @property
    def tagged(self) -> int:
        return sum(fn.tagged for fn in self.functions)

    @property
    def reserved_total(self) -> int:
        return sum(fn.reserved or 0 for fn in self.functions)

    def planted(self) -> dict[str, int]:
        """How many functions carry each planted problem (by the check id that should find it)."""
        counts: dict[str, int] = {}
        for fn in self.functions:
            for check in self.expected_checks(fn):
                counts[check] = counts.get(check, 0) + 1
        return dict(sorted(counts.items()))

    @staticmethod
    def expected_checks(fn: PlannedFunction) -> list[str]:
        checks = list(fn.problems)
        if fn.tracing != "Active":
            checks.append("tracing-disabled")
        if fn.runtime == "python3.9":
            checks.append("runtime-deprecated")
        if fn.retention_days is None:
            checks.append("log-retention-unset")
        return checks


def plan_fleet(size: int, account: str, region: str, window_end: datetime, dense: bool = False) -> Fleet:
    """`dense`: every function invoked; the problems stay where the sparse fleet has them."""
    functions = []
    active_ordinal = 0
    for index in range(size):
        name = f"fn-{index:05d}"
        traffic, reserved, problems, timeout = (Traffic() if dense else None), None, (), 30
        if index % ACTIVE_EVERY == 0:
            traffic, reserved, problems, timeout = _active(active_ordinal)
            active_ordinal += 1
        functions.append(
            PlannedFunction(
                name=name,
                arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
                tagged=index % 2 == 0,
                tracing="PassThrough" if index % 20 == 7 else "Active",
                runtime="python3.9" if index % 100 == 11 else "python3.12",
                timeout=timeout,
                retention_days=None if index % 50 == 13 else 30,
                traffic=traffic,
                reserved=reserved,
                problems=problems,
            )
        )
    return Fleet(account, region, window_end, tuple(functions), dense)


def _active(ordinal: int) -> tuple[Traffic, int | None, tuple[str, ...], int]:
    """(traffic, reserved concurrency, planted checks, timeout) of the ordinal-th function with traffic."""
    kind = ordinal % 6
    if kind == 0 and ordinal % 12 == 0:  # throttled by its reservation: peak 9 of 10, the most throttles
        traffic = Traffic(invocations=200, throttles=20, concurrency=9)
        # concurrency-near-limit is explained by throttled here (its explained_by): one cause, one finding.
        return traffic, 10, ("throttled",), 30
    if kind == 0:  # throttled by the account's limit
        return Traffic(invocations=200, throttles=5, concurrency=9), None, ("throttled",), 30
    if kind == 1:
        return Traffic(invocations=200, errors=20), None, ("error-rate-high",), 30
    if kind == 2:  # p99 of 9.5 s against a 10 s timeout
        return Traffic(invocations=100, tail_ms=9_500.0), None, ("duration-near-timeout",), 10
    if kind == 3:
        return Traffic(invocations=100, async_received=100), None, ("no-failure-destination",), 30
    return Traffic(), None, (), 30


# -- seeding ---------------------------------------------------------------------------------------


def seed(fleet: Fleet, session: boto3.Session, endpoint: str) -> dict[str, int]:
    """Create the fleet in the sandbox; returns the seeding calls made, by kind."""
    clients = {
        name: session.client(name, endpoint_url=endpoint, config=SEED_CLIENT_CONFIG)
        for name in ("iam", "lambda", "logs", "cloudwatch", "xray")
    }
    role = clients["iam"].create_role(
        RoleName="bench-function-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    # What active tracing needs (as AWSXRayDaemonWriteAccess grants), so traced functions may write traces.
    clients["iam"].put_role_policy(
        RoleName="bench-function-role",
        PolicyName="xray-write",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    code = tiny_zip()

    def create(fn: PlannedFunction) -> int:
        return _create_function(clients, fleet, fn, role, code)

    with ThreadPoolExecutor(max_workers=SEED_WORKERS) as pool:
        function_calls = sum(pool.map(create, fleet.functions, chunksize=16))
    batches = list(_metric_batches(fleet))
    with ThreadPoolExecutor(max_workers=SEED_WORKERS) as pool:
        list(
            pool.map(
                lambda batch: clients["cloudwatch"].put_metric_data(Namespace="AWS/Lambda", MetricData=batch), batches
            )
        )
    traces = _trace_documents(fleet)
    put_trace_documents(clients["xray"], traces)
    return {
        "functions, log groups and logs": function_calls,
        "PutMetricData": len(batches),
        "PutTraceSegments": math.ceil(len(traces) / MAX_DOCUMENTS_PER_CALL),
    }


def _create_function(clients: dict[str, Any], fleet: Fleet, fn: PlannedFunction, role: str, code: bytes) -> int:
    lam, logs = clients["lambda"], clients["logs"]
    lam.create_function(
        FunctionName=fn.name,
        Runtime=fn.runtime,
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code},
        Timeout=fn.timeout,
        MemorySize=512,
        TracingConfig={"Mode": fn.tracing},
        Tags={"team": f"team-{int(fn.name[3:]) % 7}"} if fn.tagged else {},
    )
    calls = 1
    if fn.reserved is not None:
        lam.put_function_concurrency(FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved)
        calls += 1
    group = f"/aws/lambda/{fn.name}"
    logs.create_log_group(logGroupName=group)
    calls += 1
    if fn.retention_days:
        logs.put_retention_policy(logGroupName=group, retentionInDays=fn.retention_days)
        calls += 1
    if fn.traffic:
        # The healthy functions of a dense fleet log less (keeps seeding 10,000 functions' logs within minutes).
        every = HEALTHY_LOG_EVERY_HOURS if fleet.dense and int(fn.name[3:]) % ACTIVE_EVERY else 1
        invocations = _invocations(fn, fleet.window_end, every)
        written = write_invocations(logs, group, invocations, "Text", function_name=fn.name)
        calls += 2 * len(written.log_streams) + 1  # CreateLogStream + PutLogEvents a stream, CreateLogGroup (exists)
    return calls


def _invocations(fn: PlannedFunction, window_end: datetime, every: int = 1) -> list[Invocation]:
    """One invocation every `every` hours over the last two days; every eighth hour's a cold start."""
    invocations = []
    for hour in range(0, LOG_HOURS, every):
        at = window_end - timedelta(hours=LOG_HOURS - hour) + timedelta(minutes=10)
        invocations.append(
            Invocation(
                timestamp=at,
                duration_ms=120.0,
                memory_size_mb=512,
                max_memory_used_mb=300,
                init_duration_ms=300.0 + (hour % 7) * 10 if hour % 8 == 0 else None,
                request_id=f"{fn.name}-{hour:04d}",
            )
        )
    return invocations


def _trace_documents(fleet: Fleet) -> list[str]:
    """One traced invocation of each traced function with traffic, so that it has a node in the service graph."""
    at = fleet.window_end - timedelta(hours=2)
    return [
        document
        for fn in fleet.active
        if fn.tracing == "Active"
        for document in lambda_invocation_documents(
            fn.name, fleet.account, fleet.region, at, rng=random.Random(fn.name)
        ).documents
    ]


def _metric_batches(fleet: Fleet):
    """What Lambda would have published: hourly datums in the current window, daily ones in the baseline."""
    window_start = fleet.window_end - timedelta(hours=WINDOW_HOURS)
    datums: list[dict[str, Any]] = []
    for hour in range(WINDOW_HOURS):
        at = window_start + timedelta(hours=hour, minutes=30)
        datums.append(_datum("ClaimedAccountConcurrency", None, 120.0, at))
        for fn in fleet.active:
            datums += _hourly(fn, at)
    for day in range(BASELINE_DAYS):
        at = window_start - timedelta(days=BASELINE_DAYS - day) + timedelta(hours=12)
        for fn in fleet.active:
            assert fn.traffic is not None
            datums.append(_datum("Invocations", fn.name, float(fn.traffic.invocations * WINDOW_HOURS), at))
    for start in range(0, len(datums), MAX_DATUMS_PER_CALL):
        yield datums[start : start + MAX_DATUMS_PER_CALL]


def _counts(traffic: Traffic) -> dict[str, int]:
    return {
        "Invocations": traffic.invocations,
        "Errors": traffic.errors,
        "Throttles": traffic.throttles,
        "AsyncEventsReceived": traffic.async_received,
        "ConcurrentExecutions": traffic.concurrency,
    }


def seeded_metrics(fn: PlannedFunction) -> tuple[str, ...]:
    """The AWS/Lambda metrics seeded for a function (with data in the past two weeks): none without traffic."""
    if fn.traffic is None:
        return ()
    return (*(metric for metric, value in _counts(fn.traffic).items() if value), "Duration")


def _hourly(fn: PlannedFunction, at: datetime) -> list[dict[str, Any]]:
    traffic = fn.traffic
    assert traffic is not None
    datums = [_datum(metric, fn.name, float(value), at) for metric, value in _counts(traffic).items() if value]
    tail = max(1, math.ceil(traffic.invocations / 50))  # ~2% of invocations are the slow tail
    datums.append(
        {
            "MetricName": "Duration",
            "Dimensions": [{"Name": "FunctionName", "Value": fn.name}],
            "Timestamp": at,
            "Values": [120.0, traffic.tail_ms],
            "Counts": [float(traffic.invocations - tail), float(tail)],
            "Unit": "Milliseconds",
        }
    )
    return datums


def _datum(metric: str, function_name: str | None, value: float, at: datetime) -> dict[str, Any]:
    dimensions = [{"Name": "FunctionName", "Value": function_name}] if function_name else []
    return {"MetricName": metric, "Dimensions": dimensions, "Timestamp": at, "Value": value}


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()
