"""IAM policy simulation and the X-Ray service graph in the sandbox (iam_simulation.py, xray_graph.py).

Every test goes through boto3 to the sandbox and fails against plain moto 5.2.5, which has no
SimulatePrincipalPolicy, knows no AWS managed policy unless told to load them all, and answers
GetServiceGraph with no services.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from healthaudit.audit import audit
from healthaudit.collect.clients import AwsClients
from healthaudit.collect.xray import RolePermission, tracing_permissions
from healthaudit.config import AuditConfig
from healthaudit.model import DataSource
from healthaudit_sandbox.fleet import tiny_zip
from healthaudit_sandbox.iam_simulation import FULL_AWS_ACCESS, set_service_control_policies
from healthaudit_sandbox.lambda_traces import (
    AwsCall,
    HttpCall,
    lambda_invocation_documents,
    put_lambda_invocation_trace,
    put_trace_documents,
)
from tests.support.clock import AT

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _role(iam, name: str = "fn-role") -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]


def _decisions(iam, arn: str, actions=XRAY_ACTIONS, **kwargs) -> dict[tuple[str, str], str]:
    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, **kwargs)["EvaluationResults"]
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}


# ------------------------------------------------------------------------------------------------
# SimulatePrincipalPolicy
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy_name", ["AWSXRayDaemonWriteAccess", "AWSXrayWriteOnlyAccess"])
def test_aws_managed_xray_write_policies_allow_both_actions(aws, policy_name):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=f"arn:aws:iam::aws:policy/{policy_name}")

    response = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)

    assert response["IsTruncated"] is False
    results = response["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("xray:PutTraceSegments", "*", "allowed"),
        ("xray:PutTelemetryRecords", "*", "allowed"),
    ]
    matched = results[0]["MatchedStatements"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in matched] == [(policy_name, "aws-managed")]
    assert iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"][0]["PolicyName"] == policy_name


def test_role_without_policies_is_implicitly_denied(aws):
    iam = aws.client("iam")
    arn = _role(iam)

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == ["implicitDeny", "implicitDeny"]
    assert all(r["MatchedStatements"] == [] for r in results)


def test_inline_wildcard_allow_names_the_statement(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="tracing",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "xray:*", "Resource": "*"}),
    )

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == ["allowed", "allowed"]
    # The statement's braces in the indent=2 document: line 4 column 5 to line 8 column 6 (1-based).
    assert results[0]["MatchedStatements"] == [
        {
            "SourcePolicyId": "tracing",
            "SourcePolicyType": "role",
            "StartPosition": {"Line": 4, "Column": 5},
            "EndPosition": {"Line": 8, "Column": 6},
        }
    ]


def test_explicit_deny_wins_over_allow(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="allow-all",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="no-segments",
        PolicyDocument=_policy({"Effect": "Deny", "Action": "xray:PutTraceSegments", "Resource": "*"}),
    )

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == ["explicitDeny", "allowed"]
    # "the deny statement is the only entry included in the result"
    assert [m["SourcePolicyId"] for m in results[0]["MatchedStatements"]] == ["no-segments"]
    assert [m["SourcePolicyId"] for m in results[1]["MatchedStatements"]] == ["allow-all"]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        pytest.param(
            {"Effect": "Allow", "NotAction": "xray:PutTraceSegments", "Resource": "*"},
            ["implicitDeny", "allowed"],
            id="not-action",
        ),
        pytest.param({"Effect": "Allow", "Action": "XRAY:put*", "Resource": "*"}, ["allowed", "allowed"], id="case"),
        pytest.param(
            {"Effect": "Allow", "Action": "xray:PutT?aceSegments", "Resource": "*"},
            ["allowed", "implicitDeny"],
            id="question-mark",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": ["s3:GetObject", "xray:PutTelemetryRecords"], "Resource": ["*"]},
            ["implicitDeny", "allowed"],
            id="action-list",
        ),
    ],
)
def test_action_matching(aws, statement, expected):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(RoleName="fn-role", PolicyName="p", PolicyDocument=_policy(statement))

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == expected


def test_resource_scoped_allow_is_evaluated_per_resource(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    account = arn.split(":")[4]
    orders = f"arn:aws:dynamodb:eu-west-1:{account}:table/orders"
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="orders",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:*:table/orders"}
        ),
    )
    other = f"arn:aws:dynamodb:eu-west-1:{account}:table/users"

    per_resource = _decisions(iam, arn, ["dynamodb:GetItem", "dynamodb:PutItem"], ResourceArns=[orders, other])
    default = _decisions(iam, arn, ["dynamodb:GetItem"])

    assert per_resource == {
        ("dynamodb:GetItem", orders): "allowed",
        ("dynamodb:GetItem", other): "implicitDeny",
        ("dynamodb:PutItem", orders): "implicitDeny",
        ("dynamodb:PutItem", other): "implicitDeny",
    }
    assert default == {("dynamodb:GetItem", "*"): "implicitDeny"}  # "*" is not a table of that name


def test_customer_managed_policy_and_user_through_group(aws):
    iam = aws.client("iam")
    policy_arn = iam.create_policy(
        PolicyName="tracing-writer",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "xray:Put*", "Resource": "*"}),
    )["Policy"]["Arn"]
    role_arn = _role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=policy_arn)
    user_arn = iam.create_user(UserName="dev")["User"]["Arn"]
    iam.create_group(GroupName="tracers")
    iam.add_user_to_group(GroupName="tracers", UserName="dev")
    iam.attach_group_policy(GroupName="tracers", PolicyArn=policy_arn)

    role_results = iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=XRAY_ACTIONS)
    user_decisions = _decisions(iam, user_arn)

    assert [r["EvalDecision"] for r in role_results["EvaluationResults"]] == ["allowed", "allowed"]
    matched = role_results["EvaluationResults"][0]["MatchedStatements"][0]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("tracing-writer", "user-managed")
    assert set(user_decisions.values()) == {"allowed"}


def test_permissions_boundary_must_also_allow(aws):
    iam = aws.client("iam")
    boundary = iam.create_policy(
        PolicyName="boundary",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "xray:PutTelemetryRecords", "Resource": "*"}),
    )["Policy"]["Arn"]
    arn = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)["Role"][
        "Arn"
    ]
    iam.attach_role_policy(RoleName="fn-role", PolicyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == ["implicitDeny", "allowed"]
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in results] == [False, True]


def test_conditions_use_context_entries_and_report_missing_keys(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="regional",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "xray:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "xray:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}},
            },
        ),
    )

    def simulate(region=None):
        context = (
            [{"ContextKeyName": "aws:requestedregion", "ContextKeyValues": [region], "ContextKeyType": "string"}]
            if region
            else []
        )
        return iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["xray:PutTraceSegments"], ContextEntries=context
        )["EvaluationResults"][0]

    missing = simulate()
    assert missing["EvalDecision"] == "allowed"
    assert missing["MissingContextValues"] == ["aws:RequestedRegion"]
    assert simulate("eu-west-1")["EvalDecision"] == "allowed"
    assert simulate("us-east-1")["EvalDecision"] == "explicitDeny"


def test_unknown_role_is_no_such_entity(aws):
    iam = aws.client("iam")
    account = aws.client("sts").get_caller_identity()["Account"]

    with pytest.raises(ClientError) as raised:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{account}:role/missing", ActionNames=["xray:PutTraceSegments"]
        )

    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_results_page_with_max_items_and_marker(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules"]

    first = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, MaxItems=2)
    second = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, MaxItems=2, Marker=first["Marker"])
    paged = [
        r["EvalActionName"]
        for page in iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=arn, ActionNames=actions, PaginationConfig={"PageSize": 1}
        )
        for r in page["EvaluationResults"]
    ]

    assert first["IsTruncated"] is True
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2]
    assert second["IsTruncated"] is False
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == actions[2:]
    assert paged == actions


# ------------------------------------------------------------------------------------------------
# GetServiceGraph
# ------------------------------------------------------------------------------------------------

# The documents of the trace 1-59602603-23fc5b688855d396af79b496 that applications sent, from
# "Getting data from AWS X-Ray" (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-gettingdata.html):
# a Scorekeep segment on Elastic Beanstalk invoking the Lambda function random-name and updating the
# DynamoDB table scorekeep-user; the AWS::Lambda and AWS::Lambda::Function segments, the function
# publishing to SNS. (The guide's two inferred segments are made by X-Ray, not sent.)
SCOREKEEP = {
    "id": "194fcc8747581230",
    "name": "Scorekeep",
    "start_time": 1.499473411562e9,
    "end_time": 1.499473414794e9,
    "http": {
        "request": {"url": "http://scorekeep.elasticbeanstalk.com/api/user", "method": "POST"},
        "response": {"status": 200},
    },
    "trace_id": "1-59602603-23fc5b688855d396af79b496",
    "user": "5M388M1E",
    "origin": "AWS::ElasticBeanstalk::Environment",
    "subsegments": [
        {
            "id": "0c544c1b1bbff948",
            "name": "Lambda",
            "start_time": 1.499473411629e9,
            "end_time": 1.499473414572e9,
            "http": {"response": {"status": 200, "content_length": 14}},
            "aws": {
                "log_type": "None",
                "status_code": 200,
                "function_name": "random-name",
                "invocation_type": "RequestResponse",
                "operation": "Invoke",
                "request_id": "ac086670-6373-11e7-a174-f31b3397f190",
                "resource_names": ["random-name"],
            },
            "namespace": "aws",
        },
        {
            "id": "071684f2e555e571",
            "name": "## UserModel.saveUser",
            "start_time": 1.499473414581e9,
            "end_time": 1.499473414769e9,
            "subsegments": [
                {
                    "id": "4cd3f10b76c624b4",
                    "name": "DynamoDB",
                    "start_time": 1.49947341469e9,
                    "end_time": 1.499473414769e9,
                    "http": {"response": {"status": 200, "content_length": 57}},
                    "aws": {
                        "table_name": "scorekeep-user",
                        "operation": "UpdateItem",
                        "request_id": "MFQ8CGJ3JTDDVVVASUAAJGQ6NJ82F738BOB4KQNSO5AEMVJF66Q9",
                        "resource_names": ["scorekeep-user"],
                    },
                    "namespace": "aws",
                }
            ],
        },
    ],
}
LAMBDA_SERVICE = {
    "id": "1fb07842d944e714",
    "name": "random-name",
    "start_time": 1.499473411677e9,
    "end_time": 1.499473414572e9,
    "parent_id": "0c544c1b1bbff948",
    "http": {"response": {"status": 200}},
    "aws": {"request_id": "ac086670-6373-11e7-a174-f31b3397f190"},
    "trace_id": "1-59602603-23fc5b688855d396af79b496",
    "origin": "AWS::Lambda",
    "resource_arn": "arn:aws:lambda:us-west-2:123456789012:function:random-name",
}
LAMBDA_FUNCTION = {
    "id": "00f91aa01f4984fd",
    "name": "random-name",
    "start_time": 1.49947341283e9,
    "end_time": 1.49947341457e9,
    "parent_id": "1fb07842d944e714",
    "aws": {
        "function_arn": "arn:aws:lambda:us-west-2:123456789012:function:random-name",
        "resource_names": ["random-name"],
        "account_id": "123456789012",
    },
    "trace_id": "1-59602603-23fc5b688855d396af79b496",
    "origin": "AWS::Lambda::Function",
    "subsegments": [
        {
            "id": "e6d2fe619f827804",
            "name": "annotations",
            "start_time": 1.499473413012e9,
            "end_time": 1.499473413069e9,
            "annotations": {"UserID": "5M388M1E", "Name": "Ola"},
        },
        {
            "id": "b29b548af4d54a0f",
            "name": "SNS",
            "start_time": 1.499473413112e9,
            "end_time": 1.499473414071e9,
            "http": {"response": {"status": 200}},
            "aws": {
                "operation": "Publish",
                "region": "us-west-2",
                "request_id": "a2137970-f6fc-5029-83e8-28aadeb99198",
                "retries": 0,
                "topic_arn": "arn:aws:sns:us-west-2:123456789012:"
                "awseb-e-ruag3jyweb-stack-NotificationTopic-6B829NT9V5O9",
            },
            "namespace": "aws",
        },
        {
            "id": "2279c0030c955e52",
            "name": "Initialization",
            "start_time": 1.499473412064e9,
            "end_time": 1.499473412819e9,
            "aws": {"function_arn": "arn:aws:lambda:us-west-2:123456789012:function:random-name"},
        },
    ],
}

# "Segment with embedded subsegment" from the segment documents page
# (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html): www.example.com
# calling the remote api.example.com.
WWW = {
    "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
    "id": "defdfd9912dc5a56",
    "start_time": 1461096053.37518,
    "end_time": 1461096053.4042,
    "name": "www.example.com",
    "http": {
        "request": {"url": "https://www.example.com/health", "method": "GET", "client_ip": "11.0.3.111"},
        "response": {"status": 200, "content_length": 86},
    },
    "subsegments": [
        {
            "id": "53995c3f42cd8ad8",
            "name": "api.example.com",
            "start_time": 1461096053.37769,
            "end_time": 1461096053.40379,
            "namespace": "remote",
            "http": {
                "request": {"url": "https://api.example.com/health", "method": "POST", "traced": True},
                "response": {"status": 200, "content_length": 861},
            },
        }
    ],
}


def _www_with_fault() -> dict:
    """The same request a second later, the remote API answering 503 and the page 500."""
    document = json.loads(json.dumps(WWW))
    document.update(trace_id="1-5759e989-bd862e3fe1be46a994272794", id="defdfd9912dc5a57", fault=True)
    document["start_time"] += 1
    document["end_time"] += 1
    document["http"]["response"] = {"status": 500}
    call = document["subsegments"][0]
    call.update(id="53995c3f42cd8ad9", fault=True, start_time=call["start_time"] + 1, end_time=call["end_time"] + 1)
    call["http"]["response"] = {"status": 503}
    return document


def _graph(xray, start: float, end: float) -> list[dict]:
    return xray.get_service_graph(StartTime=start, EndTime=end)["Services"]


def _by_key(services: list[dict]) -> dict[tuple[str, str], dict]:
    return {(s["Name"], s.get("Type", "")): s for s in services}


def _edges(services: list[dict]) -> dict[tuple[tuple[str, str], tuple[str, str]], dict]:
    key = {s["ReferenceId"]: (s["Name"], s.get("Type", "")) for s in services}
    return {(key[s["ReferenceId"]], key[e["ReferenceId"]]): e for s in services for e in s["Edges"]}


def _counts(statistics: dict) -> tuple[int, int, int, int, int]:
    """(total, ok, other errors, throttles, faults)."""
    return (
        statistics["TotalCount"],
        statistics["OkCount"],
        statistics["ErrorStatistics"]["OtherCount"],
        statistics["ErrorStatistics"]["ThrottleCount"],
        statistics["FaultStatistics"]["TotalCount"],
    )


def test_documented_scorekeep_trace_gives_lambda_and_dynamodb_nodes(aws):
    xray = aws.client("xray")
    account = aws.client("sts").get_caller_identity()["Account"]
    put_trace_documents(xray, [json.dumps(d) for d in (SCOREKEEP, LAMBDA_SERVICE, LAMBDA_FUNCTION)])

    services = _graph(xray, 1499473400, 1499473500)

    nodes = _by_key(services)
    assert set(nodes) == {
        ("Scorekeep", "client"),
        ("Scorekeep", "AWS::ElasticBeanstalk::Environment"),
        ("random-name", "AWS::Lambda"),
        ("random-name", "AWS::Lambda::Function"),
        ("scorekeep-user", "AWS::DynamoDB::Table"),
        ("SNS", "AWS::SNS"),
    }
    root = nodes[("Scorekeep", "AWS::ElasticBeanstalk::Environment")]
    assert (root["Root"], root["State"], root["AccountId"]) == (True, "active", account)
    assert root["StartTime"] == datetime.fromtimestamp(1.499473411562e9, UTC)
    assert nodes[("random-name", "AWS::Lambda::Function")]["AccountId"] == "123456789012"  # aws.account_id
    assert nodes[("scorekeep-user", "AWS::DynamoDB::Table")]["State"] == "unknown"
    assert "Root" not in nodes[("random-name", "AWS::Lambda")]
    assert sorted(_edges(services)) == [
        (("Scorekeep", "AWS::ElasticBeanstalk::Environment"), ("random-name", "AWS::Lambda")),
        (("Scorekeep", "AWS::ElasticBeanstalk::Environment"), ("scorekeep-user", "AWS::DynamoDB::Table")),
        (("Scorekeep", "client"), ("Scorekeep", "AWS::ElasticBeanstalk::Environment")),
        (("random-name", "AWS::Lambda"), ("random-name", "AWS::Lambda::Function")),
        (("random-name", "AWS::Lambda::Function"), ("SNS", "AWS::SNS")),
    ]
    edges = _edges(services)
    invoke = edges[(("Scorekeep", "AWS::ElasticBeanstalk::Environment"), ("random-name", "AWS::Lambda"))]
    assert _counts(invoke["SummaryStatistics"]) == (1, 1, 0, 0, 0)
    assert invoke["SummaryStatistics"]["TotalResponseTime"] == pytest.approx(2.943)  # the caller's subsegment
    table = nodes[("scorekeep-user", "AWS::DynamoDB::Table")]
    assert table["SummaryStatistics"]["TotalResponseTime"] == pytest.approx(0.079)
    assert table["DurationHistogram"] == [{"Value": 0.079, "Count": 1}]


def test_remote_call_with_fault_counts_on_node_and_edge(aws):
    xray = aws.client("xray")
    put_trace_documents(xray, [json.dumps(WWW), json.dumps(_www_with_fault())])

    services = _graph(xray, 1461096000, 1461096100)

    nodes = _by_key(services)
    assert _counts(nodes[("www.example.com", "")]["SummaryStatistics"]) == (2, 1, 0, 0, 1)
    assert nodes[("api.example.com", "remote")]["State"] == "unknown"
    assert _counts(nodes[("api.example.com", "remote")]["SummaryStatistics"]) == (2, 1, 0, 0, 1)
    edge = _edges(services)[(("www.example.com", ""), ("api.example.com", "remote"))]
    assert _counts(edge["SummaryStatistics"]) == (2, 1, 0, 0, 1)
    assert edge["SummaryStatistics"]["TotalResponseTime"] == pytest.approx(2 * 0.0261)
    assert edge["ResponseTimeHistogram"] == [{"Value": 0.026, "Count": 2}]
    assert edge["Aliases"] == []


def test_independent_subsegment_joins_its_segment(aws):
    xray = aws.client("xray")
    segment = {k: v for k, v in WWW.items() if k != "subsegments"}
    subsegment = {**WWW["subsegments"][0], "type": "subsegment", "trace_id": WWW["trace_id"], "parent_id": WWW["id"]}
    put_trace_documents(xray, [json.dumps(subsegment), json.dumps(segment)])

    services = _graph(xray, 1461096000, 1461096100)

    assert (("www.example.com", ""), ("api.example.com", "remote")) in _edges(services)


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_lambda_invocations_from_the_helper(aws):
    xray = aws.client("xray")
    account = aws.client("sts").get_caller_identity()["Account"]
    rng = random.Random(7)
    orders = AwsCall.dynamodb("orders", "PutItem")
    for second in range(3):
        put_lambda_invocation_trace(xray, "checkout", account, "eu-west-1", T0 + timedelta(seconds=second), [orders])
    put_lambda_invocation_trace(
        xray, "checkout", account, "eu-west-1", T0 + timedelta(seconds=3), [AwsCall.dynamodb("orders", throttle=True)]
    )
    put_lambda_invocation_trace(
        xray,
        "checkout",
        account,
        "eu-west-1",
        T0 + timedelta(seconds=4),
        [orders, HttpCall("https://payments.example.com/charge", "POST", status=503)],
        fault=True,
        cold_start=True,
        rng=rng,
    )
    put_lambda_invocation_trace(xray, "checkout", account, "eu-west-1", T0 + timedelta(seconds=5), throttled=True)

    services = _graph(xray, T0.timestamp(), (T0 + timedelta(minutes=5)).timestamp())

    nodes = _by_key(services)
    assert set(nodes) == {
        ("checkout", "client"),
        ("checkout", "AWS::Lambda"),
        ("checkout", "AWS::Lambda::Function"),
        ("orders", "AWS::DynamoDB::Table"),
        ("payments.example.com", "remote"),
    }
    assert nodes[("checkout", "AWS::Lambda")]["Root"] is True
    assert _counts(nodes[("checkout", "AWS::Lambda")]["SummaryStatistics"]) == (6, 5, 0, 1, 0)
    function = nodes[("checkout", "AWS::Lambda::Function")]
    assert (function["State"], function["AccountId"]) == ("active", account)
    assert _counts(function["SummaryStatistics"]) == (5, 4, 0, 0, 1)
    edges = _edges(services)
    to_function = edges[(("checkout", "AWS::Lambda"), ("checkout", "AWS::Lambda::Function"))]
    assert _counts(to_function["SummaryStatistics"]) == (5, 4, 0, 0, 1)
    to_table = edges[(("checkout", "AWS::Lambda::Function"), ("orders", "AWS::DynamoDB::Table"))]
    assert _counts(to_table["SummaryStatistics"]) == (5, 4, 0, 1, 0)
    assert to_table["SummaryStatistics"]["TotalResponseTime"] == pytest.approx(5 * 0.02)
    to_payments = edges[(("checkout", "AWS::Lambda::Function"), ("payments.example.com", "remote"))]
    assert _counts(to_payments["SummaryStatistics"]) == (1, 0, 0, 0, 1)


def test_helper_documents_follow_the_segment_document_format():
    trace = lambda_invocation_documents(
        "checkout", "123456789012", "eu-west-1", T0, [AwsCall.dynamodb("orders")], rng=random.Random(1)
    )

    service, function = (json.loads(d) for d in trace.documents)
    assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", trace.trace_id)
    assert int(trace.trace_id.split("-")[1], 16) == int(T0.timestamp())
    assert all(re.fullmatch(r"[0-9a-f]{16}", d["id"]) for d in (service, function))
    assert (service["origin"], function["origin"], function["parent_id"]) == (
        "AWS::Lambda",
        "AWS::Lambda::Function",
        service["id"],
    )
    invocation = next(s for s in function["subsegments"] if s["name"] == "Invocation")
    (call,) = invocation["subsegments"]
    assert (call["namespace"], call["aws"]["table_name"], call["aws"]["region"]) == ("aws", "orders", "eu-west-1")
    assert service["start_time"] == T0.timestamp()
    assert service["start_time"] < function["start_time"] < function["end_time"] < service["end_time"]


def test_time_window_keeps_segments_that_start_in_it(aws):
    xray = aws.client("xray")
    account = aws.client("sts").get_caller_identity()["Account"]
    put_lambda_invocation_trace(xray, "early", account, "eu-west-1", T0)
    put_lambda_invocation_trace(xray, "late", account, "eu-west-1", T0 + timedelta(hours=2))

    first_hour = _graph(xray, T0.timestamp(), (T0 + timedelta(hours=1)).timestamp())
    later = _graph(xray, (T0 + timedelta(hours=1)).timestamp(), (T0 + timedelta(hours=3)).timestamp())

    assert {s["Name"] for s in first_hour} == {"early"}
    assert {s["Name"] for s in later} == {"late"}


def test_empty_graph_when_nothing_is_in_range(aws):
    xray = aws.client("xray")
    account = aws.client("sts").get_caller_identity()["Account"]
    put_lambda_invocation_trace(xray, "checkout", account, "eu-west-1", T0)

    response = xray.get_service_graph(StartTime=T0 - timedelta(hours=2), EndTime=T0 - timedelta(hours=1))

    assert response["Services"] == []
    assert response["StartTime"] == T0 - timedelta(hours=2)
    assert _graph(xray, T0.timestamp(), T0.timestamp() + 60) != []  # the same segments are there


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(T0, T0 + timedelta(hours=6, seconds=1), id="longer-than-6-hours"),
        pytest.param(T0, T0 - timedelta(seconds=1), id="end-before-start"),
    ],
)
def test_invalid_time_ranges_are_rejected(aws, start, end):
    xray = aws.client("xray")

    with pytest.raises(ClientError) as raised:
        xray.get_service_graph(StartTime=start, EndTime=end)

    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_six_hours_is_allowed(aws):
    xray = aws.client("xray")
    account = aws.client("sts").get_caller_identity()["Account"]
    put_lambda_invocation_trace(xray, "checkout", account, "eu-west-1", T0 + timedelta(hours=5))

    services = _graph(xray, T0.timestamp(), (T0 + timedelta(hours=6)).timestamp())

    assert ("checkout", "AWS::Lambda::Function") in _by_key(services)


# ------------------------------------------------------------------------------------------------
# Service control policies in SimulatePrincipalPolicy (test-support hook: set_service_control_policies)
# ------------------------------------------------------------------------------------------------

DENY_XRAY_OUTSIDE_EU = {
    "Effect": "Deny",
    "Action": "xray:*",
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}},
}


@pytest.fixture
def organization(aws):
    """Puts the test's account in an organization with the SCPs given; takes it out afterwards."""
    account = aws.client("sts").get_caller_identity()["Account"]

    def with_scps(*statements: dict) -> None:
        set_service_control_policies(account, [FULL_AWS_ACCESS, *(_policy(s) for s in statements)])

    yield with_scps
    set_service_control_policies(account, None)


def _xray_writer(iam, name: str = "fn-role") -> str:
    arn = _role(iam, name)
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")
    return arn


def _region(region: str) -> list[dict]:
    return [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [region], "ContextKeyType": "string"}]


def test_outside_an_organization_results_carry_no_organizations_detail(aws):
    iam = aws.client("iam")
    results = iam.simulate_principal_policy(PolicySourceArn=_xray_writer(iam), ActionNames=XRAY_ACTIONS)

    assert all("OrganizationsDecisionDetail" not in r for r in results["EvaluationResults"])


def test_an_scp_deny_ends_the_simulation_whatever_the_role_allows(aws, organization):
    iam = aws.client("iam")
    arn = _xray_writer(iam)
    organization({"Effect": "Deny", "Action": "xray:PutTraceSegments", "Resource": "*"})

    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]

    assert [r["EvalDecision"] for r in results] == ["explicitDeny", "allowed"]
    assert [r["OrganizationsDecisionDetail"]["AllowedByOrganizations"] for r in results] == [False, True]
    assert results[0]["MatchedStatements"] == []  # undocumented for an SCP: the sandbox lists none


def test_scps_without_full_aws_access_allow_nothing(aws):
    iam = aws.client("iam")
    arn = _xray_writer(iam)
    account = arn.split(":")[4]
    set_service_control_policies(account, [_policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})])
    try:
        results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=XRAY_ACTIONS)["EvaluationResults"]
    finally:
        set_service_control_policies(account, None)

    assert [r["EvalDecision"] for r in results] == ["implicitDeny", "implicitDeny"]
    assert {r["OrganizationsDecisionDetail"]["AllowedByOrganizations"] for r in results} == {False}


@pytest.mark.parametrize(
    ("context", "decision", "allowed_by_organizations", "missing"),
    [
        (_region("eu-west-1"), "allowed", True, []),
        (_region("us-east-1"), "explicitDeny", False, []),
        ([], "allowed", True, ["aws:RequestedRegion"]),  # the SCP's key was not given: IAM says so
    ],
)
def test_an_scp_condition_uses_the_context_entries(
    aws, organization, context, decision, allowed_by_organizations, missing
):
    iam = aws.client("iam")
    arn = _xray_writer(iam)
    organization(DENY_XRAY_OUTSIDE_EU)

    (result,) = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["xray:PutTraceSegments"], ContextEntries=context
    )["EvaluationResults"]

    assert result["EvalDecision"] == decision
    assert result["OrganizationsDecisionDetail"]["AllowedByOrganizations"] is allowed_by_organizations
    assert result["MissingContextValues"] == missing


# ------------------------------------------------------------------------------------------------
# The collector: xray.tracing_permissions against the sandbox
# ------------------------------------------------------------------------------------------------


def test_the_collector_gives_iam_the_audited_region_and_the_role_as_principal(aws, organization):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="tracing-from-this-role",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": "xray:Put*",
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": arn},
                    "StringEquals": {"aws:PrincipalAccount": arn.split(":")[4]},
                },
            }
        ),
    )
    organization(DENY_XRAY_OUTSIDE_EU)

    in_eu, failed = tracing_permissions(iam, [arn], "eu-west-1")
    in_us, _ = tracing_permissions(iam, [arn], "us-east-1")

    assert failed == {}
    assert in_eu[arn] == RolePermission(decisions=dict.fromkeys(XRAY_ACTIONS, "allowed"))
    assert in_us[arn].decisions == dict.fromkeys(XRAY_ACTIONS, "explicitDeny")
    assert set(in_us[arn].denied_by_scp) == set(XRAY_ACTIONS)


def test_missing_context_values_make_the_role_unread_not_refused(aws):
    iam = aws.client("iam")
    arn = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="only-from-the-vpc",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": "xray:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}},
            }
        ),
    )

    answers, failed = tracing_permissions(iam, [arn], "eu-west-1")

    assert answers == {}
    assert "MissingContextValues: aws:SourceVpc" in failed[arn]


def test_a_role_that_is_not_a_role_arn_and_an_unknown_role_are_unread(aws):
    iam = aws.client("iam")
    account = aws.client("sts").get_caller_identity()["Account"]
    gone = f"arn:aws:iam::{account}:role/deleted"

    answers, failed = tracing_permissions(iam, ["not-an-arn", gone], "eu-west-1")

    assert answers == {}
    assert failed == {
        "not-an-arn": "the execution role 'not-an-arn' is not an IAM role ARN",
        gone: "SimulatePrincipalPolicy failed: NoSuchEntity",
    }


# ------------------------------------------------------------------------------------------------
# The audit: an SCP denial is reported as such; an undecidable role is a coverage gap
# ------------------------------------------------------------------------------------------------


def _traced_function(aws, name: str, role: str) -> None:
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="a.b",
        Code={"ZipFile": tiny_zip()},
        TracingConfig={"Mode": "Active"},
    )


def test_an_audit_reports_an_scp_denial_as_the_organizations_doing(aws, organization):
    iam = aws.client("iam")
    _traced_function(aws, "scp-denied", _xray_writer(iam))
    organization({"Effect": "Deny", "Action": "xray:*", "Resource": "*"})

    report = audit(AwsClients(aws, region=aws.region_name), AuditConfig(), at=AT)

    (finding,) = [f for f in report.findings if f.check_id == "tracing-not-permitted"]
    assert "a service control policy of the AWS Organization denies" in finding.message
    assert "not the role" in finding.message
    assert set(finding.evidence["denied_by_service_control_policy"]) == set(XRAY_ACTIONS)


def test_an_audit_calls_an_undecidable_role_a_coverage_gap_never_not_permitted(aws):
    iam = aws.client("iam")
    role = _role(iam)
    iam.put_role_policy(
        RoleName="fn-role",
        PolicyName="only-with-mfa",
        PolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Action": "xray:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ),
    )
    _traced_function(aws, "undecidable", role)

    report = audit(AwsClients(aws, region=aws.region_name), AuditConfig(), at=AT)

    assert not [f for f in report.findings if f.check_id in ("tracing-not-permitted", "traces-missing")]
    (gap,) = [g for g in report.coverage_gaps if g.source == DataSource.ROLE_PERMISSIONS]
    assert gap.function_name == "undecidable"
    assert "aws:MultiFactorAuthPresent" in gap.reason
    assert {f.name: f.status for f in report.functions} == {"undecidable": "unknown"}
