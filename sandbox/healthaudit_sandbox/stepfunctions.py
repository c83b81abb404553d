"""Step Functions executions in the sandbox: moto's interpreter, with its Lambda tasks answered in-process
and its Distributed Map's gaps closed.

moto 5.2.5 executes state machines with an interpreter derived from LocalStack's when its config says
``stepfunctions.execute_state_machine`` (:func:`executing_state_machines` switches it on). It parses and
runs the whole of Amazon States Language that the auditor's definition uses (Task, Choice, Pass, Map in
DISTRIBUTED mode with an S3 ItemReader, Retry, Catch, paths, ItemSelector, MaxConcurrencyPath) and
enforces the 256 KiB cap on a state's output and a Lambda task's result (``States.DataLimitExceeded``:
https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html; moto refuses a payload of
exactly 262,144 bytes too, one byte stricter than "256 KiB" if AWS's bound is inclusive, which it does
not document). Seven things it does not do as AWS does, closed here by :func:`install_stepfunctions`:

* **Lambda tasks** call moto's Lambda, which runs functions in Docker. Here a task invokes the handler
  registered for the function's ARN (:func:`serving`), in this process, after authorizing
  ``lambda:InvokeFunction`` on that ARN against the state machine's role as IAM would
  (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html). A handler
  that raises answers as Lambda does for an unhandled error: ``FunctionError: Unhandled`` and the error
  document ``{errorMessage, errorType, requestId, stackTrace}``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html). Invocations run one at a time:
  handlers in one process share os.environ and boto3's default session, which Lambda's execution
  environments never share; the order of the Map's children is not observable in their results.
* **Its S3 calls** (the ItemReader's GetObject, the ResultWriter's PutObject) go to moto's default
  account with made-up keys. Here they go to the sandbox's endpoint with credentials of the state
  machine's role, issued as STS issues them to ``states.amazonaws.com``, so the sandbox authorizes them
  against the role's policies.
* **ResultWriter** writes only a manifest listing no files. Here it writes what
  https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html describes: under
  ``{Prefix}/{Map Run ID}/``, ``SUCCEEDED_0.json`` and ``FAILED_0.json`` (JSON arrays of the child
  executions' records: ExecutionArn, Name, Input, Output or Error and Cause, Status, dates), and a
  ``manifest.json`` listing them with their sizes; the Map's output is the manifest's location.
* **A child that fails** is counted, but its Error and Cause are dropped. Here each child's outcome is
  kept for the ResultWriter.
* **ToleratedFailurePercentage** must be written with a decimal point. Here a whole number is
  accepted, as AWS accepts it.
* **DescribeExecution** answers an output that is a JSON string bare, not as JSON text. Here it is
  encoded as AWS encodes every output.
* **States.ALL** catches and retries every error, the terminal ``States.DataLimitExceeded`` and
  ``States.Runtime`` too. Here it matches neither, as AWS documents (:func:`_install_terminal_errors`).

Not emulated: child workflows are not executions of their own (no ``states:StartExecution`` call is made
or authorized, no DescribeExecution for them); ToleratedFailurePercentage/Count below 100 % (moto reads
them but never fails a Map Run for them; the auditor's definition tolerates 100 %); Retry intervals are
really waited, so tests avoid provoking retries.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.config import default_user_config
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from healthaudit_sandbox.authorization import Decision, evaluate

__all__ = [
    "ExecutionOutcome",
    "LambdaHandler",
    "install_stepfunctions",
    "executing_state_machines",
    "run_execution",
    "service_role_credentials",
    "serving",
]

#: A function's code: the event and a request ID (unique per invocation) in, the response out.
LambdaHandler = Callable[[Any, str], Any]

STATES_SERVICE = "states.amazonaws.com"
_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$")

_install_lock = threading.Lock()
_installed = False
_invocation_lock = threading.Lock()  # one in-process invocation at a time (module docstring)
_state_lock = threading.Lock()
_handlers: dict[str, LambdaHandler] = {}
_endpoint: list[str] = []
_credentials: dict[str, dict[str, str]] = {}
_finished: dict[str, threading.Event] = {}


@dataclass
class _ChildExecution:
    """One child workflow of a Distributed Map, as its ResultWriter record needs it."""

    index: int
    input: Any
    start: datetime.datetime
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stop: datetime.datetime | None = None
    name: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class ExecutionOutcome:
    """A finished execution, as DescribeExecution answers."""

    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None


# -- installing -------------------------------------------------------------------------------------


def install_stepfunctions() -> None:
    """Patch moto's interpreter as the module docstring says (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
            resource_eval_s3 as item_reader_s3,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
            distributed_item_processor_worker as distributed_worker,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
            resource_eval_s3 as result_writer_s3,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
        from moto.stepfunctions.parser.backend import execution as backend_execution

        lambda_eval_utils.boto_client_for = _client_for
        item_reader_s3.boto_client_for = _client_for
        result_writer_s3.ResourceEvalS3._handle_put_object = staticmethod(_write_results)
        distributed_worker.DistributedItemProcessorWorker._eval_job = _eval_child
        communication = backend_execution.BaseExecutionWorkerCommunication
        terminated = communication.terminated

        def terminated_and_signalled(self: Any) -> None:
            try:
                terminated(self)
                # DescribeExecution's output is JSON text; moto's response passes a str output through
                # unencoded, so an execution whose output is a JSON string would answer it bare.
                if isinstance(self.execution.output, str):
                    self.execution.output = json.dumps(self.execution.output)
            finally:
                _finished_event(self.execution.exec_arn).set()

        communication.terminated = terminated_and_signalled
        _install_terminal_errors()
        _install_whole_number_percentages()
        _installed = True


def _install_whole_number_percentages() -> None:
    """``ToleratedFailurePercentage`` is a number from 0 to 100, a whole one included
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html); moto's grammar takes
    only a decimal literal there (``100.0``) and refuses ``100``. The definition is handed to moto's parser
    with whole percentages written as decimals, the same JSON number."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse

    def parse_with_decimal_percentages(definition: str) -> Any:
        try:
            document = json.loads(definition)
        except ValueError:
            return parse(definition)  # moto answers the syntax error
        return parse(json.dumps(_decimal_percentages(document)))

    AmazonStateLanguageParser.parse = staticmethod(parse_with_decimal_percentages)


def _decimal_percentages(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: float(value)
            if key == "ToleratedFailurePercentage" and isinstance(value, int) and not isinstance(value, bool)
            else _decimal_percentages(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_decimal_percentages(item) for item in node]
    return node


def _install_terminal_errors() -> None:
    """``States.ALL`` matches neither ``States.DataLimitExceeded`` nor ``States.Runtime``: "The States.ALL
    error type can't catch the States.DataLimitExceeded terminal error type and runtime error types"
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). moto's matches
    every error, so a Catch or a Retry on States.ALL would turn a terminal error into a caught one."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    terminal = {StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime}
    every_error = StatesErrorName(typ=StatesErrorNameType.StatesALL)
    matches = ErrorEqualsDecl._eval_body

    def matches_unless_terminal(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if self.error_names == [every_error] and isinstance(error_name, StatesErrorName) and error_name.typ in terminal:
            env.stack.pop()
            env.stack.append(False)
            return
        matches(self, env)

    ErrorEqualsDecl._eval_body = matches_unless_terminal


@contextmanager
def executing_state_machines(endpoint: str) -> Iterator[None]:
    """Inside, the sandbox at `endpoint` executes the state machines it is given (moto's config switch)."""
    install_stepfunctions()
    with _state_lock:
        previous = default_user_config["stepfunctions"].get("execute_state_machine", False)
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        _endpoint[:] = [endpoint]
    try:
        yield
    finally:
        with _state_lock:
            default_user_config["stepfunctions"]["execute_state_machine"] = previous
            _endpoint.clear()
            _credentials.clear()


@contextmanager
def serving(handlers: Mapping[str, LambdaHandler]) -> Iterator[None]:
    """Inside, a Lambda task invoking one of these function ARNs runs its handler in this process."""
    with _state_lock:
        _handlers.update(handlers)
    try:
        yield
    finally:
        with _state_lock:
            for arn in handlers:
                _handlers.pop(arn, None)


def run_execution(sfn: Any, state_machine_arn: str, execution_input: Any, *, timeout: float = 600) -> ExecutionOutcome:
    """StartExecution, then wait for the execution's end (signalled by the interpreter, never polled)."""
    started = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=str(uuid.uuid4()), input=json.dumps(execution_input)
    )
    arn = started["executionArn"]
    if not _finished_event(arn).wait(timeout):
        raise TimeoutError(f"execution {arn} still running after {timeout} s")
    with _state_lock:
        _finished.pop(arn, None)
    described = sfn.describe_execution(executionArn=arn)
    output = described.get("output")
    return ExecutionOutcome(
        arn=arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
    )


def _finished_event(arn: str) -> threading.Event:
    with _state_lock:
        return _finished.setdefault(arn, threading.Event())


# -- the role's credentials --------------------------------------------------------------------------


def service_role_credentials(role_arn: str, service: str = STATES_SERVICE) -> dict[str, str]:
    """A session of `role_arn` as STS issues it to `service`: the role must exist and trust the service.

    https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
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
    session = sts_backends[match["account"]][match["partition"]].assume_role(
        region_name="us-east-1",
        role_session_name=service.split(".")[0],
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
        from urllib.parse import unquote

        document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
    for statement in _as_list(document.get("Statement")):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        actions = _as_list(statement.get("Action"))
        if statement.get("Effect") == "Allow" and service in services and "sts:AssumeRole" in actions:
            return True
    return False


def _role_credentials(role_arn: str) -> dict[str, str]:
    with _state_lock:
        cached = _credentials.get(role_arn)
    if cached is None:
        cached = service_role_credentials(role_arn)
        with _state_lock:
            _credentials[role_arn] = cached
    return cached


def _client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """The interpreter's client for a service integration, acting as the state machine's role."""
    role_arn = getattr(state_credentials, "role_arn", None)
    if not role_arn:
        raise ValueError("the execution has no role: Step Functions acts only through the state machine's role")
    if service == "lambda":
        return _InProcessLambda(role_arn, region)
    if service != "s3":
        raise NotImplementedError(f"the sandbox answers Lambda and S3 integrations only, not {service}")
    with _state_lock:
        endpoint = _endpoint[0] if _endpoint else None
    if endpoint is None:
        raise RuntimeError("no sandbox endpoint: run executions inside executing_state_machines()")
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1}),
        **_role_credentials(role_arn),
    )


# -- Lambda tasks, in-process ------------------------------------------------------------------------


class _InProcessLambda:
    """The part of a Lambda client the interpreter uses: Invoke (RequestResponse)."""

    def __init__(self, role_arn: str, region: str) -> None:
        self._role_arn = role_arn
        self._region = region

    def invoke(self, FunctionName: str, Payload: bytes | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803
        with _state_lock:
            handler = _handlers.get(FunctionName)
        request_id = str(uuid.uuid4())
        if not self._may_invoke(FunctionName):
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": f"User: {self._role_arn} is not authorized to perform: lambda:InvokeFunction"
                        f" on resource: {FunctionName} because no identity-based policy allows the"
                        " lambda:InvokeFunction action",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": request_id},
                },
                "Invoke",
            )
        if handler is None:
            raise ClientError(
                {
                    "Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {FunctionName}"},
                    "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": request_id},
                },
                "Invoke",
            )
        event = json.loads(Payload) if Payload else {}
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        with _invocation_lock:
            try:
                result = handler(event, request_id)
            except Exception as error:  # noqa: BLE001 - Lambda answers any unhandled error this way
                response["FunctionError"] = "Unhandled"
                result = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
        response["Payload"] = io.BytesIO(json.dumps(result, default=str).encode("utf-8"))
        return response

    def _may_invoke(self, function_arn: str) -> bool:
        match = _ROLE_ARN.match(self._role_arn)
        if not match:
            return False
        iam = iam_backends[match["account"]][match["partition"]]
        name = self._role_arn.rsplit("/", 1)[-1]
        if not any(role.name == name for role in iam.roles.values()):
            return False
        policies = [json.loads(iam.get_role_policy(name, policy)[1]) for policy in iam.list_role_policies(name)]
        attached, _ = iam.list_attached_role_policies(name)
        for policy in attached:
            default = next(version for version in policy.versions if version.is_default)
            policies.append(json.loads(default.document))
        context = {
            "aws:requestedregion": self._region,
            "aws:principalarn": self._role_arn,
            "aws:principalaccount": match["account"],
        }
        return evaluate(policies, "lambda:InvokeFunction", function_arn, context) == Decision.ALLOWED


# -- the Distributed Map's children and its ResultWriter ---------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _children(map_run_record: Any) -> tuple[threading.Lock, list[_ChildExecution]]:
    with _state_lock:
        if not hasattr(map_run_record, "_sandbox_children"):
            map_run_record._sandbox_children = (threading.Lock(), [])
        return map_run_record._sandbox_children


def _eval_child(self: Any, env: Any, job: Any) -> None:
    """One child workflow of a Distributed Map (DistributedItemProcessorWorker._eval_job), its outcome kept."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    record = self._map_run_record
    items, executions = record.item_counter, record.execution_counter
    for counter in (items.total, items.running, executions.total, executions.running):
        counter.count()
    child = _ChildExecution(index=job.job_index, input=job.job_input, start=_now())
    job_output = None
    try:
        env.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=job.job_index, Value=job.job_input)
        )
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        child.input = env.states.get_input()  # the child's input is the item as ItemSelector shaped it
        job.job_program.eval(env)
        state = env.program_state()
        if isinstance(state, ProgramError):
            details = state.error or {}
            child.status, child.error, child.cause = "FAILED", details.get("error"), details.get("cause")
            items.failed.count()
            executions.failed.count()
        elif isinstance(state, ProgramStopped):
            child.status = "ABORTED"
            items.aborted.count()
            executions.aborted.count()
        else:  # ProgramEnded
            job_output = env.states.get_input()
            child.status, child.output = "SUCCEEDED", job_output
            for counter in (items.succeeded, items.results_written, executions.succeeded, executions.results_written):
                counter.count()
    except FailureEventException as failure:
        pair = failure.extract_error_cause_pair() or (None, None)
        child.status, child.error, child.cause = "FAILED", pair[0] or "States.Runtime", pair[1]
        items.failed.count()
        executions.failed.count()
    except Exception as error:  # noqa: BLE001 - any other fault fails this child, as a runtime error
        child.status, child.error, child.cause = "FAILED", "States.Runtime", f"{type(error).__name__}: {error}"
        items.failed.count()
        executions.failed.count()
    finally:
        items.running.offset(-1)
        executions.running.offset(-1)
        child.stop = _now()
        job.job_output = job_output
        lock, children = _children(record)
        with lock:
            children.append(child)


def _write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """The ResultWriter's s3:putObject: result files by status, then the manifest (module docstring)."""
    parameters = env.stack.pop()
    env.stack.pop()  # the children's outputs: the records below carry them, with their inputs and errors
    map_run_record = env.map_run_record_pool_manager.get_all()[-1]
    map_run_arn = map_run_record.map_run_arn
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.rsplit(':', 1)[-1]}/"
    s3 = _client_for(resource_runtime_part.region, "s3", state_credentials)
    _, children = _children(map_run_record)
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    by_status: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
    for child in sorted(children, key=lambda c: c.index):
        if child.status in by_status:
            by_status[child.status].append(_execution_record(child, map_run_arn))
    for status, records in by_status.items():
        if not records:
            continue
        key = f"{folder}{status}_0.json"
        body = json.dumps(records, separators=(",", ":")).encode("utf-8")
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{folder}manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode("utf-8"))
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}})


def _execution_record(child: _ChildExecution, map_run_arn: str) -> dict[str, Any]:
    """A child execution as a result file lists it (input-output-resultwriter.html's example)."""
    # arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID -> the child's execution:MACHINE/LABEL:NAME
    machine_and_label = map_run_arn.split(":mapRun:", 1)[-1].rsplit(":", 1)[0]
    arn_prefix = map_run_arn.split(":mapRun:", 1)[0]
    record: dict[str, Any] = {
        "ExecutionArn": f"{arn_prefix}:execution:{machine_and_label}:{child.name}",
        "Input": json.dumps(child.input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "RedriveCount": 0,
        "StartDate": child.start.isoformat(),
        "StateMachineArn": f"{arn_prefix}:stateMachine:{machine_and_label}",
        "Status": child.status,
        "StopDate": (child.stop or child.start).isoformat(),
    }
    if child.status == "SUCCEEDED":
        record["Output"] = json.dumps(child.output, separators=(",", ":"))
        record["OutputDetails"] = {"Included": True}
        record["RedriveStatus"] = "NOT_REDRIVABLE"
        record["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        if child.error is not None:
            record["Error"] = child.error
        if child.cause is not None:
            record["Cause"] = child.cause
        record["RedriveStatus"] = "REDRIVABLE"
    return record


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
