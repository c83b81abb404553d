"""The SAM template: it validates and lints, grants the auditor exactly what its checks need, and
keeps the report bucket private, encrypted, versioned and TLS-only."""

from __future__ import annotations

import json
import os
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from tests.support.tools import explain, run_tool, tool

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
EVENTS = ROOT / "events"
NO_VALUE = {"Ref": "AWS::NoValue"}

# Actions that IAM cannot scope to a resource (or, for DescribeLogGroups, only to the whole
# account), so `Resource: "*"` is as narrow as their statements can be. Nothing else may use "*".
ACCOUNT_WIDE_ACTIONS = frozenset(
    {
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
        "lambda:GetAccountSettings",
        "tag:GetResources",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        "logs:DescribeLogGroups",
        "logs:GetQueryResults",  # authorized on the account, not on a log group
        "logs:StopQuery",
        "xray:GetServiceGraph",
        "organizations:ListAccounts",  # authorized on the organization only
    }
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, [str(problem) for problem in problems]
    return parsed


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _outcomes(node: Any) -> Iterator[Any]:
    """The values a node can take: both branches of an Fn::If, none for AWS::NoValue."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _condition, if_true, if_false = node["Fn::If"]
        yield from _outcomes(if_true)
        yield from _outcomes(if_false)
    elif node != NO_VALUE:
        yield node


FUNCTIONS = ("AuditFunction", "NotifyFunction", "PlanFunction", "MergeFunction", "InteractFunction")
# The functions that read and write reports (the plan touches no bucket).
REPORT_FUNCTIONS = ("AuditFunction", "NotifyFunction", "MergeFunction")


def _permissions_needed(function: str) -> set[str]:
    from healthaudit.fanout_permissions import (
        audit_fanout_permissions,
        merge_function_permissions,
        plan_function_permissions,
    )
    from healthaudit.permissions import (
        audit_function_permissions,
        interact_function_permissions,
        notify_function_permissions,
    )

    declared = {
        # The multi-account audit adds only sts:AssumeRole on the member role (fanout_permissions).
        "AuditFunction": lambda: audit_function_permissions() | audit_fanout_permissions(),
        "NotifyFunction": notify_function_permissions,
        "PlanFunction": plan_function_permissions,
        "MergeFunction": merge_function_permissions,
        "InteractFunction": interact_function_permissions,
    }
    return set(declared[function]())


def _audit_statements(resources: dict[str, Any], function: str = "AuditFunction") -> list[dict[str, Any]]:
    """Every statement the function's inline policies can hold, whatever the conditions."""
    statements = []
    for policy in _as_list(resources[function]["Properties"].get("Policies", [])):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{function} policy {policy!r} is not an inline statement list: managed policies and SAM "
            "policy templates hide their actions from this test"
        )
        for statement in _as_list(policy["Statement"]):
            statements.extend(_outcomes(statement))
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    return set(_as_list(statement["Action"]))


def _resource_texts(statement: dict[str, Any]) -> set[str]:
    """Resources as text: a plain ARN or Fn::Sub string; a Ref or Fn::GetAtt as its ${...} form."""
    texts = set()
    for resource in _as_list(statement["Resource"]):
        if isinstance(resource, str):
            texts.add(resource)
        elif set(resource) == {"Fn::Sub"}:
            sub = resource["Fn::Sub"]
            texts.add(sub if isinstance(sub, str) else sub[0])
        elif set(resource) == {"Ref"}:
            texts.add("${" + resource["Ref"] + "}")
        elif set(resource) == {"Fn::GetAtt"}:
            attribute = resource["Fn::GetAtt"]
            texts.add("${" + (attribute if isinstance(attribute, str) else ".".join(attribute)) + "}")
        else:
            pytest.fail(f"unexpected resource form {resource!r} in statement {statement.get('Sid')}")
    return texts


def _condition_of(resources: dict[str, Any], sid: str, function: str = "AuditFunction") -> str | None:
    """The condition an Fn::If wraps the statement with this Sid in, or None if unconditional."""
    for policy in _as_list(resources[function]["Properties"]["Policies"]):
        for statement in _as_list(policy["Statement"]):
            if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
                condition, if_true, if_false = statement["Fn::If"]
                if isinstance(if_true, dict) and if_true.get("Sid") == sid and if_false == NO_VALUE:
                    return condition
    return None


# -- the tools ----------------------------------------------------------------------------------


def test_sam_validate_with_lint_passes():
    sam = tool("sam")
    assert sam, "the SAM CLI is not installed beside this Python (pip install -r requirements-dev.txt)"
    result = run_tool([sam, "validate", "--lint", "--template", str(TEMPLATE)])
    assert result.returncode == 0, explain(result)


def test_cfn_lint_passes_without_warnings():
    cfn_lint = tool("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed beside this Python (pip install -r requirements-dev.txt)"
    result = run_tool([cfn_lint, str(TEMPLATE)])
    assert result.returncode == 0, explain(result)


def test_checkov_passes():
    # checkov pins boto3 and networkx below this project's versions, so it lives in a virtualenv
    # of its own: $CHECKOV, else .venv-checkov/, else beside this Python or on PATH.
    own_venv = ROOT / ".venv-checkov" / "bin" / "checkov"
    checkov = os.environ.get("CHECKOV") or (str(own_venv) if own_venv.exists() else tool("checkov"))
    if not checkov:
        pytest.skip("checkov is not installed: python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    result = run_tool(
        [checkov, "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download", "--quiet", "--compact"]
    )
    assert result.returncode == 0, explain(result)


def test_every_checkov_skip_says_why(resources):
    for name, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert str(skip.get("comment", "")).strip(), f"{name} skips {skip.get('id')} without a reason"


# -- the auditor's permissions ------------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_grant_exactly_the_permissions_the_code_declares(resources, function):
    granted = {action for statement in _audit_statements(resources, function) for action in _actions(statement)}
    needed = _permissions_needed(function)
    extra, missing = sorted(granted - needed), sorted(needed - granted)
    assert not extra and not missing, (
        f"{function}'s policy in template.yaml differs from what healthaudit.permissions (and"
        " healthaudit.fanout_permissions) declares\n"
        f"  granted but not needed (remove from template.yaml): {', '.join(extra) or 'none'}\n"
        f"  needed but not granted (add to template.yaml):      {', '.join(missing) or 'none'}"
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policy_statements_are_plain_named_allows(resources, function):
    statements = _audit_statements(resources, function)
    sids = [statement.get("Sid") for statement in statements]
    assert all(sids), f"every statement needs a Sid: {statements}"
    assert len(sids) == len(set(sids)), f"duplicate Sids: {sids}"
    for statement in statements:
        assert statement["Effect"] == "Allow", statement["Sid"]
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement["Sid"]
        assert not any("*" in action for action in _actions(statement)), f"wildcard action in {statement['Sid']}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_wildcard_resources_only_where_iam_offers_nothing_narrower(resources, function):
    for statement in _audit_statements(resources, function):
        if "*" in _resource_texts(statement):
            scoped_possible = sorted(_actions(statement) - ACCOUNT_WIDE_ACTIONS)
            assert not scoped_possible, f"{statement['Sid']} grants {scoped_possible} on every resource"


def test_function_settings_are_read_only_on_this_accounts_functions(resources):
    for statement in _audit_statements(resources):
        if _actions(statement) & {"lambda:GetFunctionConcurrency", "lambda:ListFunctionEventInvokeConfigs"}:
            assert _resource_texts(statement) == {
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"
            }, statement["Sid"]


DAILY_REPORTS = {"${ReportBucket.Arn}/reports/*", "${ReportBucket.Arn}/latest/*"}
MANUAL_REPORTS = "${ReportBucket.Arn}/manual/*"
#: Per function: each statement granting s3:PutObject, as (actions, resources). The audit writes manual
#: runs' reports under manual/ and reads nothing there; the notifier reads them and writes notify.json beside.
REPORT_GRANTS = {
    "AuditFunction": {
        "WriteReports": ({"s3:PutObject", "s3:GetObject"}, DAILY_REPORTS),
        "WriteManualReports": ({"s3:PutObject"}, {MANUAL_REPORTS}),
    },
    "NotifyFunction": {"ReadReportsWriteOutcome": ({"s3:PutObject", "s3:GetObject"}, DAILY_REPORTS | {MANUAL_REPORTS})},
    "MergeFunction": {"ReadReportsWriteConsolidated": ({"s3:PutObject", "s3:GetObject"}, DAILY_REPORTS)},
}


@pytest.mark.parametrize("function", REPORT_FUNCTIONS)
def test_reports_are_read_and_written_only_under_reports_latest_and_manual(resources, function):
    s3 = [statement for statement in _audit_statements(resources, function) if "s3:PutObject" in _actions(statement)]
    granted = {statement["Sid"]: (_actions(statement), _resource_texts(statement)) for statement in s3}
    assert granted == REPORT_GRANTS[function], f"{function} reads or writes reports beyond {REPORT_GRANTS[function]}"


@pytest.mark.parametrize("function", ("AuditFunction", "NotifyFunction"))
def test_report_readers_may_list_the_bucket_so_a_missing_key_is_404_not_403(resources, function):
    """S3 answers a GET of a missing key with 403 to a caller without s3:ListBucket (API_GetObject.html)."""
    listing = [s for s in _audit_statements(resources, function) if "s3:ListBucket" in _actions(s)]
    assert len(listing) == 1, f"{function} needs exactly one s3:ListBucket statement"
    assert _actions(listing[0]) == {"s3:ListBucket"}
    assert listing[0]["Resource"] == {"Fn::GetAtt": ["ReportBucket", "Arn"]}, "ListBucket on the report bucket only"


def test_the_merge_reads_only_reports_that_exist_and_may_not_list_the_bucket(resources):
    assert not [s for s in _audit_statements(resources, "MergeFunction") if "s3:ListBucket" in _actions(s)]


def test_slack_secret_and_config_parameter_are_granted_only_when_configured(resources):
    statements = {statement["Sid"]: statement for statement in _audit_statements(resources, "NotifyFunction")}
    secret, parameter = statements["ReadSlackSecret"], statements["ReadConfigParameter"]

    assert _condition_of(resources, "ReadSlackSecret", "NotifyFunction") == "HasSlackSecret"
    assert _resource_texts(secret) == {"${SlackSecretArn}"}
    assert "ReadSlackSecret" not in {statement["Sid"] for statement in _audit_statements(resources)}

    assert _condition_of(resources, "ReadConfigParameter", "NotifyFunction") == "HasConfigParameter"
    assert _condition_of(resources, "ReadConfigParameter") == "HasConfigParameter"
    assert _resource_texts(parameter) == {
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ConfigParameterName}"
    }


@pytest.mark.parametrize("function", ["AuditFunction", "NotifyFunction"])
def test_deliveries_are_recorded_only_in_the_idempotency_table(resources, function):
    idempotency = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    dynamodb = [s for s in _audit_statements(resources, function) if _actions(s) & idempotency]
    assert len(dynamodb) == 1 and _resource_texts(dynamodb[0]) == {"${IdempotencyTable.Arn}"}
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    assert variables["HEALTHAUDIT_IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}


def test_idempotency_table_has_the_keys_powertools_writes(resources):
    """Powertools' DynamoDBPersistenceLayer defaults: partition key `id`, expiry in `expiration` (epoch seconds)."""
    table = resources["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["SSESpecification"]["SSEEnabled"] is True


# -- the report bucket --------------------------------------------------------------------------


def test_report_bucket_is_private_encrypted_versioned_and_expires_reports(resources):
    bucket = resources["ReportBucket"]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms", "aws:kms:dsse"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}

    rules = [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if rule["Status"] == "Enabled"]
    assert any(
        rule.get("Prefix") == "reports/" and rule.get("ExpirationInDays") == {"Ref": "ReportRetentionDays"}
        for rule in rules
    ), "no enabled rule expires reports/ after ReportRetentionDays"
    assert any("NoncurrentVersionExpiration" in rule for rule in rules), "noncurrent versions never expire"


def test_report_bucket_policy_denies_requests_without_tls(resources):
    policies = [
        resource["Properties"]["PolicyDocument"]
        for resource in resources.values()
        if resource["Type"] == "AWS::S3::BucketPolicy" and resource["Properties"]["Bucket"] == {"Ref": "ReportBucket"}
    ]
    assert len(policies) == 1, "ReportBucket needs exactly one bucket policy"
    denials = [
        statement
        for statement in _as_list(policies[0]["Statement"])
        if statement["Effect"] == "Deny"
        and statement["Principal"] in ("*", {"AWS": "*"})
        and statement["Action"] in ("s3:*", ["s3:*"])
        and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
    ]
    assert denials, "no statement denies s3:* when aws:SecureTransport is false"
    assert _resource_texts(denials[0]) == {"${ReportBucket.Arn}", "${ReportBucket.Arn}/*"}, (
        "the TLS denial must cover the bucket and every object in it"
    )


# -- the triggers and their sample events -------------------------------------------------------


def test_schedule_delivers_the_same_envelope_as_events_scheduled_json(resources):
    events = resources["AuditFunction"]["Properties"]["Events"]
    (schedule,) = [event["Properties"] for event in events.values() if event["Type"] == "ScheduleV2"]
    assert schedule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}

    delivered = json.loads(schedule["Input"]["Fn::Sub"])
    sample = json.loads((EVENTS / "scheduled.json").read_text())
    assert set(delivered) == set(sample), "the schedule's Input and events/scheduled.json differ in shape"
    for key in ("source", "detail-type", "detail"):
        assert delivered[key] == sample[key], key


def test_manual_run_event_has_the_scheduled_envelope(resources):
    sample = json.loads((EVENTS / "manual-run.json").read_text())
    assert sample["source"] == "healthaudit.manual"
    assert set(sample) == set(json.loads((EVENTS / "scheduled.json").read_text())), "one envelope for both"


# -- samconfig.toml -----------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_samconfig_environment_is_complete(environment, template):
    config = tomllib.loads(SAMCONFIG.read_text())
    assert config["version"] == 0.1
    env = config[environment]
    assert env["global"]["parameters"]["stack_name"]
    assert env["build"]["parameters"] == {"cached": True, "parallel": True}
    assert env["validate"]["parameters"]["lint"] is True
    deploy = env["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    overridden = {item.split("=", 1)[0] for item in shlex.split(deploy["parameter_overrides"])}
    unknown = overridden - set(template["Parameters"])
    assert not unknown, f"samconfig [{environment}] overrides parameters the template does not have: {unknown}"


# -- manual runs: direct invoke only ------------------------------------------------------------

#: SAM event types that put an EventBridge rule (on some bus) in front of a function.
RULE_EVENT_TYPES = {"EventBridgeRule", "CloudWatchEvent"}


def _resolved(node: Any, refs: dict[str, str]) -> Any:
    """The node with each {"Ref": name} in `refs` replaced by its value (a rule pattern as deployed)."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in refs:
            return refs[node["Ref"]]
        return {key: _resolved(value, refs) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, refs) for value in node]
    return node


def _rules_on_the_default_bus(resources: dict[str, Any]) -> dict[str, Any]:
    """Every event pattern the template puts on the default bus, by the function or rule that owns it."""
    patterns = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            for event_name, event in resource["Properties"].get("Events", {}).items():
                if (
                    event["Type"] in RULE_EVENT_TYPES
                    and event["Properties"].get("EventBusName", "default") == "default"
                ):
                    patterns[f"{name}.{event_name}"] = event["Properties"]["Pattern"]
        elif (
            resource["Type"] == "AWS::Events::Rule"
            and resource["Properties"].get("EventBusName", "default") == "default"
        ):
            patterns[name] = resource["Properties"].get("EventPattern")
    return patterns


def test_no_event_bus_rule_or_resource_policy_lets_anyone_start_the_audit(resources):
    """A manual run is a direct invoke: only a principal granted lambda:InvokeFunction on the function
    (and the schedule's own role) can start an audit. No rule on any bus, no Lambda permission."""
    events = resources["AuditFunction"]["Properties"]["Events"]
    assert {event["Type"] for event in events.values()} == {"ScheduleV2"}, "only the schedule invokes the audit"
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Events::Rule":
            targets = json.dumps(resource["Properties"].get("Targets", []))
            assert "AuditFunction" not in targets, f"{name} routes events to the audit function"
        if resource["Type"] == "AWS::Lambda::Permission":
            assert "AuditFunction" not in json.dumps(resource["Properties"]), f"{name} lets others invoke the audit"
    assert not [r for r in resources.values() if r["Type"] in ("AWS::Events::EventBus", "AWS::Events::EventBusPolicy")]


def test_a_spoofed_manual_event_on_the_default_bus_reaches_no_rule(aws, resources):
    """Anyone allowed events:PutEvents on the default bus sends events/manual-run.json there: every rule
    the template puts on that bus is created in the sandbox with a queue standing in for its function,
    and no queue receives it. The rule this template used to have is the control: it would have."""
    events, sqs = aws.client("events"), aws.client("sqs")
    refs = {"ReportBucket": "reports-bucket"}
    former_manual_rule = {"source": ["healthaudit.manual"], "detail-type": ["Manual audit"]}
    queues = {}
    patterns = {**_rules_on_the_default_bus(resources), "control.FormerManualAudit": former_manual_rule}
    for index, (owner, pattern) in enumerate(sorted(patterns.items())):
        url = sqs.create_queue(QueueName=f"stands-in-for-{index}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=f"rule-{index}", EventPattern=json.dumps(_resolved(pattern, refs)))
        events.put_targets(Rule=f"rule-{index}", Targets=[{"Id": "function", "Arn": arn}])
        queues[owner] = url
    assert "NotifyFunction.ReportCreated" in queues  # the template's one rule on the default bus is exercised

    spoofed = json.loads((EVENTS / "manual-run.json").read_text())
    spoofed["detail"] = {"scope": "starts_with(FunctionName, 'pay')", "notify": True}
    sent = events.put_events(
        Entries=[
            {"Source": spoofed["source"], "DetailType": spoofed["detail-type"], "Detail": json.dumps(spoofed["detail"])}
        ]
    )
    assert sent["FailedEntryCount"] == 0

    received = {
        owner: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for owner, url in queues.items()
    }
    assert len(received.pop("control.FormerManualAudit")) == 1, "the control rule should have matched"
    assert received == {owner: [] for owner in received}, "a rule on the default bus matched the spoofed manual event"


# -- alarms that catch silence ------------------------------------------------------------------


def _alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _alarm_state(alarm: dict[str, Any], datapoints: list[float | None]) -> str:
    """CloudWatch's evaluation of a static-threshold alarm over its last EvaluationPeriods periods (oldest
    first, None for a period without data): ALARM when at least DatapointsToAlarm of them breach, a
    missing one breaching only with TreatMissingData breaching.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html"""
    compare = {
        "GreaterThanThreshold": lambda value: value > alarm["Threshold"],
        "LessThanThreshold": lambda value: value < alarm["Threshold"],
    }[alarm["ComparisonOperator"]]
    window = datapoints[-alarm["EvaluationPeriods"] :]
    present = [value for value in window if value is not None]
    missing = len(window) - len(present)
    if not present and alarm["TreatMissingData"] != "breaching":
        return "OK"  # notBreaching, with nothing to evaluate
    breaching = sum(map(compare, present)) + (missing if alarm["TreatMissingData"] == "breaching" else 0)
    return "ALARM" if breaching >= alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]) else "OK"


def test_every_alarm_notifies_the_alarm_topic(resources):
    alarms = _alarms(resources)
    assert {"DigestFailedAlarm", "AuditHeartbeatAlarm", "AuditFailureQueueAlarm"} <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_digest_failed_alarm_watches_the_metric_the_notifier_emits(resources, template):
    """Powertools EMF: namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service` = POWERTOOLS_SERVICE_NAME."""
    alarm = _alarms(resources)["DigestFailedAlarm"]
    emf = template["Globals"]["Function"]["Environment"]["Variables"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (emf["POWERTOOLS_METRICS_NAMESPACE"], "DigestFailed")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": emf["POWERTOOLS_SERVICE_NAME"]}]
    assert 'name="DigestFailed"' in (ROOT / "functions" / "notify" / "app.py").read_text()
    assert (alarm["Statistic"], alarm["Period"], alarm["TreatMissingData"]) == ("Sum", 300, "notBreaching")
    assert _alarm_state(alarm, [1]) == "ALARM" and _alarm_state(alarm, [None]) == "OK"


def _heartbeat_datapoints(hours_since_success: float | None, periods: int) -> list[float | None]:
    """Hourly sums, oldest first, ending with the current hour: one success that many hours ago."""
    points: list[float | None] = [None] * periods
    if hours_since_success is not None and int(hours_since_success) < periods:
        points[-1 - int(hours_since_success)] = 1
    return points


@pytest.mark.parametrize(
    ("hours_since_success", "state"),
    [(0, "OK"), (24, "OK"), (25, "OK"), (25.99, "OK"), (26, "ALARM"), (48, "ALARM"), (None, "ALARM")],
)
def test_heartbeat_alarms_after_26_hours_without_a_successful_scheduled_audit(resources, hours_since_success, state):
    alarm = _alarms(resources)["AuditHeartbeatAlarm"]
    assert alarm["TreatMissingData"] == "breaching"
    assert _alarm_state(alarm, _heartbeat_datapoints(hours_since_success, 48)) == state


def test_heartbeat_fits_cloudwatch_limits_and_counts_what_each_mode_emits(resources, template):
    """PutMetricAlarm: Period x EvaluationPeriods at most 7 days, and at most one day for periods under an
    hour (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)."""
    alarm = _alarms(resources)["AuditHeartbeatAlarm"]
    span = alarm["Period"] * alarm["EvaluationPeriods"]
    assert span == 26 * 3600 and span <= 7 * 86400 and alarm["Period"] >= 3600
    assert alarm["Statistic"] == "Sum" and alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    emf = template["Globals"]["Function"]["Environment"]["Variables"]
    condition, multi, single = alarm["Namespace"]["Fn::If"]
    assert (condition, multi, single) == ("IsMultiAccount", "AWS/States", emf["POWERTOOLS_METRICS_NAMESPACE"])
    assert alarm["MetricName"] == {"Fn::If": ["IsMultiAccount", "ExecutionsSucceeded", "ScheduledAuditSucceeded"]}
    assert alarm["Dimensions"] == {
        "Fn::If": [
            "IsMultiAccount",
            [{"Name": "StateMachineArn", "Value": {"Ref": "AuditStateMachine"}}],
            [{"Name": "service", "Value": emf["POWERTOOLS_SERVICE_NAME"]}],
        ]
    }


def test_failure_queue_alarm_notifies_again_for_each_new_failed_event(resources):
    """NumberOfMessagesSent per 5 minutes: each new failed event is a new transition into ALARM (a new
    notification); a backlog metric (messages visible) would stay in ALARM and never notify again."""
    alarm = _alarms(resources)["AuditFailureQueueAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/SQS", "NumberOfMessagesSent", "Sum")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["AuditFailureQueue", "QueueName"]}}]
    sent_per_period = [1, 0, None, 1, 0]  # two failed events, a quarter of an hour apart
    states = [_alarm_state(alarm, sent_per_period[: index + 1]) for index in range(len(sent_per_period))]
    assert states == ["ALARM", "OK", "OK", "ALARM", "OK"]
    backlog = {**alarm, "Statistic": "Maximum"}  # what ApproximateNumberOfMessagesVisible would show: 1, 1, 1, 2, 2
    backlog_states = [_alarm_state(backlog, [1, 1, 1, 2, 2][: index + 1]) for index in range(5)]
    assert backlog_states == ["ALARM"] * 5  # one transition, one notification, for both events
    assert "OKActions" not in alarm  # an OK after each failure would only double the mail


# -- snoozes from Slack --------------------------------------------------------------------------------


def _grants_on(resources: dict[str, Any], function: str, resource: str) -> set[str]:
    return {
        action
        for statement in _audit_statements(resources, function)
        if resource in _resource_texts(statement)
        for action in _actions(statement)
    }


@pytest.mark.parametrize(
    "function, granted",
    [
        ("AuditFunction", {"dynamodb:Query"}),  # reads its account and region's snoozes, never writes
        ("InteractFunction", {"dynamodb:PutItem"}),  # stores a click, never reads or deletes
        ("NotifyFunction", set()),
        ("PlanFunction", set()),
        ("MergeFunction", set()),
    ],
)
def test_the_suppressions_table_is_read_by_the_audit_and_written_only_by_the_interact_function(
    resources, function, granted
):
    assert _grants_on(resources, function, "${SuppressionsTable.Arn}") == granted


def test_the_interact_function_reads_only_the_signing_secret_and_daily_reports(resources):
    statements = {s["Sid"]: (_actions(s), _resource_texts(s)) for s in _audit_statements(resources, "InteractFunction")}
    assert statements == {
        "ReadSigningSecret": ({"secretsmanager:GetSecretValue"}, {"${SlackSigningSecret}"}),
        "ListReports": ({"s3:ListBucket"}, {"${ReportBucket.Arn}"}),
        "ReadDailyReports": ({"s3:GetObject"}, {"${ReportBucket.Arn}/reports/*"}),
        "StoreSnoozes": ({"dynamodb:PutItem"}, {"${SuppressionsTable.Arn}"}),
    }
    variables = resources["InteractFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["HEALTHAUDIT_SLACK_SIGNING_SECRET_ARN"] == {"Ref": "SlackSigningSecret"}
    assert "HEALTHAUDIT_SLACK_SECRET_ARN" not in variables  # it answers through response_url, never with the token


def test_the_interact_function_url_is_public_and_output_for_the_slack_app(template, resources):
    """Slack cannot sign SigV4: AuthType NONE, and the handler verifies Slack's signature instead."""
    assert resources["InteractFunction"]["Properties"]["FunctionUrlConfig"] == {"AuthType": "NONE"}
    assert template["Outputs"]["InteractFunctionUrl"]["Value"] == {"Fn::GetAtt": ["InteractFunctionUrl", "FunctionUrl"]}
    assert template["Outputs"]["SlackSigningSecretArn"]["Value"] == {"Ref": "SlackSigningSecret"}
    secret = resources["SlackSigningSecret"]["Properties"]
    assert "SecretString" not in secret and secret["GenerateSecretString"]["PasswordLength"] >= 32  # nobody knows it


def test_suppressions_table_keys_ttl_encryption_and_recovery(resources):
    """One Query per account and region (partition `target`), items aging out on `expires` (epoch seconds),
    as healthaudit.snooze.to_item writes them; both functions name it by the same variable."""
    from healthaudit.collect.suppressions import TABLE_VARIABLE

    table = resources["SuppressionsTable"]["Properties"]
    assert table["KeySchema"] == [
        {"AttributeName": "target", "KeyType": "HASH"},
        {"AttributeName": "finding", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    for function in ("AuditFunction", "InteractFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables[TABLE_VARIABLE] == {"Ref": "SuppressionsTable"}
