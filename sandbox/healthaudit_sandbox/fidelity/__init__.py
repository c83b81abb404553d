"""Fidelity extensions: patches to moto so that the sandbox behaves as the AWS documentation says.

Production code is never bent to moto; where moto departs from AWS in a way the auditor depends
on, moto is extended here. Each extension is one function, with the documentation page it follows,
in the module of its service: :mod:`.lambda_functions`, :mod:`.lambda_account`,
:mod:`.lambda_invoke_configs`, :mod:`.tagging`, :mod:`.cloudwatch`, :mod:`.logs` and
:mod:`.stepfunctions`; Logs Insights, IAM policy simulation, the X-Ray service graph, STS AssumeRole,
authorization and Step Functions executions have packages or modules of their own in
:mod:`healthaudit_sandbox`. :func:`install` applies them all, once,
in-process; it must run before the moto server app is built (the Lambda extension adds a URL route).

This package imports moto: it belongs to the sandbox distribution, never to the Lambda layer.
"""

from __future__ import annotations

import threading

from healthaudit_sandbox.fidelity.cloudwatch import (
    install_cloudwatch_get_metric_data,
    install_cloudwatch_get_metric_data_pages,
    install_cloudwatch_list_metrics,
    install_cloudwatch_metric_store,
)
from healthaudit_sandbox.fidelity.lambda_account import (
    DEFAULT_CONCURRENCY_LIMIT,
    install_lambda_get_account_settings,
    set_account_concurrency_limit,
)
from healthaudit_sandbox.fidelity.lambda_functions import (
    install_lambda_broker_event_sources,
    install_lambda_configuration_fields,
    install_lambda_list_functions_paging,
)
from healthaudit_sandbox.fidelity.lambda_invoke_configs import install_lambda_event_invoke_configs
from healthaudit_sandbox.fidelity.logs import install_logs_log_group_class
from healthaudit_sandbox.fidelity.stepfunctions import install_stepfunctions_create_idempotency
from healthaudit_sandbox.fidelity.tagging import install_tagging_get_resources_pages

__all__ = ["DEFAULT_CONCURRENCY_LIMIT", "install", "set_account_concurrency_limit"]

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Apply every fidelity extension to moto (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        install_lambda_list_functions_paging()
        install_lambda_get_account_settings()
        install_lambda_configuration_fields()
        install_lambda_broker_event_sources()
        install_lambda_event_invoke_configs()
        install_tagging_get_resources_pages()
        install_cloudwatch_metric_store()
        install_cloudwatch_get_metric_data()
        install_cloudwatch_get_metric_data_pages()
        install_cloudwatch_list_metrics()
        install_logs_log_group_class()
        install_stepfunctions_create_idempotency()
        __import__("healthaudit_sandbox.logs_insights.api", fromlist=["_"]).install_logs_insights()
        __import__("healthaudit_sandbox.iam_simulation", fromlist=["_"]).install_iam_simulation()
        __import__("healthaudit_sandbox.xray_graph", fromlist=["_"]).install_xray_service_graph()
        __import__("healthaudit_sandbox.sts_assume", fromlist=["_"]).install_sts_assume_role()
        __import__("healthaudit_sandbox.authorization", fromlist=["_"]).install_authorization()
        _installed = True
