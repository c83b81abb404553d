"""The sandbox behaves as the AWS documentation says where moto alone does not (healthaudit_sandbox.fidelity).

Each test states the documented behaviour it checks; every one of them fails against plain moto 5.2.5.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import subprocess
import sys
import textwrap
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from healthaudit_sandbox import Sandbox

REGION = "eu-west-1"
# Accounts of this module's own, far from the range conftest hands out.
_extra_accounts = itertools.count(900000000001)

END = datetime(2024, 3, 9, tzinfo=UTC)
START = END - timedelta(days=8)
DAY = 86400


def _account(session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def _other_account(sandbox):
    return sandbox.session_for_account(f"{next(_extra_accounts):012d}", REGION)


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _create_functions(session, names) -> None:
    role = session.client("iam").create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    client, code = session.client("lambda"), _code()
    for name in names:
        client.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": code}
        )


# -- Sandbox itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "example.com"])
def test_sandbox_refuses_a_host_outside_loopback(host):
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_sandbox_accepts_loopback_hosts(host):
    Sandbox(host=host)  # not started: constructing validates


def test_endpoint_is_loopback_with_the_bound_port(sandbox):
    assert sandbox.endpoint.startswith("http://127.0.0.1:")
    assert sandbox.port > 0
    assert sandbox.endpoint == f"http://127.0.0.1:{sandbox.port}"


def test_session_clients_go_to_the_sandbox_without_endpoint_url(sandbox, aws):
    assert aws.client("lambda").meta.endpoint_url == sandbox.endpoint
    assert aws.resource("s3").meta.client.meta.endpoint_url == sandbox.endpoint
    assert aws.region_name == REGION


def test_session_acts_in_its_account(sandbox):
    session = sandbox.session_for_account("900000000999", REGION)
    assert session.client("sts").get_caller_identity()["Account"] == "900000000999"


@pytest.mark.parametrize(
    "host",
    [
        None,
        "moto_api",
        "s3",
        "awslambda",
        "127.0.0.1:5000",
        "localhost",
        "lambda.eu-west-1.amazonaws.com",
        "monitoring.us-east-1.amazonaws.com",
        "a-bucket.s3.eu-west-1.amazonaws.com",
        "no-such-service.eu-west-1.amazonaws.com",
        "example.com",
    ],
)
def test_request_dispatch_picks_the_backend_moto_would(host):
    """The sandbox reads moto's backend names once; each Host header still reaches moto's own backend."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from healthaudit_sandbox.server import _dispatcher

    assert _dispatcher(create_backend_app).get_backend_for_host(host) == DomainDispatcherApplication(
        create_backend_app
    ).get_backend_for_host(host)


def test_sessions_share_parsed_sdk_data_without_growing_its_search_paths(sandbox):
    from healthaudit_sandbox.server import sdk_session

    first, second = sandbox.session_for_account("900000000998", REGION), sdk_session(region_name=REGION)
    loader = first._loader  # boto3 keeps its session's data loader here
    assert second._loader is loader
    paths = loader.search_paths
    sdk_session(region_name="us-east-1").client("lambda")
    assert loader.search_paths == paths
    assert len(set(paths)) == len(paths)


def test_accounts_are_isolated(sandbox, aws):
    other = _other_account(sandbox)
    aws.client("s3").create_bucket(Bucket="only-in-a", CreateBucketConfiguration={"LocationConstraint": REGION})
    _create_functions(aws, ["only-in-a"])
    aws.client("cloudwatch").put_metric_data(Namespace="N", MetricData=[{"MetricName": "M", "Value": 1}])

    assert _account(aws) != _account(other)
    assert other.client("lambda").list_functions()["Functions"] == []
    assert [b["Name"] for b in other.client("s3").list_buckets()["Buckets"]] == []
    assert other.client("cloudwatch").list_metrics(Namespace="N")["Metrics"] == []
    assert [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]] == ["only-in-a"]


def test_reset_forgets_everything():
    # In a process of its own: a reset empties every account, and other tests share this process's moto.
    script = textwrap.dedent(
        """
        from healthaudit_sandbox import Sandbox
        with Sandbox() as sandbox:
            s3 = sandbox.session_for_account("123412341234", "eu-west-1").client("s3")
            s3.create_bucket(Bucket="reset-me", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            sandbox.set_account_concurrency_limit("123412341234", "eu-west-1", 3000)
            sandbox.reset()
            session = sandbox.session_for_account("123412341234", "eu-west-1")
            assert session.client("s3").list_buckets()["Buckets"] == []
            limit = session.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
            assert limit == 1000, limit
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# -- Lambda ListFunctions: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html ---------


@pytest.fixture
def fleet(aws):
    names = [f"fn-{i:03d}" for i in range(120)]
    _create_functions(aws, names)
    return names


def test_list_functions_pages_hold_at_most_50(aws, fleet):
    pages = list(aws.client("lambda").get_paginator("list_functions").paginate())

    assert [len(page["Functions"]) for page in pages] == [50, 50, 20]
    assert ["NextMarker" in page for page in pages] == [True, True, False]
    assert sorted(f["FunctionName"] for page in pages for f in page["Functions"]) == fleet


def test_list_functions_honours_max_items_and_marker(aws, fleet):
    client = aws.client("lambda")
    first = client.list_functions(MaxItems=10)
    second = client.list_functions(MaxItems=10, Marker=first["NextMarker"])

    assert len(first["Functions"]) == 10 and len(second["Functions"]) == 10
    seen = [f["FunctionName"] for f in first["Functions"] + second["Functions"]]
    assert len(set(seen)) == 20


def test_list_functions_caps_max_items_at_50(aws, fleet):
    response = aws.client("lambda").list_functions(MaxItems=1000)
    assert len(response["Functions"]) == 50
    assert "NextMarker" in response


def test_list_functions_single_page_has_no_marker(aws):
    _create_functions(aws, ["a", "b"])
    response = aws.client("lambda").list_functions()
    assert len(response["Functions"]) == 2
    assert "NextMarker" not in response


def test_list_functions_marker_survives_a_deletion_between_pages(aws):
    names = [f"fn-{i}" for i in range(5)]
    _create_functions(aws, names)
    client = aws.client("lambda")
    first = client.list_functions(MaxItems=2)
    client.delete_function(FunctionName=first["Functions"][-1]["FunctionName"])
    rest = client.list_functions(Marker=first["NextMarker"])["Functions"]

    listed = [f["FunctionName"] for f in first["Functions"] + rest]
    assert sorted(listed) == names  # nothing skipped, nothing twice


def test_list_functions_all_versions_page_too(aws):
    _create_functions(aws, ["versioned"])
    client = aws.client("lambda")
    client.publish_version(FunctionName="versioned")
    pages = list(
        client.get_paginator("list_functions").paginate(FunctionVersion="ALL", PaginationConfig={"PageSize": 1})
    )
    assert [[f["Version"] for f in page["Functions"]] for page in pages] == [["$LATEST"], ["1"]]


def test_list_functions_rejects_an_invalid_marker(aws):
    with pytest.raises(ClientError) as raised:
        aws.client("lambda").list_functions(Marker="not-a-marker")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- Tagging GetResources: https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html


def _tagged_functions(session, count: int, tags_each: int) -> None:
    role = session.client("iam").create_role(RoleName="tagged", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client, code = session.client("lambda"), _code()
    for index in range(count):
        client.create_function(
            FunctionName=f"tagged-{index:03d}",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code},
            Tags={f"key-{k}": "v" for k in range(tags_each)},
        )


def _resources_per_page(session, **kwargs) -> list[int]:
    pages = (
        session.client("resourcegroupstaggingapi")
        .get_paginator("get_resources")
        .paginate(ResourceTypeFilters=["lambda:function"], **kwargs)
    )
    return [len(page["ResourceTagMappingList"]) for page in pages]


def test_get_resources_pages_hold_resources_per_page_one_tag_resources(aws):
    _tagged_functions(aws, 210, tags_each=1)
    assert _resources_per_page(aws, ResourcesPerPage=100) == [100, 100, 10]  # moto alone: [99, 100, 11]


def test_get_resources_pages_hold_up_to_tags_per_page_tags(aws):
    # The reference's example: TagsPerPage 100, 22 resources with 10 tags each: pages of 10, 10 and 2.
    _tagged_functions(aws, 22, tags_each=10)
    assert _resources_per_page(aws, TagsPerPage=100, ResourcesPerPage=100) == [10, 10, 2]  # moto alone: [9, 10, 3]


# -- Lambda GetAccountSettings: https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html --


def test_account_settings_of_a_new_account(aws):
    settings = aws.client("lambda").get_account_settings()

    assert settings["AccountLimit"] == {
        "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 1000,
        "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800,
        "TotalCodeSize": 80530636800,
    }
    assert settings["AccountUsage"] == {"FunctionCount": 0, "TotalCodeSize": 0}


def test_account_settings_subtract_reserved_concurrency(aws):
    _create_functions(aws, ["reserved-a", "reserved-b", "unreserved"])
    client = aws.client("lambda")
    client.put_function_concurrency(FunctionName="reserved-a", ReservedConcurrentExecutions=100)
    client.put_function_concurrency(FunctionName="reserved-b", ReservedConcurrentExecutions=50)

    settings = client.get_account_settings()

    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 850
    assert settings["AccountUsage"]["FunctionCount"] == 3
    code_sizes = [f["CodeSize"] for f in client.list_functions()["Functions"]]
    assert settings["AccountUsage"]["TotalCodeSize"] == sum(code_sizes) > 0

    client.delete_function_concurrency(FunctionName="reserved-b")
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 900


def test_account_concurrency_limit_can_be_raised(sandbox, aws):
    _create_functions(aws, ["reserved"])
    aws.client("lambda").put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=200)

    sandbox.set_account_concurrency_limit(_account(aws), REGION, 5000)

    limit = aws.client("lambda").get_account_settings()["AccountLimit"]
    assert (limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]) == (5000, 4800)


def test_account_settings_are_per_account_and_region(sandbox, aws):
    _create_functions(aws, ["reserved"])
    aws.client("lambda").put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=300)
    sandbox.set_account_concurrency_limit(_account(aws), REGION, 2000)

    other_account = _other_account(sandbox).client("lambda").get_account_settings()
    other_region = aws.client("lambda", region_name="us-east-1").get_account_settings()

    for settings in (other_account, other_region):
        assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000
        assert settings["AccountUsage"]["FunctionCount"] == 0


# -- CloudWatch GetMetricData: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html


def _query(qid, metric="M", stat="Sum", namespace="N", dimensions=None, period=DAY, **extra):
    metric_spec = {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions or []}
    return {"Id": qid, "MetricStat": {"Metric": metric_spec, "Period": period, "Stat": stat}, **extra}


def _get(session, *queries, **kwargs):
    kwargs.setdefault("StartTime", START)
    kwargs.setdefault("EndTime", END)
    response = session.client("cloudwatch").get_metric_data(MetricDataQueries=list(queries), **kwargs)
    return {r["Id"]: r for r in response["MetricDataResults"]}


def _put(session, *entries, namespace="N"):
    data = [{"MetricName": "M", "Timestamp": START + timedelta(hours=1), **entry} for entry in entries]
    session.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)


def test_get_metric_data_accepts_500_queries_and_rejects_501(aws):
    queries = [_query(f"q{i}", dimensions=[{"Name": "I", "Value": str(i)}]) for i in range(501)]

    assert len(_get(aws, *queries[:500])) == 500
    with pytest.raises(ClientError) as raised:
        _get(aws, *queries)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _nearest_rank(values, counts, p):
    """By hand: repeat each value count times, sort, take rank ceil(p/100 * N) (at least 1)."""
    expanded = sorted(v for v, c in zip(values, counts, strict=True) for _ in range(c))
    rank = max(1, math.ceil(p * len(expanded) / 100))
    return expanded[rank - 1]


PERCENTILE_CASES = [
    # (values, counts, stat, expected) - the expected values are worked out by hand in the comments
    ([7.0], [1], "p99", 7.0),  # a single value is every percentile
    ([7.0], [1], "p50", 7.0),
    ([5.0], [100], "p99", 5.0),  # ties: one value 100 times
    ([10.0, 20.0, 300.0], [90, 9, 1], "p90", 10.0),  # rank 90 is the last 10
    ([10.0, 20.0, 300.0], [90, 9, 1], "p91", 20.0),  # rank 91 is the first 20
    ([10.0, 20.0, 300.0], [90, 9, 1], "p99", 20.0),  # rank 99 is the last 20
    ([10.0, 20.0, 300.0], [90, 9, 1], "p99.5", 300.0),  # rank ceil(99.5) = 100
    ([float(v) for v in range(1, 101)], [1] * 100, "p99", 99.0),  # 100 values: rank 99
    ([float(v) for v in range(1, 101)], [1] * 100, "p50", 50.0),
    ([float(v) for v in range(1, 101)], [1] * 100, "p100", 100.0),
    ([float(v) for v in range(1, 101)], [1] * 100, "p99.9", 100.0),  # rank ceil(99.9) = 100
    ([float(v) for v in range(1, 101)], [1] * 100, "p1", 1.0),
    ([float(v) for v in range(1, 102)], [1] * 101, "p99", 100.0),  # 101 values: rank ceil(99.99) = 100
    ([1.0, 2.0], [1, 1], "p50", 1.0),  # rank ceil(1.0) = 1
    ([1.0, 2.0], [1, 1], "p50.01", 2.0),  # rank ceil(1.0002) = 2
]


@pytest.mark.parametrize(("values", "counts", "stat", "expected"), PERCENTILE_CASES)
def test_percentiles_are_nearest_rank_over_values_and_counts(aws, values, counts, stat, expected):
    assert _nearest_rank(values, counts, float(stat[1:])) == expected  # the table agrees with the definition
    _put(aws, {"Values": values, "Counts": counts})

    result = _get(aws, _query("q", stat=stat))["q"]

    assert result["Values"] == [expected]
    assert result["Timestamps"] == [START]


def test_percentiles_merge_the_entries_of_a_period(aws):
    # [1, 2] and [2, 3] in the same day: 1, 2, 2, 3 -> p50 is rank 2 = 2, p75 is rank 3 = 2, p76 rank 4 = 3
    _put(aws, {"Values": [1.0, 2.0]}, {"Values": [2.0, 3.0]}, {"Value": 2.0, "Timestamp": START + timedelta(hours=5)})
    # with the single Value 2: 1, 2, 2, 2, 3 -> p80 is rank 4 = 2, p81 is rank 5 = 3
    results = _get(aws, _query("a", stat="p80"), _query("b", stat="p81"), _query("c", stat="p20"))
    assert [results[q]["Values"] for q in "abc"] == [[2.0], [3.0], [1.0]]


def test_percentiles_need_raw_values(aws):
    # GetMetricStatistics reference: percentiles from a statistic set only if SampleCount is 1 or Min == Max.
    _put(
        aws,
        {"MetricName": "Set", "StatisticValues": {"SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}},
        {"MetricName": "One", "StatisticValues": {"SampleCount": 1, "Sum": 4, "Minimum": 4, "Maximum": 4}},
        {"MetricName": "Flat", "StatisticValues": {"SampleCount": 5, "Sum": 15, "Minimum": 3, "Maximum": 3}},
        {"MetricName": "Negative", "Values": [-1.0, 5.0]},
    )
    results = _get(
        aws,
        _query("set", metric="Set", stat="p99"),
        _query("setsum", metric="Set", stat="Sum"),
        _query("one", metric="One", stat="p99"),
        _query("flat", metric="Flat", stat="p50"),
        _query("negative", metric="Negative", stat="p50"),
    )
    assert results["set"]["Values"] == []
    assert results["setsum"]["Values"] == [55.0]
    assert results["one"]["Values"] == [4.0]
    assert results["flat"]["Values"] == [3.0]
    assert results["negative"]["Values"] == []  # "not available ... when any of the metric values are negative"


def test_simple_statistics_combine_values_counts_and_statistic_sets(aws):
    _put(
        aws,
        {"Value": 4.0},
        {"Values": [1.0, 3.0], "Counts": [2, 1]},
        {"StatisticValues": {"SampleCount": 3, "Sum": 10, "Minimum": 2, "Maximum": 6}},
    )
    stats = ["Sum", "SampleCount", "Minimum", "Maximum", "Average"]
    results = _get(aws, *[_query(s.lower(), stat=s) for s in stats])

    # 4 + (1 + 1 + 3) + 10 = 19 over 1 + 3 + 3 = 7 samples; min 1 (Values), max 6 (the statistic set)
    assert {s: results[s.lower()]["Values"] for s in stats} == {
        "Sum": [19.0],
        "SampleCount": [7.0],
        "Minimum": [1.0],
        "Maximum": [6.0],
        "Average": [pytest.approx(19 / 7)],
    }


def test_values_and_counts_are_stored_once_per_entry(aws):
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[_account(aws)][REGION]
    before = len(backend.metric_data)
    _put(aws, {"Values": [1.0, 2.0, 3.0], "Counts": [1000, 1000, 500]})

    assert len(backend.metric_data) == before + 1
    assert _get(aws, _query("n", stat="SampleCount"))["n"]["Values"] == [2500.0]


def test_queries_match_namespace_and_exact_dimensions(aws):
    fn = [{"Name": "FunctionName", "Value": "f"}]
    fn_and_version = [*fn, {"Name": "Resource", "Value": "f:1"}]
    _put(aws, {"Value": 1.0, "Dimensions": fn}, {"Value": 10.0, "Dimensions": fn_and_version}, namespace="A")
    _put(aws, {"Value": 100.0, "Dimensions": fn}, {"Value": 1000.0}, namespace="B")

    results = _get(
        aws,
        _query("a_fn", namespace="A", dimensions=fn),
        _query("a_both", namespace="A", dimensions=list(reversed(fn_and_version))),
        _query("b_fn", namespace="B", dimensions=fn),
        _query("b_none", namespace="B"),
        _query("a_none", namespace="A"),
        _query("other", namespace="A", dimensions=[{"Name": "FunctionName", "Value": "g"}]),
    )
    assert {qid: r["Values"] for qid, r in results.items()} == {
        "a_fn": [1.0],
        "a_both": [10.0],
        "b_fn": [100.0],
        "b_none": [1000.0],
        "a_none": [],
        "other": [],
    }


def test_daily_periods_over_eight_days(aws):
    # One value at 03:00 every day, plus one outside [StartTime, EndTime) on each side.
    entries = [{"Value": float(day + 1), "Timestamp": START + timedelta(days=day, hours=3)} for day in range(8)]
    entries += [{"Value": 99.0, "Timestamp": START - timedelta(hours=1)}, {"Value": 99.0, "Timestamp": END}]
    _put(aws, *entries)

    default = _get(aws, _query("q"))["q"]
    ascending = _get(aws, _query("q"), ScanBy="TimestampAscending")["q"]

    days = [START + timedelta(days=day) for day in range(8)]
    assert ascending["Timestamps"] == days
    assert ascending["Values"] == [float(day + 1) for day in range(8)]
    # ScanBy defaults to TimestampDescending.
    assert default["Timestamps"] == days[::-1]
    assert default["Values"] == [float(8 - day) for day in range(8)]
    assert default["StatusCode"] == "Complete"


def test_periods_start_at_start_time_and_skip_empty_ones(aws):
    start = START + timedelta(minutes=30)  # not aligned to the hour: buckets are [start + k*period, ...)
    _put(
        aws,
        {"Value": 1.0, "Timestamp": start},
        {"Value": 2.0, "Timestamp": start + timedelta(minutes=59)},
        {"Value": 4.0, "Timestamp": start + timedelta(hours=3, minutes=1)},
    )
    result = _get(aws, _query("q", period=3600), StartTime=start, EndTime=start + timedelta(hours=6))["q"]
    assert result["Timestamps"] == [start + timedelta(hours=3), start]
    assert result["Values"] == [4.0, 3.0]


def test_return_data_false_is_omitted_and_labels_default_to_the_metric_name(aws):
    _put(aws, {"Value": 1.0})
    results = _get(
        aws,
        _query("hidden", ReturnData=False),
        _query("plain", metric="M"),
        _query("labelled", Label="my label"),
    )
    assert set(results) == {"plain", "labelled"}
    assert results["plain"]["Label"] == "M"
    assert results["labelled"]["Label"] == "my label"


def test_account_usage_counts_versions_and_layers(aws):
    _create_functions(aws, ["versioned"])
    client = aws.client("lambda")
    package = client.get_function(FunctionName="versioned")["Configuration"]["CodeSize"]
    client.publish_version(FunctionName="versioned")
    layer = client.publish_layer_version(LayerName="shared", Content={"ZipFile": _code()})["Content"]["CodeSize"]

    usage = client.get_account_settings()["AccountUsage"]

    assert usage == {"FunctionCount": 1, "TotalCodeSize": 2 * package + layer}


# -- Lambda configuration fields --------------------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html


def test_dead_letter_config_is_kept_and_tracing_is_updatable(aws):
    role = aws.client("iam").create_role(RoleName="dlq-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws.client("lambda")
    dlq = "arn:aws:sqs:eu-west-1:123456789012:failures"
    lam.create_function(
        FunctionName="with-dlq",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _code()},
        DeadLetterConfig={"TargetArn": dlq},
    )
    (listed,) = lam.list_functions()["Functions"]
    assert listed["DeadLetterConfig"] == {"TargetArn": dlq}
    assert listed["TracingConfig"] == {"Mode": "PassThrough"}

    lam.update_function_configuration(FunctionName="with-dlq", TracingConfig={"Mode": "Active"}, DeadLetterConfig={})
    configuration = lam.get_function_configuration(FunctionName="with-dlq")
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    assert "DeadLetterConfig" not in configuration


def test_logging_config_is_returned_with_aws_defaults(aws):
    role = aws.client("iam").create_role(RoleName="log-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws.client("lambda")
    common = {"Runtime": "python3.12", "Role": role, "Handler": "app.handler", "Code": {"ZipFile": _code()}}
    lam.create_function(FunctionName="plain", **common)
    lam.create_function(
        FunctionName="structured", LoggingConfig={"LogFormat": "JSON", "LogGroup": "/custom/shared"}, **common
    )
    configs = {f["FunctionName"]: f["LoggingConfig"] for f in lam.list_functions()["Functions"]}
    assert configs["plain"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    assert configs["structured"] == {
        "LogFormat": "JSON",
        "LogGroup": "/custom/shared",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }


def test_msk_event_source_mappings_are_accepted_and_listed(aws):
    role = aws.client("iam").create_role(RoleName="msk-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName="orders-consumer",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _code()},
    )
    cluster = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-1"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(EventSourceArn=cluster, FunctionName="orders-consumer")
    lam.create_event_source_mapping(
        EventSourceArn=cluster, FunctionName="orders-consumer", Topics=["orders"], StartingPosition="LATEST"
    )
    (mapping,) = lam.list_event_source_mappings()["EventSourceMappings"]
    assert mapping["EventSourceArn"] == cluster and mapping["FunctionArn"].endswith(":function:orders-consumer")
