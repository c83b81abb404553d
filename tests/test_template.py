"""The SAM template: it validates and lints, grants the auditor exactly what its checks need, and
keeps the report bucket private, encrypted, versioned and TLS-only."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
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
        "logs:DescribeLogGroups",
        "logs:GetQueryResults",  # authorized on the account, not on a log group
        "logs:StopQuery",
        "xray:GetServiceGraph",
        "organizations:ListAccounts",  # authorized on the organization only
    }
)


def _tool(name: str) -> str | None:
    """The executable installed beside this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"{shlex.join(result.args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"


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


FUNCTIONS = ("AuditFunction", "NotifyFunction", "PlanFunction", "MergeFunction")
# The functions that read and write reports (the plan touches no bucket).
REPORT_FUNCTIONS = ("AuditFunction", "NotifyFunction", "MergeFunction")


def _permissions_needed(function: str) -> set[str]:
    from healthaudit.fanout_permissions import (
        audit_fanout_permissions,
        merge_function_permissions,
        plan_function_permissions,
    )
    from healthaudit.permissions import audit_function_permissions, notify_function_permissions

    declared = {
        # The multi-account audit adds only sts:AssumeRole on the member role (fanout_permissions).
        "AuditFunction": lambda: audit_function_permissions() | audit_fanout_permissions(),
        "NotifyFunction": notify_function_permissions,
        "PlanFunction": plan_function_permissions,
        "MergeFunction": merge_function_permissions,
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
    sam = _tool("sam")
    assert sam, "the SAM CLI is not installed beside this Python (pip install -r requirements-dev.txt)"
    result = _run([sam, "validate", "--lint", "--template", str(TEMPLATE)])
    assert result.returncode == 0, _explain(result)


def test_cfn_lint_passes_without_warnings():
    cfn_lint = _tool("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed beside this Python (pip install -r requirements-dev.txt)"
    result = _run([cfn_lint, str(TEMPLATE)])
    assert result.returncode == 0, _explain(result)


def test_checkov_passes():
    # checkov pins boto3 and networkx below this project's versions, so it lives in a virtualenv
    # of its own: $CHECKOV, else .venv-checkov/, else beside this Python or on PATH.
    own_venv = ROOT / ".venv-checkov" / "bin" / "checkov"
    checkov = os.environ.get("CHECKOV") or (str(own_venv) if own_venv.exists() else _tool("checkov"))
    if not checkov:
        pytest.skip("checkov is not installed: python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    result = _run(
        [checkov, "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download", "--quiet", "--compact"]
    )
    assert result.returncode == 0, _explain(result)


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


@pytest.mark.parametrize("function", REPORT_FUNCTIONS)
def test_reports_are_read_and_written_only_under_reports_and_latest(resources, function):
    s3 = [statement for statement in _audit_statements(resources, function) if "s3:PutObject" in _actions(statement)]
    assert s3, "no statement grants s3:PutObject"
    for statement in s3:
        assert _actions(statement) == {"s3:PutObject", "s3:GetObject"}, f"{statement['Sid']} mixes other actions in"
        assert _resource_texts(statement) == {
            "${ReportBucket.Arn}/reports/*",
            "${ReportBucket.Arn}/latest/*",
        }, f"{statement['Sid']} may write outside reports/ and latest/: {_resource_texts(statement)}"


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
    dynamodb = [
        s for s in _audit_statements(resources, function) if any(a.startswith("dynamodb:") for a in _actions(s))
    ]
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


def test_manual_run_rule_matches_events_manual_run_json(resources):
    events = resources["AuditFunction"]["Properties"]["Events"]
    (rule,) = [event["Properties"] for event in events.values() if event["Type"] == "EventBridgeRule"]
    sample = json.loads((EVENTS / "manual-run.json").read_text())
    assert sample["source"] in rule["Pattern"]["source"]
    assert sample["detail-type"] in rule["Pattern"]["detail-type"]
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
