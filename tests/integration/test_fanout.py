"""Many accounts and regions: the plan, the state machine, the member role, the fan-out and the merge.

The fan-out runs the real handlers against the sandbox (moto with healthaudit's fidelity extensions,
among them AssumeRole checking trust policies), with the Map driven by the test the way Step
Functions drives it: one audit invocation per target, a failure caught into {target, error}.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from cfnlint.decode import decode
from jsonschema import Draft202012Validator

from healthaudit.config import ConfigError
from healthaudit.fanout.assume import AssumeRoleFailed
from healthaudit.fanout.merge import merge_reports
from healthaudit.fanout.plan import plan_targets
from healthaudit.fanout_permissions import member_role_permissions
from healthaudit.model import AuditReport, AuditWindow, ConsolidatedReport, Finding, Severity, Target
from healthaudit.publish.digest import MAIN_MESSAGE_CHARS, build_grouped_digest, message_chars
from healthaudit.schema import load_consolidated_schema
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from tests.support.clock import AT, at_audit_time, day, iso
from tests.support.deployment import aim_environment_at, provisioned
from tests.support.functions import LambdaContext, load_function
from tests.support.stack_roles import create_role, member_role_policies
from tests.support.tools import explain, run_tool, tool

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MEMBER_TEMPLATE = ROOT / "member-role" / "template.yaml"
ASL_VALIDATOR = ROOT / ".asl-validator" / "node_modules" / ".bin" / "asl-validator"
ASL_VALIDATOR_VERSION = "4.0.0"  # as the Makefile's ASL_VALIDATOR_VERSION
HOME = "eu-west-1"
REGIONS = ("eu-west-1", "us-east-1")
ROLE = "healthaudit-member-audit"
EXTERNAL_ID = "healthaudit-3f9c2a"
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def trust_policy(principal: str, external_id: str | None = EXTERNAL_ID) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_member_role(session, auditor: str, external_id: str = EXTERNAL_ID, name: str = ROLE) -> str:
    """member-role/template.yaml's role, deployed in the session's account: its trust and its policies."""
    account = session.client("sts").get_caller_identity()["Account"]
    parameters = {"AuditorAccountId": auditor, "RoleName": name, "ExternalId": external_id}
    trust, documents = member_role_policies(account, HOME, parameters)
    return create_role(session.client("iam"), name, trust, documents)


# -- the template's state machine ----------------------------------------------------------------


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    parsed, problems = decode(str(TEMPLATE))
    assert not problems, [str(problem) for problem in problems]
    return parsed["Resources"]


def _definition(resources: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(resources["AuditStateMachine"]["Properties"]["Definition"]))


def _substituted(resources: dict[str, Any]) -> dict[str, Any]:
    """The definition as CloudFormation hands it to Step Functions, with example values substituted."""
    text = json.dumps(_definition(resources))
    names = resources["AuditStateMachine"]["Properties"]["DefinitionSubstitutions"]
    examples = {
        "LambdaInvoke": "arn:aws:states:::lambda:invoke",
        "S3GetObject": "arn:aws:states:::s3:getObject",
        "S3PutObject": "arn:aws:states:::s3:putObject",
        "ReportBucket": "healthaudit-reports-example",
    }
    for name in names:
        value = examples.get(name, f"arn:aws:lambda:eu-west-1:123456789012:function:healthaudit-{name}")
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, "a placeholder without a DefinitionSubstitutions entry"
    return json.loads(text)


@pytest.fixture(scope="module")
def asl_validator() -> str:
    if not ASL_VALIDATOR.exists():
        if shutil.which("npm") is None:
            if os.environ.get("CI"):
                pytest.fail("npm is missing under CI: the state machine definition must be validated")
            pytest.skip("npm is not installed: cannot install asl-validator to validate the state machine")
        result = subprocess.run(
            ["make", "-s", "asl-validator"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0 and ASL_VALIDATOR.exists(), result.stdout + result.stderr
    return str(ASL_VALIDATOR)


def test_state_machine_definition_passes_asl_validator(resources, asl_validator, tmp_path):
    path = tmp_path / "audit.asl.json"
    path.write_text(json.dumps(_substituted(resources), indent=2))
    result = subprocess.run([asl_validator, "--json-path", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "broken.asl.json"
    broken = _substituted(resources)
    del broken["States"]["Merge"]  # AuditTargets' Next names a state that does not exist
    bad.write_text(json.dumps(broken))
    refused = subprocess.run([asl_validator, "--json-path", str(bad)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, "asl-validator accepted a broken definition: is it really validating?"


def test_asl_validator_is_the_pinned_version(asl_validator):
    package = json.loads((ROOT / ".asl-validator" / "node_modules" / "asl-validator" / "package.json").read_text())
    assert package["version"] == ASL_VALIDATOR_VERSION
    assert f"ASL_VALIDATOR_VERSION := {ASL_VALIDATOR_VERSION}" in (ROOT / "Makefile").read_text()


def test_map_is_distributed_over_the_plan_in_s3_with_concurrency_retry_catch_and_small_results(resources):
    definition = _definition(resources)
    assert definition["StartAt"] == "Plan"
    assert definition["States"]["Plan"]["Next"] == "AuditTargets"
    fan_out = definition["States"]["AuditTargets"]
    assert fan_out["Type"] == "Map" and fan_out["Next"] == "Merge" and "ItemsPath" not in fan_out
    # Items from the plan in S3, results to S3: the state holds neither (256 KiB per state).
    assert fan_out["ItemReader"] == {
        "Resource": "${S3GetObject}",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "${ReportBucket}", "Key.$": "$.plan_key"},
    }
    assert fan_out["ResultWriter"] == {
        "Resource": "${S3PutObject}",
        "Parameters": {"Bucket": "${ReportBucket}", "Prefix": "fanout/results"},
    }
    assert fan_out["ResultPath"] == "$.map_run" and fan_out["ToleratedFailurePercentage"] == 100
    # MaxConcurrency comes from the template parameter through the plan's output.
    assert fan_out["MaxConcurrencyPath"] == "$.max_concurrency"
    plan_env = resources["PlanFunction"]["Properties"]["Environment"]["Variables"]
    assert plan_env["HEALTHAUDIT_MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    assert resources["AuditStateMachine"]["Condition"] == "IsMultiAccount"

    processor = fan_out["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    task = processor["States"][processor["StartAt"]]
    assert task["Parameters"]["FunctionName"] == "${AuditFunctionArn}"
    assert any(set(retry["ErrorEquals"]) >= LAMBDA_SERVICE_ERRORS for retry in task["Retry"])
    (catch,) = task["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
    # Each child's result keeps only what the merge reads.
    recorded = processor["States"][catch["Next"]]
    assert recorded["Type"] == "Pass" and recorded.get("End") is True
    assert recorded["Parameters"] == {
        "account.$": "$.target.account",
        "region.$": "$.target.region",
        "error.$": "$.error",
    }
    choice = processor["States"][task["Next"]]
    (audited,) = choice["Choices"]
    assert choice["Default"] == catch["Next"] and audited["Variable"] == "$.report_key"
    assert processor["States"][audited["Next"]]["Parameters"] == {
        "account.$": "$.target.account",
        "region.$": "$.target.region",
        "report_key.$": "$.report_key",
    }
    for state in ("Plan", "Merge"):
        assert any(set(r["ErrorEquals"]) >= LAMBDA_SERVICE_ERRORS for r in definition["States"][state]["Retry"])


def test_parameter_defaults_and_schedules(resources):
    parsed, _ = decode(str(TEMPLATE))
    parameters = parsed["Parameters"]
    # bench/organization.py: 1,000 accounts x 4 Regions need 46 to 55 children at once to finish in 15 minutes.
    assert parameters["MaxConcurrency"]["Default"] == 60
    assert parameters["MultiAccount"]["Default"] == "false"
    single = resources["AuditFunction"]["Properties"]["Events"]["DailyAudit"]["Properties"]
    assert single["State"] == {"Fn::If": ["IsMultiAccount", "DISABLED", "ENABLED"]}
    (schedule,) = resources["AuditStateMachine"]["Properties"]["Events"].values()
    assert schedule["Type"] == "ScheduleV2"
    delivered = json.loads(schedule["Properties"]["Input"]["Fn::Sub"])
    sample = json.loads((ROOT / "events" / "plan.json").read_text())
    assert set(delivered) == set(sample) and set(delivered["targets"]) == set(sample["targets"])


def test_state_machine_role_grants_what_a_distributed_map_needs_and_no_more(resources):
    """https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html: StartExecution on
    the state machine, DescribeExecution on its executions, the ItemReader's GetObject, the ResultWriter's
    PutObject, GetObject, ListMultipartUploadParts and AbortMultipartUpload, each on its own prefix."""
    from healthaudit.fanout_permissions import STATE_MACHINE_PERMISSIONS

    properties = resources["AuditStateMachine"]["Properties"]
    assert properties["Name"] == {"Fn::Sub": "${AWS::StackName}-audit"}
    (policy,) = properties["Policies"]
    granted = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["Statement"]}
    machine = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    assert granted == {
        "InvokeAuditFunctions": (
            "lambda:InvokeFunction",
            [{"Fn::GetAtt": [name, "Arn"]} for name in ("PlanFunction", "AuditFunction", "MergeFunction")],
        ),
        "StartChildWorkflows": (
            "states:StartExecution",
            {"Fn::Sub": f"{machine}:stateMachine:${{AWS::StackName}}-audit"},
        ),
        "DescribeChildWorkflows": (
            "states:DescribeExecution",
            [
                {"Fn::Sub": f"{machine}:execution:${{AWS::StackName}}-audit:*"},
                {"Fn::Sub": f"{machine}:execution:${{AWS::StackName}}-audit/*"},
            ],
        ),
        "ReadPlans": ("s3:GetObject", {"Fn::Sub": "${ReportBucket.Arn}/fanout/plans/*"}),
        "WriteMapResults": (
            ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
            {"Fn::Sub": "${ReportBucket.Arn}/fanout/results/*"},
        ),
    }
    actions = {a for action, _ in granted.values() for a in ([action] if isinstance(action, str) else action)}
    assert actions == set(STATE_MACHINE_PERMISSIONS)


def test_audit_function_assumes_only_the_member_role_and_only_when_multi_account(resources):
    statements = resources["AuditFunction"]["Properties"]["Policies"][0]["Statement"]
    (assume,) = [
        s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][1].get("Sid") == "AssumeMemberAuditRole"
    ]
    condition, statement, otherwise = assume
    assert condition == "IsMultiAccount" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}


# -- the member role template --------------------------------------------------------------------


def test_member_role_grants_exactly_the_audits_reads():
    parsed, problems = decode(str(MEMBER_TEMPLATE))
    assert not problems
    role = parsed["Resources"]["MemberAuditRole"]["Properties"]
    granted = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            granted |= set(actions if isinstance(actions, list) else [actions])
    needed = member_role_permissions()
    assert granted == needed, {"extra": sorted(granted - needed), "missing": sorted(needed - granted)}
    assert not {a for a in needed if a.startswith(("s3:", "ssm:", "secretsmanager:"))}

    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AuditorAccountId}:root"}}
    assert trust["Condition"] == {
        "StringEquals": {
            "sts:ExternalId": {"Ref": "ExternalId"},
            "aws:PrincipalOrgID": {"Fn::If": ["HasOrganizationId", {"Ref": "OrganizationId"}, {"Ref": "AWS::NoValue"}]},
        },
        # Only the audit function's role: template.yaml gives it this path.
        "ArnLike": {
            "aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AuditorAccountId}:role${AuditorRolePath}*"}
        },
    }
    assert set(parsed["Parameters"]) == {
        "AuditorAccountId",
        "RoleName",
        "ExternalId",
        "AuditorRolePath",
        "OrganizationId",
        "LogGroupPrefixes",
    }
    auditor, _ = decode(str(TEMPLATE))
    audit_role_path = auditor["Resources"]["AuditFunction"]["Properties"]["RolePath"]
    assert parsed["Parameters"]["AuditorRolePath"]["Default"] == audit_role_path
    assert auditor["Parameters"]["MemberRoleExternalId"]["NoEcho"] is True


def test_member_role_template_passes_cfn_lint_and_checkov():
    result = run_tool([tool("cfn-lint"), str(MEMBER_TEMPLATE)])
    assert result.returncode == 0, explain(result)
    own_venv = ROOT / ".venv-checkov" / "bin" / "checkov"
    checkov = os.environ.get("CHECKOV") or (str(own_venv) if own_venv.exists() else tool("checkov"))
    if not checkov:
        pytest.skip("checkov is not installed (make bootstrap)")
    result = run_tool(
        [
            checkov,
            "-f",
            str(MEMBER_TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--compact",
        ]
    )
    assert result.returncode == 0, explain(result)


# -- the plan ------------------------------------------------------------------------------------


def test_plan_from_config_lists_and_products():
    listed = plan_targets(
        {
            "targets": [
                {"account": "111111111111", "region": "eu-west-1"},
                {"account": "222222222222", "region": "us-east-1"},
            ]
        },
        role_name=ROLE,
    )
    assert [(t.account, t.region) for t in listed] == [("111111111111", "eu-west-1"), ("222222222222", "us-east-1")]
    assert listed[0].to_dict() == {
        "account": "111111111111",
        "region": "eu-west-1",
        "role_arn": f"arn:aws:iam::111111111111:role/{ROLE}",
    }

    product = plan_targets(
        {"targets": {"accounts": ["111111111111", "222222222222", "111111111111"], "regions": "eu-west-1,us-east-1"}},
        role_name=ROLE,
    )
    assert len(product) == 4  # duplicates dropped
    assert (
        plan_targets({"targets": {"accounts": "111111111111"}}, role_name=ROLE, default_region="eu-central-1")[0].region
        == "eu-central-1"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "targets: missing"),
        ({"targets": [{"account": "1234", "region": "eu-west-1"}]}, "targets[0].account"),
        ({"targets": [{"account": "111111111111", "region": "Ireland"}]}, "targets[0].region"),
        ({"targets": {"accounts": "111111111111", "regions": "eu-west-1", "ous": "x"}}, "unknown key 'ous'"),
        ({"targets": {"accounts": "111111111111", "organizational_units": "ou-ab12-cd34ef56"}}, "only with"),
    ],
)
def test_plan_config_errors_name_the_field(config, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan_targets(config, role_name=ROLE, default_region=HOME)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        # The external ID belongs to the audit function's environment, never to a Map item.
        ({"account": "111111111111", "region": HOME, "external_id": EXTERNAL_ID}, "unknown key 'external_id'"),
        (
            {"account": "111111111111", "region": HOME, "role_arn": f"arn:aws:iam::222222222222:role/{ROLE}"},
            "in account",
        ),
        ({"account": "111111111111", "region": HOME, "role_arn": "arn:aws:iam::111111111111:user/someone"}, "role_arn"),
    ],
)
def test_a_map_item_is_refused_when_it_carries_a_secret_or_another_accounts_role(target, message):
    with pytest.raises(ConfigError, match=message):
        Target.from_dict(target, "event.target")
    assert Target.from_dict({"account": "111111111111", "region": HOME}).role_arn == ""


def test_plan_from_organizations_with_an_ou_filter_and_a_suspended_account(sandbox, monkeypatch):
    management = sandbox.session_for_account("710000000100", region=HOME)
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    nested = org.create_organizational_unit(ParentId=prod, Name="prod-eu")["OrganizationalUnit"]["Id"]

    def account(name: str, parent: str) -> str:
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        account_id = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"][
            "AccountId"
        ]
        if parent != root:
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        return account_id

    in_prod, in_nested, suspended, elsewhere = (
        account("prod-a", prod),
        account("prod-eu-a", nested),
        account("prod-closed", prod),
        account("sandbox-a", root),
    )
    org.close_account(AccountId=suspended)

    filtered = plan_targets(
        {"targets": {"accounts": "organization", "organizational_units": [prod], "regions": list(REGIONS)}},
        org,
        role_name=ROLE,
    )
    assert {t.account for t in filtered} == {in_prod, in_nested}
    assert len(filtered) == 4 and all(t.role_arn.endswith(f":role/{ROLE}") for t in filtered)

    everyone = plan_targets({"targets": {"regions": HOME}}, org, role_name=ROLE)  # accounts default: organization
    assert {t.account for t in everyone} == {"710000000100", in_prod, in_nested, elsewhere}

    # The same plan through the plan function, under the role the template gives it.
    aim_environment_at(management, sandbox.endpoint, HOME, monkeypatch)
    monkeypatch.setenv("HEALTHAUDIT_MEMBER_ROLE_NAME", ROLE)
    monkeypatch.setenv("HEALTHAUDIT_MAX_CONCURRENCY", "10")
    with provisioned(management, HOME, monkeypatch, multi_account=True) as stack:
        event = {
            "time": iso(AT),
            "targets": {"accounts": "organization", "organizational_units": prod, "regions": HOME},
        }
        planned = stored(stack, load_function("plan").lambda_handler(event, LambdaContext())["plan_key"])
        event["targets"]["organizational_units"] = ""
        organization = stored(stack, load_function("plan").lambda_handler(event, LambdaContext())["plan_key"])
    assert {target["account"] for target in planned} == {in_prod, in_nested}
    assert {target["account"] for target in organization} == {"710000000100", in_prod, in_nested, elsewhere}


def test_events_plan_json_through_the_plan_handler_writes_the_maps_items_to_s3(sandbox, monkeypatch):
    session = sandbox.session_for_account("710000000300", region=HOME)
    aim_environment_at(session, sandbox.endpoint, HOME, monkeypatch)
    monkeypatch.setenv("HEALTHAUDIT_MEMBER_ROLE_NAME", ROLE)
    monkeypatch.setenv("HEALTHAUDIT_MEMBER_ROLE_EXTERNAL_ID", EXTERNAL_ID)  # even if set, the plan never reads it
    monkeypatch.setenv("HEALTHAUDIT_MAX_CONCURRENCY", "7")
    event = json.loads((ROOT / "events" / "plan.json").read_text())
    with provisioned(session, HOME, monkeypatch, multi_account=True) as stack:
        output = load_function("plan").lambda_handler(event, LambdaContext(aws_request_id="plan-request-1"))
        targets = stored(stack, output["plan_key"])
    # The state carries the plan's key and a count; the targets are in S3, under the prefix the role may write.
    assert output == {
        "time": event["time"],
        "max_concurrency": 7,
        "targets_planned": 4,
        "plan_key": f"fanout/plans/dt={event['time'][:10]}/plan-request-1.json",
    }
    assert [(t["account"], t["region"]) for t in targets] == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
    ]
    assert all(set(t) == {"account", "region", "role_arn"} for t in targets)
    assert EXTERNAL_ID not in json.dumps(output) + json.dumps(targets)
    item = json.loads((ROOT / "events" / "audit-target.json").read_text())
    assert item["target"] == targets[0]  # a Map item is one planned target


# -- the sandbox's AssumeRole --------------------------------------------------------------------


def test_sandbox_assume_role_checks_the_role_and_its_trust_policy(sandbox):
    auditor = sandbox.session_for_account("710000000200", region=HOME)
    member = sandbox.session_for_account("710000000201", region=HOME)
    stranger = sandbox.session_for_account("710000000202", region=HOME)
    arn = member.client("iam").create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=trust_policy("arn:aws:iam::710000000200:root")
    )["Role"]["Arn"]
    role_trust = member.client("iam").create_role(
        RoleName="trusts-a-role",
        AssumeRolePolicyDocument=trust_policy("arn:aws:iam::710000000200:role/healthaudit-sandbox", None),
    )["Role"]["Arn"]
    sts = auditor.client("sts")

    def denied(**kwargs: Any) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sts.assume_role(RoleSessionName="healthaudit", **kwargs)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        return caught.value.response["Error"]["Message"]

    assert "is not authorized to perform: sts:AssumeRole" in denied(RoleArn=arn)  # no external ID
    denied(RoleArn=arn, ExternalId="wrong")
    denied(RoleArn="arn:aws:iam::710000000201:role/no-such-role", ExternalId=EXTERNAL_ID)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        stranger.client("sts").assume_role(RoleArn=arn, RoleSessionName="probe", ExternalId=EXTERNAL_ID)

    credentials = sts.assume_role(RoleArn=arn, RoleSessionName="healthaudit", ExternalId=EXTERNAL_ID)["Credentials"]
    assert credentials["AccessKeyId"]
    assert sts.assume_role(RoleArn=role_trust, RoleSessionName="probe")["AssumedRoleUser"]["Arn"].startswith(
        "arn:aws:sts::710000000201:assumed-role/trusts-a-role/"
    )
    # The sandbox's own bootstrap role still maps sessions to accounts.
    assert sandbox.session_for_account("710000000203", region=HOME).client("sts").get_caller_identity()["Account"] == (
        "710000000203"
    )


def test_assume_failure_is_an_assume_role_failed_naming_the_role(sandbox):
    from healthaudit.fanout.assume import assume

    auditor = sandbox.session_for_account("710000000200", region=HOME)
    target = Target("710000000209", HOME, f"arn:aws:iam::710000000209:role/{ROLE}")
    with pytest.raises(AssumeRoleFailed, match=r"cannot assume arn:aws:iam::710000000209:role/.*AccessDenied"):
        assume(auditor.client("sts"), target, EXTERNAL_ID)


def test_assumed_credentials_act_in_each_member_account_through_one_session(sandbox):
    """The audit makes every target's clients from its own session, with the member's credentials."""
    from healthaudit.collect.clients import AwsClients
    from healthaudit.fanout.assume import assume

    auditor = sandbox.session_for_account("710000000210", region=HOME)
    members = ("710000000211", "710000000212")
    for member in members:
        iam = sandbox.session_for_account(member, region=HOME).client("iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust_policy("arn:aws:iam::710000000210:root"))
    sts = auditor.client("sts")
    acting = []
    for member, region in zip(members, REGIONS, strict=True):
        credentials = assume(sts, Target(member, region, f"arn:aws:iam::{member}:role/{ROLE}"), EXTERNAL_ID)
        assert credentials.secret_access_key not in repr(credentials)
        assert credentials.session_token not in repr(credentials)
        clients = AwsClients(auditor, region=region, credentials=credentials)
        acting.append((clients.account_id(), clients.client("lambda").meta.region_name))
    assert acting == list(zip(members, REGIONS, strict=True))
    assert auditor.client("sts").get_caller_identity()["Account"] == "710000000210"  # the session keeps its own


# -- the fan-out end to end ----------------------------------------------------------------------

AUDITOR = "710000000001"
MEMBERS = ("710000000011", "710000000012", "710000000013")
BROKEN = "710000000014"  # its role trusts another external ID
SMALL_FLEET_NAMES = ("fraud-scoring", "audit-trail", "orders-api")


def small_fleet():
    return [fn for fn in demo_fleet() if fn.name in SMALL_FLEET_NAMES]


@pytest.fixture(scope="module")
def member_accounts(sandbox):
    """3 accounts x 2 regions with a small fleet each, and the member role; one more account whose
    role cannot be assumed (wrong external ID)."""
    for account in MEMBERS:
        for region in REGIONS:
            seed_fleet(sandbox.session_for_account(account, region=region), AT, small_fleet())
        create_member_role(sandbox.session_for_account(account, region=HOME), AUDITOR)
    create_member_role(sandbox.session_for_account(BROKEN, region=HOME), AUDITOR, external_id="someone-else")
    return MEMBERS


@pytest.fixture
def fresh_parameter_providers():
    """Powertools caches its SSM and Secrets Manager clients (and values) process-wide, bound to the
    credentials of their first use; this module's functions act as another account than others'."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    DEFAULT_PROVIDERS.clear()
    yield
    DEFAULT_PROVIDERS.clear()


@pytest.fixture
def auditor_env(sandbox, monkeypatch, fresh_parameter_providers):
    """The auditor account's deployed functions' environment: bucket, Slack secret, config, member role."""
    session = sandbox.session_for_account(AUDITOR, region=HOME)
    aim_environment_at(session, sandbox.endpoint, HOME, monkeypatch)
    for name, value in {
        "HEALTHAUDIT_MEMBER_ROLE_NAME": ROLE,
        "HEALTHAUDIT_MEMBER_ROLE_EXTERNAL_ID": EXTERNAL_ID,
        "HEALTHAUDIT_MAX_CONCURRENCY": "10",
    }.items():
        monkeypatch.setenv(name, value)
    with provisioned(session, HOME, monkeypatch, multi_account=True) as stack:
        yield stack


def run_map(audit_app, targets: list[dict], time: str) -> list[dict]:
    """An inline Map: one audit invocation per target; the Catch records {target, error}. (The template's
    Distributed Map is executed in tests/integration/test_state_machine.py; the merge still reads an
    inline Map's results, from executions started before it.)"""
    results = []
    for target in targets:
        item = {"target": target, "time": time}
        assert EXTERNAL_ID not in json.dumps(item)
        try:
            results.append(json.loads(json.dumps(audit_app.lambda_handler(item, LambdaContext()))))
        except Exception as error:  # noqa: BLE001 - Catch: States.ALL
            cause = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []}
            results.append({"target": target, "error": {"Error": type(error).__name__, "Cause": json.dumps(cause)}})
    return results


def stored(env: dict, key: str) -> dict:
    return json.loads(env["s3"].get_object(Bucket=env["bucket"], Key=key)["Body"].read())


def test_fan_out_over_three_accounts_and_two_regions_with_one_unreachable_target(
    member_accounts, auditor_env, capsys, caplog
):
    planned = [{"account": a, "region": r} for a in member_accounts for r in REGIONS]
    planned.append({"account": BROKEN, "region": HOME})
    plan_output = load_function("plan").lambda_handler({"time": iso(AT), "targets": planned}, LambdaContext())
    assert plan_output["targets_planned"] == 7

    results = run_map(load_function("audit"), stored(auditor_env, plan_output["plan_key"]), plan_output["time"])
    failed = [r for r in results if "error" in r]
    assert [r["target"]["account"] for r in failed] == [BROKEN]
    # The unreachable target is the audit's answer, not a function error the Map's Catch turned into one.
    assert failed[0]["error"]["Error"] == "AssumeRoleFailed" and failed[0]["error"]["Cause"].startswith(
        f"cannot assume arn:aws:iam::{BROKEN}:role/{ROLE}: AccessDenied"
    )
    written = capsys.readouterr()
    emf = [json.loads(line) for line in written.out.splitlines() if '"_aws"' in line]
    assert sum(line.get("TargetsNotAudited", [0])[0] for line in emf) == 1
    logged = "".join(repr(vars(record)) for record in caplog.records)
    assert "target not audited" in logged  # the audit's log records, with their extra keys, were captured...
    # ...and the external ID is in none of them, nor in any execution input or output.
    assert EXTERNAL_ID not in logged + written.out + written.err + json.dumps(plan_output) + json.dumps(results)
    for result in results:
        if "error" not in result:
            assert result["account"] == result["target"]["account"]  # the member account was audited
            assert result["functions_audited"] == len(SMALL_FLEET_NAMES)
            assert result["report_key"] == (
                f"reports/dt={day(AT)}/account={result['account']}/region={result['region']}/report.json"
            )
            report = stored(auditor_env, result["report_key"])  # in the auditor's bucket
            found = {(f["function_name"], f["check_id"]) for f in report["findings"] if not f["suppressed_by"]}
            assert {("fraud-scoring", "error-rate-high"), ("audit-trail", "log-retention-unset")} <= found

    merge_input = {**plan_output, "results": results}
    assert EXTERNAL_ID not in json.dumps(merge_input)
    merged = load_function("merge").lambda_handler(merge_input, LambdaContext())
    assert merged == {
        "report_key": f"reports/dt={day(AT)}/consolidated/report.json",
        "targets_audited": 6,
        "targets_not_audited": 1,
        "slack": "posted",
    }
    consolidated = stored(auditor_env, merged["report_key"])
    assert consolidated == stored(auditor_env, "latest/consolidated/report.json")
    assert sorted(e.message for e in Draft202012Validator(load_consolidated_schema()).iter_errors(consolidated)) == []
    assert ConsolidatedReport.from_dict(consolidated).to_dict() == consolidated
    assert {(t["account"], t["region"]) for t in consolidated["targets"]} == {
        (a, r) for a in member_accounts for r in REGIONS
    }
    for target in consolidated["targets"]:
        assert target["functions_audited"] == len(SMALL_FLEET_NAMES)
        assert target["findings"] >= 2 and sum(target["counts_by_severity"].values()) == target["findings"]
    (lost,) = consolidated["not_audited"]
    assert lost["account"] == BROKEN and "AccessDenied" in lost["error"]
    assert consolidated["functions_audited"] == 6 * len(SMALL_FLEET_NAMES)

    (digest,) = auditor_env["slack"].messages  # ONE message for the whole run
    blocks = json.dumps(digest["blocks"])
    assert len(digest["blocks"]) <= 50
    assert "`error-rate-high` *6*" in blocks  # fraud-scoring in each of the 6 targets, counted per check
    assert "*1 target*: AssumeRoleFailed: cannot assume arn:" in blocks and "AccessDenied" in blocks  # by reason
    assert f"({BROKEN} {HOME})" in blocks and "fraud-scoring" in blocks
    assert "1 not audited" in digest["text"]


def test_events_audit_target_and_merge_json_through_the_handlers(sandbox, auditor_env):
    item = at_audit_time(json.loads((ROOT / "events" / "audit-target.json").read_text()))
    member = item["target"]["account"]
    create_member_role(sandbox.session_for_account(member, region=HOME), AUDITOR)
    result = load_function("audit").lambda_handler(item, LambdaContext())
    assert result["target"] == item["target"] and result["account"] == member
    assert result["report_key"] == f"reports/dt={day(AT)}/account={member}/region=eu-west-1/report.json"

    event = at_audit_time(json.loads((ROOT / "events" / "merge.json").read_text()))
    audited, caught = event["results"]
    assert audited["target"] == item["target"] and "error" in caught
    audited["report_key"] = result["report_key"]  # the sample's date is the audit's
    merged = load_function("merge").lambda_handler(event, LambdaContext())
    assert (merged["targets_audited"], merged["targets_not_audited"], merged["slack"]) == (1, 1, "posted")
    consolidated = stored(auditor_env, merged["report_key"])
    assert consolidated["not_audited"][0]["account"] == "222222222222"
    assert consolidated["not_audited"][0]["error"].startswith("AssumeRoleFailed: cannot assume")
    (digest,) = auditor_env["slack"].messages
    assert "222222222222" in json.dumps(digest["blocks"])


def test_scheduled_events_still_audit_this_account(sandbox, auditor_env):
    """The single-account path (MultiAccount false) is unchanged by the target mode."""
    app = load_function("audit")
    event = at_audit_time(json.loads((ROOT / "events" / "scheduled.json").read_text()))
    response = app.lambda_handler(event, LambdaContext())
    assert response["account"] == AUDITOR and response["slack"] == "left to the notifier"


# -- the digest's limits (pure) ------------------------------------------------------------------


def test_grouped_digest_stays_within_block_kit_limits_for_many_accounts():
    window = AuditWindow.ending_at(AT)
    results, reports = [], {}
    for index in range(120):
        account = f"{800000000000 + index:012d}"
        for region in REGIONS:
            key = f"reports/{account}/{region}"
            target = {"account": account, "region": region}
            if index % 10 == 0 and region == "us-east-1":
                results.append({"target": target, "error": {"Error": "States.Timeout", "Cause": "x" * 5000}})
                continue
            results.append({"target": target, "report_key": key})
            finding = Finding(
                "throttled", "Throttled <b>", Severity.HIGH, account, region, "m", "r", "", function_name="f" * 500
            )
            reports[key] = AuditReport(account, region, window, 40, (), (finding,) * 40, (), {}, {})
    consolidated = merge_reports(results, reports, generated_at=AT)
    assert consolidated.targets_audited == 228 and consolidated.targets_not_audited == 12
    text, blocks = build_grouped_digest(consolidated, "s3://bucket/reports/consolidated/report.json")
    rendered = [block.to_dict() for block in blocks]
    assert len(rendered) <= 50 and message_chars(blocks) <= MAIN_MESSAGE_CHARS
    assert "`throttled` *9,120*" in json.dumps(rendered)  # 228 targets x 40, counted per check
    assert "*12 targets*: States.Timeout" in json.dumps(rendered)  # the failures, grouped by reason
    for block in rendered:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    assert "<b>" not in json.dumps(rendered)  # AWS text is escaped
    assert "12 not audited" in text
