"""Permission parity, from what the functions really called: every IAM action the template grants a
function's role was used by that function in this session's tests, and no call was refused.

The sandbox records each call made with a role session, mapped to its IAM action
(healthaudit_sandbox.authorization). This module runs after every other test (conftest.py), and
only when the tests that run the functions ran in the same session.
"""

from __future__ import annotations

import pytest

from healthaudit_sandbox.authorization import recorded_calls, refused_calls
from tests.support.process_groups import FUNCTION_RUNNING_MODULES
from tests.support.stack_roles import FUNCTIONS, STACK_NAME, deployed_template, member_role_policies

pytestmark = pytest.mark.after_all_other_tests

#: Granted for the Lambda service's plumbing, which sends with the function's role; the code never calls it.
SERVICE_PLUMBING = {"sqs:SendMessage": "the on-failure destination (EventInvokeConfig), sent by Lambda itself"}
_IDEMPOTENCY_GET = (
    "Powertools Idempotency reads the record with GetItem only when a failed conditional put did not return it"
    " (idempotency/base.py: 'or perform a GET operation if the information is not available'); DynamoDB returns it"
    " (ReturnValuesOnConditionCheckFailure), so no test reaches it; Powertools' IAM permissions list it"
)
_STOP_QUERY = (
    "called only for a Logs Insights query still running at its deadline or at the Lambda deadline;"
    " tests/integration/test_cold_starts.py drives both through the collector"
)
#: Granted, and called only where a test cannot reach through a handler: each says why.
NOT_REACHED_THROUGH_A_HANDLER: dict[str, dict[str, str]] = {
    "AuditFunction": {"dynamodb:GetItem": _IDEMPOTENCY_GET, "logs:StopQuery": _STOP_QUERY},
    "NotifyFunction": {"dynamodb:GetItem": _IDEMPOTENCY_GET},
    "MemberAuditRole": {
        "logs:StopQuery": _STOP_QUERY,
        "lambda:GetFunctionConcurrency": (
            "the member fleets reserve no concurrency; test_pipeline.py calls it as AuditFunction"
        ),
        "lambda:ListFunctionEventInvokeConfigs": (
            "no member function is invoked asynchronously; test_pipeline.py calls it as AuditFunction"
        ),
    },
}
ALL_ON = {
    "MultiAccount": "true",
    "SlackSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf",
    "SlackChannel": "C0123456789",
    "ConfigParameterName": "/healthaudit/config",
}


def granted_actions(statements: list[dict]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        if isinstance(statement, dict) and "Fn::If" in statement:
            _, if_true, _ = statement["Fn::If"]
            statement = if_true
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            action = statement["Action"]
            actions.update(action if isinstance(action, list) else [action])
    return actions


def function_grants() -> dict[str, set[str]]:
    """Each function role's actions, with every optional statement on (all parameters set)."""
    template = deployed_template(ALL_ON, "eu-west-1")
    grants = {}
    for logical_id in FUNCTIONS.values():
        role = template["Resources"][f"{logical_id}Role"]
        statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        grants[logical_id] = granted_actions(statements) - set(SERVICE_PLUMBING)
    return grants


def calls_by_role_name(calls: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    by_name: dict[str, set[str]] = {}
    for role_arn, actions in calls.items():
        by_name.setdefault(role_arn.rsplit("/", 1)[-1], set()).update(actions)
    return by_name


@pytest.fixture(scope="module")
def function_tests_ran(request) -> None:
    ran = {item.nodeid.split("::", 1)[0] for item in request.session.items}
    missing = [module for module in FUNCTION_RUNNING_MODULES if module not in ran]
    if missing:
        pytest.skip(f"parity is judged on a session that runs the functions; not selected: {', '.join(missing)}")


def test_no_call_of_a_deployed_role_was_refused(function_tests_ran):
    ours = (f"/{STACK_NAME}-", "/healthaudit-member-audit")
    refused = {role: actions for role, actions in refused_calls().items() if any(name in role for name in ours)}
    assert not refused, f"the code called what the template does not grant: {refused}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS.values()))
def test_every_action_a_function_role_is_granted_was_called(function_tests_ran, logical_id):
    called = calls_by_role_name(recorded_calls()).get(f"{STACK_NAME}-{logical_id}Role", set())
    excused = set(NOT_REACHED_THROUGH_A_HANDLER.get(logical_id, {}))
    unused = function_grants()[logical_id] - called - excused
    assert not unused, f"{logical_id} is granted {sorted(unused)} but no test saw it called"


def test_every_action_the_member_role_is_granted_was_called(function_tests_ran):
    _, documents = member_role_policies("123456789012", "eu-west-1", {"AuditorAccountId": "123456789012"})
    granted = granted_actions([s for d in documents for s in d["Statement"]])
    called = calls_by_role_name(recorded_calls()).get("healthaudit-member-audit", set())
    excused = set(NOT_REACHED_THROUGH_A_HANDLER.get("MemberAuditRole", {}))
    assert not granted - called - excused, f"the member role is granted {sorted(granted - called - excused)} unused"
