"""A realistic demo fleet with known problems, seeded over plain boto3 calls.

Every planted problem names the check that must find it; every other function must stay quiet.
The metrics are what Lambda itself would publish to AWS/Lambda, hour by hour, over the audit
window and its baseline.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from .report_records import InitializationType, Invocation, write_invocations
from .xray_graph import AwsCall, lambda_invocation_documents, put_trace_documents

HOURS_OF_HISTORY = 8 * 24


@dataclass(frozen=True)
class Traffic:
    """Hourly traffic of one function in the current window (the baseline is the healthy pattern)."""

    invocations: int = 100
    errors: int = 0
    throttles: int = 0
    duration_ms: tuple[float, ...] = (120.0, 180.0, 250.0)
    """Typical durations; the slowest is the p99-ish tail."""
    concurrency: int = 2
    async_received: int = 0
    async_dropped: int = 0
    spillover: int = 0
    provisioned: int = 0
    """Invocations an hour served by provisioned concurrency (ProvisionedConcurrencyInvocations)."""
    iterator_age_ms: float | None = None
    active_hours: int = 24
    """How many hours of the current window saw traffic (from its start)."""

    def baseline(self) -> Traffic:
        """The healthy pattern the function had before the current window."""
        return Traffic(
            invocations=self.invocations,
            concurrency=min(self.concurrency, 2),
            async_received=self.async_received,
            iterator_age_ms=None if self.iterator_age_ms is None else 1000.0,
            active_hours=self.active_hours,
        )


@dataclass(frozen=True)
class LogTraffic:
    """What the function's REPORT records say, hour by hour (what Lambda itself would log)."""

    per_hour: int = 10
    cold_every: int = 5
    """One invocation in this many starts a new execution environment (an on-demand cold start)."""
    init_ms: tuple[float, float] = (350.0, 450.0)
    """Init durations are spread evenly over this range."""
    init_ms_now: tuple[float, float] | None = None
    """The range in the last 24 hours, when it changed."""
    cold_every_now: int | None = None
    memory_used_mb: float = 210.0
    init_type_now: InitializationType = "on-demand"
    """How the new execution environments of the last 24 hours were initialised."""


SPARSE_LOGS = LogTraffic(per_hour=1)
"""The REPORT records of the hours a function's plan does not cover (one invocation every few hours it ran)."""


@dataclass(frozen=True)
class PlantedFunction:
    name: str
    expect: frozenset[str] = frozenset()
    """Check ids that must fire on this function (empty: it must stay healthy)."""
    why: str = "healthy"
    runtime: str = "python3.12"
    timeout: int = 30
    memory: int = 512
    tracing: str = "Active"
    tags: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    dead_letter: bool = False
    on_failure_destination: bool = False
    stream_consumer: bool = False
    log_retention_days: int | None = 30
    current: Traffic = Traffic()
    expect_suppressed: frozenset[str] = frozenset()
    log_format: str = "Text"
    log_group: str | None = None
    """A custom log group (LoggingConfig.LogGroup); default /aws/lambda/<name>."""
    log_group_class: str = "STANDARD"
    system_log_level: str | None = None
    """LoggingConfig.SystemLogLevel (JSON format); WARN keeps Lambda from writing platform.report."""
    logs: LogTraffic | None = None
    """What its REPORT records say; every function that runs has some (SPARSE_LOGS unless planned)."""
    deploy_before_today: bool = False
    """The demo deploys a bigger package between yesterday's audit and today's."""
    xray_permitted: bool = True
    """The execution role has AWSXRayDaemonWriteAccess."""
    traces: str = "healthy"
    """What reaches X-Ray from an actively traced function: healthy, none, or failing-table."""
    msk_topic: str | None = None

    @property
    def group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


def demo_fleet() -> list[PlantedFunction]:
    healthy_names = [
        "orders-api",
        "orders-worker",
        "catalog-search",
        "catalog-indexer",
        "cart-service",
        "users-auth",
        "users-profile",
        "notifications-push",
        "shipping-quotes",
        "shipping-labels",
        "invoices-render",
        "search-suggest",
        "reviews-moderation",
        "recommendations",
        "image-resizer",
        "feature-flags",
        "health-probe",
    ]
    fleet = [
        PlantedFunction(name=name, tags={"team": "platform" if i % 2 else "shop"})
        for i, name in enumerate(healthy_names)
    ]
    fleet += [
        PlantedFunction(
            "checkout-payments",
            expect=frozenset({"throttled"}),
            why="3% of attempts throttled by the account limit",
            current=Traffic(invocations=970, throttles=30, concurrency=40),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "ledger-writer",
            expect=frozenset({"throttled", "concurrency-near-limit"}),
            why="reserved concurrency 10: a few throttles and a peak of 9",
            reserved_concurrency=10,
            current=Traffic(invocations=2000, throttles=1, concurrency=9),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "inventory-sync",
            expect=frozenset({"concurrency-near-limit"}),
            why="peak concurrency 18 of 20 reserved",
            reserved_concurrency=20,
            current=Traffic(invocations=800, concurrency=18),
        ),
        PlantedFunction(
            "fraud-scoring",
            expect=frozenset({"error-rate-high"}),
            why="8% of invocations fail",
            current=Traffic(invocations=500, errors=40),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "pdf-export",
            expect=frozenset({"duration-near-timeout"}),
            why="p99 of 27 s against a 30 s timeout",
            timeout=30,
            current=Traffic(invocations=60, duration_ms=(9000.0, 14000.0, 27000.0)),
        ),
        PlantedFunction(
            "clickstream-consumer",
            expect=frozenset({"iterator-age-high"}),
            why="Kinesis records waited 15 minutes",
            stream_consumer=True,
            current=Traffic(invocations=300, iterator_age_ms=900_000.0),
        ),
        PlantedFunction(
            "email-sender",
            expect=frozenset({"async-events-dropped"}),
            why="24 async events dropped after their maximum age",
            dead_letter=True,
            current=Traffic(invocations=400, async_received=400, async_dropped=1),
        ),
        PlantedFunction(
            "webhook-dispatcher",
            expect=frozenset({"no-failure-destination"}),
            why="invoked asynchronously with no DLQ and no on-failure destination",
            current=Traffic(invocations=200, async_received=200),
        ),
        PlantedFunction(
            "pricing-api",
            expect=frozenset({"provisioned-spillover"}),
            why="48 invocations spilled over provisioned concurrency",
            current=Traffic(invocations=900, spillover=2),
        ),
        PlantedFunction(
            "legacy-reporting",
            expect=frozenset({"runtime-deprecated"}),
            why="python3.9 was deprecated in December 2025",
            runtime="python3.9",
        ),
        PlantedFunction(
            "nightly-cleanup",
            expect=frozenset({"tracing-disabled"}),
            why="X-Ray active tracing is off",
            tracing="PassThrough",
        ),
        PlantedFunction(
            "audit-trail",
            expect=frozenset({"log-retention-unset"}),
            why="its log group never expires",
            log_retention_days=None,
        ),
        PlantedFunction(
            "search-indexer",
            expect=frozenset({"cold-start-regression"}),
            why="cold starts doubled after a deploy with a bigger package",
            logs=LogTraffic(init_ms=(350.0, 450.0), init_ms_now=(900.0, 1300.0)),
            deploy_before_today=True,
        ),
        PlantedFunction(
            "geo-lookup",
            expect=frozenset({"cold-start-regression"}),
            why="cold starts slower with no configuration change",
            logs=LogTraffic(init_ms=(250.0, 330.0), init_ms_now=(600.0, 800.0)),
        ),
        PlantedFunction(
            "orders-events-json",
            expect=frozenset({"cold-start-regression"}),
            why="JSON-format logs in a custom log group: cold starts slower",
            log_format="JSON",
            log_group="/custom/orders-events",
            logs=LogTraffic(init_ms=(400.0, 500.0), init_ms_now=(1000.0, 1200.0)),
        ),
        PlantedFunction(
            "image-thumbnailer",
            expect=frozenset({"memory-near-limit"}),
            why="used 500 of 512 MB",
            memory=512,
            logs=LogTraffic(per_hour=5, memory_used_mb=500.0),
        ),
        PlantedFunction(
            "report-builder",
            expect=frozenset({"memory-overprovisioned"}),
            why="3008 MB configured, 180 MB used",
            memory=3008,
            logs=LogTraffic(per_hour=5, memory_used_mb=180.0),
        ),
        PlantedFunction(
            "inventory-writer",
            expect=frozenset({"tracing-not-permitted"}),
            why="tracing is on, but its role lacks AWSXRayDaemonWriteAccess",
            xray_permitted=False,
            traces="none",
        ),
        PlantedFunction(
            "payments-webhook",
            expect=frozenset({"traces-missing"}),
            why="traced and permitted, 2,400 invocations, and no traces arrive",
            traces="none",
        ),
        PlantedFunction(
            "stock-reserver",
            expect=frozenset({"trace-errors-high"}),
            why="its DynamoDB table throttles and faults on a third of the calls",
            traces="failing-table",
        ),
        # Near misses and opt-outs that must stay quiet.
        PlantedFunction(
            "orders-msk-consumer",
            why="tracing off, but its Amazon MSK source cannot be traced: exempt",
            tracing="PassThrough",
            msk_topic="orders",
        ),
        PlantedFunction(
            "pdf-merger",
            why="a few slower cold starts today: too few to be significant",
            logs=LogTraffic(init_ms=(350.0, 450.0), init_ms_now=(700.0, 900.0), cold_every_now=20),
        ),
        PlantedFunction(
            "quotes-provisioned",
            why="on provisioned concurrency since today: its text REPORT lines write Init Duration for"
            " provisioned initialisations, which are no cold starts",
            current=Traffic(invocations=100, provisioned=100),
            logs=LogTraffic(init_ms_now=(900.0, 1100.0), init_type_now="provisioned-concurrency"),
        ),
        PlantedFunction(
            "quotes-provisioned-json",
            why="on provisioned concurrency since today, JSON logs: its initialisations are provisioned-concurrency",
            log_format="JSON",
            current=Traffic(invocations=100, provisioned=100),
            logs=LogTraffic(init_ms_now=(900.0, 1100.0), init_type_now="provisioned-concurrency"),
        ),
        PlantedFunction(
            "batch-importer",
            why="8% errors, but its tag raises the error-rate threshold to 10%",
            tags={"healthaudit:max_error_rate": "0.1"},
            current=Traffic(invocations=500, errors=40),
        ),
        PlantedFunction(
            "quiet-cron",
            why="2 errors in 10 invocations: too few invocations to judge",
            current=Traffic(invocations=5, errors=1, active_hours=2),
        ),
        PlantedFunction(
            "legacy-etl",
            why="python3.8, deprecation acknowledged by tag",
            runtime="python3.8",
            tags={"healthaudit:suppress": "runtime-deprecated"},
            expect_suppressed=frozenset({"runtime-deprecated"}),
        ),
        PlantedFunction(
            "queue-consumer-dlq",
            why="async with a dead-letter queue",
            dead_letter=True,
            current=Traffic(invocations=300, async_received=300),
        ),
        PlantedFunction(
            "events-fanout",
            why="async with an on-failure destination",
            on_failure_destination=True,
            current=Traffic(invocations=300, async_received=300),
        ),
    ]
    return fleet


def expected_findings(fleet: list[PlantedFunction]) -> dict[str, frozenset[str]]:
    return {fn.name: fn.expect for fn in fleet}


def seed_fleet(
    session: boto3.Session, window_end: datetime, fleet: list[PlantedFunction] | None = None
) -> list[PlantedFunction]:
    """Create the fleet's functions, mappings, log groups and 8 days of hourly metrics ending at window_end."""
    fleet = fleet if fleet is not None else demo_fleet()
    window_end = window_end.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    iam, lam, logs = session.client("iam"), session.client("lambda"), session.client("logs")
    sqs, kinesis, cloudwatch = session.client("sqs"), session.client("kinesis"), session.client("cloudwatch")
    roles = {permitted: _execution_role(iam, permitted) for permitted in (True, False)}
    failures_queue = sqs.create_queue(QueueName="demo-failures")["QueueUrl"]
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    code = _tiny_zip()
    for fn in fleet:
        _create_function(lam, fn, roles[fn.xray_permitted], code, failures_arn)
        if fn.msk_topic:
            lam.create_event_source_mapping(
                EventSourceArn=f"arn:aws:kafka:{lam.meta.region_name}:{_account(session)}:cluster/orders/{fn.name}-1",
                FunctionName=fn.name,
                Topics=[fn.msk_topic],
                StartingPosition="LATEST",
            )
        if fn.stream_consumer:
            kinesis.create_stream(StreamName=f"{fn.name}-stream", ShardCount=1)
            stream_arn = kinesis.describe_stream(StreamName=f"{fn.name}-stream")["StreamDescription"]["StreamARN"]
            lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=fn.name, StartingPosition="LATEST")
        logs.create_log_group(logGroupName=fn.group, logGroupClass=fn.log_group_class)
        if fn.log_retention_days and fn.log_group_class != "DELIVERY":  # a Delivery group keeps events a day
            logs.put_retention_policy(logGroupName=fn.group, retentionInDays=fn.log_retention_days)
        write_invocations(
            logs,
            fn.group,
            _invocations(fn, window_end),
            fn.log_format,
            function_name=fn.name,
            system_log_level=fn.system_log_level or "INFO",
        )
    _put_metrics(cloudwatch, fleet, window_end)
    _put_traces(session, fleet, window_end)
    return fleet


def _execution_role(iam: Any, xray_permitted: bool) -> str:
    name = "demo-function-role" if xray_permitted else "demo-function-role-no-xray"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if xray_permitted:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")
    return arn


def _account(session: boto3.Session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


TRACES_PER_FUNCTION = 48


def _put_traces(session: boto3.Session, fleet: list[PlantedFunction], window_end: datetime) -> None:
    """One sampled invocation an hour, yesterday and today, for each traced function, each calling its table."""
    xray, account, region = session.client("xray"), _account(session), session.region_name
    rng = random.Random(7)
    documents: list[str] = []
    for fn in fleet:
        if fn.tracing != "Active" or fn.traces == "none" or not fn.current.invocations:
            continue
        table = fn.name.split("-")[0]
        for hour in range(TRACES_PER_FUNCTION):
            failing = fn.traces == "failing-table" and hour % 3 == 0
            call = AwsCall.dynamodb(table, throttle=failing and hour % 2 == 0, fault=failing and hour % 2 == 1)
            at = window_end - timedelta(hours=TRACES_PER_FUNCTION - hour) + timedelta(minutes=20)
            documents += lambda_invocation_documents(fn.name, account, region, at, [call], rng=rng).documents
    put_trace_documents(xray, documents)


def deploy_bigger_packages(session: boto3.Session, fleet: list[PlantedFunction]) -> list[str]:
    """The overnight deploys of the demo: new code, a much bigger package."""
    lam = session.client("lambda")
    deployed = []
    for fn in fleet:
        if fn.deploy_before_today:
            lam.update_function_code(FunctionName=fn.name, ZipFile=_tiny_zip(padding=3_000_000))
            deployed.append(fn.name)
    return deployed


LOG_HOURS = HOURS_OF_HISTORY
"""REPORT records as far back as the metrics: every window the metrics show a function invoked in has some."""
PLANNED_HOURS = 48
"""The hours a function's planned LogTraffic covers: yesterday's window (today's baseline, once yesterday's
audit stored it) and today's."""
SPARSE_EVERY_HOURS = 6
"""Outside them, and for functions without a plan, one invocation every this many hours of those it ran."""


def _invocations(fn: PlantedFunction, window_end: datetime) -> list[Invocation]:
    """The invocations of the metrics' history in the hours the function ran, evenly spread in each hour."""
    today = window_end - timedelta(hours=24)
    planned_from = window_end - timedelta(hours=PLANNED_HOURS)
    invocations, cold = [], 0
    for hour in range(LOG_HOURS):
        start = window_end - timedelta(hours=LOG_HOURS - hour)
        now = start >= today
        traffic = fn.current if now else fn.current.baseline()
        if not traffic.invocations or hour % 24 >= traffic.active_hours:
            continue
        plan = fn.logs if fn.logs is not None and start >= planned_from else SPARSE_LOGS
        if plan is SPARSE_LOGS and hour % SPARSE_EVERY_HOURS:
            continue
        every = (plan.cold_every_now or plan.cold_every) if now else plan.cold_every
        low, high = (plan.init_ms_now or plan.init_ms) if now else plan.init_ms
        for i in range(plan.per_hour):
            index = hour * plan.per_hour + i
            init = None
            if index % every == 0:
                init = low + (high - low) * ((cold * 7919) % 100) / 99  # spread evenly, no two neighbours alike
                cold += 1
            invocations.append(
                Invocation(
                    timestamp=start + timedelta(seconds=(3600 // plan.per_hour) * i + 1),
                    duration_ms=120.0,
                    memory_size_mb=fn.memory,
                    max_memory_used_mb=int(plan.memory_used_mb),
                    init_duration_ms=init,
                    initialization_type=plan.init_type_now if now and init is not None else "on-demand",
                    request_id=f"{fn.name}-{hour:03d}-{i:03d}",
                )
            )
    return invocations


def _create_function(lam: Any, fn: PlantedFunction, role_arn: str, code: bytes, failures_arn: str) -> None:
    kwargs: dict[str, Any] = {
        "FunctionName": fn.name,
        "Runtime": fn.runtime,
        "Role": role_arn,
        "Handler": "app.handler",
        "Code": {"ZipFile": code},
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "TracingConfig": {"Mode": fn.tracing},
        "Tags": fn.tags,
    }
    if fn.dead_letter:
        kwargs["DeadLetterConfig"] = {"TargetArn": failures_arn}
    if fn.log_format != "Text" or fn.log_group:
        kwargs["LoggingConfig"] = {"LogFormat": fn.log_format, "LogGroup": fn.group}
    if fn.system_log_level:
        kwargs["LoggingConfig"]["SystemLogLevel"] = fn.system_log_level
    lam.create_function(**kwargs)
    if fn.reserved_concurrency is not None:
        lam.put_function_concurrency(FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved_concurrency)
    if fn.on_failure_destination:
        lam.put_function_event_invoke_config(
            FunctionName=fn.name, DestinationConfig={"OnFailure": {"Destination": failures_arn}}
        )


def _put_metrics(cloudwatch: Any, fleet: list[PlantedFunction], window_end: datetime) -> None:
    batch: list[dict[str, Any]] = []
    current_start = window_end - timedelta(hours=24)
    for hour in range(HOURS_OF_HISTORY):
        at = window_end - timedelta(hours=HOURS_OF_HISTORY - hour) + timedelta(minutes=30)
        hour_of_day = hour % 24
        for fn in fleet:
            traffic = fn.current if at >= current_start else fn.current.baseline()
            if hour_of_day >= traffic.active_hours:
                continue
            batch += _datums(fn.name, traffic, at)
            if len(batch) >= 900:
                cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=batch)
                batch = []
        batch.append(_datum("ClaimedAccountConcurrency", None, 120.0, at))
    if batch:
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=batch)


def _datums(name: str, traffic: Traffic, at: datetime) -> list[dict[str, Any]]:
    counts = {
        "Invocations": traffic.invocations,
        "Errors": traffic.errors,
        "Throttles": traffic.throttles,
        "AsyncEventsReceived": traffic.async_received,
        "AsyncEventsDropped": traffic.async_dropped,
        "ProvisionedConcurrencySpilloverInvocations": traffic.spillover,
        "ProvisionedConcurrencyInvocations": traffic.provisioned,
    }
    datums = [_datum(metric, name, float(value), at) for metric, value in counts.items() if value]
    if traffic.invocations:
        datums.append(_datum("ConcurrentExecutions", name, float(traffic.concurrency), at))
        durations = list(traffic.duration_ms)
        # Most invocations take the typical time; about 2% take the slowest, so it sets the p99.
        tail = max(1, traffic.invocations // 50)
        weights = [traffic.invocations - tail - (len(durations) - 2)] + [1] * (len(durations) - 2) + [tail]
        datums.append(
            {
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": name}],
                "Timestamp": at,
                "Values": durations,
                "Counts": [float(max(w, 1)) for w in weights],
                "Unit": "Milliseconds",
            }
        )
    if traffic.iterator_age_ms is not None:
        datums.append(_datum("IteratorAge", name, traffic.iterator_age_ms, at))
    return datums


def _datum(metric: str, function_name: str | None, value: float, at: datetime) -> dict[str, Any]:
    dimensions = [{"Name": "FunctionName", "Value": function_name}] if function_name else []
    return {"MetricName": metric, "Dimensions": dimensions, "Timestamp": at, "Value": value}


def _tiny_zip(padding: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
        if padding:
            # Incompressible bytes, so the package really is bigger (as a new dependency would make it).
            archive.writestr("vendor/blob.bin", random.Random(padding).randbytes(padding), zipfile.ZIP_STORED)
    return buffer.getvalue()
