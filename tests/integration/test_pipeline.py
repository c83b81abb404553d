"""The pipeline end to end against the sandbox: handler, CLI, demo, S3 and Slack, over real HTTP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from healthaudit.audit import audit
from healthaudit.cli import main
from healthaudit.collect.clients import AwsClients
from healthaudit.config import AuditConfig
from healthaudit.model import DataSource
from healthaudit_sandbox.fleet import seed_fleet, tiny_zip
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.proxy import AwsProxy, Fault
from tests.support.clock import AT, YESTERDAY, day, iso
from tests.support.deployment import aim_environment_at, provisioned
from tests.support.events import LATEST_KEY, load_event, report_created_event
from tests.support.functions import LambdaContext, load_function

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
FLEET = demo_fleet()


def active_by_function(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {fn.name: set() for fn in FLEET}
    for finding in report["findings"]:
        if finding["suppressed_by"] is None and finding["function_name"]:
            found.setdefault(finding["function_name"], set()).add(finding["check_id"])
    return found


def expected_by_function() -> dict[str, set[str]]:
    return {fn.name: set(fn.expect) for fn in FLEET}


@pytest.fixture(scope="module")
def fleet_account(sandbox):
    """One account with the demo fleet, shared by this module's tests (they only read it)."""
    account = "300000000001"
    session = sandbox.session_for_account(account, region=REGION)
    seed_fleet(session, AT, FLEET)
    return session


@pytest.fixture
def aws_env(sandbox, fleet_account, monkeypatch):
    """The environment a deployed function or a terminal would have, aimed at the sandbox account."""
    aim_environment_at(fleet_account, sandbox.endpoint, REGION, monkeypatch)
    return fleet_account


def load_handler():
    return load_function("audit")


@pytest.fixture
def deployed(aws_env, monkeypatch):
    """A report bucket, the Slack secret and the config parameter, as the template provisions them."""
    with provisioned(aws_env, REGION, monkeypatch) as stack:
        yield stack


def stored_report(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


REPORT_KEY = f"reports/dt={day(AT)}/account=300000000001/region=eu-west-1/report.json"


def load_notify_handler():
    return load_function("notify")


def test_scheduled_event_through_the_handler_stores_the_report(deployed, capsys):
    app = load_handler()
    response = app.lambda_handler(load_event("scheduled.json"), LambdaContext())

    assert response["report_key"] == REPORT_KEY
    assert response["slack"] == "left to the notifier"
    assert deployed["slack"].messages == []  # the notify function posts, when the report lands
    report = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)
    assert report == stored_report(deployed["s3"], deployed["bucket"], LATEST_KEY)
    assert report["schema_version"] == "1.0"
    assert report["window"] == {
        "start": iso(YESTERDAY),
        "end": iso(AT),
        "baseline_start": iso(AT - timedelta(days=8)),
    }
    assert active_by_function(report) == expected_by_function()
    assert response["functions_audited"] == len(FLEET)
    html = deployed["s3"].get_object(Bucket=deployed["bucket"], Key=REPORT_KEY.replace(".json", ".html"))
    assert html["ContentType"].startswith("text/html") and b"fraud-scoring" in html["Body"].read()
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["FunctionsAudited"] == [len(FLEET)]
    assert emf[-1]["FindingsHigh"] == [report["counts_by_severity"]["high"]]


def test_report_landing_in_s3_posts_the_digest_once(deployed):
    load_handler().lambda_handler(load_event("scheduled.json"), LambdaContext())
    notify = load_notify_handler()

    response = notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
    assert response["status"] == "posted" and response["report_key"] == REPORT_KEY
    digest, details = deployed["slack"].messages
    assert digest["channel"] == "C0123456789" and "fraud-scoring" in json.dumps(digest["blocks"])
    assert details["thread_ts"] == response["slack_ts"]  # full details in the thread
    link = f"https://{REGION}.console.aws.amazon.com/s3/object/{deployed['bucket']}?region={REGION}&amp;prefix="
    assert link + REPORT_KEY.replace("=", "%3D").replace(".json", ".html") in json.dumps(digest["blocks"])
    assert "X-Amz-" not in json.dumps(digest["blocks"])  # never a pre-signed link: it dies with the session
    outcome = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY.replace("report.json", "notify.json"))
    assert outcome["status"] == "posted"

    again = notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
    assert again == {**response, "duplicate": "already handled"}  # the same delivery: the first one's outcome
    rewritten = report_created_event(deployed["bucket"])
    rewritten["detail"]["object"]["version-id"] = "a-rerun-wrote-the-report-again"
    assert notify.lambda_handler(rewritten, LambdaContext())["status"] == "already posted"  # notify.json says so
    assert len(deployed["slack"].messages) == 2  # neither posts anything more


def test_notify_ignores_objects_that_are_not_latest_reports(deployed):
    notify = load_notify_handler()
    response = notify.lambda_handler(report_created_event(deployed["bucket"], REPORT_KEY), LambdaContext())
    assert response["status"].startswith("ignored")


def test_rerun_of_the_same_event_gives_the_same_report(deployed):
    app = load_handler()
    event = load_event("scheduled.json")
    app.lambda_handler(event, LambdaContext())
    first = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)
    app.lambda_handler(event, LambdaContext())
    assert stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY) == first


MANUAL_RUN_ID = load_event("manual-run.json")["id"]
MANUAL_KEY = f"manual/dt={day(AT)}/account=300000000001/region=eu-west-1/{MANUAL_RUN_ID}/report.json"
DAILY_KEYS = (REPORT_KEY, LATEST_KEY, REPORT_KEY.replace(".json", ".html"), LATEST_KEY.replace(".json", ".html"))


def object_versions(s3, bucket: str) -> dict[str, list[str]]:
    """Every key in the (versioned) bucket with its version ids: any overwrite shows."""
    listed = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    versions: dict[str, list[str]] = {}
    for version in listed:
        versions.setdefault(version["Key"], []).append(version["VersionId"])
    return versions


def test_manual_run_writes_under_manual_and_leaves_the_daily_report_and_latest_untouched(deployed, capsys):
    audit = load_handler()
    audit.lambda_handler(load_event("scheduled.json"), LambdaContext())
    daily = object_versions(deployed["s3"], deployed["bucket"])
    capsys.readouterr()

    response = audit.lambda_handler(load_event("manual-run.json"), LambdaContext())  # events/manual-run.json as is

    payments = {fn.name for fn in FLEET if fn.tags.get("team") == "payments"}
    assert response["report_key"] == MANUAL_KEY
    assert response["functions_audited"] == len(payments)
    assert response["slack"] == "skipped: notify is off for this run"
    after = object_versions(deployed["s3"], deployed["bucket"])
    assert {key: after[key] for key in DAILY_KEYS} == {key: daily[key] for key in DAILY_KEYS}  # same versions
    assert set(after) - set(daily) == {MANUAL_KEY, MANUAL_KEY.replace(".json", ".html")}
    manual = stored_report(deployed["s3"], deployed["bucket"], MANUAL_KEY)
    assert {fn["name"] for fn in manual["functions"]} == payments
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and not [line for line in emf if "ScheduledAuditSucceeded" in line]  # not the daily heartbeat

    notify = load_notify_handler()
    outcome = notify.lambda_handler(report_created_event(deployed["bucket"], MANUAL_KEY), LambdaContext())
    assert outcome == {"status": "skipped: notify is off for this run", "report_key": MANUAL_KEY, "slack_ts": None}
    assert deployed["slack"].messages == []


def test_manual_run_posts_only_when_its_event_asks(deployed):
    event = load_event("manual-run.json")
    event["detail"] = {**event["detail"], "notify": True}
    response = load_handler().lambda_handler(event, LambdaContext())
    assert (response["report_key"], response["slack"]) == (MANUAL_KEY, "left to the notifier")

    notify = load_notify_handler()
    outcome = notify.lambda_handler(report_created_event(deployed["bucket"], MANUAL_KEY), LambdaContext())
    assert outcome["status"] == "posted" and outcome["report_key"] == MANUAL_KEY
    digest, _details = deployed["slack"].messages
    assert f"&amp;prefix=manual/dt%3D{day(AT)}/" in json.dumps(digest["blocks"])  # its own report, key URL-encoded
    assert f"/{MANUAL_RUN_ID}/report.html" in json.dumps(digest["blocks"])
    recorded = stored_report(deployed["s3"], deployed["bucket"], MANUAL_KEY.replace("report.json", "notify.json"))
    assert recorded["status"] == "posted"
    assert not [key for key in object_versions(deployed["s3"], deployed["bucket"]) if not key.startswith("manual/")]


def test_history_never_takes_a_manual_report_for_the_previous_daily_one(deployed):
    audit = load_handler()
    audit.lambda_handler({**load_event("manual-run.json"), "time": iso(YESTERDAY), "detail": {}}, LambdaContext())
    audit.lambda_handler(load_event("scheduled.json"), LambdaContext())
    report = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)
    assert report["previous_report"] is None
    assert {finding["status"] for finding in report["findings"]} == {"new"}


@pytest.mark.parametrize("run_id", ["../../latest/account=300000000001", "a/b", ".hidden", "x" * 129, "id with spaces"])
def test_a_manual_run_id_that_is_not_one_key_segment_is_refused_before_any_aws_call(deployed, run_id):
    from healthaudit.events import InvalidEvent

    with pytest.raises(InvalidEvent, match=r"event\.id: got"):
        load_handler().lambda_handler({**load_event("manual-run.json"), "id": run_id}, LambdaContext())
    assert object_versions(deployed["s3"], deployed["bucket"]) == {}


SLACK_FAULTS = [
    # (what Slack does, the outcome recorded in notify.json, whether Lambda is made to retry)
    (lambda slack: slack.fail_next(1, status=200, error="invalid_auth"), "failed: Slack answered invalid_auth", False),
    (
        lambda slack: slack.fail_next(1, status=200, error="channel_not_found"),
        "failed: Slack answered channel_not_found",
        False,
    ),
    (lambda slack: slack.fail_next(1, status=500), "failed: Slack answered internal_error", True),
    (lambda slack: slack.fail_next(1, status=503), "failed: Slack answered internal_error", True),
    # a storm: the first answer and every one of the three Retry-After retries are 429s
    (lambda slack: slack.fail_next(4, status=429, retry_after=0), "failed: Slack answered ratelimited", True),
    # accepts the connection and never answers: the client gives up after slack.timeout_seconds
    (lambda slack: slack.stall_next(1), "failed: TimeoutError", True),
]


@pytest.mark.parametrize(
    "fault, recorded, retried",
    SLACK_FAULTS,
    ids=["invalid_auth", "channel_not_found", "500", "503", "429-storm", "timeout"],
)
def test_slack_faults_are_recorded_and_never_lose_the_report(deployed, capsys, fault, recorded, retried):
    from healthaudit.publish.notify import NotifyRetry

    # Long enough for any answer of the local server on a loaded machine; only the stall outlasts it.
    config = {"slack": {"timeout_seconds": 3}}  # the local Slack server: HEALTHAUDIT_SLACK_API_URL (provisioned)
    ssm = deployed["session"].client("ssm")
    ssm.put_parameter(Name=deployed["parameter"], Value=json.dumps(config), Type="String", Overwrite=True)
    load_handler().lambda_handler(load_event("scheduled.json"), LambdaContext())
    fault(deployed["slack"])
    notify = load_notify_handler()
    if retried:  # the failure may pass: the invocation fails, so Lambda retries it (twice, then the queue)
        with pytest.raises(NotifyRetry, match=re.escape(recorded.removeprefix("failed: "))):
            notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
    else:  # it will not pass by itself: recorded, and not retried
        response = notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
        assert response["status"] == recorded and "xoxb-test-token" not in json.dumps(response)
    assert stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)["functions_audited"] == len(FLEET)
    outcome = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY.replace("report.json", "notify.json"))
    assert outcome["status"] == recorded
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[-1]["DigestFailed"] == [1]
    assert deployed["slack"].messages == []
    if retried:  # Lambda's retry of the same event posts, once
        assert notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())["status"] == "posted"
        assert len([m for m in deployed["slack"].messages if not m.get("thread_ts")]) == 1


def test_run_against_the_sandbox_endpoint_matches_the_seeded_problems(aws_env, sandbox, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # --endpoint-url alone must be enough
    assert (
        main(
            ["run", "--region", REGION, "--endpoint-url", sandbox.endpoint, "--format", "json", "--at", AT.isoformat()]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert active_by_function(report) == expected_by_function()
    suppressed = [(f["function_name"], f["check_id"]) for f in report["findings"] if f["suppressed_by"]]
    assert suppressed == [("legacy-etl", "runtime-deprecated")]
    assert report["coverage_gaps"] == []
    assert {f["status"] for f in report["functions"]} == {"healthy", "unhealthy"}


def test_run_writes_the_chosen_format_to_the_output_file_and_nothing_to_stdout(aws_env, sandbox, capsys, tmp_path):
    output = tmp_path / "report.json"
    code = main(["run", "--region", REGION, "--at", AT.isoformat(), "--format", "json", "--output", str(output)])
    assert code == 0
    assert capsys.readouterr().out == ""
    assert json.loads(output.read_text())["functions_audited"] == len(FLEET)


def test_failed_sources_become_coverage_gaps_not_healthy_functions(sandbox, fleet_account):
    faults = [
        Fault("DescribeLogGroups"),
        Fault(r"GET /2019-09-25/functions/[^/]+/event-invoke-config/list", code="ServiceException", status=400),
    ]
    with AwsProxy(sandbox.endpoint, faults) as proxy:
        clients = AwsClients(fleet_account, region=REGION, endpoint_url=proxy.endpoint)
        report = audit(clients, AuditConfig(), at=AT)
    by_source = {(gap.source, gap.function_name) for gap in report.coverage_gaps}
    assert (DataSource.LOG_GROUPS, None) in by_source
    assert (DataSource.EVENT_INVOKE_CONFIG, "webhook-dispatcher") in by_source
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    assert ("audit-trail", "log-retention-unset") not in found  # unread, so not judged
    assert ("webhook-dispatcher", "no-failure-destination") not in found
    assert ("webhook-dispatcher", "audit-coverage-gap") in found
    assert (None, "audit-coverage-gap") in found  # the account-wide hole is reported once
    statuses = {summary.name: summary.status for summary in report.functions}
    assert "healthy" not in statuses.values()  # log groups unread for all: nothing is known healthy
    assert report.api_calls["DescribeLogGroups"] == 1


def test_demo_command_finds_every_planted_problem(demo_run):
    result, tmp_path = demo_run.result, demo_run.output
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MISSED" not in result.stdout
    assert "healthy functions with findings: none" in result.stdout
    report = json.loads((tmp_path / "demo-report.json").read_text())
    assert active_by_function(report) == expected_by_function()
    digest = json.loads((tmp_path / "demo-slack-digest.json").read_text())
    assert len(digest["blocks"]) <= 50


def test_the_demo_fleets_overprovisioned_function_states_its_monthly_cost_and_saving(demo_run):
    """The REPORT records' Billed Duration (added up by the log scan) and the function's invocations, at
    Lambda's price: what report-builder (3008 MB, 180 MB used) costs a month, and at 320 MB."""
    report = json.loads((demo_run.output / "demo-report.json").read_text())
    (finding,) = [
        f
        for f in report["findings"]
        if (f["function_name"], f["check_id"]) == ("report-builder", "memory-overprovisioned")
    ]
    cost = finding["cost"]
    assert cost["monthly_usd"] > cost["suggested_monthly_usd"] > 0
    assert cost["monthly_savings_usd"] == pytest.approx(cost["monthly_usd"] - cost["suggested_monthly_usd"], abs=1e-6)
    assert "the REPORT records' Billed Duration, on average" in cost["basis"]
    assert "save $" in finding["message"] and finding["evidence"]["suggested_memory_mb"] == 320
    assert report["possible_savings_usd_month"] >= round(cost["monthly_savings_usd"], 2) > 0
    assert finding["links"]["logs_insights"].startswith(f"https://{finding['region']}.console.aws.amazon.com/")


def test_a_fixed_problem_shows_as_resolved_in_the_report_html_and_digest(sandbox):
    from datetime import timedelta

    from healthaudit.pipeline import audit_and_publish
    from healthaudit.publish.digest import build_details, build_digest

    session = sandbox.session_for_account("300000000002", region=REGION)
    seed_fleet(session, AT, [fn for fn in FLEET if fn.name in ("nightly-cleanup", "audit-trail", "orders-api")])
    s3 = session.client("s3")
    s3.create_bucket(Bucket="history", CreateBucketConfiguration={"LocationConstraint": REGION})
    config = AuditConfig(bucket="history")
    clients = AwsClients(session, region=REGION)

    first, _ = audit_and_publish(clients, config, AT - timedelta(days=1))
    assert {(f.function_name, f.status) for f in first.active_findings} == {
        ("nightly-cleanup", "new"),
        ("audit-trail", "new"),
    }
    session.client("lambda").update_function_configuration(
        FunctionName="nightly-cleanup", TracingConfig={"Mode": "Active"}
    )
    second, outcome = audit_and_publish(clients, config, AT)

    assert [(f.function_name, f.check_id) for f in second.resolved] == [("nightly-cleanup", "tracing-disabled")]
    now = {(f.function_name, f.check_id): f for f in second.active_findings}
    # Tracing is on now, but no trace has arrived from it yet: that is new, and says so.
    assert set(now) == {("audit-trail", "log-retention-unset"), ("nightly-cleanup", "traces-missing")}
    assert now[("nightly-cleanup", "traces-missing")].status == "new"
    ongoing = now[("audit-trail", "log-retention-unset")]
    assert (ongoing.function_name, ongoing.status, ongoing.first_seen) == (
        "audit-trail",
        "ongoing",
        iso(YESTERDAY),
    )
    assert second.previous_report == f"reports/dt={day(YESTERDAY)}/account=300000000002/region=eu-west-1/report.json"
    html = s3.get_object(Bucket="history", Key=outcome.report_key.replace(".json", ".html"))["Body"].read().decode()
    resolved_part = html[html.index("Resolved") :]
    assert "nightly-cleanup" in resolved_part
    _, blocks = build_digest(second, outcome.report_url)
    assert "1 resolved" in json.dumps([block.to_dict() for block in blocks])  # counted in the digest...
    ((_, thread),) = build_details(second, outcome.report_url)
    listed = json.dumps([block.to_dict() for block in thread])
    assert "Resolved since the previous audit (1)" in listed and "nightly-cleanup" in listed  # ...listed in its thread


def test_two_daily_audits_under_the_deployed_role_read_history_and_post_on_first_delivery(deployed):
    """Under the role the template deploys (S3 answers a missing key with 403 to a caller without
    s3:ListBucket): the second day's audit reads the first one's report, so what persists is ongoing,
    and the notifier posts on the first delivery of each report."""
    audit, notify = load_handler(), load_notify_handler()
    audit.lambda_handler({**load_event("scheduled.json"), "time": iso(YESTERDAY)}, LambdaContext())
    assert notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())["status"] == "posted"
    audit.lambda_handler(load_event("scheduled.json"), LambdaContext())
    assert notify.lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())["status"] == "posted"

    report = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)
    assert report["previous_report"] == REPORT_KEY.replace(day(AT), day(YESTERDAY))
    assert not [note for note in report["notes"] if "unreadable" in note]
    persisting = {(f["function_name"], f["check_id"]): f for f in report["findings"]}
    ongoing = persisting[("audit-trail", "log-retention-unset")]
    assert (ongoing["status"], ongoing["first_seen"]) == ("ongoing", iso(YESTERDAY))
    assert len(deployed["slack"].messages) == 2


def test_a_fifth_of_calls_failing_gives_a_complete_report_that_never_calls_unread_healthy(sandbox, fleet_account):
    from botocore.config import Config

    # A stalled call must time out, and only a stalled one: the sandbox answers well within 5 s even on a
    # loaded machine (a 1 s timeout once failed an unfaulted call in CI), and a stall outlasts it.
    impatient = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=5)
    with AwsProxy(sandbox.endpoint, share=0.2, seed=20, spared=frozenset({"sts"}), stall_seconds=6) as proxy:
        clients = AwsClients(fleet_account, region=REGION, endpoint_url=proxy.endpoint, config=impatient)
        report = audit(clients, AuditConfig(), at=AT)

    assert proxy.injected, "the proxy injected no fault"
    assert sum(report.api_errors.values()) == len(proxy.injected)  # every failed attempt is counted
    unread = {gap.function_name for gap in report.coverage_gaps if gap.function_name}
    account_wide = [gap for gap in report.coverage_gaps if gap.function_name is None]
    for function in report.functions:
        if function.name in unread or account_wide:
            assert function.status != "healthy", function
    found = {(f.function_name, f.check_id) for f in report.active_findings}
    for gap in report.coverage_gaps:
        assert (gap.function_name, "audit-coverage-gap") in found, gap


CANARY = "canary-8f3a1c9e-never-print-me"


def test_no_environment_value_or_token_reaches_any_output(sandbox, deployed, capsys, caplog, monkeypatch):
    session = deployed["session"]
    role = session.client("iam").get_role(RoleName="demo-function-role")["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName="holds-a-secret",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": tiny_zip()},
        Environment={"Variables": {"DB_PASSWORD": CANARY, "API_KEY": CANARY}},
        Tags={"owner": "team-secrets"},
    )
    try:
        load_handler().lambda_handler(load_event("scheduled.json"), LambdaContext())
        load_notify_handler().lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
    finally:
        session.client("lambda").delete_function(FunctionName="holds-a-secret")  # the module shares this fleet

    s3 = deployed["s3"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=deployed["bucket"])["Contents"]]
    assert {k.rsplit("/", 1)[-1] for k in keys} >= {"report.json", "report.html", "notify.json"}
    outputs = [s3.get_object(Bucket=deployed["bucket"], Key=k)["Body"].read().decode() for k in keys]
    assert any("holds-a-secret" in text for text in outputs)  # the function was audited and reported
    outputs += [json.dumps(post.body) for post in deployed["slack"].posts]
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]  # the structured logs and the EMF metrics
    for text in outputs:
        assert CANARY not in text
        assert "xoxb-test-token" not in text


def test_an_incoming_webhook_in_the_secret_posts_without_a_channel(deployed, monkeypatch):
    session, slack = deployed["session"], deployed["slack"]
    # The stack's secret (the one its role may read) holds a webhook URL instead of a bot token.
    session.client("secretsmanager").put_secret_value(
        SecretId=deployed["secret"], SecretString=json.dumps({"webhook_url": slack.webhook_url})
    )
    monkeypatch.delenv("HEALTHAUDIT_SLACK_CHANNEL")
    load_handler().lambda_handler(load_event("scheduled.json"), LambdaContext())
    response = load_notify_handler().lambda_handler(report_created_event(deployed["bucket"]), LambdaContext())
    assert response["status"] == "posted"
    (post,) = [p for p in slack.posts if p.path.startswith("/services/")]
    assert post.status == 200 and "fraud-scoring" in json.dumps(post.body["blocks"])
    assert slack.webhook_url not in json.dumps(response)


@dataclass
class HurriedContext(LambdaContext):
    """A context whose deadline is near once the audit has started: it must stop reading and publish.

    The first question is Powertools Idempotency's (the in-progress record expires with the
    invocation), the second the audit's first check, before its lookups; from the third on (the
    lookups' check before their first call), 30 s are left.
    """

    asked: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return 900_000 if self.asked <= 2 else 30_000


def test_near_the_deadline_the_audit_publishes_what_it_read_marked_partial(deployed):
    response = load_handler().lambda_handler(load_event("scheduled.json"), HurriedContext())
    report = stored_report(deployed["s3"], deployed["bucket"], REPORT_KEY)
    assert response["partial"] is True and report["partial"] is True
    stopped = {gap["source"] for gap in report["coverage_gaps"] if "stopped early" in gap["reason"]}
    lookups = {"reserved-concurrency", "event-invoke-config"}  # stopped before their first call
    assert stopped == lookups | {"report-records", "role-permissions", "service-graph"}  # every stage after them
    assert report["metric_queries"]["series"] == 0  # no hourly series so near the deadline
    found = {(f["function_name"], f["check_id"]) for f in report["findings"]}
    assert ("fraud-scoring", "error-rate-high") in found  # what was read is still judged
    assert ("audit-trail", "log-retention-unset") in found
    unjudged = {"cold-start-regression", "memory-near-limit", "traces-missing", "trace-errors-high"}
    assert not {check for _, check in found} & unjudged  # what was not read is not judged
    assert {f["status"] for f in report["functions"]} <= {"unhealthy", "unknown"}  # nothing called healthy
