"""AWS managed policies for the sandbox's IAM, loaded into an account the first time it names one.

moto 5.2.5 only knows AWS managed policies such as ``arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess``
when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, in which case it builds all ~1,500 of them in every
account. moto ships their documents (``moto/iam/aws_managed_policies.py``, among them
``AWSXRayDaemonWriteAccess`` and ``AWSXrayWriteOnlyAccess``, both granting ``xray:PutTraceSegments``
and ``xray:PutTelemetryRecords``). The first time an account names one (AttachRolePolicy,
AttachUserPolicy, AttachGroupPolicy, GetPolicy, GetPolicyVersion, ListPolicyVersions, or a
permissions boundary in a simulation) it is added to that account's policies, as AWS would have it
all along. ListPolicies with ``Scope=AWS`` lists only those already named (a simplification).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from typing import Any

from moto.iam import models as iam_models

__all__ = ["ensure_aws_managed_policy", "install_aws_managed_policies"]

_managed_lock = threading.Lock()  # server threads may name the same AWS managed policy at once
_AWS_MANAGED = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::aws:policy(?P<path>/(?:.*/)?)(?P<name>[^/]+)$")


@functools.cache
def _aws_managed_policy_data() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """moto's AWS managed policy documents by (path, name), parsed once per process."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed = json.loads(aws_managed_policies_data)
    return {(data.get("Path") or "/", name): (name, data) for name, data in parsed.items()}


def ensure_aws_managed_policy(backend: Any, arn: str) -> None:
    """Add the AWS managed policy ``arn`` to ``backend`` if moto ships it and the account lacks it."""
    if not isinstance(arn, str) or arn in backend.managed_policies:
        return
    match = _AWS_MANAGED.match(arn)
    if match is None:
        return
    found = _aws_managed_policy_data().get((match["path"], match["name"]))
    if found is None:
        return
    name, data = found
    with _managed_lock:
        if arn in backend.managed_policies:
            return
        policy = iam_models.AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        if policy.arn != arn:  # another partition: moto derives it from the backend's Region
            return
        backend.managed_policies[policy.arn] = policy
        backend.aws_managed_policies.append(policy)


def install_aws_managed_policies() -> None:
    """Load each AWS managed policy into an account when one of its IAM calls first names it."""
    backend_class = iam_models.IAMBackend

    def wrap(method_name: str, arn_position: int) -> None:
        original = getattr(backend_class, method_name)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            arn = kwargs.get("policy_arn", args[arn_position] if len(args) > arn_position else None)
            ensure_aws_managed_policy(self, arn)
            return original(self, *args, **kwargs)

        setattr(backend_class, method_name, wrapper)

    wrap("attach_role_policy", 0)
    wrap("attach_user_policy", 0)
    wrap("attach_group_policy", 0)
    wrap("get_policy", 0)
    wrap("get_policy_version", 0)
    wrap("list_policy_versions", 0)
