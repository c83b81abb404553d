"""The suppressions table (snoozes and acknowledgements clicked in Slack): one bounded read, one write.

The audit reads one account and region's items with a single paginated Query on the partition key
(never a Scan of the table); the interactivity endpoint writes one item per click. The item's shape is
healthaudit.snooze's. The table lives in the auditor's own account, whatever account is audited, so
the audit reads it with the function's own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from ..model import Snooze
from ..snooze import from_item, in_force, target_key
from .errors import READ_ERRORS, describe_error

TABLE_VARIABLE = "HEALTHAUDIT_SUPPRESSIONS_TABLE"
"""Set by the template on the audit and interact functions; absent (the CLI) means no snoozes."""
MAX_PAGES = 20
"""A Query page holds up to 1 MB; 20 pages are tens of thousands of snoozes for one account and region."""


@dataclass(frozen=True)
class SnoozesRead:
    snoozes: Mapping[tuple[str, str], Snooze]
    """In force at the audit's time, by finding key (check id, resource)."""
    note: str | None = None
    """Why the table could not be read in full (the findings it would have snoozed are shown active)."""


def table_name(environ: Mapping[str, str] = os.environ) -> str | None:
    return environ.get(TABLE_VARIABLE, "").strip() or None


def read_snoozes(
    account: str,
    region: str,
    now: datetime,
    table: str | None = None,
    dynamodb: Any = None,
) -> SnoozesRead:
    """The snoozes and acknowledgements in force at `now` for one account and region.

    `table` defaults to HEALTHAUDIT_SUPPRESSIONS_TABLE (none: no snoozes); `dynamodb` to a client with
    the function's own credentials. Items past their end are ignored even while DynamoDB's lazy TTL
    deletion has not removed them. A table that cannot be read is a note, never an exception.
    """
    table = table or table_name()
    if table is None:
        return SnoozesRead({})
    client = dynamodb if dynamodb is not None else boto3.client("dynamodb")
    found: dict[tuple[str, str], Snooze] = {}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#target = :target",
        "ExpressionAttributeNames": {"#target": "target"},
        "ExpressionAttributeValues": {":target": {"S": target_key(account, region)}},
    }
    try:
        for _ in range(MAX_PAGES):
            page = client.query(**request)
            for item in page.get("Items", []):
                parsed = from_item(item)
                if parsed is not None and in_force(parsed[1], parsed[2], now):
                    found[parsed[0]] = parsed[1]
            if "LastEvaluatedKey" not in page:
                return SnoozesRead(found)
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except READ_ERRORS as error:
        return SnoozesRead(
            found, f"snoozes from Slack not read ({describe_error(error)}): snoozed findings are shown as active"
        )
    return SnoozesRead(found, f"snoozes from Slack read in part (over {MAX_PAGES} pages): the rest are shown as active")


def store_snooze(dynamodb: Any, table: str, item: Mapping[str, Any]) -> None:
    """Write one click's item (healthaudit.snooze.to_item); a later click on the same finding replaces it."""
    dynamodb.put_item(TableName=table, Item=dict(item))
