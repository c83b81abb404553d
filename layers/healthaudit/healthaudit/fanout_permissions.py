"""IAM actions of the multi-account audit (healthaudit.fanout), asserted against template.yaml and
member-role/template.yaml in both directions (tests/contract/test_template.py, tests/integration/test_fanout.py).

Kept apart from healthaudit.permissions, which declares the single-account functions' needs.
"""

from __future__ import annotations

from .permissions import audit_function_permissions

#: The plan lists the organization's accounts, or those under OUs (walking child OUs), and writes the plan to S3.
PLAN_PERMISSIONS = (
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
    "s3:PutObject",
)
#: The merge reads the per-target reports, writes the consolidated one, reads the config and Slack token.
MERGE_PERMISSIONS = ("s3:GetObject", "s3:PutObject", "secretsmanager:GetSecretValue", "ssm:GetParameter")
#: What the audit function needs on top of healthaudit.permissions for a target: the member role.
AUDIT_FANOUT_PERMISSIONS = ("sts:AssumeRole",)
#: The state machine's role: invoke the plan, audit and merge functions, and what its Distributed Map needs
#: (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html): its child workflow
#: executions, the ItemReader's plan and the ResultWriter's files (multipart uploads included).
STATE_MACHINE_PERMISSIONS = (
    "lambda:InvokeFunction",
    "states:StartExecution",
    "states:DescribeExecution",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
)
#: Services whose actions the audit function uses in the auditor's own account, never in a member's.
CENTRAL_SERVICES = ("s3", "ssm", "secretsmanager", "dynamodb")


def plan_function_permissions() -> frozenset[str]:
    return frozenset(PLAN_PERMISSIONS)


def merge_function_permissions() -> frozenset[str]:
    return frozenset(MERGE_PERMISSIONS)


def audit_fanout_permissions() -> frozenset[str]:
    return frozenset(AUDIT_FANOUT_PERMISSIONS)


def member_role_permissions() -> frozenset[str]:
    """The member account's read-only audit role: the audit's reads, minus the auditor-side S3/SSM/secrets/DynamoDB."""
    return frozenset(a for a in audit_function_permissions() if a.split(":", 1)[0] not in CENTRAL_SERVICES)
