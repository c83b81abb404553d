"""The sandbox authorizes role sessions as IAM does (healthaudit_sandbox.authorization), so the
functions' tests run under the template's policies; each test names the AWS behaviour it follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import botocore.exceptions
import pytest

from healthaudit_sandbox.authorization import Decision, evaluate, recorded_calls
from healthaudit_sandbox.sts_assume import lambda_service_assume_role
from tests.support.stack_roles import LAMBDA_TRUST, create_role

REGION = "eu-west-1"


@pytest.fixture
def account(aws):
    return aws


def session_of(sandbox, admin, name: str, *statements: dict) -> boto3.Session:
    """A Lambda execution role with these statements, and a session of it as Lambda hands it out."""
    arn = create_role(admin.client("iam"), name, LAMBDA_TRUST, [{"Statement": list(statements)}] if statements else [])
    credentials = lambda_service_assume_role(arn, session_name=name)
    return boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )


def client(sandbox, session: boto3.Session, service: str):
    return session.client(service, endpoint_url=sandbox.endpoint)


def denied(call) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response


def allow(action: str, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# -- evaluation, as the policy evaluation logic documents it -------------------------------------


@pytest.mark.parametrize(
    "statements, action, resource, decision",
    [
        (
            [allow("lambda:GetFunctionConcurrency", "arn:aws:lambda:*:1:function:*")],
            "lambda:GetFunctionConcurrency",
            "arn:aws:lambda:eu-west-1:1:function:f",
            Decision.ALLOWED,
        ),
        (
            [allow("lambda:GetFunctionConcurrency", "arn:aws:lambda:*:1:function:*")],
            "lambda:GetFunctionConcurrency",
            "*",
            Decision.IMPLICIT_DENY,
        ),  # a scoped grant never covers an action authorized on "*"
        ([allow("Lambda:getfunction*")], "lambda:GetFunctionConcurrency", "*", Decision.ALLOWED),  # actions ignore case
        (
            [allow("s3:GetObject", "arn:aws:s3:::b/reports/*")],
            "s3:GetObject",
            "arn:aws:s3:::b/Reports/x",
            Decision.IMPLICIT_DENY,
        ),  # resources do not
        ([allow("s3:GetObject", "arn:aws:s3:::b/?/x")], "s3:GetObject", "arn:aws:s3:::b/a/x", Decision.ALLOWED),
        (
            [allow("*"), {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.EXPLICIT_DENY,
        ),  # an explicit deny wins
        (
            [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
            "iam:SimulatePrincipalPolicy",
            "*",
            Decision.IMPLICIT_DENY,
        ),
        (
            [{**allow("s3:GetObject"), "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}],
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.IMPLICIT_DENY,
        ),
        (
            [{**allow("s3:GetObject"), "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}],
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.ALLOWED,
        ),
        (
            [{**allow("s3:GetObject"), "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}],
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.IMPLICIT_DENY,
        ),  # a key the sandbox cannot know: no allow
        ([], "xray:GetServiceGraph", "*", Decision.IMPLICIT_DENY),
    ],
)
def test_identity_policy_evaluation_follows_iams_evaluation_logic(statements, action, resource, decision):
    context = {"aws:requestedregion": "eu-west-1"}
    assert evaluate([{"Statement": statements}], action, resource, context) == decision


# -- requests ---------------------------------------------------------------------------------------


def test_lambda_function_actions_are_authorized_on_the_function_arn(sandbox, account):
    role = session_of(
        sandbox,
        account,
        "reader",
        allow("lambda:GetFunctionConcurrency", f"arn:aws:lambda:{REGION}:{account_id(account)}:function:allowed-*"),
    )
    lam = client(sandbox, role, "lambda")
    for name in ("allowed-fn", "other-fn"):
        create_function(account, name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="allowed-fn")
    refusal = denied(lambda: lam.get_function_concurrency(FunctionName="other-fn"))
    assert refusal["Error"]["Code"] == "AccessDeniedException"
    assert refusal["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "function:other-fn" in refusal["Error"]["Message"]
    # ListFunctions is authorized on "*": a function-scoped grant does not allow it.
    assert denied(lambda: lam.list_functions())["Error"]["Code"] == "AccessDeniedException"


def test_start_query_is_authorized_on_every_log_group_it_reads(sandbox, account):
    logs_admin = account.client("logs")
    for group in ("/aws/lambda/a", "/secret/b"):
        logs_admin.create_log_group(logGroupName=group)
    role = session_of(
        sandbox,
        account,
        "querier",
        allow("logs:StartQuery", f"arn:aws:logs:{REGION}:{account_id(account)}:log-group:/aws/lambda/*"),
    )
    logs = client(sandbox, role, "logs")
    now = int(datetime.now(UTC).timestamp())
    assert logs.start_query(
        logGroupNames=["/aws/lambda/a"], startTime=now - 60, endTime=now, queryString="fields @message"
    )
    refusal = denied(
        lambda: logs.start_query(
            logGroupNames=["/aws/lambda/a", "/secret/b"], startTime=now - 60, endTime=now, queryString="fields @message"
        )
    )
    assert "log-group:/secret/b" in refusal["Error"]["Message"]


def test_cloudwatch_and_tagging_use_their_iam_prefixes_not_their_signing_names(sandbox, account):
    """GetMetricData is signed for "monitoring" and GetResources for "tagging"; IAM names cloudwatch: and tag:."""
    role = session_of(sandbox, account, "metrics", allow("cloudwatch:GetMetricData"), allow("tag:GetResources"))
    now = datetime.now(UTC)
    client(sandbox, role, "cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - timedelta(hours=1),
        EndTime=now,
    )
    client(sandbox, role, "resourcegroupstaggingapi").get_resources()
    assert {"cloudwatch:GetMetricData", "tag:GetResources"} <= recorded_calls()[role_arn(account, "metrics")]


def test_rest_operations_are_named_by_the_service_model(sandbox, account):
    """moto names X-Ray's GetServiceGraph "ServiceGraph" (its URL); IAM authorizes xray:GetServiceGraph."""
    role = session_of(sandbox, account, "grapher", allow("xray:GetServiceGraph"))
    now = datetime.now(UTC)
    client(sandbox, role, "xray").get_service_graph(StartTime=now - timedelta(hours=1), EndTime=now)


def test_dynamodb_ssm_and_secrets_are_authorized_on_their_own_arns(sandbox, account):
    acct = account_id(account)
    account.client("dynamodb").create_table(
        TableName="records",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    account.client("ssm").put_parameter(Name="/app/config", Type="String", Value="{}")
    account.client("ssm").put_parameter(Name="/other/config", Type="String", Value="{}")
    secret = account.client("secretsmanager").create_secret(Name="slack", SecretString="x")["ARN"]
    role = session_of(
        sandbox,
        account,
        "reader2",
        allow("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{acct}:table/records"),
        allow("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{acct}:parameter/app/config"),
        allow("secretsmanager:GetSecretValue", secret),
    )
    client(sandbox, role, "dynamodb").get_item(TableName="records", Key={"id": {"S": "1"}})
    assert denied(lambda: client(sandbox, role, "dynamodb").put_item(TableName="records", Item={"id": {"S": "1"}}))
    client(sandbox, role, "ssm").get_parameter(Name="/app/config")
    assert denied(lambda: client(sandbox, role, "ssm").get_parameter(Name="/other/config"))
    assert client(sandbox, role, "secretsmanager").get_secret_value(SecretId="slack")["SecretString"] == "x"


@pytest.mark.parametrize(
    "may_list, missing_key_answer",
    [(True, (404, "NoSuchKey")), (False, (403, "AccessDenied"))],
)
def test_s3_answers_a_missing_key_with_403_to_a_caller_without_list_bucket(
    sandbox, account, may_list, missing_key_answer
):
    """API_GetObject.html, Permissions: without s3:ListBucket, a missing key is 403 Access Denied, not 404."""
    bucket = f"b-{account_id(account)}-{int(may_list)}"
    account.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    account.client("s3").put_object(Bucket=bucket, Key="reports/there.json", Body=b"{}")
    statements = [allow("s3:GetObject", f"arn:aws:s3:::{bucket}/reports/*")]
    if may_list:
        statements.append(allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    s3 = client(sandbox, session_of(sandbox, account, f"s3-{int(may_list)}", *statements), "s3")
    assert s3.get_object(Bucket=bucket, Key="reports/there.json")["Body"].read() == b"{}"
    refusal = denied(lambda: s3.get_object(Bucket=bucket, Key="reports/missing.json"))
    assert (refusal["ResponseMetadata"]["HTTPStatusCode"], refusal["Error"]["Code"]) == missing_key_answer
    # Outside the granted prefix the answer is 403 whether the key exists or not.
    assert denied(lambda: s3.get_object(Bucket=bucket, Key="elsewhere.json"))["Error"]["Code"] == "AccessDenied"


def test_get_caller_identity_needs_no_permission_and_the_sandbox_admin_needs_none(sandbox, account):
    """API_GetCallerIdentity.html: "No permissions are required to perform this operation." """
    role = session_of(sandbox, account, "nothing")
    assert client(sandbox, role, "sts").get_caller_identity()["Arn"].endswith("assumed-role/nothing/nothing")
    assert denied(lambda: client(sandbox, role, "lambda").list_functions())
    account.client("lambda").list_functions()  # the account's administrator that sets up each test


def test_lambda_hands_out_credentials_only_for_roles_that_trust_it(account):
    iam = account.client("iam")
    trusts_someone_else = {
        **LAMBDA_TRUST,
        "Statement": [{**LAMBDA_TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}],
    }
    arn = create_role(iam, "ec2-role", trusts_someone_else, [])
    with pytest.raises(ValueError, match="does not trust lambda.amazonaws.com"):
        lambda_service_assume_role(arn, session_name="x")
    with pytest.raises(ValueError, match="does not exist"):
        lambda_service_assume_role(arn.replace("ec2-role", "nobody"), session_name="x")


# -- helpers ----------------------------------------------------------------------------------------


def account_id(session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def role_arn(session, name: str) -> str:
    return f"arn:aws:iam::{account_id(session)}:role/{name}"


def create_function(session, name: str) -> None:
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    role = create_role(session.client("iam"), f"{name}-role", LAMBDA_TRUST, [])
    session.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": code.getvalue()}
    )
