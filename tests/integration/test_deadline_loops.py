"""The deadline inside the loops: per-function lookups, per-role simulations, graph slices, hourly series, retries.

Time is a fake: `time_left` answers from a counter, or from a clock that each call of chosen
operations moves on. Nothing sleeps; every call the audit makes is logged with the time then left,
so a test can assert that none was made once less than RESERVE_SECONDS remained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from healthaudit.audit import audit
from healthaudit.collect import lookups, xray
from healthaudit.collect.clients import HURRY_SECONDS, AwsClients, hurried_config
from healthaudit.collect.errors import STOPPED_EARLY
from healthaudit.collect.snapshot import RESERVE_SECONDS
from healthaudit.config import AuditConfig
from healthaudit.model import DataSource
from healthaudit_sandbox.fleet import tiny_zip
from healthaudit_sandbox.proxy import AwsProxy, Fault
from tests.support.clock import AT

REGION = "eu-west-1"


class StopAfter:
    """A `must_stop` that answers False for the first `checks` questions, then True for good."""

    def __init__(self, checks: int) -> None:
        self.checks, self.asked = checks, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked > self.checks


@dataclass
class FakeClock:
    """The audit's time left: each call of a `slow` operation takes `cost` seconds.

    Registered on a session's before-call event, it logs every API call with the time left when it
    was made (the default log groups' background paging included).
    """

    left: float
    cost: float
    slow: frozenset[str]
    calls: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self) -> float:
        return self.left

    def on_call(self, event_name: str, **_: object) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls.append((operation, self.left))
        if operation in self.slow:
            self.left -= self.cost


def _role(session, name: str = "r", xray_writer: bool = True) -> str:
    iam = session.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    if xray_writer:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")
    return arn


def _functions(session, names, role: str, tracing: str = "PassThrough") -> list[str]:
    lam = session.client("lambda")
    return [
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="a.b",
            Code={"ZipFile": tiny_zip()},
            TracingConfig={"Mode": tracing},
        )["FunctionArn"]
        for name in names
    ]


def _hourly(session, name: str, **metrics: float) -> None:
    session.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": name}],
                "Timestamp": AT - timedelta(hours=hour, minutes=30),
                "Value": value,
            }
            for hour in range(24)
            for metric, value in metrics.items()
        ],
    )


# ------------------------------------------------------------------------------------------------
# Each loop on its own: the candidates after the deadline are unread, and never called
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("checks", [0, 2, 4])
def test_reserved_concurrency_lookups_stop_at_the_deadline(aws, checks):
    arns = _functions(aws, [f"fn-{i}" for i in range(4)], _role(aws))
    clients = AwsClients(aws, region=REGION)

    results = lookups.reserved_concurrency(clients.client("lambda"), arns, None, must_stop=StopAfter(checks))

    assert list(results.values) == arns[:checks]
    assert results.failed == dict.fromkeys(arns[checks:], STOPPED_EARLY)
    assert clients.api_calls().get("GetFunctionConcurrency", 0) == checks


def test_reserved_concurrency_search_that_found_every_reservation_leaves_no_gap(aws):
    arns = _functions(aws, ["reserved", "other"], _role(aws))
    aws.client("lambda").put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=5)

    results = lookups.reserved_concurrency(aws.client("lambda"), arns, 5, must_stop=StopAfter(1))

    assert results.values == {arns[0]: 5}
    assert results.failed == {}  # all 5 reserved were found: "other" has none, deadline or not


@pytest.mark.parametrize("checks", [0, 1, 3])
def test_event_invoke_config_lookups_stop_at_the_deadline(aws, checks):
    arns = _functions(aws, [f"fn-{i}" for i in range(3)], _role(aws))
    clients = AwsClients(aws, region=REGION)

    results = lookups.failure_destinations(clients.client("lambda"), arns, must_stop=StopAfter(checks))

    assert results.values == dict.fromkeys(arns[:checks], {})
    assert results.failed == dict.fromkeys(arns[checks:], STOPPED_EARLY)
    assert clients.api_calls().get("ListFunctionEventInvokeConfigs", 0) == checks


def test_the_deadline_between_two_pages_of_one_function_leaves_it_unread(aws):
    (arn,) = _functions(aws, ["orders"], _role(aws))
    lam = aws.client("lambda")
    lam.publish_version(FunctionName="orders")
    for i in range(51):  # two pages
        lam.create_alias(FunctionName="orders", Name=f"a{i:02d}", FunctionVersion="1")
        lam.put_function_event_invoke_config(FunctionName="orders", Qualifier=f"a{i:02d}", MaximumRetryAttempts=0)
    clients = AwsClients(aws, region=REGION)

    results = lookups.failure_destinations(clients.client("lambda"), [arn], must_stop=StopAfter(1))

    assert results.values == {}
    assert results.failed == {arn: STOPPED_EARLY}
    assert clients.api_calls() == {"ListFunctionEventInvokeConfigs": 1}


@pytest.mark.parametrize("checks", [0, 2, 3])
def test_role_simulations_stop_at_the_deadline(aws, checks):
    roles = sorted(_role(aws, f"role-{i}") for i in range(3))
    clients = AwsClients(aws, region=REGION)

    answers, failed = xray.tracing_permissions(clients.client("iam"), roles, REGION, must_stop=StopAfter(checks))

    assert sorted(answers) == roles[:checks]
    assert failed == dict.fromkeys(roles[checks:], STOPPED_EARLY)
    assert clients.api_calls().get("SimulatePrincipalPolicy", 0) == checks


def test_the_service_graph_is_all_or_nothing_at_the_deadline(aws):
    clients = AwsClients(aws, region=REGION)

    with pytest.raises(xray.StoppedEarly):
        xray.service_graph(clients.client("xray"), AT - timedelta(hours=24), AT, must_stop=StopAfter(2))

    assert clients.api_calls() == {"GetServiceGraph": 2}  # two of the four 6-hour slices, then none


# ------------------------------------------------------------------------------------------------
# A whole audit under a fake clock
# ------------------------------------------------------------------------------------------------


def test_an_audit_whose_deadline_nears_mid_lookups_leaves_the_rest_unread_and_is_partial(aws):
    role = _role(aws)
    throttled = ["t0", "t1", "t2", "t3"]
    asynchronous = ["a0", "a1"]
    _functions(aws, throttled + asynchronous, role, tracing="Active")
    aws.client("lambda").put_function_concurrency(FunctionName="t3", ReservedConcurrentExecutions=5)
    for rank, name in enumerate(throttled):
        _hourly(aws, name, Invocations=100, Throttles=10 - rank)  # t0 the most throttled: looked up first
    for name in asynchronous:
        _hourly(aws, name, Invocations=100, AsyncEventsReceived=100)
    # Three lookups take the time left from the reserve + 25 s to the reserve - 5 s.
    clock = FakeClock(left=RESERVE_SECONDS + 25, cost=10, slow=frozenset({"GetFunctionConcurrency"}))
    aws.events.register("before-call", clock.on_call)

    report = audit(AwsClients(aws, region=REGION), AuditConfig(), at=AT, time_left=clock)

    assert report.partial
    stopped = {(g.function_name, g.source) for g in report.coverage_gaps if g.reason == STOPPED_EARLY}
    assert {(name, source) for name, source in stopped if name} == {
        ("t3", DataSource.RESERVED_CONCURRENCY),
        ("a0", DataSource.EVENT_INVOKE_CONFIG),
        ("a1", DataSource.EVENT_INVOKE_CONFIG),
    }
    assert {source for name, source in stopped if name is None} == {
        DataSource.REPORT_RECORDS,
        DataSource.ROLE_PERMISSIONS,
        DataSource.SERVICE_GRAPH,
    }
    assert report.api_calls["GetFunctionConcurrency"] == 3
    assert not {"ListFunctionEventInvokeConfigs", "SimulatePrincipalPolicy", "GetServiceGraph"} & set(report.api_calls)
    late = [(operation, left) for operation, left in clock.calls if left < RESERVE_SECONDS]
    assert late == []  # not one call once the reserve was reached
    assert report.metric_queries["series"] == 0


def test_near_the_deadline_the_hourly_series_are_skipped_and_findings_keep_their_evidence(aws):
    _functions(aws, ["failing"], _role(aws), tracing="Active")
    _hourly(aws, "failing", Invocations=100, Errors=30)
    # The four 6-hour GetServiceGraph slices, the audit's last reads, take the clock below the reserve.
    clock = FakeClock(left=RESERVE_SECONDS + 10, cost=3, slow=frozenset({"GetServiceGraph"}))
    aws.events.register("before-call", clock.on_call)

    report = audit(AwsClients(aws, region=REGION), AuditConfig(), at=AT, time_left=clock)

    assert clock.left < RESERVE_SECONDS
    assert report.api_calls["GetServiceGraph"] == 4
    assert not report.partial  # everything was read; only the illustrations are left out
    (finding,) = [f for f in report.findings if f.check_id == "error-rate-high"]
    assert finding.series == ()
    assert finding.evidence["errors"] == 720 and finding.evidence["invocations"] == 2400
    assert report.metric_queries["series"] == 0
    assert any(note.startswith("hourly series left out") for note in report.notes)
    assert [left for operation, left in clock.calls if left < RESERVE_SECONDS] == []


# ------------------------------------------------------------------------------------------------
# Fewer retries once time is short
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "retries, attempts",
    [
        ({"mode": "adaptive", "max_attempts": 8}, 2),  # botocore's max_attempts counts retries: 9 attempts
        ({"mode": "standard", "total_max_attempts": 3}, 2),
        ({"total_max_attempts": 2}, 2),
        ({"total_max_attempts": 1}, 1),  # never more attempts than the configuration allowed
        ({"max_attempts": 0}, 1),
        ({}, 2),
    ],
)
def test_hurried_config_makes_at_most_two_attempts(retries, attempts):
    hurried = hurried_config(Config(retries=retries, read_timeout=30))
    assert hurried.retries["total_max_attempts"] == attempts
    assert hurried.retries.get("mode") == retries.get("mode")
    assert hurried.read_timeout == 30


def test_clients_handed_out_when_time_is_short_retry_less(sandbox, aws):
    left = [HURRY_SECONDS + 1]
    unavailable = Fault("DescribeLogGroups", code="ServiceUnavailableException", status=503)
    with AwsProxy(sandbox.endpoint, faults=[unavailable]) as proxy:
        config = Config(retries={"mode": "standard", "total_max_attempts": 3})
        clients = AwsClients(aws, region=REGION, endpoint_url=proxy.endpoint, config=config)
        time_left = clients.watch(lambda: left[0])
        time_left()  # a deadline check: plenty of time
        with pytest.raises(ClientError):
            clients.client("logs").describe_log_groups()
        attempts_with_time = len(proxy.answered)
        left[0] = HURRY_SECONDS - 1
        assert time_left() == HURRY_SECONDS - 1  # a deadline check: time is short
        with pytest.raises(ClientError):
            clients.client("logs").describe_log_groups()

    assert attempts_with_time == 3
    assert len(proxy.answered) - attempts_with_time == 2
    assert clients.api_calls() == {"DescribeLogGroups": 2}
    assert clients.api_errors() == {"DescribeLogGroups": 5}
