"""Events from the test suite of Powertools for AWS Lambda (Python), fed to the handlers' event readers.

Source: https://github.com/aws-powertools/powertools-lambda-python, folder tests/events/ (MIT-0);
tests/contract/payloads/SOURCES.md gives each file's commit.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from healthaudit.collect.clients import AwsClients
from healthaudit.config import AuditConfig, ConfigError
from healthaudit.events import InvalidEvent, parse_report_created
from healthaudit.pipeline import audit_and_publish
from tests.contract.published import payload_json
from tests.support.clock import AT, day
from tests.support.deployment import aim_environment_at
from tests.support.functions import LambdaContext, load_function

REGION = "eu-west-1"
NOWHERE = "http://127.0.0.1:9"
"""Nothing listens there: a handler that called AWS before refusing its event would fail the test."""


def powertools_event(name: str) -> dict:
    return payload_json(f"powertools-lambda-python/{name}")


@pytest.fixture
def no_aws(monkeypatch):
    for name in ("HEALTHAUDIT_CONFIG_PARAMETER", "HEALTHAUDIT_IDEMPOTENCY_TABLE", "HEALTHAUDIT_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEALTHAUDIT_MEMBER_ROLE_NAME", "healthaudit-member-audit")
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)


REFUSED = [
    # EventBridge's own example: an EC2 state change is no schedule and no manual run.
    ("audit", "eventBridgeEvent.json", InvalidEvent, "event.source: got 'aws.ec2'"),
    # EventBridge Scheduler's own envelope (source aws.scheduler, detail a string): the template's schedule
    # sends the aws.events envelope as its Input (template.yaml), so this one comes from another schedule.
    ("audit", "eventBridgeSchedulerEvent.json", InvalidEvent, "event.source: got 'aws.scheduler'"),
    ("audit", "s3EventBridgeNotificationObjectCreatedEvent.json", InvalidEvent, "event.source: got 'aws.s3'"),
    ("notify", "eventBridgeEvent.json", InvalidEvent, "event.detail.bucket: got nothing, expected a JSON object"),
    # Scheduler sends `detail` as a string.
    ("notify", "eventBridgeSchedulerEvent.json", InvalidEvent, "event.detail: got '{}', expected a JSON object"),
    ("plan", "eventBridgeSchedulerEvent.json", ConfigError, "targets: missing"),
]


@pytest.mark.parametrize(
    "function, name, error, names",
    REFUSED,
    ids=[f"{function}-{name.removesuffix('.json')}" for function, name, _, _ in REFUSED],
)
def test_powertools_events_a_handler_does_not_serve_are_refused_naming_the_field(function, name, error, names, no_aws):
    """Powertools tests/events/eventBridgeEvent.json, eventBridgeSchedulerEvent.json and
    s3EventBridgeNotificationObjectCreatedEvent.json, each to a handler that does not serve it."""
    with pytest.raises(error, match=re.escape(names)):
        load_function(function).lambda_handler(powertools_event(name), LambdaContext())


def test_s3_object_created_through_eventbridge_is_read_as_the_object_version_it_names():
    """Powertools tests/events/s3EventBridgeNotificationObjectCreatedEvent.json: an unversioned bucket's
    write carries no version-id, and its sequencer alone tells two writes of one key apart."""
    created = parse_report_created(powertools_event("s3EventBridgeNotificationObjectCreatedEvent.json"))
    assert (created.bucket, created.key) == ("example-bucket", "IMG_m7fzo3.jpg")
    assert created.delivery == {
        "bucket": "example-bucket",
        "key": "IMG_m7fzo3.jpg",
        "version-id": "",
        "sequencer": "006408CAD69598B05E",
    }


@pytest.mark.parametrize(
    "name", ["s3EventBridgeNotificationObjectCreatedEvent.json", "s3EventBridgeNotificationObjectDeletedEvent.json"]
)
def test_s3_events_for_objects_that_are_not_reports_are_ignored_without_reading_them(name, no_aws):
    """Powertools tests/events/s3EventBridgeNotificationObjectCreatedEvent.json and ...ObjectDeletedEvent.json:
    an image in another bucket is not a report; the notifier says so and reads nothing."""
    response = load_function("notify").lambda_handler(powertools_event(name), LambdaContext())
    assert response == {
        "status": "ignored: IMG_m7fzo3.jpg is not a latest/ report",
        "report_key": None,
        "slack_ts": None,
    }


def test_object_created_envelope_leads_the_notifier_to_the_report_it_names(aws, sandbox, monkeypatch):
    """Powertools tests/events/s3EventBridgeNotificationObjectCreatedEvent.json with its bucket name and
    object key aimed at a report this test stored (the two fields changed; no version-id, as Powertools
    wrote it). The notifier reads that report and records its outcome beside it."""
    aim_environment_at(aws, sandbox.endpoint, REGION, monkeypatch)
    for name in ("HEALTHAUDIT_CONFIG_PARAMETER", "HEALTHAUDIT_IDEMPOTENCY_TABLE", "HEALTHAUDIT_SLACK_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    s3 = aws.client("s3")
    bucket = f"contract-reports-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    clients = AwsClients(aws, REGION)
    audit_and_publish(clients, AuditConfig(bucket=bucket), AT, post_to_slack=False)
    account = clients.account_id()
    latest = f"latest/account={account}/region={REGION}/report.json"
    event = powertools_event("s3EventBridgeNotificationObjectCreatedEvent.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = latest

    response = load_function("notify").lambda_handler(event, LambdaContext())

    dated = f"reports/dt={day(AT)}/account={account}/region={REGION}/report.json"
    assert response == {"status": "skipped: no Slack channel configured", "report_key": dated, "slack_ts": None}
    recorded = json.loads(s3.get_object(Bucket=bucket, Key=dated.replace("report.json", "notify.json"))["Body"].read())
    assert recorded["status"] == response["status"]
