"""STS AssumeRole that refuses what AWS refuses: a missing role, an untrusted caller, a wrong external ID.

moto 5.2.5's AssumeRole never fails ("the role does not need to exist"). AWS answers
``AccessDenied`` (HTTP 403) "User: <caller> is not authorized to perform: sts:AssumeRole on
resource: <role>" unless the role exists and its trust policy allows the caller
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
:func:`install_sts_assume_role` makes the sandbox do the same:

* the role must exist in the account its ARN names;
* its trust policy (``AssumeRolePolicyDocument``) must hold an ``Allow`` statement whose Action
  matches ``sts:AssumeRole`` (``*`` and ``?`` wildcards) and whose ``Principal`` names the caller:
  ``"*"``, ``{"AWS": "*"}``, the caller's account (``"123456789012"`` or
  ``arn:aws:iam::123456789012:root``: any principal of that account), the caller's own role ARN
  (for a caller acting through an assumed-role session) or user ARN; a matching ``Deny`` wins;
* the statement's Condition must hold. Supported: the ``String*`` operators (``StringEquals``,
  ``StringNotEquals``, ``StringLike``, ``StringNotLike`` and their ``IgnoreCase`` forms), the
  ``Arn*`` operators (``ArnEquals``, ``ArnLike``, ``ArnNotEquals``, ``ArnNotLike``: case-sensitive,
  each of the six colon-delimited parts of the ARN matched on its own, ``*`` and ``?`` wildcards
  in both ``ArnEquals`` and ``ArnLike``;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN),
  ``Bool`` and ``Null``, on the keys ``sts:ExternalId`` (the request's ExternalId,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html),
  ``aws:PrincipalAccount``, ``aws:PrincipalArn`` and ``aws:PrincipalOrgID``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
  for a role session, aws:PrincipalArn is the role's ARN, path included (looked up in IAM; the
  session's assumed-role ARN carries no path), never the session's ARN; aws:PrincipalOrgID is the
  organization of the caller's account (moto's Organizations backend), absent when the account is
  in none. A key the request does not carry makes its condition false, so a trust policy requiring
  ``sts:ExternalId`` or ``aws:PrincipalOrgID`` denies a request without it. Any other operator or
  key is treated as not satisfied (a denial, never a silent allow).

The caller's own identity policy (which must also allow sts:AssumeRole on the role, with its
``aws:ResourceOrgID`` conditions) is evaluated for role sessions by
:mod:`healthaudit_sandbox.authorization`, before this check. Not emulated: service principals,
session tags and SCPs.

The sandbox's own bootstrap role (:data:`BOOTSTRAP_ROLE_NAME`, ``healthaudit-sandbox``), which
:meth:`healthaudit_sandbox.server.Sandbox.session_for_account` assumes in any account to act
there, is let through unchecked: it is the sandbox's way of handing out an account's credentials,
not a role under test.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import AccessDeniedError
from moto.iam.models import iam_backends
from moto.sts import responses as sts_responses

__all__ = [
    "BOOTSTRAP_ROLE_NAME",
    "conditions_hold",
    "install_sts_assume_role",
    "lambda_service_assume_role",
    "service_assume_role",
    "organization_id",
    "principal_arn",
    "trust_allows",
]

#: Must equal healthaudit_sandbox.server.SANDBOX_ROLE_NAME (server.py imports fidelity, not the reverse).
BOOTSTRAP_ROLE_NAME = "healthaudit-sandbox"

_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
_ASSUMED = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$")

_install_lock = threading.Lock()
_installed = False


def install_sts_assume_role() -> None:
    """Patch moto's STS AssumeRole to check the role and its trust policy (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original = sts_responses.TokenResponse.assume_role

        def assume_role(self: Any) -> Any:
            role_arn = self._get_param("RoleArn") or ""
            match = _ROLE_ARN.match(role_arn)
            if match and match["name"] != BOOTSTRAP_ROLE_NAME:
                _, caller_arn, caller_account = self.backend.get_caller_identity(self.get_access_key(), self.region)
                # AccessDeniedError: HTTP 403, "User: <caller> is not authorized to perform: <action>".
                denied = AccessDeniedError(caller_arn, f"sts:AssumeRole on resource: {role_arn}")
                iam = iam_backends[match["account"]][match["partition"]]
                role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
                if role is None:
                    raise denied
                context = {
                    "sts:externalid": self._get_param("ExternalId"),
                    "aws:principalaccount": caller_account,
                    "aws:principalarn": principal_arn(caller_arn),
                    "aws:principalorgid": organization_id(caller_account, match["partition"]),
                }
                if not trust_allows(role.assume_role_policy_document, caller_arn, caller_account, context):
                    raise denied
            return original(self)

        sts_responses.TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
        _installed = True


def lambda_service_assume_role(role_arn: str, session_name: str) -> dict[str, str]:
    """Credentials of a session of `role_arn` as the Lambda service gets them for a function, as the
    environment variables Lambda sets."""
    session = service_assume_role(role_arn, "lambda.amazonaws.com", session_name)
    return {
        "AWS_ACCESS_KEY_ID": session["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": session["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": session["aws_session_token"],
    }


def service_assume_role(role_arn: str, service: str, session_name: str) -> dict[str, str]:
    """A session of `role_arn` as STS issues it to an AWS service (``lambda.amazonaws.com``,
    ``states.amazonaws.com``), as boto3 client arguments.

    The role must exist and trust the service principal with an Allow on ``sts:AssumeRole``; the session
    is issued by moto's STS backend directly, since no API caller stands for the service.
    """
    match = _ROLE_ARN.match(role_arn)
    if not match:
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    iam = iam_backends[match["account"]][match["partition"]]
    role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
    if role is None:
        raise ValueError(f"role {role_arn} does not exist")
    if not _trusts_service(role.assume_role_policy_document, service):
        raise ValueError(f"role {role_arn} does not trust {service}")
    from moto.sts.models import sts_backends

    session = sts_backends[match["account"]][match["partition"]].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "aws_access_key_id": session.access_key_id,
        "aws_secret_access_key": session.secret_access_key,
        "aws_session_token": session.session_token,
    }


def _trusts_service(document: Any, service: str) -> bool:
    if isinstance(document, str):
        document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
    return any(
        statement.get("Effect") == "Allow"
        and isinstance(statement.get("Principal") or {}, dict)
        and service in _as_list((statement.get("Principal") or {}).get("Service", []))
        and _action_matches(statement)
        for statement in _as_list(document.get("Statement", []))
    )


def principal_arn(caller_arn: str) -> str:
    """aws:PrincipalArn: for an assumed-role session, the role's ARN with its path, as IAM holds it."""
    assumed = _ASSUMED.match(caller_arn)
    if not assumed:
        return caller_arn
    partition, account, name = assumed["partition"], assumed["account"], assumed["role"]
    role = next((r for r in iam_backends[account][partition].roles.values() if r.name == name), None)
    return role.arn if role is not None else f"arn:{partition}:iam::{account}:role/{name}"


def organization_id(account: str, partition: str = "aws") -> str | None:
    """The ID of the AWS Organizations organization the account belongs to, or None (aws:PrincipalOrgID,
    aws:ResourceOrgID): the management account holds the organization in moto, members are mapped to it."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[account][partition]
    if backend.org is not None:
        return backend.org.id
    management = organizations_backends.master_accounts.get(account)
    if management is None:
        return None
    org = organizations_backends[management[0]][management[1]].org
    return org.id if org is not None else None


def trust_allows(document: Any, caller_arn: str, caller_account: str, context: dict[str, str | None]) -> bool:
    """Whether a role trust policy lets this caller call sts:AssumeRole, with this request context."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote(document)
        try:
            document = json.loads(text)
        except ValueError:
            return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        if not _action_matches(statement) or not _principal_matches(statement, caller_arn, caller_account):
            continue
        if not conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(statement: dict[str, Any]) -> bool:
    if "Action" not in statement:
        return False
    return any(fnmatch.fnmatchcase("sts:assumerole", str(a).lower()) for a in _as_list(statement["Action"]))


def _principal_matches(statement: dict[str, Any], caller_arn: str, caller_account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict) or "AWS" not in principal:
        return False
    caller_role = principal_arn(caller_arn)
    for entry in _as_list(principal["AWS"]):
        entry = str(entry)
        if entry == "*" or entry == caller_account:
            return True
        root = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):root", entry)
        if root and root.group(1) == caller_account:
            return True
        if entry in (caller_arn, caller_role):
            return True
    return False


_STRING_OPERATORS = {
    "StringEquals": (False, False, False),
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
}


_ARN_OPERATORS = {"ArnEquals": False, "ArnLike": False, "ArnNotEquals": True, "ArnNotLike": True}


def _arn_matches(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: case-sensitive, part by part (the resource part keeps its colons)."""
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    if len(patterns) != 6 or len(values) != 6:
        return False
    return all(_wildcard(p).fullmatch(v) is not None for p, v in zip(patterns, values, strict=True))


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def conditions_hold(conditions: Any, context: dict[str, str | None]) -> bool:
    if not isinstance(conditions, dict):
        return False
    for operator, pairs in conditions.items():
        if not isinstance(pairs, dict):
            return False
        for key, expected in pairs.items():
            if not _condition_holds(operator, key.lower(), [str(v) for v in _as_list(expected)], context):
                return False
    return True


def _condition_holds(operator: str, key: str, expected: list[str], context: dict[str, str | None]) -> bool:
    if key not in context:
        return False  # a key the sandbox does not know: never a silent allow
    value = context[key]
    if operator == "Null":
        return (value is None) == (expected[0].lower() == "true")
    if value is None:
        return False
    if operator == "Bool":
        return value.lower() in (e.lower() for e in expected)
    if operator in _ARN_OPERATORS:
        matched = any(_arn_matches(pattern, value) for pattern in expected)
        return matched != _ARN_OPERATORS[operator]
    if operator not in _STRING_OPERATORS:
        return False
    negate, like, ignore_case = _STRING_OPERATORS[operator]
    if ignore_case:
        value, expected = value.lower(), [e.lower() for e in expected]
    matched = any(fnmatch.fnmatchcase(value, pattern) for pattern in expected) if like else value in expected
    return matched != negate
