"""IAM SimulatePrincipalPolicy for the sandbox, with service control policies over member accounts.

moto 5.2.5 has no SimulatePrincipalPolicy (the IAM query action raises NotImplementedError).
:func:`install_iam_simulation` serves it, and loads AWS managed policies on demand
(:mod:`healthaudit_sandbox.aws_managed_policies`), so that a role can hold one as in AWS.

SimulatePrincipalPolicy
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html) for a
role, a user (with the policies of its groups: "If you specify a user, the simulation also
includes all policies that are attached to any groups the user belongs to") or a group: inline
and attached managed policies (customer and AWS managed), plus ``PolicyInputList``. "Each API in
the ActionNames parameter is evaluated for each resource in this list" (ResourceArns, default
``*``): one EvaluationResult per action and resource, evaluated as
:mod:`healthaudit_sandbox.iam_policy_evaluation` describes. A permissions boundary is the
entity's, or ``PermissionsBoundaryPolicyInputList``, which overrides it.

Service control policies: :func:`set_service_control_policies` makes an account a member of an
organization with the given SCPs over it (one level: the policies in force at the account).
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
an action must be allowed by an SCP statement and denied by none (Organizations attaches
``FullAWSAccess``, :data:`FULL_AWS_ACCESS`, by default: pass it to keep everything else allowed).
Each result of a member account carries OrganizationsDecisionDetail.AllowedByOrganizations ("Only
applies if the simulated user's account is part of an organization", API_EvaluationResult.html).
Where the SCPs do not allow, "the simulation ends. In this case, policy evaluation does not proceed
any further" (EvalDecisionDetails, API_EvaluationResult.html): EvalDecision is ``explicitDeny``
for an SCP Deny, else ``implicitDeny``, and the identity policies are not read. Which statements
AWS lists in MatchedStatements then is undocumented (PolicySourceType has no value for an SCP):
the sandbox lists none, and the auditor reads only OrganizationsDecisionDetail.

Not emulated (and ignored): ResourcePolicy, ResourceOwner, CallerArn, policy variables such as
``${aws:username}`` (matched literally), session policies, the SCPs of each OU between the root
and the account, and the management account's exemption from SCPs.
Where the documentation is silent the sandbox chooses: SourcePolicyId is the policy's name
(``PolicyInputList.N`` / ``PermissionsBoundaryPolicyInputList.N`` for input policies),
SourcePolicyType is ``role`` / ``user`` / ``group`` for inline policies, ``aws-managed`` /
``user-managed`` for managed ones and ``none`` for input policies; Start/EndPosition are the
1-based line and column of a statement's opening brace and of the character after its closing one.
MaxItems defaults to 100 as documented; Marker is an opaque offset.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.iam import models as iam_models
from moto.iam import responses as iam_responses
from moto.iam.exceptions import IAMException, InvalidInput, NoSuchEntity

from .aws_managed_policies import ensure_aws_managed_policy, install_aws_managed_policies
from .iam_policy_evaluation import PolicyStatement, parse_statements, simulate

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "FULL_AWS_ACCESS",
    "install_iam_simulation",
    "set_service_control_policies",
]

#: "If you do not include this parameter, the number of items defaults to 100." (API_SimulatePrincipalPolicy)
DEFAULT_MAX_ITEMS = 100

_install_lock = threading.Lock()
_installed = False
_scp_lock = threading.Lock()
_service_control_policies: dict[str, tuple[str, ...]] = {}

#: The AWS managed SCP that Organizations attaches when SCPs are enabled, allowing every action
#: (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
FULL_AWS_ACCESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)

_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):(?P<kind>role|user|group)/(?P<path>.+)$")


def _managed_document(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            return str(version.document)
    return str(policy.versions[-1].document)  # pragma: no cover - moto always has a default version


def _managed_statements(policy: Any) -> list[PolicyStatement]:
    source_type = "aws-managed" if isinstance(policy, iam_models.AWSManagedPolicy) else "user-managed"
    return parse_statements(_managed_document(policy), policy.name, source_type)


def _entity_statements(backend: Any, kind: str, name: str) -> tuple[list[PolicyStatement], str | None]:
    """The identity-based statements of a role, user or group, and its permissions boundary ARN."""
    if kind == "role":
        try:
            role = backend.get_role(name)
        except IAMException:
            raise NoSuchEntity(f"The role with name {name} cannot be found.") from None
        statements = [s for p, text in role.policies.items() for s in parse_statements(text, p, "role")]
        for policy in role.managed_policies.values():
            statements.extend(_managed_statements(policy))
        return statements, role.permissions_boundary_arn or None
    if kind == "user":
        try:
            user = backend.get_user(name)
        except IAMException:
            raise NoSuchEntity(f"The user with name {name} cannot be found.") from None
        statements = [s for p, text in user.policies.items() for s in parse_statements(text, p, "user")]
        for policy in user.managed_policies.values():
            statements.extend(_managed_statements(policy))
        for group in backend.get_groups_for_user(name):
            statements.extend(_group_statements(group))
        return statements, getattr(user, "permissions_boundary_arn", None) or None
    try:
        group = backend.get_group(name)
    except IAMException:
        raise NoSuchEntity(f"The group with name {name} cannot be found.") from None
    return _group_statements(group), None


def _group_statements(group: Any) -> list[PolicyStatement]:
    statements = [s for p, text in group.policies.items() for s in parse_statements(text, p, "group")]
    for policy in group.managed_policies.values():
        statements.extend(_managed_statements(policy))
    return statements


def set_service_control_policies(account_id: str, documents: list[str] | None) -> None:
    """Test support: the SCPs in force over ``account_id`` (JSON documents), or None for an account
    outside any organization (the default). Include :data:`FULL_AWS_ACCESS` to allow what no
    other SCP denies, as Organizations does by default."""
    for number, text in enumerate(documents or [], start=1):
        parse_statements(text, f"SCP.{number}", "none")  # a malformed document fails here, not in a later simulation
    with _scp_lock:
        if documents is None:
            _service_control_policies.pop(account_id, None)
        else:
            _service_control_policies[account_id] = tuple(documents)


def _organization_statements(account_id: str) -> list[PolicyStatement] | None:
    with _scp_lock:
        documents = _service_control_policies.get(account_id)
    if documents is None:
        return None
    return [s for n, text in enumerate(documents, start=1) for s in parse_statements(text, f"SCP.{n}", "none")]


def _context(entries: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for entry in entries or []:
        name = entry.get("ContextKeyName")
        if name:
            values = [str(v) for v in entry.get("ContextKeyValues") or []]
            context.setdefault(name.lower(), []).extend(values)
    return context


def _simulate_principal_policy(response: Any) -> ActionResult:
    backend = response.backend
    source = response._get_param("PolicySourceArn")
    match = _ARN.match(source or "")
    if match is None:
        raise InvalidInput(f"Invalid ARN {source!r}: PolicySourceArn must be the ARN of a user, group or role.")
    kind, name = match["kind"], match["path"].rsplit("/", 1)[-1]
    if match["account"] != backend.account_id:
        raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
    identity, boundary_arn = _entity_statements(backend, kind, name)
    for number, text in enumerate(response._get_param("PolicyInputList") or [], start=1):
        identity.extend(parse_statements(text, f"PolicyInputList.{number}", "none"))

    boundary: list[PolicyStatement] | None = None
    boundary_inputs = response._get_param("PermissionsBoundaryPolicyInputList") or []
    if boundary_inputs:
        boundary = []
        for number, text in enumerate(boundary_inputs, start=1):
            boundary.extend(parse_statements(text, f"PermissionsBoundaryPolicyInputList.{number}", "none"))
    elif boundary_arn:
        ensure_aws_managed_policy(backend, boundary_arn)
        policy = backend.managed_policies.get(boundary_arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {boundary_arn} does not exist or is not attachable.")
        boundary = _managed_statements(policy)

    actions = list(response._get_param("ActionNames") or [])
    resources = list(response._get_param("ResourceArns") or ["*"])
    context = _context(response._get_param("ContextEntries"))
    results = simulate(identity, boundary, actions, resources, context, _organization_statements(backend.account_id))

    max_items = int(response._get_param("MaxItems") or DEFAULT_MAX_ITEMS)
    marker = response._get_param("Marker")
    try:
        offset = int(marker) if marker else 0
    except ValueError:
        raise InvalidInput(f"Invalid Marker {marker!r}.") from None
    page = results[offset : offset + max_items]
    body: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": offset + max_items < len(results)}
    if body["IsTruncated"]:
        body["Marker"] = str(offset + max_items)
    return ActionResult(body)


def install_iam_simulation() -> None:
    """Serve SimulatePrincipalPolicy and load AWS managed policies on demand (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        install_aws_managed_policies()

        def simulate_principal_policy(self: iam_responses.IamResponse) -> ActionResult:
            return _simulate_principal_policy(self)

        iam_responses.IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
        _installed = True
