"""IAM SimulatePrincipalPolicy for the sandbox, and AWS managed policies loaded on demand.

moto 5.2.5 has no SimulatePrincipalPolicy (the IAM query action raises NotImplementedError), and
it only knows AWS managed policies such as ``arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess``
when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, in which case it builds all ~1,500 of them in every
account. :func:`install_iam_simulation` adds both:

* **AWS managed policies on demand.** moto ships their documents
  (``moto/iam/aws_managed_policies.py``, among them ``AWSXRayDaemonWriteAccess`` and
  ``AWSXrayWriteOnlyAccess``, both granting ``xray:PutTraceSegments`` and
  ``xray:PutTelemetryRecords``). The first time an account names one (AttachRolePolicy,
  AttachUserPolicy, AttachGroupPolicy, GetPolicy, GetPolicyVersion, or a permissions boundary in a
  simulation) it is added to that account's policies, as AWS would have it all along.
  ListPolicies with ``Scope=AWS`` lists only those already named (a simplification).

* **SimulatePrincipalPolicy**
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html) for a
  role, a user (with the policies of its groups: "If you specify a user, the simulation also
  includes all policies that are attached to any groups the user belongs to") or a group:
  inline and attached managed policies (customer and AWS managed), plus ``PolicyInputList``.
  "Each API in the ActionNames parameter is evaluated for each resource in this list" (ResourceArns,
  default ``*``): one EvaluationResult per action and resource. Evaluation follows
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an
  explicit Deny in any policy wins (``explicitDeny``, and "the deny statement is the only entry
  included in the result", per API_EvaluationResult.html), else an Allow (``allowed``, every
  allowing statement in MatchedStatements), else ``implicitDeny``. A permissions boundary (the
  entity's, or ``PermissionsBoundaryPolicyInputList`` which overrides it) must also allow the
  action; its Deny is an explicit deny; the result carries PermissionsBoundaryDecisionDetail.

  Matching (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
  reference_policies_elements_resource.html): Action / NotAction with ``*`` and ``?`` wildcards,
  case-insensitive; Resource / NotResource with the same wildcards, case-sensitive, against each
  ResourceArn. With the default resource ``*`` only statements whose Resource matches the string
  ``*`` (i.e. ``"Resource": "*"``) apply, so resource-scoped statements need ResourceArns.

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

  Conditions, a subset evaluated against ContextEntries: the String*, Numeric*, Bool, Arn* and Null
  operators, the ``IfExists`` suffix and the ``ForAnyValue:`` / ``ForAllValues:`` prefixes; condition
  keys compare case-insensitively. A key the condition needs and the context lacks makes the
  condition false and is listed in MissingContextValues ("context keys that are required by the
  included input policies but that were not provided"). Any other operator (Date*, IpAddress,
  Binary...) is an InvalidInput error naming it, never a silently wrong answer.

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

import functools
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.iam import models as iam_models
from moto.iam import responses as iam_responses
from moto.iam.exceptions import IAMException, InvalidInput, NoSuchEntity

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "FULL_AWS_ACCESS",
    "ensure_aws_managed_policy",
    "install_iam_simulation",
    "set_service_control_policies",
]

#: "If you do not include this parameter, the number of items defaults to 100." (API_SimulatePrincipalPolicy)
DEFAULT_MAX_ITEMS = 100

_install_lock = threading.Lock()
_installed = False
_managed_lock = threading.Lock()  # server threads may name the same AWS managed policy at once
_scp_lock = threading.Lock()
_service_control_policies: dict[str, tuple[str, ...]] = {}

#: The AWS managed SCP that Organizations attaches when SCPs are enabled, allowing every action
#: (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
FULL_AWS_ACCESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)

_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):(?P<kind>role|user|group)/(?P<path>.+)$")
_AWS_MANAGED = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::aws:policy(?P<path>/(?:.*/)?)(?P<name>[^/]+)$")


# ------------------------------------------------------------------------------------------------
# AWS managed policies, on demand
# ------------------------------------------------------------------------------------------------


@functools.cache
def _aws_managed_policy_data() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """moto's AWS managed policy documents by (path, name), parsed once per process."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed = json.loads(aws_managed_policies_data)
    return {(data.get("Path") or "/", name): (name, data) for name, data in parsed.items()}


def ensure_aws_managed_policy(backend: Any, arn: str) -> None:
    """Add the AWS managed policy ``arn`` to ``backend`` if moto ships it and the account lacks it."""
    if not isinstance(arn, str) or arn in backend.managed_policies:
        return
    match = _AWS_MANAGED.match(arn)
    if match is None:
        return
    found = _aws_managed_policy_data().get((match["path"], match["name"]))
    if found is None:
        return
    name, data = found
    with _managed_lock:
        if arn in backend.managed_policies:
            return
        policy = iam_models.AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        if policy.arn != arn:  # another partition: moto derives it from the backend's Region
            return
        backend.managed_policies[policy.arn] = policy
        backend.aws_managed_policies.append(policy)


def _install_aws_managed_policies() -> None:
    backend_class = iam_models.IAMBackend

    def wrap(method_name: str, arn_position: int) -> None:
        original = getattr(backend_class, method_name)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            arn = kwargs.get("policy_arn", args[arn_position] if len(args) > arn_position else None)
            ensure_aws_managed_policy(self, arn)
            return original(self, *args, **kwargs)

        setattr(backend_class, method_name, wrapper)

    wrap("attach_role_policy", 0)
    wrap("attach_user_policy", 0)
    wrap("attach_group_policy", 0)
    wrap("get_policy", 0)
    wrap("get_policy_version", 0)
    wrap("list_policy_versions", 0)


# ------------------------------------------------------------------------------------------------
# Policies and statements
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition: dict[str, Any] | None
    source_id: str
    source_type: str
    start: tuple[int, int]
    end: tuple[int, int]

    def matched(self) -> dict[str, Any]:
        return {
            "SourcePolicyId": self.source_id,
            "SourcePolicyType": self.source_type,
            "StartPosition": {"Line": self.start[0], "Column": self.start[1]},
            "EndPosition": {"Line": self.end[0], "Column": self.end[1]},
        }


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _statement_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each statement of the policy text, in order (end is exclusive)."""
    decoder = json.JSONDecoder()
    index = _skip_ws(text, 0)
    if not text.startswith("{", index):
        return []
    index = _skip_ws(text, index + 1)
    while index < len(text) and text[index] != "}":
        key, index = decoder.raw_decode(text, index)
        index = _skip_ws(text, index)
        index = _skip_ws(text, index + 1)  # the colon
        value_start = index
        value, index = decoder.raw_decode(text, index)
        if key == "Statement":
            if isinstance(value, dict):
                return [(value_start, index)]
            spans = []
            position = _skip_ws(text, value_start + 1)
            while position < len(text) and text[position] != "]":
                _, element_end = decoder.raw_decode(text, position)
                spans.append((position, element_end))
                position = _skip_ws(text, element_end)
                if text.startswith(",", position):
                    position = _skip_ws(text, position + 1)
            return spans
        index = _skip_ws(text, index)
        if text.startswith(",", index):
            index = _skip_ws(text, index + 1)
    return []


def _statements(text: str, source_id: str, source_type: str) -> list[_Statement]:
    """The statements of one policy document; InvalidInput if it is not a JSON policy."""
    try:
        document = json.loads(text)
        spans = _statement_spans(text)
    except ValueError as error:
        raise InvalidInput(f"The policy {source_id} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise InvalidInput(f"The policy {source_id} has no Statement element.")
    raw = document["Statement"]
    raw = [raw] if isinstance(raw, dict) else list(raw)
    if len(spans) != len(raw):  # pragma: no cover - the scanner reads what json.loads read
        spans = [(0, len(text))] * len(raw)
    statements = []
    for item, (start, end) in zip(raw, spans, strict=True):
        if not isinstance(item, dict) or item.get("Effect") not in ("Allow", "Deny"):
            raise InvalidInput(f"The policy {source_id} has a statement without Effect Allow or Deny.")
        statements.append(
            _Statement(
                effect=item["Effect"],
                actions=_as_tuple(item.get("Action")),
                not_actions=_as_tuple(item.get("NotAction")),
                resources=_as_tuple(item.get("Resource")),
                not_resources=_as_tuple(item.get("NotResource")),
                condition=item.get("Condition"),
                source_id=source_id,
                source_type=source_type,
                start=_position(text, start),
                end=_position(text, end),
            )
        )
    return statements


def _managed_document(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            return str(version.document)
    return str(policy.versions[-1].document)  # pragma: no cover - moto always has a default version


def _managed_statements(policy: Any) -> list[_Statement]:
    source_type = "aws-managed" if isinstance(policy, iam_models.AWSManagedPolicy) else "user-managed"
    return _statements(_managed_document(policy), policy.name, source_type)


def _entity_statements(backend: Any, kind: str, name: str) -> tuple[list[_Statement], str | None]:
    """The identity-based statements of a role, user or group, and its permissions boundary ARN."""
    if kind == "role":
        try:
            role = backend.get_role(name)
        except IAMException:
            raise NoSuchEntity(f"The role with name {name} cannot be found.") from None
        statements = [s for p, text in role.policies.items() for s in _statements(text, p, "role")]
        for policy in role.managed_policies.values():
            statements.extend(_managed_statements(policy))
        return statements, role.permissions_boundary_arn or None
    if kind == "user":
        try:
            user = backend.get_user(name)
        except IAMException:
            raise NoSuchEntity(f"The user with name {name} cannot be found.") from None
        statements = [s for p, text in user.policies.items() for s in _statements(text, p, "user")]
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


def _group_statements(group: Any) -> list[_Statement]:
    statements = [s for p, text in group.policies.items() for s in _statements(text, p, "group")]
    for policy in group.managed_policies.values():
        statements.extend(_managed_statements(policy))
    return statements


# ------------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` matches any run of characters and ``?`` any one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _any_match(patterns: tuple[str, ...], value: str, *, ignore_case: bool) -> bool:
    return any(_wildcard(p, ignore_case).fullmatch(value) for p in patterns)


def _applies(statement: _Statement, action: str, resource: str) -> bool:
    if statement.actions is not None:
        if not _any_match(statement.actions, action, ignore_case=True):
            return False
    elif statement.not_actions is not None:
        if _any_match(statement.not_actions, action, ignore_case=True):
            return False
    else:
        return False
    if statement.resources is not None:
        return _any_match(statement.resources, resource, ignore_case=False)
    if statement.not_resources is not None:
        return not _any_match(statement.not_resources, resource, ignore_case=False)
    return False  # an identity-based statement without Resource or NotResource is invalid


# ------------------------------------------------------------------------------------------------
# Conditions (a subset; see the module docstring)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# ------------------------------------------------------------------------------------------------


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _string_test(base: str) -> Any:
    tests = {
        "StringEquals": lambda c, p: c == p,
        "StringEqualsIgnoreCase": lambda c, p: c.lower() == p.lower(),
        "StringLike": lambda c, p: _wildcard(p, False).fullmatch(c) is not None,
        "ArnEquals": lambda c, p: c == p,
        "ArnLike": lambda c, p: _wildcard(p, False).fullmatch(c) is not None,
        "Bool": lambda c, p: c.lower() == p.lower(),
        "NumericEquals": lambda c, p: _numeric(c, p, lambda a, b: a == b),
        "NumericLessThan": lambda c, p: _numeric(c, p, lambda a, b: a < b),
        "NumericLessThanEquals": lambda c, p: _numeric(c, p, lambda a, b: a <= b),
        "NumericGreaterThan": lambda c, p: _numeric(c, p, lambda a, b: a > b),
        "NumericGreaterThanEquals": lambda c, p: _numeric(c, p, lambda a, b: a >= b),
    }
    return tests.get(base)


def _numeric(context: str, policy: str, compare: Any) -> bool:
    a, b = _number(context), _number(policy)
    return a is not None and b is not None and compare(a, b)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _condition_holds(condition: dict[str, Any] | None, context: dict[str, list[str]], missing: set[str]) -> bool:
    """Whether every operator and key of ``condition`` holds in ``context`` (lowercased key -> values)."""
    for operator, block in (condition or {}).items():
        set_operator = None
        base = operator
        for prefix in ("ForAnyValue:", "ForAllValues:"):
            if base.startswith(prefix):
                set_operator, base = prefix[:-1], base[len(prefix) :]
        if_exists = base.endswith("IfExists") and base != "IfExists"
        if if_exists:
            base = base[: -len("IfExists")]
        negated = base in _NEGATED
        test = _string_test(_NEGATED.get(base, base))
        if test is None and base != "Null":
            raise InvalidInput(f"The sandbox does not emulate the condition operator {operator!r}.")
        if not isinstance(block, dict):
            raise InvalidInput(f"The condition operator {operator!r} must map condition keys to values.")
        for key, wanted in block.items():
            policy_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(wanted)]
            values = context.get(key.lower())
            if base == "Null":
                absent = values is None
                if not any((p.lower() == "true") == absent for p in policy_values):
                    return False
                continue
            if values is None:
                if if_exists or set_operator == "ForAllValues":
                    continue
                missing.add(key)
                return False
            holds = [_value_holds(test, negated, policy_values, value) for value in values]
            if not (all(holds) if set_operator == "ForAllValues" else any(holds)):
                return False
    return True


def _value_holds(test: Any, negated: bool, policy_values: list[str], value: str) -> bool:
    """One context value against the condition's values: any of them matches (none, when negated)."""
    hit = any(test(value, p) for p in policy_values)
    return not hit if negated else hit


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------


def _evaluate(
    statements: list[_Statement], action: str, resource: str, context: dict[str, list[str]], missing: set[str]
) -> tuple[str, list[_Statement]]:
    allows, denies = [], []
    for statement in statements:
        if _applies(statement, action, resource) and _condition_holds(statement.condition, context, missing):
            (denies if statement.effect == "Deny" else allows).append(statement)
    if denies:
        return "explicitDeny", denies
    if allows:
        return "allowed", allows
    return "implicitDeny", []


def set_service_control_policies(account_id: str, documents: list[str] | None) -> None:
    """Test support: the SCPs in force over ``account_id`` (JSON documents), or None for an account
    outside any organization (the default). Include :data:`FULL_AWS_ACCESS` to allow what no
    other SCP denies, as Organizations does by default."""
    for number, text in enumerate(documents or [], start=1):
        _statements(text, f"SCP.{number}", "none")  # a malformed document fails here, not in a later simulation
    with _scp_lock:
        if documents is None:
            _service_control_policies.pop(account_id, None)
        else:
            _service_control_policies[account_id] = tuple(documents)


def _organization_statements(account_id: str) -> list[_Statement] | None:
    with _scp_lock:
        documents = _service_control_policies.get(account_id)
    if documents is None:
        return None
    return [s for n, text in enumerate(documents, start=1) for s in _statements(text, f"SCP.{n}", "none")]


def simulate(
    identity: list[_Statement],
    boundary: list[_Statement] | None,
    actions: list[str],
    resources: list[str],
    context: dict[str, list[str]],
    organization: list[_Statement] | None = None,
) -> list[dict[str, Any]]:
    """One EvaluationResult per action and resource, in the order of ``actions`` then ``resources``."""
    results = []
    for action in actions:
        for resource in resources:
            missing: set[str] = set()
            result: dict[str, Any] = {"EvalActionName": action, "EvalResourceName": resource}
            if organization is not None:
                by_scp, _ = _evaluate(organization, action, resource, context, missing)
                result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": by_scp == "allowed"}
                if by_scp != "allowed":  # the simulation ends here
                    result.update(EvalDecision=by_scp, MatchedStatements=[], MissingContextValues=sorted(missing))
                    results.append(result)
                    continue
            decision, matched = _evaluate(identity, action, resource, context, missing)
            if boundary is not None:
                bound_decision, bound_matched = _evaluate(boundary, action, resource, context, missing)
                result["PermissionsBoundaryDecisionDetail"] = {
                    "AllowedByPermissionsBoundary": bound_decision == "allowed"
                }
                if bound_decision == "explicitDeny" and decision != "explicitDeny":
                    decision, matched = "explicitDeny", bound_matched
                elif bound_decision == "implicitDeny" and decision == "allowed":
                    decision, matched = "implicitDeny", []
            result["EvalDecision"] = decision
            result["MatchedStatements"] = [s.matched() for s in matched]
            result["MissingContextValues"] = sorted(missing)
            results.append(result)
    return results


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
        identity.extend(_statements(text, f"PolicyInputList.{number}", "none"))

    boundary: list[_Statement] | None = None
    boundary_inputs = response._get_param("PermissionsBoundaryPolicyInputList") or []
    if boundary_inputs:
        boundary = []
        for number, text in enumerate(boundary_inputs, start=1):
            boundary.extend(_statements(text, f"PermissionsBoundaryPolicyInputList.{number}", "none"))
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
        _install_aws_managed_policies()

        def simulate_principal_policy(self: iam_responses.IamResponse) -> ActionResult:
            return _simulate_principal_policy(self)

        iam_responses.IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
        _installed = True
