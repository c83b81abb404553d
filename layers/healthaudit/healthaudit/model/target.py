"""One account x region of a multi-account run, as the plan lists it and a Map item carries it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .codec import Record

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


@dataclass(frozen=True)
class Target(Record):
    """One account x region of a run, and the role audited through. Never holds the external ID."""

    account: str
    region: str
    role_arn: str = ""

    @classmethod
    def from_dict(cls, data: Any, source: str = "target") -> Target:
        """A target from config or a Map item, checked: errors name `source` and the field."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: got {data!r}, expected a mapping with account and region")
        unknown = set(data) - {"account", "region", "role_arn"}
        if unknown:
            raise ConfigError(f"{source}: unknown key {sorted(unknown)[0]!r}, expected account, region, role_arn")
        account = parse_account(data.get("account"), f"{source}.account")
        return cls(
            account=account,
            region=parse_region(data.get("region"), f"{source}.region"),
            role_arn=_role_arn(data.get("role_arn"), account, f"{source}.role_arn"),
        )

    @property
    def label(self) -> str:
        return f"{self.account} {self.region}"


def parse_account(raw: Any, path: str) -> str:
    value = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if isinstance(raw, int):
        value = f"{raw:012d}"
    if not _ACCOUNT.match(value):
        raise ConfigError(f"{path}: got {raw!r}, expected a 12-digit account ID (quoted in YAML)")
    return value


def parse_region(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not _REGION.match(raw):
        raise ConfigError(f"{path}: got {raw!r}, expected a region name such as eu-west-1")
    return raw


def _role_arn(raw: Any, account: str, path: str) -> str:
    """A role of the target's own account, or "" (none named)."""
    if raw in (None, ""):
        return ""
    match = _ROLE_ARN.match(raw) if isinstance(raw, str) else None
    if not match or match["account"] != account:
        raise ConfigError(f"{path}: got {raw!r}, expected the ARN of an IAM role in account {account}")
    return raw
