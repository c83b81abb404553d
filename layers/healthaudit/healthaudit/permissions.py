"""What the audit function may do in IAM: the union of what its checks, collectors and publishers need.

The template's policy is tested against this, in both directions.
"""

from __future__ import annotations

from .checks.registry import all_checks
from .collect.snapshot import SOURCE_PERMISSIONS

# Publishing: the report objects, the Slack token and the config document.
PUBLISHER_PERMISSIONS = ("s3:PutObject", "secretsmanager:GetSecretValue", "ssm:GetParameter")


def audit_function_permissions() -> frozenset[str]:
    actions = {action for spec in all_checks() for action in spec.permissions}
    actions.update(action for needed in SOURCE_PERMISSIONS.values() for action in needed)
    actions.update(PUBLISHER_PERMISSIONS)
    return frozenset(actions)
