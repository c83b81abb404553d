"""Per-function control-plane lookups, made only for the functions the metrics point at.

The Lambda control plane allows 15 requests a second for the whole account, so these calls are
never made once per function of the fleet. Each loop asks `must_stop` before every call: once the
audit's deadline is near, the candidates not looked up yet are left unread (STOPPED_EARLY).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import READ_ERRORS, STOPPED_EARLY, MalformedResponse, describe_error

#: "Valid Range: Minimum value of 1. Maximum value of 50." (ListFunctionEventInvokeConfigs, MaxItems)
EVENT_INVOKE_CONFIGS_PAGE = 50
#: The qualifier of the unqualified function, as FunctionArn names it ("…:function:my-function:$LATEST").
LATEST = "$LATEST"


@dataclass
class LookupResults:
    values: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def never() -> bool:
    return False


def reserved_concurrency(
    lambda_client: Any,
    candidates: Iterable[str],
    reserved_total: int | None,
    must_stop: Callable[[], bool] = never,
) -> LookupResults:
    """Reserved concurrency of candidate functions (by ARN), most likely first.

    When the account settings say how much concurrency is reserved in total, the search stops as
    soon as the reservations found add up to it: no other function can have one.
    """
    results = LookupResults()
    found = 0
    remaining = list(candidates)
    for index, arn in enumerate(remaining):
        if reserved_total is not None and found >= reserved_total:
            break
        if must_stop():
            results.failed.update(dict.fromkeys(remaining[index:], STOPPED_EARLY))
            break
        try:
            response = lambda_client.get_function_concurrency(FunctionName=arn)
        except READ_ERRORS as error:
            results.failed[arn] = describe_error(error)
            continue
        reserved = response.get("ReservedConcurrentExecutions")
        results.values[arn] = reserved
        found += reserved or 0
    return results


def failure_destinations(
    lambda_client: Any, candidates: Iterable[str], must_stop: Callable[[], bool] = never
) -> LookupResults:
    """By candidate ARN: the on-failure destination of each qualifier's asynchronous invocation config.

    Event invoke configs are per qualifier ($LATEST, a version, an alias), and a caller that invokes
    an alias gets that alias's config, so every one is read with ListFunctionEventInvokeConfigs
    (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctionEventInvokeConfigs.html), page
    by page. The value is {qualifier: destination ARN, or None where that config has none}; an
    empty dict means no qualifier has a config at all.
    """
    results = LookupResults()
    remaining = list(candidates)
    for index, arn in enumerate(remaining):
        if must_stop():
            results.failed.update(dict.fromkeys(remaining[index:], STOPPED_EARLY))
            break
        try:
            results.values[arn] = _destinations_by_qualifier(lambda_client, arn, must_stop)
        except READ_ERRORS as error:
            results.failed[arn] = describe_error(error)
        except _Stopped:
            results.failed.update(dict.fromkeys(remaining[index:], STOPPED_EARLY))
            break
    return results


class _Stopped(Exception):
    """The deadline came between two pages of one function's configs."""


def _destinations_by_qualifier(lambda_client: Any, arn: str, must_stop: Callable[[], bool]) -> dict[str, str | None]:
    destinations: dict[str, str | None] = {}
    kwargs: dict[str, Any] = {"FunctionName": arn, "MaxItems": EVENT_INVOKE_CONFIGS_PAGE}
    while True:
        page = lambda_client.list_function_event_invoke_configs(**kwargs)
        for config in page.get("FunctionEventInvokeConfigs") or []:
            destinations[_qualifier(config)] = _on_failure(config)
        if not page.get("NextMarker"):
            return destinations
        if must_stop():
            raise _Stopped
        kwargs["Marker"] = page["NextMarker"]


def _qualifier(config: Any) -> str:
    function_arn = config.get("FunctionArn") if isinstance(config, dict) else None
    if not isinstance(function_arn, str) or ":function:" not in function_arn:
        raise MalformedResponse("ListFunctionEventInvokeConfigs answered a config without its FunctionArn")
    _, _, qualifier = function_arn.rsplit(":function:", 1)[-1].partition(":")
    return qualifier or LATEST


def _on_failure(config: dict[str, Any]) -> str | None:
    """The OnFailure destination; AWS answers `{}` for an unset one, or leaves DestinationConfig out."""
    destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if destination is not None and not isinstance(destination, str):
        raise MalformedResponse("ListFunctionEventInvokeConfigs answered an OnFailure destination that is not an ARN")
    return destination or None
