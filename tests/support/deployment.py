"""What the template provisions for the functions, made in a sandbox account: the report bucket,
the idempotency table, the Slack secret, the config parameter, the local Slack server (named by
HEALTHAUDIT_SLACK_API_URL, never by the config document), the
functions' execution roles with the template's policies (enforced by the sandbox), and their
environment."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from healthaudit_sandbox.sts_assume import lambda_service_assume_role
from tests.support.functions import running_as_deployed
from tests.support.slack_server import SlackServer
from tests.support.stack_roles import create_function_roles

TOKEN = "xoxb-test-token"
#: The Slack app's signing secret the tests sign clicks with (the template's SlackSigningSecret).
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0123456789"


@contextmanager
def provision(session: Any, region: str, *, multi_account: bool = False) -> Iterator[dict[str, Any]]:
    """The bucket, the table, the secret, the config parameter and the execution roles, with the local
    Slack server they point at. Inside, handlers loaded with tests.support.functions.load_function run
    with their own role's credentials; `stack["credentials"]` has them for functions run elsewhere."""
    s3 = session.client("s3")
    bucket = f"reports-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    table = create_idempotency_table(session, f"idempotency-{bucket}")
    suppressions = create_suppressions_table(session, f"suppressions-{bucket}")
    signing_secret = session.client("secretsmanager").create_secret(
        Name=f"slack-signing-{bucket}", SecretString=SIGNING_SECRET
    )["ARN"]
    secret = session.client("secretsmanager").create_secret(
        Name=f"slack-{bucket}", SecretString=json.dumps({"token": TOKEN})
    )["ARN"]
    with SlackServer(tokens={TOKEN}, channels={CHANNEL}) as slack:
        parameter = f"/healthaudit/{bucket}/config"
        session.client("ssm").put_parameter(
            Name=parameter, Type="String", Value=json.dumps({"slack": {"timeout_seconds": 10}})
        )
        stack = {
            "s3": s3,
            "bucket": bucket,
            "table": table,
            "suppressions_table": suppressions,
            "secret": secret,
            "signing_secret": signing_secret,
            "parameter": parameter,
            "slack": slack,
            # The local Slack server, named the one way the functions accept: HEALTHAUDIT_SLACK_API_URL.
            "slack_api_url": slack.api_url,
            "session": session,
            "account": session.client("sts").get_caller_identity()["Account"],
            "region": region,
        }
        parameters = {
            "SlackSecretArn": secret,
            "SlackChannel": CHANNEL,
            "ConfigParameterName": parameter,
            "MultiAccount": "true" if multi_account else "false",
        }
        stack["roles"] = create_function_roles(session, stack, parameters)
        stack["credentials"] = {
            function: lambda_service_assume_role(role, session_name=function)
            for function, role in stack["roles"].items()
        }
        with running_as_deployed(stack["credentials"]):
            yield stack


def create_idempotency_table(session: Any, name: str) -> str:
    """template.yaml's IdempotencyTable: key `id`, TTL on `expiration`."""
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": True}
    )
    return name


def create_suppressions_table(session: Any, name: str) -> str:
    """template.yaml's SuppressionsTable: partition `target`, sort `finding`, TTL on `expires`."""
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "target", "AttributeType": "S"},
            {"AttributeName": "finding", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "target", "KeyType": "HASH"},
            {"AttributeName": "finding", "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True})
    return name


def aim_environment_at(session: Any, endpoint: str, region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a deployed function or a terminal would have, aimed at a sandbox account."""
    credentials = session.get_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials.token)
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)


@contextmanager
def provisioned(
    session: Any, region: str, monkeypatch: pytest.MonkeyPatch, *, multi_account: bool = False
) -> Iterator[dict[str, Any]]:
    """`provision`, with the environment the template gives the functions set in this process."""
    with provision(session, region, multi_account=multi_account) as stack:
        monkeypatch.setenv("HEALTHAUDIT_BUCKET", stack["bucket"])
        monkeypatch.setenv("HEALTHAUDIT_IDEMPOTENCY_TABLE", stack["table"])
        monkeypatch.setenv("HEALTHAUDIT_SUPPRESSIONS_TABLE", stack["suppressions_table"])
        monkeypatch.setenv("HEALTHAUDIT_SLACK_SIGNING_SECRET_ARN", stack["signing_secret"])
        monkeypatch.setenv("HEALTHAUDIT_CONFIG_PARAMETER", stack["parameter"])
        monkeypatch.setenv("HEALTHAUDIT_SLACK_SECRET_ARN", stack["secret"])
        monkeypatch.setenv("HEALTHAUDIT_SLACK_CHANNEL", CHANNEL)
        monkeypatch.setenv("HEALTHAUDIT_SLACK_API_URL", stack["slack_api_url"])
        yield stack
