"""What the audit function may do in IAM: the union of what its checks, collectors and publishers need.

The template's policy is tested against this, in both directions.
"""

from __future__ import annotations

from .checks.catalogue import all_checks
from .collect.snapshot import SOURCE_PERMISSIONS

# The audit writes its report and reads the previous one (history); both read the config document.
# s3:ListBucket makes S3 answer a missing key with 404 NoSuchKey; without it S3 answers 403 AccessDenied
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"), and the first
# read of a key not written yet (the day's report, notify.json) would look like a denial.
AUDIT_PUBLISHER_PERMISSIONS = ("s3:PutObject", "s3:GetObject", "s3:ListBucket", "ssm:GetParameter")
# The notifier reads the report, records its outcome beside it, and reads the Slack token.
NOTIFY_PERMISSIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
)
# Both record each delivered event, to handle duplicates once (Powertools Idempotency on DynamoDB).
IDEMPOTENCY_PERMISSIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# The audit reads the snoozes clicked in Slack: one Query on its account and region (collect.suppressions).
SNOOZE_READ_PERMISSIONS = ("dynamodb:Query",)
# The interactivity endpoint reads the signing secret, checks the clicked finding in its daily report, and
# stores the snooze. It answers through the click's response_url, so it never holds the Slack bot token.
INTERACT_PERMISSIONS = ("secretsmanager:GetSecretValue", "s3:GetObject", "s3:ListBucket", "dynamodb:PutItem")


def audit_function_permissions() -> frozenset[str]:
    actions = {action for spec in all_checks() for action in spec.permissions}
    actions.update(action for needed in SOURCE_PERMISSIONS.values() for action in needed)
    actions.update(AUDIT_PUBLISHER_PERMISSIONS)
    actions.update(IDEMPOTENCY_PERMISSIONS)
    actions.update(SNOOZE_READ_PERMISSIONS)
    return frozenset(actions)


def notify_function_permissions() -> frozenset[str]:
    return frozenset(NOTIFY_PERMISSIONS + IDEMPOTENCY_PERMISSIONS)


def interact_function_permissions() -> frozenset[str]:
    return frozenset(INTERACT_PERMISSIONS)
