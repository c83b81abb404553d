"""A function's Lambda execution environments as processes of their own, for runs at scale (bench/org_run.py).

Lambda gives each concurrent invocation an execution environment of its own: its own process, environment
variables and credentials, reused for later invocations
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). In-process handlers
(tests.support.state_machine) share one process and so run one at a time. Here each environment is a
spawned process that sets the function's environment (its execution role's credentials among them), imports
functions/<folder>/app.py once, and answers invocations in turn, so that several run at once, on several
cores. The sandbox's Step Functions runs such a handler without its in-process lock (``own_process``).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
from typing import Any

from tests.support.functions import LambdaContext, load_function
from tests.support.state_machine import context_fields

_app: Any = None  # the handler module, in an environment's process


def _start(folder: str, environment: dict[str, str]) -> None:
    global _app
    os.environ.update(environment)
    _app = load_function(folder)


def _invoke(event: Any, context: dict[str, Any]) -> tuple[str, Any, str]:
    """In an environment's process: the handler's JSON answer, or its unhandled error's type and message."""
    try:
        answer = _app.lambda_handler(event, LambdaContext(**context))
        return "ok", json.loads(json.dumps(answer, default=str)), ""
    except Exception as error:  # noqa: BLE001 - Lambda answers any unhandled error; the caller re-raises it
        return "error", type(error).__name__, str(error)


class ExecutionEnvironments:
    """A LambdaHandler for functions/<folder>/app.py whose invocations run in `size` processes."""

    own_process = True

    def __init__(self, stack: dict[str, Any], folder: str, environment: dict[str, str], size: int) -> None:
        self._context = context_fields(stack, folder)
        spawn = multiprocessing.get_context("spawn")  # never fork a process that serves the sandbox on threads
        self._pool = spawn.Pool(size, initializer=_start, initargs=(folder, environment))
        self._answered = itertools.count(1)
        self.invocations = 0
        """Invocations answered so far (for progress lines)."""

    def __call__(self, event: Any, request_id: str) -> Any:
        status, answer, message = self._pool.apply(_invoke, (event, {**self._context, "aws_request_id": request_id}))
        self.invocations = next(self._answered)
        if status == "error":
            raise type(answer, (RuntimeError,), {})(message)
        return answer

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> ExecutionEnvironments:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
