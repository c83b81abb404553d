"""The plan: the run's ``targets`` section (an explicit list of {account, region}, or accounts x
regions, the accounts listed or taken from AWS Organizations) as the Map's items, a JSON array in S3."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from ..model.target import Target, parse_account, parse_region

ORGANIZATION = "organization"
"""`targets.accounts: organization`: every ACTIVE account of the AWS Organization (optionally under OUs)."""
_OU = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def plan_targets(
    config: Mapping[str, Any],
    organizations_client: Any = None,
    *,
    role_name: str,
    partition: str = "aws",
    default_region: str | None = None,
) -> list[Target]:
    """The targets of a run, each with the role to assume, in a stable order without duplicates.

    ``config["targets"]`` is either a list of ``{account, region}`` or a mapping
    ``{accounts: [ids] | "organization", regions: [names], organizational_units: [ids]}`` whose
    accounts x regions are audited; lists may be comma-separated strings (template parameters).
    ``organization`` lists the ACTIVE accounts of AWS Organizations (ListAccounts), or those
    directly or indirectly under the organizational units (ListAccountsForParent, ListChildren).
    """
    if not _ROLE_NAME.match(role_name or ""):
        raise ConfigError(f"member role name: got {role_name!r}, expected an IAM role name")
    raw = config.get("targets") if isinstance(config, Mapping) else None
    if raw is None:
        raise ConfigError("targets: missing, expected a list of {account, region} or {accounts, regions}")
    if isinstance(raw, list):
        pairs = [(t.account, t.region) for t in (Target.from_dict(item, f"targets[{i}]") for i, item in enumerate(raw))]
    elif isinstance(raw, Mapping):
        unknown = set(raw) - {"accounts", "regions", "organizational_units"}
        if unknown:
            raise ConfigError(
                f"targets: unknown key {sorted(unknown)[0]!r}, expected accounts, regions, organizational_units"
            )
        regions = [parse_region(r, "targets.regions") for r in _names(raw.get("regions"), "targets.regions")]
        if not regions:
            if not default_region:
                raise ConfigError("targets.regions: empty, expected at least one region")
            regions = [default_region]
        accounts_raw = raw.get("accounts", ORGANIZATION)
        units = _names(raw.get("organizational_units"), "targets.organizational_units")
        for unit in units:
            if not _OU.match(unit):
                raise ConfigError(f"targets.organizational_units: got {unit!r}, expected an OU or root ID")
        if accounts_raw == ORGANIZATION or accounts_raw in ("", None, [ORGANIZATION]):
            if organizations_client is None:
                raise ConfigError("targets.accounts: 'organization' needs an AWS Organizations client")
            accounts = organization_accounts(organizations_client, units)
        else:
            if units:
                raise ConfigError("targets.organizational_units: only with accounts: organization")
            accounts = [parse_account(a, "targets.accounts") for a in _names(accounts_raw, "targets.accounts")]
        pairs = [(account, region) for account in accounts for region in regions]
    else:
        raise ConfigError(f"targets: got {raw!r}, expected a list of {{account, region}} or {{accounts, regions}}")
    seen: dict[tuple[str, str], None] = dict.fromkeys(pairs)
    return [
        Target(account=account, region=region, role_arn=f"arn:{partition}:iam::{account}:role/{role_name}")
        for account, region in seen
    ]


PLANS_PREFIX = "fanout/plans/"
"""Where the plans go in the report bucket: the state machine's role may read only there (template.yaml)."""


def plan_key(time: str, run_id: str) -> str:
    """The S3 key of a run's plan: by the run's day, then the invocation that planned it."""
    if not re.fullmatch(r"[\w.-]{1,128}", run_id or ""):
        raise ValueError(f"run id: got {run_id!r}, expected 1 to 128 letters, digits, '.', '_' or '-'")
    return f"{PLANS_PREFIX}dt={time[:10]}/{run_id}.json"


def plan_document(targets: Iterable[Target]) -> bytes:
    """The Distributed Map's items: a JSON array of targets, as its ItemReader (InputType JSON) reads it."""
    return json.dumps([target.to_dict() for target in targets], separators=(",", ":")).encode("utf-8")


def organization_accounts(organizations: Any, units: Iterable[str] = ()) -> list[str]:
    """ACTIVE accounts of the organization, or of the OUs (and the OUs nested in them)."""
    units = list(units)
    accounts: list[dict[str, Any]] = []
    if not units:
        for page in organizations.get_paginator("list_accounts").paginate():
            accounts.extend(page["Accounts"])
    else:
        pending, visited = list(units), set()
        while pending:
            parent = pending.pop(0)
            if parent in visited:
                continue
            visited.add(parent)
            for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                accounts.extend(page["Accounts"])
            for page in organizations.get_paginator("list_children").paginate(
                ParentId=parent, ChildType="ORGANIZATIONAL_UNIT"
            ):
                pending.extend(child["Id"] for child in page["Children"])
    # "Status" is deprecated in favour of "State" (2025); either says whether the account is active.
    active = [a["Id"] for a in accounts if (a.get("State") or a.get("Status")) == "ACTIVE"]
    return sorted(dict.fromkeys(active))


def _names(raw: Any, path: str) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return [item.strip() for item in raw if item.strip()]
    raise ConfigError(f"{path}: got {raw!r}, expected a list of strings")
