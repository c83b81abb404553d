"""The state machine executed, not only validated: template.yaml's own definition run by the sandbox's Step
Functions interpreter (moto's, with healthaudit_sandbox.stepfunctions closing its gaps), its Lambda tasks
answered by the real handlers under their own roles, its Distributed Map reading the plan from S3 and
writing its results to S3 as the state machine's role, and the 256 KiB cap on a state's payload enforced.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from healthaudit.model import ConsolidatedReport
from healthaudit.schema import load_consolidated_schema
from healthaudit_sandbox.fleet import seed_fleet
from healthaudit_sandbox.planted_problems import demo_fleet
from healthaudit_sandbox.stepfunctions import executing_state_machines, run_execution, serving
from tests.support.clock import AT, day, iso
from tests.support.deployment import aim_environment_at, provisioned
from tests.support.execution_environments import ExecutionEnvironments
from tests.support.stack_roles import FUNCTIONS, STATES_TRUST, create_role, member_role_policies
from tests.support.state_machine import deployed_state_machine

HOME = "eu-west-1"
REGIONS = ("eu-west-1", "us-east-1")
ROLE = "healthaudit-member-audit"
EXTERNAL_ID = "healthaudit-7d21e0"
AUDITOR = "730000000001"
#: 6 accounts x 2 Regions; 2 of the 6 (a third, the organization's 30 %) have no member role.
WITH_ROLE = ("730000000011", "730000000012", "730000000013", "730000000014")
WITHOUT_ROLE = ("730000000015", "730000000016")
ACCOUNTS = WITH_ROLE + WITHOUT_ROLE
FLEET_NAMES = ("fraud-scoring", "audit-trail", "orders-api")
#: The 256 KiB cap on a state's input or output, in UTF-8 bytes
#: (https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html).
PAYLOAD_LIMIT = 256 * 1024


def _fleet():
    return [fn for fn in demo_fleet() if fn.name in FLEET_NAMES]


@pytest.fixture(scope="module")
def organization(sandbox):
    """The member accounts: the member role in four of six, and a small fleet in each of their Regions (the
    two without the role are never read, their fleets would change nothing)."""
    for account in WITH_ROLE:
        for region in REGIONS:
            seed_fleet(sandbox.session_for_account(account, region=region), AT, _fleet())
    for account in WITH_ROLE:
        session = sandbox.session_for_account(account, region=HOME)
        parameters = {"AuditorAccountId": AUDITOR, "RoleName": ROLE, "ExternalId": EXTERNAL_ID}
        trust, documents = member_role_policies(account, HOME, parameters)
        create_role(session.client("iam"), ROLE, trust, documents)
    return ACCOUNTS


@pytest.fixture
def auditor(sandbox, monkeypatch):
    """The auditor's stack (MultiAccount "true") provisioned in its account, the functions' environment set."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    session = sandbox.session_for_account(AUDITOR, region=HOME)
    aim_environment_at(session, sandbox.endpoint, HOME, monkeypatch)
    for name, value in {
        "HEALTHAUDIT_MEMBER_ROLE_NAME": ROLE,
        "HEALTHAUDIT_MEMBER_ROLE_EXTERNAL_ID": EXTERNAL_ID,
        "HEALTHAUDIT_MAX_CONCURRENCY": "4",
    }.items():
        monkeypatch.setenv(name, value)
    DEFAULT_PROVIDERS.clear()
    with provisioned(session, HOME, monkeypatch, multi_account=True) as stack:
        yield stack
    DEFAULT_PROVIDERS.clear()


#: The run's output: one consolidated report, the targets counted, one digest posted.
RUN_OUTPUT = {
    "report_key": f"reports/dt={day(AT)}/consolidated/report.json",
    "targets_audited": len(WITH_ROLE) * len(REGIONS),
    "targets_not_audited": len(WITHOUT_ROLE) * len(REGIONS),
    "slack": "posted",
}


def _stored(stack: dict[str, Any], key: str) -> Any:
    return json.loads(stack["s3"].get_object(Bucket=stack["bucket"], Key=key)["Body"].read())


def _keys(stack: dict[str, Any], prefix: str) -> list[str]:
    listed = stack["s3"].list_objects_v2(Bucket=stack["bucket"], Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_an_organization_runs_through_the_templates_definition_into_one_report_and_one_digest(
    sandbox, organization, auditor
):
    execution_input = {"time": iso(AT), "targets": {"accounts": ",".join(ACCOUNTS), "regions": ",".join(REGIONS)}}
    with deployed_state_machine(sandbox, auditor, {"MultiAccount": "true"}) as machine:
        sfn = auditor["session"].client("stepfunctions")
        outcome = run_execution(sfn, machine, execution_input)
        history = sfn.get_execution_history(executionArn=outcome.arn, maxResults=1000)["events"]

    assert (outcome.status, outcome.error, outcome.cause, outcome.output) == ("SUCCEEDED", None, None, RUN_OUTPUT)

    # The plan is in S3, and the Map's state carries only its key: the targets never enter the state.
    (plan_key,) = _keys(auditor, "fanout/plans/")
    assert plan_key.startswith(f"fanout/plans/dt={day(AT)}/")
    assert [(t["account"], t["region"]) for t in _stored(auditor, plan_key)] == [
        (account, region) for account in ACCOUNTS for region in REGIONS
    ]
    # The ResultWriter's manifest and files, under the prefix the role may write.
    (manifest_key,) = [key for key in _keys(auditor, "fanout/results/") if key.endswith("/manifest.json")]
    manifest = _stored(auditor, manifest_key)
    assert manifest["DestinationBucket"] == auditor["bucket"]
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    records = _stored(auditor, succeeded["Key"])
    assert len(records) == len(ACCOUNTS) * len(REGIONS) and {r["Status"] for r in records} == {"SUCCEEDED"}
    outputs = [json.loads(r["Output"]) for r in records]
    assert {tuple(sorted(o)) for o in outputs} == {("account", "region", "report_key"), ("account", "error", "region")}
    assert EXTERNAL_ID not in json.dumps(records) + json.dumps(history, default=str) + json.dumps(
        _stored(auditor, plan_key)
    )

    # Every state's input and output stays small, whatever the number of targets.
    payloads = [
        details.get("input") or details.get("output") or ""
        for event in history
        for details in [event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}]
    ]
    assert payloads and max(len(p.encode()) for p in payloads) < 1024

    consolidated = _stored(auditor, outcome.output["report_key"])
    assert consolidated == _stored(auditor, "latest/consolidated/report.json")
    assert sorted(e.message for e in Draft202012Validator(load_consolidated_schema()).iter_errors(consolidated)) == []
    assert ConsolidatedReport.from_dict(consolidated).to_dict() == consolidated
    assert {(t["account"], t["region"]) for t in consolidated["targets"]} == {
        (a, r) for a in WITH_ROLE for r in REGIONS
    }
    for target in consolidated["targets"]:
        assert target["functions_audited"] == len(FLEET_NAMES)
        assert {"fraud-scoring", "audit-trail"} <= {f["function_name"] for f in target["worst_findings"]}
    assert {(t["account"], t["region"]) for t in consolidated["not_audited"]} == {
        (a, r) for a in WITHOUT_ROLE for r in REGIONS
    }
    for failure in consolidated["not_audited"]:
        assert failure["error"].startswith(f"AssumeRoleFailed: cannot assume arn:aws:iam::{failure['account']}:role/")
        assert "AccessDenied" in failure["error"]

    (digest,) = auditor["slack"].messages  # ONE message for the whole run
    blocks = json.dumps(digest["blocks"])
    assert len(digest["blocks"]) <= 50
    for account in WITHOUT_ROLE:
        assert account in blocks  # the failures are listed
    assert f"{len(WITHOUT_ROLE) * len(REGIONS)} not audited" in digest["text"]


def test_audits_in_execution_environments_of_their_own_run_beside_each_other_to_the_same_run(
    sandbox, organization, auditor
):
    """bench/org_run.py runs the audits in processes of their own (tests.support.execution_environments),
    as Lambda runs concurrent invocations: the run is the one above, and an unhandled error in an
    environment is the handler's own, by its type's name."""
    credentials = auditor["credentials"][FUNCTIONS["audit"]]
    execution_input = {"time": iso(AT), "targets": {"accounts": ",".join(ACCOUNTS), "regions": ",".join(REGIONS)}}
    with ExecutionEnvironments(auditor, "audit", credentials, size=2) as audit:
        with pytest.raises(RuntimeError, match="event.target") as caught:
            audit({"target": {"account": "not-an-account"}, "time": iso(AT)}, "request-with-a-bad-target")
        assert type(caught.value).__name__ == "ConfigError"  # Target.from_dict names the field it refuses
        with deployed_state_machine(sandbox, auditor, {"MultiAccount": "true"}, {"audit": audit}) as machine:
            outcome = run_execution(auditor["session"].client("stepfunctions"), machine, execution_input)

    assert (outcome.status, outcome.error, outcome.cause, outcome.output) == ("SUCCEEDED", None, None, RUN_OUTPUT)
    consolidated = _stored(auditor, outcome.output["report_key"])
    for target in consolidated["targets"]:
        assert target["functions_audited"] == len(FLEET_NAMES)
        assert {"fraud-scoring", "audit-trail"} <= {f["function_name"] for f in target["worst_findings"]}


# -- the 256 KiB cap on a state's payload ------------------------------------------------------------


def _definition(states: dict[str, Any], start: str) -> str:
    return json.dumps({"StartAt": start, "States": states})


@pytest.fixture
def bare_machine(sandbox):
    """A state machine of a test's own definition in a fresh account, with a role that may invoke one
    in-process function: create(definition) -> ARN; `function` is that function's ARN."""
    account = "730000000099"
    session = sandbox.session_for_account(account, region=HOME)
    function = f"arn:aws:lambda:{HOME}:{account}:function:echo-size"
    policy = {"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function}]}
    role = create_role(session.client("iam"), "states-bare", STATES_TRUST, [policy])
    sfn = session.client("stepfunctions")

    def create(definition: str) -> str:
        name = f"bare-{uuid.uuid4()}"
        return sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]

    with executing_state_machines(sandbox.endpoint), serving({function: lambda event, _: "x" * event["size"]}):
        yield sfn, create, function


@pytest.mark.parametrize(
    "size, status",
    [
        (PAYLOAD_LIMIT - 3, "SUCCEEDED"),  # a JSON string of 262,141 bytes: its quotes make 262,143
        (PAYLOAD_LIMIT + 1, "FAILED"),  # 262,147 bytes with its quotes
    ],
)
def test_a_state_output_above_256_kib_fails_the_execution_with_states_data_limit_exceeded(bare_machine, size, status):
    sfn, create, _ = bare_machine
    machine = create(_definition({"Big": {"Type": "Pass", "Result": "x" * size, "End": True}}, "Big"))
    outcome = run_execution(sfn, machine, {})
    assert outcome.status == status
    if status == "FAILED":
        assert outcome.error == "States.DataLimitExceeded"
    else:
        assert len(json.dumps(outcome.output).encode()) == size + 2


def test_a_lambda_result_above_256_kib_is_states_data_limit_exceeded_which_states_all_does_not_catch(bare_machine):
    """ "States.ALL ... can't catch the States.DataLimitExceeded terminal error type"
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)."""
    sfn, create, function = bare_machine
    states = {
        "Invoke": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    }
    machine = create(_definition(states, "Invoke"))
    small = run_execution(sfn, machine, {"size": 1000})
    assert (small.status, small.output) == ("SUCCEEDED", "x" * 1000)
    big = run_execution(sfn, machine, {"size": PAYLOAD_LIMIT})
    assert (big.status, big.error) == ("FAILED", "States.DataLimitExceeded")


def test_an_inline_maps_results_kept_in_the_state_past_256_kib_fail_the_execution(bare_machine):
    """Why the Map is distributed: 400 results of about 700 bytes kept in the state (ResultPath) exceed the cap."""
    sfn, create, _ = bare_machine
    item = {"Type": "Pass", "Parameters": {"index.$": "$", "padding": "p" * 700}, "End": True}
    inline = {
        "Items": {"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 400, 1)"}, "Next": "Map"},
        "Map": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Item", "States": {"Item": item}},
            "ResultPath": "$.results",
            "End": True,
        },
    }
    outcome = run_execution(sfn, create(_definition(inline, "Items")), {})
    assert (outcome.status, outcome.error) == ("FAILED", "States.DataLimitExceeded")
    fewer = json.loads(json.dumps(inline).replace("States.ArrayRange(1, 400, 1)", "States.ArrayRange(1, 300, 1)"))
    assert run_execution(sfn, create(_definition(fewer, "Items")), {}).status == "SUCCEEDED"


def _grant_map_run(session: Any, bucket: str, start_children: bool = True) -> None:
    """What a Distributed Map's role needs (iam-policies-eg-dist-map.html): the bucket's plan and results,
    and, unless `start_children` is False, states:StartExecution on the state machine for each child."""
    statements = [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/fanout/*"}
    ]
    if start_children:
        machines = f"arn:aws:states:{HOME}:730000000099:stateMachine:bare-*"
        statements.append({"Effect": "Allow", "Action": "states:StartExecution", "Resource": machines})
    session.client("iam").put_role_policy(
        RoleName="states-bare",
        PolicyName="map-run",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def _bare_map(bucket: str, child: dict[str, Any]) -> dict[str, Any]:
    return {
        "Map": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": bucket, "Key": "fanout/plans/p.json"},
            },
            "ItemSelector": {"target.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Record",
                "States": {"Record": child},
            },
            "ToleratedFailurePercentage": 100,
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": bucket, "Prefix": "fanout/results"},
            },
            "End": True,
        }
    }


def test_a_map_run_whose_role_may_not_start_executions_audits_no_target_and_says_why(sandbox, bare_machine):
    """Each child workflow is a StartExecution by the state machine's role on the machine itself
    (iam-policies-eg-dist-map.html); without that grant no child runs, and each is listed as not audited."""
    from healthaudit.fanout.results import map_run_results

    sfn, create, _ = bare_machine
    session = sandbox.session_for_account("730000000099", region=HOME)
    s3 = session.client("s3")
    bucket = f"bare-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": HOME})
    targets = [{"account": "111111111111", "region": HOME}, {"account": "222222222222", "region": HOME}]
    s3.put_object(Bucket=bucket, Key="fanout/plans/p.json", Body=json.dumps(targets).encode())
    _grant_map_run(session, bucket, start_children=False)
    child = {"Type": "Pass", "Parameters": {"report_key": "never"}, "End": True}
    outcome = run_execution(sfn, create(_definition(_bare_map(bucket, child), "Map")), {})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)  # the definition tolerates 100 %
    results = list(map_run_results(s3, bucket, outcome.output["ResultWriterDetails"]["Key"]))
    assert [(r.account, r.report_key) for r in results] == [("111111111111", None), ("222222222222", None)]
    assert all("not authorized to perform: states:StartExecution" in r.error for r in results)


def test_a_child_failing_past_its_catch_is_written_to_failed_and_read_back_as_not_audited(sandbox, bare_machine):
    """The ResultWriter's FAILED file (input-output-resultwriter.html): a child that failed is listed with
    its input, Error and Cause, and the merge reads it back as a target not audited."""
    from healthaudit.fanout.merge import TargetResult, error_text
    from healthaudit.fanout.results import map_run_results

    sfn, create, _ = bare_machine
    session = sandbox.session_for_account("730000000099", region=HOME)
    s3 = session.client("s3")
    bucket = f"bare-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": HOME})
    targets = [{"account": "111111111111", "region": HOME}, {"account": "222222222222"}]  # the second has no region
    s3.put_object(Bucket=bucket, Key="fanout/plans/p.json", Body=json.dumps(targets).encode())
    _grant_map_run(session, bucket)
    child = {
        "Type": "Pass",
        "Parameters": {"account.$": "$.target.account", "region.$": "$.target.region"},
        "End": True,
    }
    outcome = run_execution(sfn, create(_definition(_bare_map(bucket, child), "Map")), {})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    details = outcome.output["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("fanout/results/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    (failed_file,) = manifest["ResultFiles"]["FAILED"]
    (failed,) = json.loads(s3.get_object(Bucket=bucket, Key=failed_file["Key"])["Body"].read())
    assert failed["Status"] == "FAILED" and failed["Error"] == "States.Runtime" and "$.target.region" in failed["Cause"]
    assert json.loads(failed["Input"]) == {"target": targets[1]}
    cause = error_text({"Error": "States.Runtime", "Cause": failed["Cause"]}, None)
    assert list(map_run_results(s3, bucket, details["Key"])) == [
        TargetResult("111111111111", HOME, error="no report"),  # succeeded, without a report key
        TargetResult("222222222222", "?", error=cause),
    ]


# -- CreateStateMachine's idempotency ------------------------------------------------------------------

_PASS = _definition({"Done": {"Type": "Pass", "End": True}}, "Done")


@pytest.mark.parametrize(
    "change, refused",
    [
        ({}, False),
        ({"roleArn": "other"}, False),  # ignored, and not updated
        ({"definition": _definition({"Other": {"Type": "Pass", "End": True}}, "Other")}, True),
        ({"type": "EXPRESS"}, True),
        ({"tracingConfiguration": {"enabled": True}}, True),
    ],
)
def test_create_state_machine_again_is_idempotent_only_for_the_same_machine(sandbox, change, refused):
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: the check
    is on name, definition, type, logging, tracing and encryption; a different roleArn is ignored."""
    session = sandbox.session_for_account("730000000098", region=HOME)
    iam, sfn = session.client("iam"), session.client("stepfunctions")
    roles = {
        name: create_role(iam, f"states-{name}-{uuid.uuid4().hex[:8]}", STATES_TRUST, []) for name in ("one", "other")
    }
    first = {"name": f"again-{uuid.uuid4().hex[:12]}", "definition": _PASS, "roleArn": roles["one"]}
    arn = sfn.create_state_machine(**first)["stateMachineArn"]
    again = {**first, **change}
    if "roleArn" in change:
        again["roleArn"] = roles[change["roleArn"]]
    if refused:
        with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
            sfn.create_state_machine(**again)
    else:
        assert sfn.create_state_machine(**again)["stateMachineArn"] == arn
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["definition"], described["roleArn"]) == (_PASS, roles["one"])
