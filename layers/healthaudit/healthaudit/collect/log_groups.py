"""The functions' log groups: which exist, their retention and class, the default ones paged in the background."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Tracer

from ..model import DataSource
from . import inventory
from .collected import Collected
from .errors import READ_ERRORS, describe_error

tracer = Tracer()


def log_group_of(config: dict[str, Any]) -> str:
    return config.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{config['FunctionName']}"


@tracer.capture_method(capture_response=False)
def log_retention(logs_client: Any, default_groups: DefaultLogGroups, state: Collected) -> dict[str, int | None] | None:
    """Retention in days of each wanted log group that exists: the default groups' pages read in the
    background, then each custom group (LoggingConfig.LogGroup) by its own name, as
    :func:`inventory.describe_log_groups` reads them.

    A group of class DELIVERY keeps its events one day and cannot be queried by Logs Insights
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html): the
    REPORT records of the functions that log to it are a coverage gap naming the class.
    """
    wanted = {log_group_of(c) for c in state.configs}
    custom = {name for name in wanted if not name.startswith(inventory.DEFAULT_LOG_GROUP_PREFIX)}
    entries: dict[str, dict[str, Any]] = {}
    try:
        if wanted - custom:
            entries = {name: entry for name, entry in default_groups.result().items() if name in wanted}
        if custom:
            entries.update(inventory.describe_log_groups(logs_client, custom))
    except READ_ERRORS as error:
        state.unread_for_all(DataSource.LOG_GROUPS, describe_error(error))
        return None
    for config in state.configs:
        log_class = entries.get(log_group_of(config), {}).get("logGroupClass")
        if log_class == "DELIVERY":
            state.unread_for(
                config["FunctionArn"],
                DataSource.REPORT_RECORDS,
                f"log group {log_group_of(config)} is of class DELIVERY: Logs Insights cannot query it",
            )
    return {name: _retention_days(entry) for name, entry in entries.items()}


#: "Log events in log groups in the Delivery class are kept in CloudWatch Logs for only one day."
DELIVERY_RETENTION_DAYS = 1


def _retention_days(entry: dict[str, Any]) -> int | None:
    """retentionInDays (None: never expires); a Delivery-class group's events expire after a day whatever it says."""
    days = entry.get("retentionInDays")
    if days is None and entry.get("logGroupClass") == "DELIVERY":
        return DELIVERY_RETENTION_DAYS
    return days


class DefaultLogGroups:
    """DescribeLogGroups pages under /aws/lambda/, read on a thread of their own while the audit goes on.

    They are read before the inventory says whether they are wanted (nearly always: a function logs to
    /aws/lambda/<name> unless LoggingConfig names another group); :meth:`stop` ends the paging after
    the page in flight when they are not, or when the audit stops early. Leaving the ``with`` block
    stops and joins the thread, so no call is made after the snapshot is returned. The boto3 client
    is shared with the calling thread (clients are thread-safe) and so is its call counter.
    """

    def __init__(self, logs_client: Any) -> None:
        self._logs = logs_client
        self._stopped = threading.Event()
        self._groups: dict[str, dict[str, Any]] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="healthaudit-log-groups", daemon=True)

    def __enter__(self) -> DefaultLogGroups:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._thread.join()

    def stop(self) -> None:
        self._stopped.set()

    def result(self) -> dict[str, dict[str, Any]]:
        """Every group under the prefix with its DescribeLogGroups entry; raises what the paging raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._groups

    def _read(self) -> None:
        paginator = self._logs.get_paginator("describe_log_groups")
        pages = paginator.paginate(
            logGroupNamePrefix=inventory.DEFAULT_LOG_GROUP_PREFIX,
            PaginationConfig={"PageSize": inventory.LOG_GROUPS_PAGE},
        )
        try:
            for page in pages:
                for group in page.get("logGroups") or []:
                    if group.get("logGroupName"):
                        self._groups[group["logGroupName"]] = group
                if self._stopped.is_set():
                    return
        except BaseException as error:  # handed to the auditing thread by result()
            self._error = error
