"""The functions under functions/, loaded and invoked the way the Lambda runtime runs them.

While a deployment is active (:func:`running_as_deployed`), a handler runs with the temporary
credentials of its own execution role, as Lambda gives them to it, so every AWS call it makes is
authorized against the role the template deploys.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

from healthaudit_sandbox.server import sdk_session
from tests.support.stack_roles import FUNCTIONS, ROOT

_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass
class LambdaContext:
    """What the Lambda runtime hands a handler (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html)."""

    function_name: str = "lambda-health-auditor-AuditFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:300000000001:function:lambda-health-auditor-AuditFunction"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/lambda-health-auditor-AuditFunction"
    log_stream_name: str = "2026/11/28/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class _ExecutionRoles:
    """Which credentials each function runs with, and who is running now (handlers may run on threads)."""

    def __init__(self) -> None:
        self.credentials: dict[str, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._saved: dict[str, str | None] = {}

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        credentials = (self.credentials or {}).get(FUNCTIONS[function])
        if credentials is None:
            yield
            return
        with self._lock:
            if any(count for name, count in self._running.items() if name != function):
                raise RuntimeError(f"{function} would run beside {self._running}: credentials are process-wide")
            if not self._running.get(function):
                self._saved = {name: os.environ.get(name) for name in _CREDENTIAL_VARIABLES}
                os.environ.update(credentials)
                _forget_default_clients()
            self._running[function] = self._running.get(function, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[function] -= 1
                if not self._running[function]:
                    for name, value in self._saved.items():
                        if value is None:
                            os.environ.pop(name, None)
                        else:
                            os.environ[name] = value
                    _forget_default_clients()


_roles = _ExecutionRoles()


def _forget_default_clients() -> None:
    """boto3's default session and Powertools' parameter providers keep the credentials they first saw.

    The new default session, and the SSM provider's (Powertools would make one of its own), read
    their credentials from the environment as boto3's would, but share the process's parsed SDK data
    (healthaudit_sandbox.server.sdk_session) rather than parse it again at every handler run.
    """
    boto3.DEFAULT_SESSION = sdk_session()
    DEFAULT_PROVIDERS.clear()
    DEFAULT_PROVIDERS["ssm"] = SSMProvider(boto3_session=sdk_session())


@contextmanager
def running_as_deployed(credentials: dict[str, dict[str, str]]) -> Iterator[None]:
    """While inside, each loaded function's handler runs with its execution role's credentials."""
    _roles.credentials = credentials
    try:
        yield
    finally:
        _roles.credentials = None


class _Function:
    """A handler module whose `lambda_handler` runs under the function's execution role."""

    def __init__(self, name: str, module: ModuleType) -> None:
        self._name = name
        self._module = module

    def lambda_handler(self, event: Any, context: Any) -> Any:
        with _roles.acting_as(self._name):
            return self._module.lambda_handler(event, context)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._module, attribute)


def load_function(name: str) -> Any:
    """functions/<name>/app.py, imported the way the Lambda runtime imports a handler module."""
    sys.path.insert(0, str(ROOT / "functions" / name))
    try:
        sys.modules.pop("app", None)
        import app  # noqa: PLC0415

        return _Function(name, app)
    finally:
        sys.path.pop(0)
        sys.modules.pop("app", None)
