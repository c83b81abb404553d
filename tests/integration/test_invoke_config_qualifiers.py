"""Asynchronous invocation configs per qualifier: the sandbox keeps them apart, the auditor reads them all.

The sandbox tests fail against plain moto 5.2.5, which ignores Qualifier (Get answers the first config
put on any qualifier, List returns at most one). API references:
https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctionEventInvokeConfigs.html
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.lookups import failure_destinations
from healthaudit.config import AuditConfig
from healthaudit_sandbox.fleet import tiny_zip
from healthaudit_sandbox.proxy import AwsProxy, Rewrite
from tests.support.clock import AT

LIST_CONFIGS = r"GET /2019-09-25/functions/[^/]+/event-invoke-config/list"


def _function(aws, name: str = "orders") -> str:
    iam, lam = aws.client("iam"), aws.client("lambda")
    try:
        role = iam.get_role(RoleName="r")["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="a.b", Code={"ZipFile": tiny_zip()}
    )["FunctionArn"]
    lam.publish_version(FunctionName=name)
    return arn


def _queue(aws, name: str) -> str:
    url = aws.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    return aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _on_failure(destination: str) -> dict:
    return {"OnFailure": {"Destination": destination}}


# ------------------------------------------------------------------------------------------------
# The sandbox
# ------------------------------------------------------------------------------------------------


def test_each_qualifier_has_its_own_config(aws):
    arn = _function(aws)
    lam = aws.client("lambda")
    lam.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    failures = _queue(aws, "failures")

    lam.put_function_event_invoke_config(
        FunctionName="orders", Qualifier="live", DestinationConfig=_on_failure(failures)
    )
    lam.put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)

    live = lam.get_function_event_invoke_config(FunctionName="orders", Qualifier="live")
    latest = lam.get_function_event_invoke_config(FunctionName="orders")
    assert live["FunctionArn"] == f"{arn}:live"
    assert live["DestinationConfig"]["OnFailure"] == {"Destination": failures}
    assert latest["FunctionArn"] == f"{arn}:$LATEST"  # as in the service model's example
    assert latest["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    assert latest["MaximumRetryAttempts"] == 0 and "MaximumRetryAttempts" not in live
    with pytest.raises(ClientError) as raised:
        lam.get_function_event_invoke_config(FunctionName="orders", Qualifier="1")  # the version has none
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_qualifier_in_the_function_name_is_the_same_qualifier(aws):
    _function(aws)
    lam = aws.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="orders:1", MaximumEventAgeInSeconds=600)

    assert lam.get_function_event_invoke_config(FunctionName="orders", Qualifier="1")["MaximumEventAgeInSeconds"] == 600
    with pytest.raises(ClientError) as raised:
        lam.get_function_event_invoke_config(FunctionName="orders:1", Qualifier="2")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_put_overwrites_and_update_merges(aws):
    _function(aws)
    lam = aws.client("lambda")
    failures = _queue(aws, "failures")
    lam.put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=1)
    lam.update_function_event_invoke_config(FunctionName="orders", DestinationConfig=_on_failure(failures))
    merged = lam.get_function_event_invoke_config(FunctionName="orders")
    lam.put_function_event_invoke_config(FunctionName="orders", MaximumEventAgeInSeconds=60)
    overwritten = lam.get_function_event_invoke_config(FunctionName="orders")

    assert (merged["MaximumRetryAttempts"], merged["DestinationConfig"]["OnFailure"]) == (1, {"Destination": failures})
    # "If you exclude any settings, they are removed."
    assert "MaximumRetryAttempts" not in overwritten and overwritten["DestinationConfig"]["OnFailure"] == {}


@pytest.mark.parametrize("qualifier", ["7", "no-such-alias"])
def test_a_qualifier_that_names_nothing_is_not_found(aws, qualifier):
    _function(aws)
    with pytest.raises(ClientError) as raised:
        aws.client("lambda").put_function_event_invoke_config(FunctionName="orders", Qualifier=qualifier)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_pages_through_every_qualifier(aws):
    arn = _function(aws)
    lam = aws.client("lambda")
    for alias in ("blue", "green"):
        lam.create_alias(FunctionName="orders", Name=alias, FunctionVersion="1")
    for qualifier in (None, "1", "blue", "green"):
        lam.put_function_event_invoke_config(
            FunctionName="orders", MaximumRetryAttempts=0, **({"Qualifier": qualifier} if qualifier else {})
        )

    first = lam.list_function_event_invoke_configs(FunctionName="orders", MaxItems=2)
    paged = [
        config["FunctionArn"]
        for page in lam.get_paginator("list_function_event_invoke_configs").paginate(
            FunctionName=arn, PaginationConfig={"PageSize": 2}
        )
        for config in page["FunctionEventInvokeConfigs"]
    ]

    assert len(first["FunctionEventInvokeConfigs"]) == 2 and first["NextMarker"]
    assert sorted(paged) == sorted(f"{arn}:{q}" for q in ("$LATEST", "1", "blue", "green"))
    with pytest.raises(ClientError) as raised:
        lam.list_function_event_invoke_configs(FunctionName="orders", MaxItems=51)  # "Maximum value of 50"
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_deleting_a_qualifier_or_the_function_takes_its_configs(aws):
    _function(aws)
    lam = aws.client("lambda")
    lam.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    for qualifier in ("live", "1", "$LATEST"):
        lam.put_function_event_invoke_config(FunctionName="orders", Qualifier=qualifier, MaximumRetryAttempts=0)

    lam.delete_function_event_invoke_config(FunctionName="orders", Qualifier="1")
    lam.delete_alias(FunctionName="orders", Name="live")
    left = lam.list_function_event_invoke_configs(FunctionName="orders")["FunctionEventInvokeConfigs"]
    lam.delete_function(FunctionName="orders")
    _function(aws)

    assert [config["FunctionArn"].rsplit(":", 1)[-1] for config in left] == ["$LATEST"]
    assert lam.list_function_event_invoke_configs(FunctionName="orders")["FunctionEventInvokeConfigs"] == []
    with pytest.raises(ClientError) as raised:
        lam.delete_function_event_invoke_config(FunctionName="orders")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ------------------------------------------------------------------------------------------------
# The collector: lookups.failure_destinations
# ------------------------------------------------------------------------------------------------


def test_the_collector_reads_every_qualifier_page_by_page(aws):
    arn = _function(aws)
    lam = aws.client("lambda")
    failures = _queue(aws, "failures")
    aliases = [f"a{i:02d}" for i in range(55)]  # more than one page of 50
    for alias in aliases:
        lam.create_alias(FunctionName="orders", Name=alias, FunctionVersion="1")
        lam.put_function_event_invoke_config(FunctionName="orders", Qualifier=alias, MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(
        FunctionName="orders", Qualifier="a54", DestinationConfig=_on_failure(failures)
    )
    clients = AwsClients(aws, region=aws.region_name)

    results = failure_destinations(clients.client("lambda"), [arn])

    assert results.failed == {}
    assert results.values[arn] == {**dict.fromkeys(aliases[:-1]), "a54": failures}
    assert clients.api_calls() == {"ListFunctionEventInvokeConfigs": 2}


def test_no_config_at_all_is_an_empty_answer_and_a_missing_function_a_gap(aws):
    arn = _function(aws)
    gone = arn.replace(":orders", ":deleted")

    results = failure_destinations(aws.client("lambda"), [arn, gone])

    assert results.values == {arn: {}}
    assert results.failed == {gone: "ListFunctionEventInvokeConfigs failed: ResourceNotFoundException"}


@pytest.mark.parametrize(
    "destination_config",
    [
        pytest.param(None, id="DestinationConfig left out, as the List example shows"),
        pytest.param({"OnSuccess": {}, "OnFailure": {}}, id="OnFailure empty, as the Put example shows"),
    ],
)
def test_both_documented_shapes_of_an_unset_destination_read_as_none(sandbox, aws, destination_config):
    arn = _function(aws)
    aws.client("lambda").put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)

    def reshape(body: dict) -> dict:
        for config in body["FunctionEventInvokeConfigs"]:
            config.pop("DestinationConfig")
            if destination_config is not None:
                config["DestinationConfig"] = destination_config
        return body

    with AwsProxy(sandbox.endpoint) as proxy:
        proxy.rewrites.append(Rewrite(LIST_CONFIGS, reshape))
        results = failure_destinations(
            AwsClients(aws, region=aws.region_name, endpoint_url=proxy.endpoint).client("lambda"), [arn]
        )

    assert proxy.rewritten == [LIST_CONFIGS]
    assert results.values == {arn: {"$LATEST": None}}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda config: config.pop("FunctionArn"), id="no FunctionArn"),
        pytest.param(
            lambda config: config.update(DestinationConfig={"OnFailure": {"Destination": 5}}), id="not an ARN"
        ),
    ],
)
def test_a_malformed_config_is_a_gap_naming_what_was_not_read(sandbox, aws, change):
    arn = _function(aws)
    aws.client("lambda").put_function_event_invoke_config(FunctionName="orders", MaximumRetryAttempts=0)

    def corrupt(body: dict) -> dict:
        for config in body["FunctionEventInvokeConfigs"]:
            change(config)
        return body

    with AwsProxy(sandbox.endpoint) as proxy:
        proxy.rewrites.append(Rewrite(LIST_CONFIGS, corrupt))
        results = failure_destinations(
            AwsClients(aws, region=aws.region_name, endpoint_url=proxy.endpoint).client("lambda"), [arn]
        )

    assert results.values == {}
    assert results.failed[arn].startswith("ListFunctionEventInvokeConfigs answered")


# ------------------------------------------------------------------------------------------------
# The audit: a destination on the alias callers invoke counts
# ------------------------------------------------------------------------------------------------


def _invoked_asynchronously(aws, name: str) -> None:
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": name}],
                "Timestamp": AT - timedelta(hours=hour, minutes=30),
                "Value": 10.0,
            }
            for hour in range(24)
            for metric in ("Invocations", "AsyncEventsReceived")
        ],
    )


def test_an_audit_counts_the_destination_of_the_alias_callers_invoke(aws):
    failures = _queue(aws, "failures")
    lam = aws.client("lambda")
    for name in ("alias-has-one", "none-has-one"):
        _function(aws, name)
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)  # $LATEST: no destination
        _invoked_asynchronously(aws, name)
    lam.put_function_event_invoke_config(
        FunctionName="alias-has-one", Qualifier="live", DestinationConfig=_on_failure(failures)
    )
    lam.put_function_event_invoke_config(FunctionName="none-has-one", Qualifier="live", MaximumRetryAttempts=1)

    report = audit(AwsClients(aws, region=aws.region_name), AuditConfig(), at=AT)

    (finding,) = [f for f in report.findings if f.check_id == "no-failure-destination"]
    assert finding.function_name == "none-has-one"
    assert finding.evidence["on_failure_destination_by_qualifier"] == {"$LATEST": None, "live": None}
    assert report.api_calls["ListFunctionEventInvokeConfigs"] == 2
    assert "GetFunctionEventInvokeConfig" not in report.api_calls
