"""The audit of one target: temporary credentials in the target's account through its audit role.

The role's external ID is the audit function's own configuration: it is never in a target, so never
in the Map's items, the execution history, logs or traces.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..collect.clients import Credentials
from ..model import Target

SESSION_NAME = "healthaudit"


class AssumeRoleFailed(RuntimeError):
    """The target's audit role could not be assumed: the target is reported as not audited."""


def assume(sts: Any, target: Target, external_id: str | None = None) -> Credentials:
    """Credentials acting in the target's account through its audit role (hand them to AwsClients).

    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html; ``external_id`` is the
    audit function's own configuration (the member role's trust policy requires it), sent when set.
    """
    kwargs: dict[str, Any] = {"RoleArn": target.role_arn, "RoleSessionName": SESSION_NAME}
    if external_id:
        kwargs["ExternalId"] = external_id
    try:
        credentials = sts.assume_role(**kwargs)["Credentials"]
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AssumeRoleFailed(
            f"cannot assume {target.role_arn}: {details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(
                ": "
            )
        ) from None
    return Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
