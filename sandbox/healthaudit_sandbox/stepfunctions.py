"""Step Functions executions in the sandbox: moto's interpreter, with its Lambda tasks answered in-process
and its Distributed Map's gaps closed.

moto 5.2.5 executes state machines with an interpreter derived from LocalStack's when its config says
``stepfunctions.execute_state_machine`` (:func:`executing_state_machines` switches it on). It parses and
runs the whole of Amazon States Language that the auditor's definition uses (Task, Choice, Pass, Map in
DISTRIBUTED mode with an S3 ItemReader, Retry, Catch, paths, ItemSelector, MaxConcurrencyPath) and
enforces the 256 KiB cap on a state's output and a Lambda task's result (``States.DataLimitExceeded``:
https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html; moto refuses a payload of
exactly 262,144 bytes too, one byte stricter than "256 KiB" if AWS's bound is inclusive, which it does
not document). Eight things it does not do as AWS does, closed here by :func:`install_stepfunctions`:

* **Lambda tasks** call moto's Lambda, which runs functions in Docker. Here a task invokes the handler
  registered for the function's ARN (:func:`serving`), in this process, after authorizing
  ``lambda:InvokeFunction`` on that ARN against the state machine's role as IAM would
  (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html). A handler
  that raises answers as Lambda does for an unhandled error: ``FunctionError: Unhandled`` and the error
  document ``{errorMessage, errorType, requestId, stackTrace}``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html). Invocations of handlers in
  this process run one at a time: they share os.environ and boto3's default session, which Lambda's
  execution environments never share; the order of the Map's children is not observable in their
  results. A handler whose ``own_process`` attribute is true keeps its execution environments in
  processes of their own (tests.support.execution_environments) and runs beside the others.
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
* **Child workflows** are started without asking whether the role may. Here each child is authorized as
  the ``states:StartExecution`` on the state machine it is (``distributed_map``), and fails
  when the role may not.

Not emulated: child workflows are not executions of their own (no DescribeExecution answers them);
ToleratedFailurePercentage/Count below 100 % (moto reads them but never fails a Map Run for them; the
auditor's definition tolerates 100 %); Retry intervals are
really waited, so tests avoid provoking retries.
"""

from __future__ import annotations

import io
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.config import default_user_config

from healthaudit_sandbox.distributed_map import eval_child, write_results
from healthaudit_sandbox.role_policies import role_allows
from healthaudit_sandbox.sts_assume import service_assume_role

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

_install_lock = threading.Lock()
_installed = False
_invocation_lock = threading.Lock()  # one invocation in this process at a time (module docstring)
_state_lock = threading.Lock()
_handlers: dict[str, LambdaHandler] = {}
_endpoint: list[str] = []
_credentials: dict[str, dict[str, str]] = {}
_finished: dict[str, threading.Event] = {}


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
        result_writer_s3.ResourceEvalS3._handle_put_object = staticmethod(
            partial(write_results, client_for=_client_for)
        )
        distributed_worker.DistributedItemProcessorWorker._eval_job = eval_child
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
    return service_assume_role(role_arn, service, session_name=service.split(".")[0])


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
        with nullcontext() if getattr(handler, "own_process", False) else _invocation_lock:
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
        return role_allows(self._role_arn, self._region, "lambda:InvokeFunction", function_arn)
