"""Whether a role's identity-based policies allow an action: what AWS asks before a service acts as the role."""

from __future__ import annotations

import json
import re

from moto.iam.models import iam_backends

from healthaudit_sandbox.authorization import Decision, evaluate

_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$")


def role_allows(role_arn: str, region: str, action: str, resource: str) -> bool:
    """Whether the role's identity-based policies (inline and attached) allow `action` on `resource`."""
    match = _ROLE_ARN.match(role_arn)
    if not match:
        return False
    iam = iam_backends[match["account"]][match["partition"]]
    name = role_arn.rsplit("/", 1)[-1]
    if not any(role.name == name for role in iam.roles.values()):
        return False
    policies = [json.loads(iam.get_role_policy(name, policy)[1]) for policy in iam.list_role_policies(name)]
    attached, _ = iam.list_attached_role_policies(name)
    for policy in attached:
        default = next(version for version in policy.versions if version.is_default)
        policies.append(json.loads(default.document))
    context = {
        "aws:requestedregion": region,
        "aws:principalarn": role_arn,
        "aws:principalaccount": match["account"],
    }
    return evaluate(policies, action, resource, context) == Decision.ALLOWED
