"""Inventory: functions, tags, event source mappings, account settings and log groups, in bulk pages."""

from __future__ import annotations

from typing import Any, Iterable

from aws_lambda_powertools import Tracer

from ..model import AccountSettings, EventSource
from ..scope import SCOPE_FIELDS
from .errors import MalformedResponse

tracer = Tracer()

LIST_FUNCTIONS_PAGE = 50  # ListFunctions returns at most 50 a page, whatever MaxItems says
TAGGING_PAGE = 100  # GetResources allows up to 100 a page
EVENT_SOURCE_MAPPINGS_PAGE = 100
LOG_GROUPS_PAGE = 50
DEFAULT_LOG_GROUP_PREFIX = "/aws/lambda/"

HELD_FIELDS = SCOPE_FIELDS - {"Tags"}
"""The fields of a function's configuration kept once ListFunctions answers: Environment (variable
values), KMSKeyArn, ImageConfigResponse and any field AWS adds later are dropped on arrival, so no
secret reaches the scope, the snapshot, the report or a log line."""


@tracer.capture_method(capture_response=False)
def list_functions(lambda_client: Any) -> list[dict[str, Any]]:
    """Every function's configuration, HELD_FIELDS only; an entry without a name and ARN is not a
    function anyone can audit."""
    pages = lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": LIST_FUNCTIONS_PAGE})
    return [
        {key: value for key, value in function.items() if key in HELD_FIELDS}
        for page in pages
        for function in page.get("Functions") or []
        if isinstance(function.get("FunctionName"), str) and isinstance(function.get("FunctionArn"), str)
    ]


@tracer.capture_method(capture_response=False)
def list_function_tags(tagging_client: Any) -> dict[str, dict[str, str]]:
    """Tags of every tagged function, keyed by unqualified function ARN."""
    pages = tagging_client.get_paginator("get_resources").paginate(
        ResourceTypeFilters=["lambda:function"], ResourcesPerPage=TAGGING_PAGE
    )
    tags: dict[str, dict[str, str]] = {}
    for page in pages:
        for resource in page.get("ResourceTagMappingList") or []:
            if resource.get("ResourceARN"):
                tags[unqualified_arn(resource["ResourceARN"])] = {
                    tag["Key"]: tag.get("Value", "") for tag in resource.get("Tags") or [] if tag.get("Key")
                }
    return tags


@tracer.capture_method(capture_response=False)
def list_event_sources(lambda_client: Any) -> dict[str, list[EventSource]]:
    """Event source mappings of the account, keyed by unqualified function ARN."""
    pages = lambda_client.get_paginator("list_event_source_mappings").paginate(
        PaginationConfig={"PageSize": EVENT_SOURCE_MAPPINGS_PAGE}
    )
    sources: dict[str, list[EventSource]] = {}
    for page in pages:
        for mapping in page.get("EventSourceMappings", []):
            function_arn = mapping.get("FunctionArn")
            if not function_arn:
                continue
            arn = mapping.get("EventSourceArn") or _self_managed_source(mapping)
            sources.setdefault(unqualified_arn(function_arn), []).append(
                EventSource(arn=arn, state=mapping.get("State", "Enabled"))
            )
    return sources


@tracer.capture_method(capture_response=False)
def get_account_settings(lambda_client: Any) -> AccountSettings:
    limit = lambda_client.get_account_settings().get("AccountLimit") or {}
    figures = {}
    for name in ("ConcurrentExecutions", "UnreservedConcurrentExecutions"):
        if not isinstance(limit.get(name), int):
            raise MalformedResponse(f"GetAccountSettings answered without AccountLimit.{name}")
        figures[name] = limit[name]
    return AccountSettings(
        concurrency_limit=figures["ConcurrentExecutions"],
        unreserved_concurrency=figures["UnreservedConcurrentExecutions"],
    )


@tracer.capture_method(capture_response=False)
def describe_log_groups(logs_client: Any, wanted: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The DescribeLogGroups entry (retentionInDays, logGroupClass, ...) of each wanted log group that exists.

    Default groups are read in pages under /aws/lambda/; a custom group (LoggingConfig.LogGroup) is read
    by its own name as prefix, once per distinct group.
    """
    wanted = set(wanted)
    found: dict[str, dict[str, Any]] = {}
    prefixes = [DEFAULT_LOG_GROUP_PREFIX] if any(n.startswith(DEFAULT_LOG_GROUP_PREFIX) for n in wanted) else []
    prefixes += sorted(name for name in wanted if not name.startswith(DEFAULT_LOG_GROUP_PREFIX))
    paginator = logs_client.get_paginator("describe_log_groups")
    for prefix in prefixes:
        for page in paginator.paginate(logGroupNamePrefix=prefix, PaginationConfig={"PageSize": LOG_GROUPS_PAGE}):
            for group in page.get("logGroups") or []:
                if group.get("logGroupName") in wanted:
                    found[group["logGroupName"]] = group
    return found


def unqualified_arn(arn: str) -> str:
    """arn:aws:lambda:region:account:function:name[:qualifier] without the qualifier."""
    return ":".join(arn.split(":")[:7])


def _self_managed_source(mapping: dict[str, Any]) -> str:
    servers = mapping.get("SelfManagedEventSource", {}).get("Endpoints", {})
    if "KAFKA_BOOTSTRAP_SERVERS" in servers:
        return "arn:aws:kafka:self-managed:" + ",".join(servers["KAFKA_BOOTSTRAP_SERVERS"])
    return "unknown"
