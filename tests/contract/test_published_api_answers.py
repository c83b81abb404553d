"""AWS API answers as AWS publishes them, read by the collectors through their own boto3 clients.

Each published body is served on loopback in its service's wire protocol (tests/contract/published.py);
every other call goes to the sandbox. tests/contract/payloads/SOURCES.md lists each body's source.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import boto3
import botocore
import botocore.loaders
import pytest

from healthaudit.audit import audit
from healthaudit.collect import log_records, lookups, metrics, xray
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.snapshot import collect_snapshot
from healthaudit.config import AuditConfig
from healthaudit.model import AuditReport, AuditWindow, DataSource, EventSource
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_function import PlantedFunction
from tests.contract.published import (
    PublishedEndpoint,
    json_answer,
    payload_text,
    rest_json_answer,
    without_elisions,
    xml_answer,
)
from tests.support.clock import AT

REGION = "eu-west-1"
TRACED = "checkout-traced"
"""The one function of the traced account: healthy, busy (2,400 invocations a day), tracing Active."""
ACCOUNT = "123456789012"
"""The account the published answers name."""


def botocore_example(service: str, operation: str) -> str:
    """The first example output of `operation` in the installed botocore's data/<service>/<version>/examples-1.json."""
    examples = botocore.loaders.create_loader().load_service_model(service, "examples-1")["examples"]
    return json.dumps(examples[operation][0]["output"])


@functools.cache
def offline_session() -> boto3.Session:
    """One session for the offline clients, so botocore loads each service model once."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def offline_clients(endpoint: PublishedEndpoint) -> AwsClients:
    """The collectors' clients (adaptive retries, call counting), aimed at the published answers only."""
    return AwsClients(offline_session(), REGION, endpoint_url=endpoint.endpoint)


@pytest.fixture(scope="module")
def traced_account(sandbox):
    """A sandbox account whose own answers audit healthy (test_the_traced_account_audits_healthy_on_its_own)."""
    session = sandbox.session_for_account("930000000001", region=REGION)
    seed_fleet(session, AT, [PlantedFunction(name=TRACED)])
    return session


def audited_with(answers: dict, session, sandbox, *, under_test: str) -> AuditReport:
    """The audit of `session`'s account with `answers` in place of the sandbox's; `under_test` must be called.

    A case whose operation was never called tests nothing: it fails with pytest.fail, which no
    xfail(raises=AssertionError) below takes for the bug it expects.
    """
    with PublishedEndpoint(answers, upstream=sandbox.endpoint) as endpoint:
        report = audit(AwsClients(session, REGION, endpoint_url=endpoint.endpoint), AuditConfig(), at=AT)
    if under_test not in endpoint.asked:
        pytest.fail(f"{under_test} was never called: the case tests nothing")
    return report


def findings(report: AuditReport, function: str) -> set[str]:
    return {f.check_id for f in report.active_findings if f.function_name == function}


def gaps(report: AuditReport, source: DataSource) -> dict[str | None, str]:
    return {gap.function_name: gap.reason for gap in report.coverage_gaps if gap.source == source}


def test_the_traced_account_audits_healthy_on_its_own(traced_account, sandbox):
    """The control for the audits below: without a published answer, nothing fires and nothing is unread."""
    report = audited_with({}, traced_account, sandbox, under_test="SimulatePrincipalPolicy")
    assert findings(report, TRACED) == set()
    assert report.coverage_gaps == ()
    assert {fn.name: fn.status for fn in report.functions} == {TRACED: "healthy"}


# -- Lambda: ListFunctions, GetAccountSettings, ListEventSourceMappings, GetFunctionConcurrency --------


def test_botocore_lambda_examples_become_the_snapshot(aws, sandbox):
    """botocore's Lambda examples (data/lambda/2015-03-31/examples-1.json): ListFunctions,
    GetAccountSettings and ListEventSourceMappings; their figures are what the snapshot holds."""
    answers = {
        operation: rest_json_answer(botocore_example("lambda", operation))
        for operation in ("ListFunctions", "GetAccountSettings", "ListEventSourceMappings")
    }
    with PublishedEndpoint(answers, upstream=sandbox.endpoint) as endpoint:
        clients = AwsClients(aws, REGION, endpoint_url=endpoint.endpoint)
        window = AuditWindow.ending_at(AT)
        snapshot, _ = collect_snapshot(clients, AuditConfig(), window, ACCOUNT)

    functions = {fn.name: fn for fn in snapshot.functions}
    assert {
        name: (fn.timeout_seconds, fn.memory_mb, fn.code_size, fn.runtime, fn.tracing_mode)
        for name, fn in functions.items()
    } == {
        "helloworld": (3, 128, 294, "nodejs10.x", "PassThrough"),
        "my-function": (3, 256, 266, "nodejs10.x", "PassThrough"),
    }
    assert functions["my-function"].role == "arn:aws:iam::123456789012:role/service-role/helloWorldPython-role-uy3l9qyq"
    assert functions["my-function"].event_sources == (
        EventSource(arn="arn:aws:sqs:us-west-2:123456789012:mySQSqueue", state="Enabled"),
    )
    assert functions["helloworld"].event_sources == ()
    assert (snapshot.settings.concurrency_limit, snapshot.settings.unreserved_concurrency) == (1000, 1000)
    # The example's NextMarker is "": botocore's paginator reads an empty token as the last page.
    assert endpoint.asked.count("ListFunctions") == 1


def test_botocore_function_configuration_example_read_as_a_list_functions_entry(aws, sandbox):
    """botocore's GetFunctionConfiguration example (data/lambda/2015-03-31/examples-1.json) as the one
    FunctionConfiguration of a ListFunctions page (the API returns that type: API_ListFunctions.html).
    Its Timeout and MemorySize are not Lambda's defaults, so they can only come from the answer; its
    environment variable values never reach the report."""
    configuration = json.loads(botocore_example("lambda", "GetFunctionConfiguration"))
    page = json.dumps({"Functions": [configuration]})
    report = audited_with({"ListFunctions": rest_json_answer(page)}, aws, sandbox, under_test="ListFunctions")
    with PublishedEndpoint({"ListFunctions": rest_json_answer(page)}, upstream=sandbox.endpoint) as endpoint:
        snapshot, _ = collect_snapshot(
            AwsClients(aws, REGION, endpoint_url=endpoint.endpoint), AuditConfig(), AuditWindow.ending_at(AT), ACCOUNT
        )

    (fn,) = snapshot.functions
    assert (fn.timeout_seconds, fn.memory_mb, fn.code_size, fn.tracing_mode) == (15, 256, 5797206, "Active")
    assert fn.fingerprint["code_sha256"] == "YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4="
    assert "runtime-deprecated" in findings(report, "my-function")  # nodejs12.x
    document = json.dumps(report.to_dict())
    for value in configuration["Environment"]["Variables"].values():
        assert value not in document


def test_cli_reference_list_functions_example_becomes_the_snapshot(aws, sandbox):
    """AWS CLI Command Reference, `aws lambda list-functions` example output
    (https://docs.aws.amazon.com/cli/latest/reference/lambda/list-functions.html): memory, layers, runtimes."""
    answers = {"ListFunctions": rest_json_answer(payload_text("aws-cli-reference/lambda/list-functions.json"))}
    with PublishedEndpoint(answers, upstream=sandbox.endpoint) as endpoint:
        snapshot, _ = collect_snapshot(
            AwsClients(aws, REGION, endpoint_url=endpoint.endpoint), AuditConfig(), AuditWindow.ending_at(AT), ACCOUNT
        )

    functions = {fn.name: fn for fn in snapshot.functions}
    assert {name: (fn.memory_mb, fn.timeout_seconds, fn.runtime) for name, fn in functions.items()} == {
        "helloworld": (128, 3, "nodejs22.x"),
        "my-function": (256, 3, "nodejs22.x"),
        "my-python-function": (128, 3, "python3.11"),
    }
    assert functions["my-python-function"].fingerprint["layers"] == [
        "arn:aws:lambda:us-west-2:123456789012:layer:pythonLayer:1",
        "arn:aws:lambda:us-west-2:420165488524:layer:AWSLambda-Python37-SciPy1x:2",
    ]
    assert functions["helloworld"].fingerprint["layers"] == []


def test_botocore_function_concurrency_example_is_the_reserved_concurrency():
    """botocore's GetFunctionConcurrency example (data/lambda/2015-03-31/examples-1.json): 250 reserved.
    Once the reservations found add up to the account's reserved total, no other function is asked."""
    arns = [f"arn:aws:lambda:us-west-2:123456789012:function:{name}" for name in ("my-function", "other")]
    answers = {"GetFunctionConcurrency": rest_json_answer(botocore_example("lambda", "GetFunctionConcurrency"))}
    with PublishedEndpoint(answers) as endpoint:
        found = lookups.reserved_concurrency(offline_clients(endpoint).client("lambda"), arns, reserved_total=250)
    assert (found.values, found.failed) == ({arns[0]: 250}, {})
    assert endpoint.asked == ["GetFunctionConcurrency"] and endpoint.unexpected == []


@pytest.mark.parametrize(
    "page, destinations",
    [
        pytest.param(
            botocore_example("lambda", "ListFunctionEventInvokeConfigs"),
            {"GREEN": None, "BLUE": None},
            id="list-example-two-aliases-without-destinations",
        ),
        pytest.param(
            json.dumps(
                {"FunctionEventInvokeConfigs": [json.loads(botocore_example("lambda", "GetFunctionEventInvokeConfig"))]}
            ),
            {"BLUE": "arn:aws:sqs:us-east-2:123456789012:failed-invocations"},
            id="get-example-as-the-one-config-of-a-list-page",
        ),
    ],
)
def test_botocore_event_invoke_config_examples_give_each_qualifiers_failure_destination(page, destinations):
    """botocore's ListFunctionEventInvokeConfigs example (GREEN and BLUE, neither with a destination) and its
    GetFunctionEventInvokeConfig example (BLUE, OnFailure to SQS) served as the one FunctionEventInvokeConfig
    of a list page (the type the list returns: API_ListFunctionEventInvokeConfigs.html); both from
    data/lambda/2015-03-31/examples-1.json. The qualifier is read from each config's FunctionArn."""
    arn = "arn:aws:lambda:us-east-2:123456789012:function:my-function"
    with PublishedEndpoint({"ListFunctionEventInvokeConfigs": rest_json_answer(page)}) as endpoint:
        found = lookups.failure_destinations(offline_clients(endpoint).client("lambda"), [arn])
    assert (found.values, found.failed) == ({arn: destinations}, {})
    assert endpoint.asked == ["ListFunctionEventInvokeConfigs"] and endpoint.unexpected == []


# -- CloudWatch: GetMetricData ------------------------------------------------------------------------

FLEET_REQUESTS = [
    metrics.MetricRequest(owner=f"fn-{index}", metric=metric, function_name=f"fn-{index}")
    for index, metric in enumerate(("Invocations", "Errors", "Throttles", "Duration"))
]
"""Four queries: m0 … m3 in the order the collector numbers them."""


@pytest.mark.parametrize(
    "example, owner, metric, point",
    [
        ("get-metric-data.example-1.json", "fn-3", "Duration", (datetime(2024, 9, 29, 22, 10, tzinfo=UTC), 96.85)),
        ("get-metric-data.example-2.json", "fn-1", "Errors", (datetime(2024, 9, 26, 12, tzinfo=UTC), 542.38)),
    ],
)
def test_get_metric_data_results_are_read_by_query_id(example, owner, metric, point):
    """AWS CLI Command Reference, `aws cloudwatch get-metric-data` examples 1 (Id m3) and 2 (Id m1)
    (https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/get-metric-data.html): a result belongs to
    the query with its Id; Label and the top-level Messages change nothing."""
    body = payload_text(f"aws-cli-reference/cloudwatch/{example}")
    with PublishedEndpoint({"GetMetricData": json_answer(body, "application/x-amz-json-1.0")}) as endpoint:
        results = metrics.fetch_metrics(
            offline_clients(endpoint).client("cloudwatch"),
            FLEET_REQUESTS,
            datetime(2024, 9, 26, tzinfo=UTC),
            datetime(2024, 9, 30, tzinfo=UTC),
            3600,
        )
    assert results.points[(owner, metric)] == [point]
    assert all(not pairs for key, pairs in results.points.items() if key != (owner, metric))
    assert results.calls == 1 and endpoint.unexpected == []


def test_a_query_the_answer_leaves_out_is_a_gap_not_an_idle_function():
    """AWS CLI Command Reference, `aws cloudwatch get-metric-data` example 1: one result (Id m3) for four queries.
    Every query sent with ReturnData true (the collector's) has its data returned
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html): the three
    the answer left out were not read, which is not "no datapoints"."""
    body = payload_text("aws-cli-reference/cloudwatch/get-metric-data.example-1.json")
    with PublishedEndpoint({"GetMetricData": json_answer(body, "application/x-amz-json-1.0")}) as endpoint:
        results = metrics.fetch_metrics(
            offline_clients(endpoint).client("cloudwatch"),
            FLEET_REQUESTS,
            datetime(2024, 9, 26, tzinfo=UTC),
            datetime(2024, 9, 30, tzinfo=UTC),
            3600,
        )
    assert set(results.failed) == {"fn-0", "fn-1", "fn-2"}
    assert "Invocations" in results.failed["fn-0"]


# -- CloudWatch Logs Insights: StartQuery, GetQueryResults, StopQuery -------------------------------------


class SteppedClock:
    """A monotonic clock that moves only when the reader sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def insights_answers(get_query_results: str) -> dict:
    """StartQuery and StopQuery as the CloudWatch Logs API Reference's examples print them (StopQuery's
    `{"success": True}` is not JSON), with the given GetQueryResults body."""
    return {
        "StartQuery": json_answer(payload_text("aws-api-reference/logs/StartQuery.example-1.json")),
        "GetQueryResults": json_answer(get_query_results),
        "StopQuery": json_answer(payload_text("aws-api-reference/logs/StopQuery.example-1.json")),
    }


def test_an_insights_answer_without_status_is_refused_at_once_naming_status():
    """CloudWatch Logs API Reference, GetQueryResults example, verbatim: its `...` elisions make it no JSON,
    so botocore reads neither results nor status
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html)."""
    group = "/aws/lambda/helloworld"
    clock = SteppedClock()
    body = payload_text("aws-api-reference/logs/GetQueryResults.example-1.json")
    with PublishedEndpoint(insights_answers(body)) as endpoint:
        scan = log_records.scan_report_records(
            offline_clients(endpoint).client("logs"),
            {group: "Text"},
            AT - timedelta(hours=1),
            AT,
            log_records.ScanSettings(deadline_seconds=20),
            clock=clock,
            sleep=clock.sleep,
        )
    assert endpoint.asked.count("GetQueryResults") <= 2
    assert "status" in scan.failed[group]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            without_elisions(payload_text("aws-api-reference/logs/GetQueryResults.example-1.json")),
            id="api-reference-example-without-its-elisions",
        ),
        pytest.param(payload_text("aws-cli-reference/logs/get-query-results.json"), id="cli-reference-example"),
    ],
)
def test_insights_rows_that_name_no_log_group_are_a_gap_naming_at_log(body, traced_account, sandbox):
    """CloudWatch Logs API Reference GetQueryResults example (its `...` lines taken out), and the AWS CLI
    Command Reference `aws logs get-query-results` example
    (https://docs.aws.amazon.com/cli/latest/reference/logs/get-query-results.html): Complete, with rows,
    none of them carrying the @log that the REPORT-record queries group by."""
    report = audited_with(insights_answers(body), traced_account, sandbox, under_test="GetQueryResults")
    assert "@log" in gaps(report, DataSource.REPORT_RECORDS).get(TRACED, "")


def test_each_querys_published_bytes_scanned_is_added_to_the_report(traced_account, sandbox):
    """AWS CLI Command Reference, `aws logs get-query-results` example: statistics.bytesScanned 141.0, a
    float as the API types it (API_QueryStatistics.html). Every query the audit ran answered Complete at
    its first poll, so the report's Logs Insights bytes are 141 for each GetQueryResults call."""
    body = payload_text("aws-cli-reference/logs/get-query-results.json")
    with PublishedEndpoint(insights_answers(body), upstream=sandbox.endpoint) as endpoint:
        report = audit(AwsClients(traced_account, REGION, endpoint_url=endpoint.endpoint), AuditConfig(), at=AT)
    polls = endpoint.asked.count("GetQueryResults")
    assert polls == endpoint.asked.count("StartQuery") > 0
    assert report.logs_insights_bytes_scanned == 141 * polls


# -- IAM: SimulatePrincipalPolicy -----------------------------------------------------------------------


@pytest.mark.parametrize("example", [1, 2])
def test_a_simulation_that_does_not_answer_the_tracing_actions_is_a_gap(example, traced_account, sandbox):
    """IAM API Reference, SimulatePrincipalPolicy sample responses 1 (s3 actions) and 2 (iam:GetRole)
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html), as the
    answer for the traced function's role: they decide other actions (example 1 refuses s3:DeleteObject),
    so the role's tracing permission is unknown, never "not permitted"."""
    answer = xml_answer(payload_text(f"aws-api-reference/iam/SimulatePrincipalPolicy.example-{example}.xml"))
    report = audited_with(
        {"SimulatePrincipalPolicy": answer}, traced_account, sandbox, under_test="SimulatePrincipalPolicy"
    )
    assert findings(report, TRACED).isdisjoint({"tracing-not-permitted", "traces-missing"})
    assert "xray:PutTraceSegments" in gaps(report, DataSource.ROLE_PERMISSIONS).get(TRACED, "")


def test_a_simulation_answer_that_is_not_xml_is_a_gap_not_a_crash(traced_account, sandbox):
    """IAM API Reference, SimulatePrincipalPolicy sample response 3 (cross-account), verbatim: it begins
    `SimulatePrincipalPolicyResponse xmlns=…>` without its `<`, so it is not XML
    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)."""
    answer = xml_answer(payload_text("aws-api-reference/iam/SimulatePrincipalPolicy.example-3.xml"))
    report = audited_with(
        {"SimulatePrincipalPolicy": answer}, traced_account, sandbox, under_test="SimulatePrincipalPolicy"
    )
    assert TRACED in gaps(report, DataSource.ROLE_PERMISSIONS)
    assert "tracing-not-permitted" not in findings(report, TRACED)


# -- X-Ray: GetServiceGraph ---------------------------------------------------------------------------

SERVICE_GRAPH = "aws-cli-reference/xray/get-service-graph.json"


def test_a_service_graph_without_the_function_fires_traces_missing(traced_account, sandbox):
    """AWS CLI Command Reference, `aws xray get-service-graph` example (its TRUNCATED line taken out)
    (https://docs.aws.amazon.com/cli/latest/reference/xray/get-service-graph.html): the graph holds one
    Elastic Beanstalk node and no Lambda function, so a busy traced function has no traces."""
    answer = rest_json_answer(without_elisions(payload_text(SERVICE_GRAPH)))
    report = audited_with({"GetServiceGraph": answer}, traced_account, sandbox, under_test="GetServiceGraph")
    assert "traces-missing" in findings(report, TRACED)
    assert gaps(report, DataSource.SERVICE_GRAPH) == {}


def test_service_graph_edge_statistics_are_read_and_a_dangling_edge_is_named_unknown():
    """AWS CLI Command Reference, `aws xray get-service-graph` example (its TRUNCATED line taken out), with
    its node's Type read as AWS::Lambda::Function, the one field changed: the edge's SummaryStatistics
    become the downstream figures; its ReferenceId 1 was cut from the answer, so the target is unknown."""
    graph = json.loads(without_elisions(payload_text(SERVICE_GRAPH)))
    graph["Services"][0]["Type"] = "AWS::Lambda::Function"
    start = datetime.fromtimestamp(1568835392, UTC)
    with PublishedEndpoint({"GetServiceGraph": rest_json_answer(json.dumps(graph))}) as endpoint:
        nodes, calls = xray.service_graph(offline_clients(endpoint).client("xray"), start, start + timedelta(minutes=1))

    (edge,) = nodes["Scorekeep"].edges
    assert (edge.name, edge.type) == ("unknown", "unknown")
    stats = edge.stats
    assert (stats.ok, stats.errors, stats.throttles, stats.faults, stats.total) == (14, 0, 0, 0, 14)
    assert stats.total_response_time == pytest.approx(0.13)
    assert nodes["Scorekeep"].stats.total == 0  # the example gives the node itself no statistics
    assert calls == 1


def test_a_service_graph_answer_that_is_not_json_is_a_gap(traced_account, sandbox):
    """AWS CLI Command Reference, `aws xray get-service-graph` example, verbatim: its
    `... TRUNCATED FOR BREVITY ...` line makes it no JSON, so botocore reads no Services from it."""
    answer = rest_json_answer(payload_text(SERVICE_GRAPH))
    report = audited_with({"GetServiceGraph": answer}, traced_account, sandbox, under_test="GetServiceGraph")
    assert "traces-missing" not in findings(report, TRACED)
    assert None in gaps(report, DataSource.SERVICE_GRAPH)
