"""template.yaml's state machine, created in a provisioned sandbox account and executed by the sandbox
(healthaudit_sandbox.stepfunctions), its Lambda tasks answered by the real handlers in this process, each
under its own execution role (tests.support.functions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from healthaudit_sandbox.stepfunctions import LambdaHandler, executing_state_machines, serving
from tests.support.functions import LambdaContext, load_function
from tests.support.stack_roles import FUNCTIONS, STACK_NAME, create_state_machine, function_arn

#: The functions the state machine invokes, by the folder under functions/ that holds their code.
STATE_MACHINE_FUNCTIONS = ("plan", "audit", "merge")


def context_fields(stack: dict[str, Any], folder: str) -> dict[str, str]:
    """What Lambda's context says of the stack's function functions/<folder> (all but the request ID)."""
    logical_id = FUNCTIONS[folder]
    return {
        "function_name": f"{STACK_NAME}-{logical_id}",
        "invoked_function_arn": function_arn(stack, logical_id),
        "log_group_name": f"/aws/lambda/{STACK_NAME}-{logical_id}",
    }


def function_handler(stack: dict[str, Any], folder: str) -> LambdaHandler:
    """functions/<folder>/app.py's handler, with the context Lambda gives it for each invocation."""
    app, fields = load_function(folder), context_fields(stack, folder)

    def handle(event: Any, request_id: str) -> Any:
        return app.lambda_handler(event, LambdaContext(**fields, aws_request_id=request_id))

    return handle


@contextmanager
def deployed_state_machine(
    sandbox: Any, stack: dict[str, Any], parameters: dict[str, str], handlers: dict[str, LambdaHandler] | None = None
) -> Iterator[str]:
    """Inside, the template's AuditStateMachine exists in the stack's account and executes: its ARN. Its
    functions run in this process unless `handlers` (by functions/ folder) says otherwise. On the way out
    it is deleted, as deleting the stack deletes it: a later stack's machine has another definition."""
    chosen = {folder: function_handler(stack, folder) for folder in STATE_MACHINE_FUNCTIONS} | (handlers or {})
    serve = {function_arn(stack, FUNCTIONS[folder]): handler for folder, handler in chosen.items()}
    with executing_state_machines(sandbox.endpoint), serving(serve):
        machine = create_state_machine(stack["session"], stack, parameters)
        try:
            yield machine
        finally:
            stack["session"].client("stepfunctions").delete_state_machine(stateMachineArn=machine)
