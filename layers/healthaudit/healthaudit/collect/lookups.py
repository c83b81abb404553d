"""Per-function control-plane lookups, made only for the functions the metrics point at.

The Lambda control plane allows 15 requests a second for the whole account, so these calls are
never made once per function of the fleet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from botocore.exceptions import ClientError

from .errors import READ_ERRORS, describe_error


@dataclass
class LookupResults:
    values: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def reserved_concurrency(lambda_client: Any, candidates: Iterable[str], reserved_total: int | None) -> LookupResults:
    """Reserved concurrency of candidate functions (by ARN), most likely first.

    When the account settings say how much concurrency is reserved in total, the search stops as
    soon as the reservations found add up to it: no other function can have one.
    """
    results = LookupResults()
    found = 0
    for arn in candidates:
        if reserved_total is not None and found >= reserved_total:
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


def failure_destinations(lambda_client: Any, candidates: Iterable[str]) -> LookupResults:
    """The on-failure destination of each candidate's asynchronous invocation config (None when absent)."""
    results = LookupResults()
    for arn in candidates:
        try:
            config = lambda_client.get_function_event_invoke_config(FunctionName=arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                results.values[arn] = None
                continue
            results.failed[arn] = describe_error(error)
            continue
        except READ_ERRORS as error:
            results.failed[arn] = describe_error(error)
            continue
        results.values[arn] = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return results
