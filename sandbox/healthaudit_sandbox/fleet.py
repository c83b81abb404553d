"""Seeding a fleet of planted functions over plain boto3 calls: what Lambda would have made and written.

Functions, event source mappings, log groups with their REPORT records, X-Ray traces, and the
metrics Lambda itself would publish to AWS/Lambda, hour by hour, over the audit window and its
baseline. The demo's functions are in :mod:`healthaudit_sandbox.planted_problems`.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from .lambda_traces import AwsCall, lambda_invocation_documents, put_trace_documents
from .planted_function import SPARSE_LOGS, PlantedFunction, Traffic
from .planted_problems import demo_fleet
from .report_records import Invocation, write_invocations

HOURS_OF_HISTORY = 8 * 24


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
    code = tiny_zip()
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
    """The fleet's execution role; IAM is global to the account, so seeding a second Region reuses it."""
    name = "demo-function-role" if xray_permitted else "demo-function-role-no-xray"
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        pass
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
            lam.update_function_code(FunctionName=fn.name, ZipFile=tiny_zip(padding=3_000_000))
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


def tiny_zip(padding: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
        if padding:
            # Incompressible bytes, so the package really is bigger (as a new dependency would make it).
            archive.writestr("vendor/blob.bin", random.Random(padding).randbytes(padding), zipfile.ZIP_STORED)
    return buffer.getvalue()
