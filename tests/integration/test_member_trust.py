"""The member role trusts the audit function's role only (issue 13, item 1).

member-role/template.yaml's trust names the auditor account and then narrows it with conditions:
``aws:PrincipalArn`` under the audit function's role path (template.yaml, AuditFunction's
RolePath), ``sts:ExternalId``, and ``aws:PrincipalOrgID`` when an organization is given. The
auditor's own ``sts:AssumeRole`` grant is limited to the member role's name and, when an
organization is given, to roles of that organization (``aws:ResourceOrgID``). The roles are made
from the templates themselves (tests/support/stack_roles.py) and the sandbox's STS evaluates the
conditions as IAM documents them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto.sts.models import sts_backends

from healthaudit_sandbox.authorization import refusals_expected
from healthaudit_sandbox.sts_assume import conditions_hold
from tests.support.stack_roles import LAMBDA_TRUST, create_function_roles, create_role, member_role_policies

HOME = "eu-west-1"
ROLE = "healthaudit-member-audit"
EXTERNAL_ID = "healthaudit-7d41e9"


def audit_function_session(sandbox, account: str, organization_id: str = "") -> boto3.Session:
    """A session of template.yaml's AuditFunction role (RolePath and policies as SAM makes them), as
    Lambda hands it to the function."""
    from healthaudit_sandbox.sts_assume import lambda_service_assume_role

    admin = sandbox.session_for_account(account, region=HOME)
    stack = {"account": account, "region": HOME, "bucket": f"reports-{account}", "table": f"idempotency-{account}"}
    parameters = {"MultiAccount": "true", "OrganizationId": organization_id}
    arn = create_function_roles(admin, stack, parameters)["AuditFunction"]
    assert ":role/healthaudit/audit/" in arn  # the path the member role's trust names
    return _session(lambda_service_assume_role(arn, session_name="AuditFunction"))


def other_role_session(sandbox, account: str, name: str, path: str = "/") -> boto3.Session:
    """Another role of the account, allowed sts:AssumeRole on every role (an admin or CI role)."""
    from healthaudit_sandbox.sts_assume import lambda_service_assume_role

    admin = sandbox.session_for_account(account, region=HOME)
    grant = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    arn = create_role(admin.client("iam"), name, LAMBDA_TRUST, [grant], path=path)
    return _session(lambda_service_assume_role(arn, session_name=name))


def _session(credentials: dict[str, str]) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=HOME,
    )


def deploy_member_role(sandbox, member: str, auditor: str, **parameters: str) -> str:
    """member-role/template.yaml's role in `member`, trusting `auditor`."""
    trust, documents = member_role_policies(
        member, HOME, {"AuditorAccountId": auditor, "RoleName": ROLE, "ExternalId": EXTERNAL_ID, **parameters}
    )
    return create_role(sandbox.session_for_account(member, region=HOME).client("iam"), ROLE, trust, documents)


def assume(sandbox, session: boto3.Session, role_arn: str, external_id: str | None = EXTERNAL_ID) -> dict[str, Any]:
    kwargs = {"RoleArn": role_arn, "RoleSessionName": "healthaudit"}
    if external_id:
        kwargs["ExternalId"] = external_id
    return session.client("sts", endpoint_url=sandbox.endpoint).assume_role(**kwargs)


def refusal(sandbox, session: boto3.Session, role_arn: str, external_id: str | None = EXTERNAL_ID) -> str:
    with refusals_expected(), pytest.raises(botocore.exceptions.ClientError) as caught:
        assume(sandbox, session, role_arn, external_id)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    return error["Error"]["Message"]


# -- aws:PrincipalArn: the audit function's role, and no other principal of the auditor account ------

AUDITOR = "730000000001"
MEMBER = "730000000002"
FOREIGN = "730000000003"


@pytest.fixture(scope="module")
def member_role(sandbox) -> str:
    return deploy_member_role(sandbox, MEMBER, AUDITOR)


@pytest.fixture(scope="module")
def callers(sandbox) -> dict[str, boto3.Session]:
    return {
        "audit function role": audit_function_session(sandbox, AUDITOR),
        "auditor account administrator": sandbox.session_for_account(AUDITOR, region=HOME),
        "auditor account CI role": other_role_session(sandbox, AUDITOR, "ci-deploy"),
        # Next to the audit path, not under it: ArnLike matches role/healthaudit/audit/* only.
        "role under /healthaudit/auditor/": other_role_session(sandbox, AUDITOR, "lookalike", "/healthaudit/auditor/"),
        "role under /healthaudit/": other_role_session(sandbox, AUDITOR, "parent-path", "/healthaudit/"),
        # The same role, path and policies, in an account the member role does not trust.
        "audit function role of another account": audit_function_session(sandbox, FOREIGN),
    }


def test_the_audit_function_role_assumes_the_member_role_with_the_external_id(sandbox, member_role, callers):
    answer = assume(sandbox, callers["audit function role"], member_role)
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{MEMBER}:assumed-role/{ROLE}/healthaudit"
    # Without the external ID, or with another, even the audit function's role is refused.
    refusal(sandbox, callers["audit function role"], member_role, external_id=None)
    refusal(sandbox, callers["audit function role"], member_role, external_id="healthaudit-guess")


@pytest.mark.parametrize(
    "caller",
    [
        "auditor account administrator",
        "auditor account CI role",
        "role under /healthaudit/auditor/",
        "role under /healthaudit/",
        "audit function role of another account",
    ],
)
def test_any_other_principal_is_refused_even_with_the_external_id(sandbox, member_role, callers, caller):
    message = refusal(sandbox, callers[caller], member_role)
    assert f"is not authorized to perform: sts:AssumeRole on resource: {member_role}" in message


def test_a_foreign_principal_gets_a_clear_refusal_and_no_session(sandbox, member_role, callers):
    """Bad input: a principal the member role does not trust. AWS answers AccessDenied naming the caller
    and the role, and issues nothing: no session of the member role exists afterwards."""
    sessions = sts_backends[MEMBER]["aws"].assumed_roles

    def sessions_of_member_role() -> int:
        return sum(1 for session in sessions if session.role_arn == member_role)

    before = sessions_of_member_role()
    message = refusal(sandbox, callers["auditor account CI role"], member_role)
    assert message == (
        f"User: arn:aws:sts::{AUDITOR}:assumed-role/ci-deploy/ci-deploy is not authorized to perform: "
        f"sts:AssumeRole on resource: {member_role}"
    )
    assert sessions_of_member_role() == before


# -- aws:PrincipalOrgID and aws:ResourceOrgID ---------------------------------------------------------

ORG_AUDITOR = "730000000011"
ORG_OUTSIDER = "730000000012"  # in no organization
ORG_MEMBER_ROLE = "730000000013"


@pytest.fixture(scope="module")
def organization(sandbox) -> dict[str, str]:
    """ORG_AUDITOR manages an organization with one more account in it."""
    org = sandbox.session_for_account(ORG_AUDITOR, region=HOME).client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = org.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]
    inside = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    return {"id": org_id, "inside": inside}


@pytest.mark.parametrize(
    ("auditor", "required_org", "allowed"),
    [
        (ORG_AUDITOR, "the auditor's", True),
        (ORG_AUDITOR, "o-otherorg0000", False),  # the caller is in another organization
        (ORG_OUTSIDER, "the auditor's", False),  # the caller is in none: the key is absent
    ],
)
def test_member_role_with_an_organization_requires_the_callers_principal_org_id(
    sandbox, organization, auditor, required_org, allowed
):
    org_id = organization["id"] if required_org == "the auditor's" else required_org
    role = deploy_member_role(sandbox, ORG_MEMBER_ROLE, auditor, OrganizationId=org_id)
    caller = audit_function_session(sandbox, auditor)
    if allowed:
        assert assume(sandbox, caller, role)["Credentials"]["AccessKeyId"]
    else:
        refusal(sandbox, caller, role)


@pytest.mark.parametrize(
    ("organization_parameter", "outside_allowed"),
    [("the organization", False), ("", True)],
)
def test_the_auditors_grant_reaches_only_roles_of_its_organization(
    sandbox, organization, organization_parameter, outside_allowed
):
    """aws:ResourceOrgID on the audit function's sts:AssumeRole: with OrganizationId set, a member role in
    an account outside the organization is refused by the auditor's own policy, however it trusts."""
    inside = deploy_member_role(sandbox, organization["inside"], ORG_AUDITOR)
    outside = deploy_member_role(sandbox, ORG_OUTSIDER, ORG_AUDITOR)
    org_id = organization["id"] if organization_parameter else ""
    caller = audit_function_session(sandbox, ORG_AUDITOR, organization_id=org_id)
    assert assume(sandbox, caller, inside)["Credentials"]["AccessKeyId"]
    if outside_allowed:
        assert assume(sandbox, caller, outside)["Credentials"]["AccessKeyId"]
    else:
        message = refusal(sandbox, caller, outside)
        assert "no identity-based policy allows the sts:AssumeRole action" in message


# -- the ARN condition operators, as the IAM reference documents them --------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN

AUDIT_ROLE = "arn:aws:iam::730000000001:role/healthaudit/audit/stack-AuditFunctionRole-1A2B"


@pytest.mark.parametrize(
    ("operator", "pattern", "value", "holds"),
    [
        ("ArnLike", "arn:aws:iam::730000000001:role/healthaudit/audit/*", AUDIT_ROLE, True),
        ("ArnLike", "arn:aws:iam::730000000001:role/healthaudit/audit/*", AUDIT_ROLE.replace("audit/", "ci/"), False),
        ("ArnLike", "arn:aws:iam::730000000001:role/healthaudit/audit/*", AUDIT_ROLE.upper(), False),  # case-sensitive
        ("ArnLike", "arn:aws:iam::*:role/healthaudit/audit/*", AUDIT_ROLE, True),  # a wildcard part
        ("ArnLike", "arn:aws:iam::7300000000??:role/*", AUDIT_ROLE, True),
        ("ArnLike", "arn:aws:iam:*:role/healthaudit/audit/*", AUDIT_ROLE, False),  # `*` stays within its part
        ("ArnLike", "arn:aws:iam::730000000001:role/*", "not-an-arn", False),
        ("ArnEquals", AUDIT_ROLE, AUDIT_ROLE, True),
        ("ArnEquals", "arn:aws:iam::730000000001:role/healthaudit/audit/*", AUDIT_ROLE, True),  # same as ArnLike
        ("ArnNotLike", "arn:aws:iam::730000000001:role/healthaudit/audit/*", AUDIT_ROLE, False),
        ("ArnNotEquals", "arn:aws:iam::730000000001:role/other", AUDIT_ROLE, True),
    ],
)
def test_arn_operators_match_each_part_case_sensitively(operator, pattern, value, holds):
    assert conditions_hold({operator: {"aws:PrincipalArn": pattern}}, {"aws:principalarn": value}) is holds


def test_a_condition_on_a_key_the_request_lacks_is_false():
    assert not conditions_hold({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, {"aws:principalorgid": None})
    assert not conditions_hold({"ArnLike": {"aws:PrincipalArn": "*"}}, {})


def test_member_role_trust_as_deployed_names_the_audit_role_path():
    trust, _ = member_role_policies("730000000099", HOME, {"AuditorAccountId": AUDITOR, "ExternalId": EXTERNAL_ID})
    (statement,) = trust["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{AUDITOR}:role/healthaudit/audit/*"},
    }
    assert json.dumps(statement["Principal"]) == json.dumps({"AWS": f"arn:aws:iam::{AUDITOR}:root"})
