"""EventBridge delivers at least once: the same event, twice or at once, gives one report and one post.

The handlers run as Lambda would run them, against the sandbox's DynamoDB (the template's
IdempotencyTable), S3 (a versioned bucket, so every write of a report is counted) and a local Slack
server. Concurrent deliveries are made deterministic by holding the first one's call at the fault
proxy until the second has been handled.
"""

from __future__ import annotations

import copy
import json
import threading

import pytest

from healthaudit.idempotency import ALREADY_HANDLED, IN_PROGRESS
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.proxy import AwsProxy, Fault
from tests.support.clock import AT, day
from tests.support.deployment import aim_environment_at, provisioned
from tests.support.events import load_event, report_created_event
from tests.support.functions import LambdaContext, load_function

REGION = "eu-west-1"
ACCOUNT = "300000000051"
FLEET = [fn for fn in demo_fleet() if fn.name in {"fraud-scoring", "orders-api", "audit-trail"}]
DATED = f"reports/dt={day(AT)}/account={ACCOUNT}/region={REGION}/report.json"
LATEST = f"latest/account={ACCOUNT}/region={REGION}/report.json"


@pytest.fixture(scope="module")
def small_fleet(sandbox):
    session = sandbox.session_for_account(ACCOUNT, region=REGION)
    seed_fleet(session, AT, FLEET)
    return session


@pytest.fixture
def stack(sandbox, small_fleet, monkeypatch):
    """The deployed stack's resources and environment, with boto3 going through a fault proxy."""
    with provisioned(small_fleet, REGION, monkeypatch) as deployed, AwsProxy(sandbox.endpoint) as proxy:
        aim_environment_at(small_fleet, proxy.endpoint, REGION, monkeypatch)
        yield {**deployed, "proxy": proxy}


def versions(stack: dict, key: str) -> int:
    """How many times the object was written (the bucket is versioned, as the template's is)."""
    listed = stack["s3"].list_object_versions(Bucket=stack["bucket"], Prefix=key)
    return len([v for v in listed.get("Versions", []) if v["Key"] == key])


def scheduled_event() -> dict:
    return load_event("scheduled.json")


def test_a_scheduled_event_delivered_twice_audits_once(stack, capsys):
    audit = load_function("audit")
    first = audit.lambda_handler(scheduled_event(), LambdaContext())
    capsys.readouterr()
    second = audit.lambda_handler(scheduled_event(), LambdaContext())
    assert "duplicate" not in first and first["functions_audited"] == len(FLEET)
    assert second == {**first, "duplicate": ALREADY_HANDLED}  # the first delivery's result, not a second audit
    assert versions(stack, DATED) == 1 and versions(stack, LATEST) == 1
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [line.get("DuplicateDeliveries") for line in emf] == [[1]]  # counted, through the handler's flush


def test_a_scheduler_retry_with_a_new_execution_id_is_the_same_run(stack):
    """Scheduler gives each attempt its own execution id; the scheduled time names the run."""
    audit = load_function("audit")
    audit.lambda_handler(scheduled_event(), LambdaContext())
    retry = {**scheduled_event(), "id": "a-second-attempt-of-the-same-schedule"}
    assert audit.lambda_handler(retry, LambdaContext())["duplicate"] == ALREADY_HANDLED
    assert versions(stack, DATED) == 1


def test_the_next_scheduled_time_is_a_new_run(stack):
    audit = load_function("audit")
    audit.lambda_handler(scheduled_event(), LambdaContext())
    later = {**scheduled_event(), "time": scheduled_event()["time"].replace(":00:00Z", ":00:01Z")}
    assert "duplicate" not in audit.lambda_handler(later, LambdaContext())
    assert versions(stack, DATED) == 2  # the same window, audited again: a rerun writes the report again


def test_manual_runs_are_told_apart_by_their_event_id(stack):
    audit = load_function("audit")
    manual = load_event("manual-run.json")
    audit.lambda_handler(manual, LambdaContext())
    assert audit.lambda_handler(copy.deepcopy(manual), LambdaContext())["duplicate"] == ALREADY_HANDLED
    assert "duplicate" not in audit.lambda_handler({**manual, "id": "another-manual-run"}, LambdaContext())
    # Each manual run has a report of its own under manual/; neither touches the day's report or latest/.
    manual_key = f"manual/dt={day(AT)}/account={ACCOUNT}/region={REGION}/{{}}/report.json"
    assert versions(stack, manual_key.format(manual["id"])) == 1
    assert versions(stack, manual_key.format("another-manual-run")) == 1
    assert versions(stack, DATED) == 0 and versions(stack, LATEST) == 0


def test_a_failed_delivery_leaves_no_record_so_the_retry_audits(stack):
    """The first attempt cannot write its report: it raises, and Lambda's retry must audit, not replay."""
    audit = load_function("audit")
    stack["proxy"].faults.append(Fault(r"PUT /.*/reports/.*", code="AccessDenied", status=403))
    with pytest.raises(Exception, match="AccessDenied"):
        audit.lambda_handler(scheduled_event(), LambdaContext())
    stack["proxy"].faults.clear()
    assert "duplicate" not in audit.lambda_handler(scheduled_event(), LambdaContext())
    assert versions(stack, DATED) == 1


def test_concurrent_deliveries_of_the_scheduled_event_audit_once(stack):
    audit = load_function("audit")
    held = stack["proxy"].hold("GetMetricData")  # the first delivery is mid-audit while the second arrives
    results: dict[str, dict] = {}
    deliver = lambda: results.update(first=audit.lambda_handler(scheduled_event(), LambdaContext()))  # noqa: E731
    first = threading.Thread(target=deliver)
    first.start()
    try:
        assert held.reached.wait(timeout=60), "the first delivery never reached GetMetricData"
        second = audit.lambda_handler(scheduled_event(), LambdaContext())
    finally:
        held.release.set()
        first.join(timeout=120)
    assert second == {"duplicate": IN_PROGRESS}
    assert results["first"]["functions_audited"] == len(FLEET) and "duplicate" not in results["first"]
    assert versions(stack, DATED) == 1 and versions(stack, LATEST) == 1


def test_concurrent_deliveries_of_the_report_event_post_once(stack):
    load_function("audit").lambda_handler(scheduled_event(), LambdaContext())
    notify = load_function("notify")
    event = report_created_event(stack["bucket"], LATEST)
    held = stack["proxy"].hold(r"GET /[^/]+/latest/.*")  # the first delivery is reading the report
    results: dict[str, dict] = {}
    first = threading.Thread(target=lambda: results.update(first=notify.lambda_handler(event, LambdaContext())))
    first.start()
    try:
        assert held.reached.wait(timeout=60), "the first delivery never read the report"
        second = notify.lambda_handler(copy.deepcopy(event), LambdaContext())
    finally:
        held.release.set()
        first.join(timeout=120)
    assert second == {"duplicate": IN_PROGRESS}
    assert results["first"]["status"] == "posted"
    third = notify.lambda_handler(copy.deepcopy(event), LambdaContext())
    assert third == {**results["first"], "duplicate": ALREADY_HANDLED}
    digests = [m for m in stack["slack"].messages if "thread_ts" not in m or not m["thread_ts"]]
    assert len(digests) == 1


def test_a_notify_that_slack_turned_away_is_retried_not_replayed(stack):
    """A Slack outage raises for Lambda's retry; the retry must post, not return the failure."""
    from healthaudit.publish.notify import NotifyRetry

    load_function("audit").lambda_handler(scheduled_event(), LambdaContext())
    notify = load_function("notify")
    event = report_created_event(stack["bucket"], LATEST)
    stack["slack"].fail_next(1, status=503)
    with pytest.raises(NotifyRetry):
        notify.lambda_handler(event, LambdaContext())
    assert notify.lambda_handler(copy.deepcopy(event), LambdaContext())["status"] == "posted"
    assert len([m for m in stack["slack"].messages if not m.get("thread_ts")]) == 1
