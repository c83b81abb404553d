"""Events delivered more than once, handled once.

EventBridge and EventBridge Scheduler deliver at least once, and Lambda retries a failed
asynchronous invocation. A handler passes its work to `handle_once` with a request that names the
work (the scheduled audit's window, the report object's version). Powertools Idempotency records
the request in a DynamoDB table before the work starts
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/), so that:

- a later duplicate gets the first delivery's result back, and the work is not done again;
- a concurrent duplicate finds the work in progress and returns at once: the invocation that holds
  the record finishes the work, or fails, and then Lambda retries that one;
- work that raised leaves no record, so Lambda's retry does it again;
- a record held by an invocation that timed out expires with that invocation's deadline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

logger = Logger(child=True)
metrics = Metrics()  # Powertools shares one metric set per process: the handler's log_metrics flushes it

TABLE_VARIABLE = "HEALTHAUDIT_IDEMPOTENCY_TABLE"
"""The environment variable naming the DynamoDB table (the template's IdempotencyTable)."""

# EventBridge retries delivery for up to 24 hours (the default retry policy), Scheduler for its
# MaximumEventAgeInSeconds; a record outlives both.
EXPIRES_AFTER_SECONDS = 2 * 24 * 3600

ALREADY_HANDLED = "already handled"
IN_PROGRESS = "in progress in another invocation"


def handle_once(
    work: Callable[[dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    *,
    name: str,
    dynamodb: Callable[[], Any],
    lambda_context: Any,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Any]:
    """Run `work(request)` once per distinct `request`, however often it is delivered; return its result.

    `request` must hold exactly what identifies the work (it is hashed into the record's key, with
    `name` as the key's prefix); `work` returns a JSON-serialisable dict, which is stored. A duplicate
    gets the first delivery's result (or nothing, while that is in progress) with "duplicate" saying
    which, and is counted as DuplicateDeliveries. `dynamodb` makes the DynamoDB client. Without a
    table in `environ` (a run outside the stack) the work runs every time it is delivered.
    """
    table = environ.get(TABLE_VARIABLE)
    if not table:
        logger.warning(f"{TABLE_VARIABLE} is not set: a duplicate delivery would be handled again")
        return work(request)
    replayed: list[bool] = []

    def note_replay(response: Any, _record: Any) -> Any:
        replayed.append(True)
        return response

    config = IdempotencyConfig(
        expires_after_seconds=EXPIRES_AFTER_SECONDS, hash_function="sha256", response_hook=note_replay
    )
    config.register_lambda_context(lambda_context)
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb())

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config, key_prefix=name)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return work(request)

    try:
        result = once(request=request)
    except IdempotencyAlreadyInProgressError:
        return _duplicate({}, IN_PROGRESS, name, request)
    return _duplicate(result, ALREADY_HANDLED, name, request) if replayed else result


def _duplicate(result: dict[str, Any], kind: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    logger.info(f"duplicate delivery: {name} not done again", extra={"duplicate": kind, "delivery": request})
    return {**result, "duplicate": kind}
