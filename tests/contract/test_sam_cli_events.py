"""Events that `sam local generate-event` writes, generated at test time by the installed AWS SAM CLI
(aws-sam-cli on PyPI, Apache-2.0; 1.170.0 when these tests were written), fed to the handlers.

SAM has no generator for EventBridge Scheduler or for S3 events through EventBridge; its EventBridge
scheduled event is `cloudwatch scheduled-event`, and `s3 put`/`s3 delete` are S3's direct notifications.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from samcli.lib.generated_sample_events.events import Events

from healthaudit.events import InvalidEvent, parse_audit_event, parse_report_created
from tests.support.clock import AT, day, iso
from tests.support.deployment import aim_environment_at
from tests.support.functions import LambdaContext, load_function

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).with_name("sam")
REGION = "eu-west-1"
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def cli_scheduled_event() -> dict:
    """`sam local generate-event cloudwatch scheduled-event`, run once in the project's folder (its
    samconfig.toml applies, as it does for a developer) and offline: telemetry off, any proxy a dead port."""
    result = subprocess.run(
        [str(SAM), "local", "generate-event", "cloudwatch", "scheduled-event"],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "HTTP_PROXY": NOWHERE, "HTTPS_PROXY": NOWHERE},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def scheduled_event(cli_scheduled_event) -> dict:
    return json.loads(json.dumps(cli_scheduled_event))


def sam_sample_event(service: str, event: str, **options: str) -> dict:
    """The sample `sam local generate-event SERVICE EVENT` writes, made by the library the command calls
    (samcli.lib.generated_sample_events) with the command's defaults for the options not given, so that
    the whole catalogue runs in a second. test_the_library_writes_what_the_cli_writes holds them together."""
    events = Events()
    tags = events.event_mapping[service][event]["tags"]
    # The command hands the library its click options, named with underscores, defaults filled in.
    values = {tag.replace("-", "_"): options.get(tag, spec.get("default")) for tag, spec in tags.items()}
    return json.loads(events.generate_event(service, event, values))


def test_the_library_writes_what_the_cli_writes(scheduled_event):
    """`sam local generate-event cloudwatch scheduled-event` and samcli's event library, given the same
    account, region and rule, write the same event."""
    options = {"account-id": scheduled_event["account"], "region": scheduled_event["region"]}
    assert sam_sample_event("cloudwatch", "scheduled-event", **options) == scheduled_event


@pytest.fixture
def no_aws(monkeypatch):
    for name in ("HEALTHAUDIT_CONFIG_PARAMETER", "HEALTHAUDIT_IDEMPOTENCY_TABLE", "HEALTHAUDIT_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)


def test_sam_scheduled_event_is_read_as_a_scheduled_run_at_its_time(scheduled_event):
    """`sam local generate-event cloudwatch scheduled-event`: an EventBridge rule's Scheduled Event."""
    event = scheduled_event
    run = parse_audit_event(event, now=AFTER_SAMS_TIME)
    assert not run.manual
    assert run.at == datetime(1970, 1, 1, tzinfo=UTC) and event["time"] == "1970-01-01T00:00:00Z"
    assert run.delivery == {
        "scheduled-run": "1970-01-01T00:00:00Z",
        "account": event["account"],
        "region": event["region"],
        "schedule": [f"arn:aws:events:{event['region']}:{event['account']}:rule/ExampleRule"],
    }


@pytest.fixture
def audit_environment(aws, sandbox, monkeypatch):
    """The audit function's environment aimed at a fresh sandbox account, with a report bucket."""
    aim_environment_at(aws, sandbox.endpoint, REGION, monkeypatch)
    for name in ("HEALTHAUDIT_CONFIG_PARAMETER", "HEALTHAUDIT_IDEMPOTENCY_TABLE", "HEALTHAUDIT_SLACK_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    s3, bucket = aws.client("s3"), f"contract-reports-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("HEALTHAUDIT_BUCKET", bucket)
    return {"s3": s3, "bucket": bucket, "account": aws.client("sts").get_caller_identity()["Account"]}


def test_sam_scheduled_event_at_audit_time_stores_the_report_of_its_window(scheduled_event, audit_environment):
    """`sam local generate-event cloudwatch scheduled-event` with `time` set to this test's hour (the one
    field changed): the audit handler stores the report of the day window that ends then."""
    event = scheduled_event
    event["time"] = iso(AT)

    response = load_function("audit").lambda_handler(event, LambdaContext())

    key = f"reports/dt={day(AT)}/account={audit_environment['account']}/region={REGION}/report.json"
    assert response["report_key"] == key
    stored = audit_environment["s3"].get_object(Bucket=audit_environment["bucket"], Key=key)
    assert json.loads(stored["Body"].read())["window"]["end"] == iso(AT)


def test_sam_default_scheduled_event_time_before_any_cloudwatch_data_is_refused(scheduled_event, audit_environment):
    """`sam local generate-event cloudwatch scheduled-event`, unchanged: its time is 1970-01-01T00:00:00Z.
    CloudWatch keeps metrics for 15 months at most
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html), so a
    window that ended then can only read as 'no data'."""
    with pytest.raises(InvalidEvent, match=re.escape("event.time")):
        load_function("audit").lambda_handler(scheduled_event, LambdaContext())


@pytest.mark.parametrize("event", ["put", "delete"])
def test_sam_s3_notifications_sent_straight_to_the_notifier_are_refused_naming_event_detail(event, no_aws):
    """`sam local generate-event s3 put` and `s3 delete`: S3's own notification (a Records list), which
    the notifier never gets; it reads S3's events through EventBridge."""
    with pytest.raises(InvalidEvent, match=re.escape("event.detail: got nothing, expected a JSON object")):
        load_function("notify").lambda_handler(sam_sample_event("s3", event), LambdaContext())


def test_sam_cloudwatch_logs_event_is_refused_by_the_audit_naming_event_source(no_aws):
    """`sam local generate-event cloudwatch logs`: a log subscription's event has no source."""
    with pytest.raises(InvalidEvent, match=re.escape("event.source: got nothing, expected a non-empty string")):
        load_function("audit").lambda_handler(sam_sample_event("cloudwatch", "logs"), LambdaContext())


#: A clock on the day after SAM's samples' time (1970-01-01), so that only their shape is judged here.
AFTER_SAMS_TIME = datetime(1970, 1, 2, tzinfo=UTC)


def audit_on_sams_day(event: dict):
    return parse_audit_event(event, now=AFTER_SAMS_TIME)


def every_sam_sample_event() -> list[tuple[str, str]]:
    return sorted((service, event) for service, events in Events().event_mapping.items() for event in events)


def test_every_sam_sample_event_is_taken_or_refused_naming_a_field():
    """Every sample of the installed SAM CLI's `sam local generate-event` catalogue: the audit takes only
    the scheduled event, the notifier none (SAM has no S3-through-EventBridge sample); every refusal is
    an InvalidEvent that names a field of the event, never another exception."""
    catalogue = every_sam_sample_event()
    assert ("cloudwatch", "scheduled-event") in catalogue and len(catalogue) > 50
    taken: dict[str, list[tuple[str, str]]] = {"audit": [], "notify": []}
    for service, event in catalogue:
        sample = sam_sample_event(service, event)
        for reader, parse in (("audit", audit_on_sams_day), ("notify", parse_report_created)):
            try:
                parse(sample)
            except InvalidEvent as refusal:
                assert str(refusal).startswith("event"), (service, event, reader, refusal)
            else:
                taken[reader].append((service, event))
    assert taken == {"audit": [("cloudwatch", "scheduled-event")], "notify": []}
