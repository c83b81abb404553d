"""IAM policy evaluation for the sandbox's SimulatePrincipalPolicy: statements, matching, conditions.

Evaluation follows
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an
explicit Deny in any policy wins (``explicitDeny``, and "the deny statement is the only entry
included in the result", per API_EvaluationResult.html), else an Allow (``allowed``, every
allowing statement in MatchedStatements), else ``implicitDeny``. A permissions boundary must also
allow the action; its Deny is an explicit deny; the result carries
PermissionsBoundaryDecisionDetail. Service control policies come first: an action must be allowed
by an SCP statement and denied by none, else "the simulation ends" (EvalDecisionDetails,
API_EvaluationResult.html) and the identity policies are not read.

Matching (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
reference_policies_elements_resource.html): Action / NotAction with ``*`` and ``?`` wildcards,
case-insensitive; Resource / NotResource with the same wildcards, case-sensitive, against each
ResourceArn. With the default resource ``*`` only statements whose Resource matches the string
``*`` (i.e. ``"Resource": "*"``) apply, so resource-scoped statements need ResourceArns.

Conditions, a subset evaluated against ContextEntries: the String*, Numeric*, Bool, Arn* and Null
operators, the ``IfExists`` suffix and the ``ForAnyValue:`` / ``ForAllValues:`` prefixes; condition
keys compare case-insensitively. A key the condition needs and the context lacks makes the
condition false and is listed in MissingContextValues ("context keys that are required by the
included input policies but that were not provided"). Any other operator (Date*, IpAddress,
Binary...) is an InvalidInput error naming it, never a silently wrong answer. Policy variables such
as ``${aws:username}`` are matched literally (not emulated).

Where the documentation is silent the sandbox chooses: Start/EndPosition are the 1-based line and
column of a statement's opening brace and of the character after its closing one.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from moto.iam.exceptions import InvalidInput

__all__ = ["PolicyStatement", "parse_statements", "simulate"]


@dataclass(frozen=True)
class PolicyStatement:
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


def parse_statements(text: str, source_id: str, source_type: str) -> list[PolicyStatement]:
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
            PolicyStatement(
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


def _applies(statement: PolicyStatement, action: str, resource: str) -> bool:
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


def _evaluate_statements(
    statements: list[PolicyStatement], action: str, resource: str, context: dict[str, list[str]], missing: set[str]
) -> tuple[str, list[PolicyStatement]]:
    allows, denies = [], []
    for statement in statements:
        if _applies(statement, action, resource) and _condition_holds(statement.condition, context, missing):
            (denies if statement.effect == "Deny" else allows).append(statement)
    if denies:
        return "explicitDeny", denies
    if allows:
        return "allowed", allows
    return "implicitDeny", []


def simulate(
    identity: list[PolicyStatement],
    boundary: list[PolicyStatement] | None,
    actions: list[str],
    resources: list[str],
    context: dict[str, list[str]],
    organization: list[PolicyStatement] | None = None,
) -> list[dict[str, Any]]:
    """One EvaluationResult per action and resource, in the order of ``actions`` then ``resources``."""
    results = []
    for action in actions:
        for resource in resources:
            missing: set[str] = set()
            result: dict[str, Any] = {"EvalActionName": action, "EvalResourceName": resource}
            if organization is not None:
                by_scp, _ = _evaluate_statements(organization, action, resource, context, missing)
                result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": by_scp == "allowed"}
                if by_scp != "allowed":  # the simulation ends here
                    result.update(EvalDecision=by_scp, MatchedStatements=[], MissingContextValues=sorted(missing))
                    results.append(result)
                    continue
            decision, matched = _evaluate_statements(identity, action, resource, context, missing)
            if boundary is not None:
                bound_decision, bound_matched = _evaluate_statements(boundary, action, resource, context, missing)
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
