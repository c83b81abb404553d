"""IAM authorization of role sessions, as AWS evaluates identity-based policies.

moto 5.2.5 can authorize requests in server mode (``INITIAL_NO_AUTH_ACTION_COUNT``), but it
authorizes every operation except S3's against the resource ``"*"`` (moto/iam/access_control.py:
"TODO add support for the Resource and Condition parts"), takes the signing name as the IAM
service prefix (``monitoring:GetMetricData`` for ``cloudwatch:GetMetricData``), and has no
principal it lets through unchecked, so a test could not set up its account. This extension
authorizes, on moto's own hook (``ActionAuthenticatorMixin._authenticate_and_authorize_action``):

* every request signed with the temporary credentials of an assumed role, except the sandbox's
  bootstrap role (:data:`BOOTSTRAP_ROLE_NAME`, the administrator that sets up each test's account),
  against that role's inline and attached policies, as documented in
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
  an explicit Deny wins, otherwise an Allow is needed, otherwise the request is implicitly denied;
* with the IAM action name of the Service Authorization Reference
  (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
  and the resource ARN each operation is authorized on there (a function, a log group, a table,
  a parameter, a secret, a role, an object, a bucket); operations the reference scopes to no
  resource are authorized on ``"*"``, which only a statement with ``Resource: "*"`` grants;
* ``s3:GetObject`` of a key that does not exist: "If you don't have the s3:ListBucket permission,
  Amazon S3 returns an HTTP status code 403 Access Denied error" instead of 404 NoSuchKey
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").

Conditions are evaluated as the STS extension evaluates trust policies
(:func:`healthaudit_sandbox.sts_assume.conditions_hold`), over ``aws:RequestedRegion``,
``aws:PrincipalArn`` and ``aws:PrincipalAccount``, and for ``sts:AssumeRole`` ``aws:ResourceOrgID``
(the organization of the role's account, absent when it is in none:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid);
any other key makes the condition false, so an Allow that depends on it never applies. (No policy
of ours has a conditional Deny.) Not emulated: resource-based policies, permission boundaries,
session policies and SCPs; the sandbox only ever denies for lack of them, never allows.

Every authorized request is recorded by role and IAM action (:func:`recorded_calls`), so tests can
compare what the functions really call with what the template grants.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlparse

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.iam.models import iam_backends
from moto.s3.exceptions import S3AccessDeniedError
from moto.sts.models import sts_backends

from healthaudit_sandbox.sts_assume import BOOTSTRAP_ROLE_NAME, conditions_hold, organization_id

__all__ = [
    "BOOTSTRAP_ROLE_NAME",
    "Decision",
    "evaluate",
    "install_authorization",
    "recorded_calls",
    "refusals_expected",
    "refused_calls",
    "reset_recorded_calls",
]


#: Signing names whose IAM service prefix differs (the credential scope names the signing name).
_IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
#: API operation names whose IAM action has another name.
_IAM_ACTION = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadBucket"): "ListBucket",
}
#: Operations AWS does not authorize at all: "No permissions are required to perform this operation."
#: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
_UNAUTHORIZED_OPERATIONS = {"sts:GetCallerIdentity"}
#: Services whose access-denied error code is AccessDenied (query and REST-XML protocols); the
#: JSON-protocol services answer AccessDeniedException.
_QUERY_STYLE_SERVICES = {"iam", "sts", "cloudwatch", "s3", "sqs", "sns"}

_lock = threading.Lock()
_installed = False
_recorded: dict[str, set[str]] = defaultdict(set)
_refused: dict[str, set[str]] = defaultdict(set)
_expecting = 0


class Decision:
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "implicitly denied"


def install_authorization() -> None:
    """Authorize role sessions on moto's authentication hook (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        original = ActionAuthenticatorMixin._authenticate_and_authorize_action

        def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
            original(self, iam_request_cls, resource)
            _authorize(self, resource)

        ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize
        _installed = True


def recorded_calls() -> dict[str, frozenset[str]]:
    """The IAM actions each role's sessions were allowed, by role ARN, since the last reset."""
    with _lock:
        return {role: frozenset(actions) for role, actions in _recorded.items()}


def refused_calls() -> dict[str, frozenset[str]]:
    """The IAM actions each role's sessions were refused, by role ARN, since the last reset."""
    with _lock:
        return {role: frozenset(actions) for role, actions in _refused.items()}


@contextmanager
def refusals_expected() -> Iterator[None]:
    """Inside, refusals are answered but not recorded: for tests that provoke a denial on purpose."""
    global _expecting
    with _lock:
        _expecting += 1
    try:
        yield
    finally:
        with _lock:
            _expecting -= 1


def reset_recorded_calls() -> None:
    with _lock:
        _recorded.clear()
        _refused.clear()


# -- evaluation -----------------------------------------------------------------------------------


def evaluate(policies: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> str:
    """The decision of identity-based `policies` on `action` over `resource` (a :class:`Decision`)."""
    allowed = False
    for policy in policies:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not _applies(statement, action, resource):
                continue
            if not conditions_hold(statement.get("Condition") or {}, context):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        acts = any(_matches(pattern, action, case_sensitive=False) for pattern in _as_list(statement["Action"]))
    else:
        acts = not any(_matches(p, action, case_sensitive=False) for p in _as_list(statement.get("NotAction")))
    if not acts:
        return False
    if "Resource" in statement:
        return any(_matches(pattern, resource, case_sensitive=True) for pattern in _as_list(statement["Resource"]))
    return not any(_matches(p, resource, case_sensitive=True) for p in _as_list(statement.get("NotResource")))


def _matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- the request ------------------------------------------------------------------------------------


def _authorize(response: Any, moto_resource: str) -> None:
    scope = _credential_scope(response.headers.get("Authorization") or response.headers.get("authorization") or "")
    if scope is None:
        return
    access_key, region, signing_name = scope
    account = response.current_account
    role_arn, session_arn = _assumed_role(account, access_key)
    if role_arn is None or role_arn.rsplit("/", 1)[-1] == BOOTSTRAP_ROLE_NAME:
        return
    service = _IAM_PREFIX.get(signing_name, signing_name)
    operation = response.data.get("Action") if service == "s3" else _operation(response)
    action = f"{service}:{_IAM_ACTION.get((service, operation), operation)}"
    if action in _UNAUTHORIZED_OPERATIONS:
        return
    policies = _role_policies(account, role_arn)
    context = {"aws:requestedregion": region, "aws:principalarn": role_arn, "aws:principalaccount": account}
    resources = [moto_resource] if service == "s3" else _resources(response, service, operation, region, account)
    if action == "sts:AssumeRole":
        role_account = re.match(r"arn:aws[a-z-]*:iam::(\d{12}):role/", resources[0] if resources else "")
        context["aws:resourceorgid"] = organization_id(role_account[1]) if role_account else None
    try:
        for resource in resources:
            decision = evaluate(policies, action, resource, context)
            if decision != Decision.ALLOWED:
                _deny(service, session_arn, action, resource, decision)
        if action == "s3:GetObject":
            _missing_key_without_list_bucket(response, policies, context, session_arn, moto_resource)
    except Exception:
        with _lock:
            if not _expecting:
                _refused[role_arn].add(action)
        raise
    with _lock:
        _recorded[role_arn].add(action)


def _operation(response: Any) -> str:
    """The API operation: by the service model's HTTP routes for REST protocols (moto's own
    `_get_action` names some by their URL, e.g. ``ServiceGraph`` for X-Ray's GetServiceGraph)."""
    routed = response._get_action_from_method_and_request_uri(response.normalized_request)
    return routed or response._get_action()


def _credential_scope(authorization: str) -> tuple[str, str, str] | None:
    match = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", authorization)
    return (match[1], match[2], match[3]) if match else None


def _assumed_role(account: str, access_key: str) -> tuple[str | None, str]:
    for role in sts_backends[account]["aws"].assumed_roles:
        if role.access_key_id == access_key:
            return role.role_arn, role.arn
    return None, ""


def _role_policies(account: str, role_arn: str) -> list[dict[str, Any]]:
    """The role's inline and attached policies; a role that does not exist has none (all is denied)."""
    iam = iam_backends[account]["aws"]
    name = role_arn.rsplit("/", 1)[-1]
    if not any(role.name == name for role in iam.roles.values()):
        return []
    documents = [json.loads(iam.get_role_policy(name, p)[1]) for p in iam.list_role_policies(name)]
    attached, _ = iam.list_attached_role_policies(name)
    for policy in attached:
        default = next(version for version in policy.versions if version.is_default)
        documents.append(json.loads(default.document))
    return documents


def _deny(service: str, session_arn: str, action: str, resource: str, decision: str) -> None:
    reason = (
        "an explicit deny in an identity-based policy"
        if decision == Decision.EXPLICIT_DENY
        else (f"no identity-based policy allows the {action} action")
    )
    message = f"User: {session_arn} is not authorized to perform: {action} on resource: {resource} because {reason}"
    if service == "s3":
        raise S3AccessDeniedError()  # S3 says only "Access Denied"
    if service in _QUERY_STYLE_SERVICES:
        raise AccessDeniedError(session_arn, f"{action} on resource: {resource} because {reason}")
    error = JsonRESTError("AccessDeniedException", message)
    error.code = 403 if service == "lambda" else 400
    raise error


def _missing_key_without_list_bucket(
    response: Any, policies: list[dict[str, Any]], context: dict[str, str], session_arn: str, object_arn: str
) -> None:
    """GetObject/HeadObject of a missing key answers 403 to a caller without s3:ListBucket on the bucket."""
    role_arn = context["aws:principalarn"]
    from moto.s3.models import s3_backends

    bucket_name, _, key = object_arn.split(":::", 1)[1].partition("/")
    backend = s3_backends[response.current_account]["aws"]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None or key in bucket.keys:
        return
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    if evaluate(policies, "s3:ListBucket", bucket_arn, context) != Decision.ALLOWED:
        _deny("s3", session_arn, "s3:GetObject", object_arn, Decision.IMPLICIT_DENY)
    with _lock:
        _recorded[role_arn].add("s3:ListBucket")  # the permission that made the answer a 404


def _resources(response: Any, service: str, operation: str, region: str, account: str) -> list[str]:
    """The resource ARNs the Service Authorization Reference authorizes `operation` on; ``*`` if none."""
    reader = _RESOURCE_READERS.get(service)
    found = reader(response, operation, region, account) if reader else None
    return found or ["*"]


def _json_body(response: Any) -> dict[str, Any]:
    """The request's parameters: moto's parsed ones where the handler has them, else the JSON body."""
    for parsed in (getattr(response, "params", None), response.body):
        if isinstance(parsed, dict) and parsed:
            return parsed
    try:
        body = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _param(response: Any, name: str) -> str | None:
    """A parameter of a query-protocol request (form body or query string) or a JSON one."""
    value = response.querystring.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value or _json_body(response).get(name)


_LAMBDA_ACCOUNT_WIDE = {"ListFunctions", "ListEventSourceMappings", "GetAccountSettings", "ListLayers"}


def _lambda_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
    if operation in _LAMBDA_ACCOUNT_WIDE:
        return None
    match = re.search(r"/functions/([^/]+)", unquote(urlparse(response.uri).path))
    if not match:
        return None
    name = match[1]
    if name.startswith("arn:"):
        return [name]
    qualifier = parse_qs(urlparse(response.uri).query).get("Qualifier", [None])[0]
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return [f"{arn}:{qualifier}" if qualifier and ":" not in name else arn]


def _logs_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html:
    # StartQuery is authorized on each log group it reads.
    if operation != "StartQuery":
        return None
    body = _json_body(response)
    names = _as_list(body.get("logGroupName")) + _as_list(body.get("logGroupNames"))
    identifiers = _as_list(body.get("logGroupIdentifiers"))
    arns = [f"arn:aws:logs:{region}:{account}:log-group:{name}" for name in names]
    arns += [
        i.removesuffix(":*") if i.startswith("arn:") else f"arn:aws:logs:{region}:{account}:log-group:{i}"
        for i in identifiers
    ]
    return arns


def _dynamodb_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    table = _json_body(response).get("TableName")
    return [f"arn:aws:dynamodb:{region}:{account}:table/{table}"] if table else None


def _ssm_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    body = _json_body(response)
    names = _as_list(body.get("Name")) + _as_list(body.get("Names"))
    return [f"arn:aws:ssm:{region}:{account}:parameter{n if n.startswith('/') else '/' + n}" for n in names] or None


def _secretsmanager_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    secret_id = _json_body(response).get("SecretId")
    if not secret_id:
        return None
    if secret_id.startswith("arn:"):
        return [secret_id]
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return [secretsmanager_backends[account][region].describe_secret(secret_id).arn]
    except Exception:  # noqa: BLE001 - an unknown secret is authorized on its name's ARN pattern
        return [f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"]


def _iam_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    source = _param(response, "PolicySourceArn")
    return [source] if source else None


def _sts_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    role = _param(response, "RoleArn")
    return [role] if role else None


def _organizations_resources(response: Any, operation: str, region: str, account: str) -> list[str] | None:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
    parent = _json_body(response).get("ParentId")
    if not parent:
        return None
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[account]["aws"]
    org = backend.org
    if org is None:
        return None
    kind = "root" if parent.startswith("r-") else "ou"
    return [f"arn:aws:organizations::{org.master_account_id}:{kind}/{org.id}/{parent}"]


_RESOURCE_READERS: dict[str, Callable[[Any, str, str, str], list[str] | None]] = {
    "lambda": _lambda_resources,
    "logs": _logs_resources,
    "dynamodb": _dynamodb_resources,
    "ssm": _ssm_resources,
    "secretsmanager": _secretsmanager_resources,
    "iam": _iam_resources,
    "sts": _sts_resources,
    "organizations": _organizations_resources,
}
