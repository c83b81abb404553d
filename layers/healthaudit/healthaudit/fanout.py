"""Many accounts and regions: the plan, the assumed role per target, and the merged report and digest.

The Step Functions state machine (template.yaml, AuditStateMachine) runs Plan -> Map(audit per
target) -> Merge. This module holds the logic of the three steps; the handlers in functions/plan,
functions/audit and functions/merge only wire it to AWS.

* :func:`plan_targets` turns the run's ``targets`` section (an explicit list of {account, region},
  or accounts x regions, the accounts listed or taken from AWS Organizations) into Map items.
* :func:`assume` gives a boto3 Session acting in a target's account through its audit role. The
  role's external ID is the audit function's own configuration: it is never in a target, so never
  in the Map's items, the execution history, logs or traces.
* :func:`merge_reports` (pure) folds the per-target results into one consolidated report.
* :func:`build_grouped_digest` (pure) renders it as ONE Slack message grouped by account.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from .config import ConfigError
from .model import Severity
from .publish.slack import MAX_BLOCKS, MAX_HEADER_CHARS, MAX_SECTION_CHARS, SEVERITY_MARKS, escape, shorten

ORGANIZATION = "organization"
"""`targets.accounts: organization`: every ACTIVE account of the AWS Organization (optionally under OUs)."""
SESSION_NAME = "healthaudit"
CONSOLIDATED = "consolidated"
WORST_PER_ACCOUNT = 3
"""Worst findings shown per account in the digest."""

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_OU = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


class AssumeRoleFailed(RuntimeError):
    """The target's audit role could not be assumed: the target is reported as not audited."""


@dataclass(frozen=True)
class Target:
    """One account x region of a run, and the role audited through. Never holds the external ID."""

    account: str
    region: str
    role_arn: str = ""

    @classmethod
    def from_dict(cls, data: Any, source: str = "target") -> Target:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: got {data!r}, expected a mapping with account and region")
        unknown = set(data) - {"account", "region", "role_arn"}
        if unknown:
            raise ConfigError(f"{source}: unknown key {sorted(unknown)[0]!r}, expected account, region, role_arn")
        account = _account(data.get("account"), f"{source}.account")
        return cls(
            account=account,
            region=_region(data.get("region"), f"{source}.region"),
            role_arn=_role_arn(data.get("role_arn"), account, f"{source}.role_arn"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "region": self.region, "role_arn": self.role_arn}

    @property
    def label(self) -> str:
        return f"{self.account} {self.region}"


# -- the plan --------------------------------------------------------------------------------------


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
        regions = [_region(r, "targets.regions") for r in _names(raw.get("regions"), "targets.regions")]
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
            accounts = [_account(a, "targets.accounts") for a in _names(accounts_raw, "targets.accounts")]
        pairs = [(account, region) for account in accounts for region in regions]
    else:
        raise ConfigError(f"targets: got {raw!r}, expected a list of {{account, region}} or {{accounts, regions}}")
    seen: dict[tuple[str, str], None] = dict.fromkeys(pairs)
    return [
        Target(account=account, region=region, role_arn=f"arn:{partition}:iam::{account}:role/{role_name}")
        for account, region in seen
    ]


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


def _account(raw: Any, path: str) -> str:
    value = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if isinstance(raw, int):
        value = f"{raw:012d}"
    if not _ACCOUNT.match(value):
        raise ConfigError(f"{path}: got {raw!r}, expected a 12-digit account ID (quoted in YAML)")
    return value


def _role_arn(raw: Any, account: str, path: str) -> str:
    """A role of the target's own account, or "" (none named)."""
    if raw in (None, ""):
        return ""
    match = _ROLE_ARN.match(raw) if isinstance(raw, str) else None
    if not match or match["account"] != account:
        raise ConfigError(f"{path}: got {raw!r}, expected the ARN of an IAM role in account {account}")
    return raw


def _region(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not _REGION.match(raw):
        raise ConfigError(f"{path}: got {raw!r}, expected a region name such as eu-west-1")
    return raw


# -- the audit of one target -----------------------------------------------------------------------


def assume(sts: Any, target: Target, external_id: str | None = None) -> boto3.Session:
    """A Session acting in the target's account and region through its audit role.

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
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )


# -- the merge (pure) ------------------------------------------------------------------------------


def consolidated_keys(window_end: str, prefix: str = "reports/") -> tuple[str, str]:
    """The dated key and the latest/ key of a run's consolidated report."""
    return f"{prefix}dt={window_end[:10]}/{CONSOLIDATED}/report.json", f"latest/{CONSOLIDATED}/report.json"


def merge_reports(
    results: Iterable[Mapping[str, Any]],
    reports: Mapping[str, Mapping[str, Any]],
    *,
    generated_at: datetime | str,
    worst_per_target: int = 5,
) -> dict[str, Any]:
    """One document for the run: per audited target its counts and worst findings, and the failures.

    ``results`` are the Map's items: an audit's answer (``target``, ``report_key``, counts) or the
    Catch's ``{target, error: {Error, Cause}}``; ``reports`` maps report keys to the stored reports.
    A result whose report is missing counts as not audited.
    """
    audited, failed = [], []
    for result in results:
        target = result.get("target") or {}
        where = {"account": str(target.get("account", "?")), "region": str(target.get("region", "?"))}
        key = result.get("report_key")
        report = reports.get(key) if key else None
        if "error" in result or report is None:
            failed.append({**where, "error": _error_text(result.get("error"), key)})
            continue
        active = [f for f in report.get("findings", []) if not f.get("suppressed_by")]
        audited.append(
            {
                **where,
                "report_key": key,
                "functions_audited": report.get("functions_audited", 0),
                "findings": len(active),
                "counts_by_severity": dict(report.get("counts_by_severity", {})),
                "coverage_gaps": len(report.get("coverage_gaps", [])),
                "worst_findings": [_brief(f) for f in active[:worst_per_target]],
            }
        )
    audited.sort(key=lambda t: (t["account"], t["region"]))
    failed.sort(key=lambda t: (t["account"], t["region"]))
    totals = {
        severity.value: sum(t["counts_by_severity"].get(severity.value, 0) for t in audited) for severity in Severity
    }
    stamp = generated_at if isinstance(generated_at, str) else generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "schema_version": "1.0",
        "kind": CONSOLIDATED,
        "window_end": stamp,
        "accounts": sorted({t["account"] for t in audited} | {t["account"] for t in failed}),
        "targets_audited": len(audited),
        "targets_not_audited": len(failed),
        "functions_audited": sum(t["functions_audited"] for t in audited),
        "counts_by_severity": totals,
        "targets": audited,
        "not_audited": failed,
    }


def _brief(finding: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "severity": finding.get("severity"),
        "check_id": finding.get("check_id"),
        "title": finding.get("title"),
        "function_name": finding.get("function_name"),
        "status": finding.get("status"),
    }


def _error_text(error: Any, key: str | None) -> str:
    if isinstance(error, Mapping):
        name, cause = str(error.get("Error", "Error")), error.get("Cause")
        # Lambda's Cause is the function's error document as JSON: its errorMessage says what failed.
        if isinstance(cause, str) and cause.startswith("{"):
            with contextlib.suppress(ValueError):
                cause = json.loads(cause).get("errorMessage", cause)
        return f"{name}: {cause}" if cause else name
    if error:
        return str(error)
    return f"report {key} not found" if key else "no report"


# -- the digest (pure) -----------------------------------------------------------------------------


def build_grouped_digest(consolidated: Mapping[str, Any], report_url: str | None = None) -> tuple[str, list[Block]]:
    """ONE Slack message for the run: a section per account (counts per region, the worst findings,
    the targets not audited with their error), within Block Kit's limits (50 blocks, 3,000
    characters a section, 150 a header)."""
    targets = list(consolidated.get("targets", []))
    failed = list(consolidated.get("not_audited", []))
    accounts = list(consolidated.get("accounts") or sorted({t["account"] for t in targets + failed}))
    totals = consolidated.get("counts_by_severity", {})
    counts = " · ".join(f"*{n}* {severity}" for severity, n in totals.items() if n) or "no findings"
    header = f"Lambda health audit: {len(accounts)} {_plural(len(accounts), 'account')}"
    summary = (
        f"{consolidated.get('targets_audited', len(targets))} of {len(targets) + len(failed)} targets audited · "
        f"{consolidated.get('functions_audited', 0)} functions · {counts}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=shorten(header, MAX_HEADER_CHARS)),
        ContextBlock(
            elements=[_mrkdwn(f"Window ending {escape(str(consolidated.get('window_end', '')))}"), _mrkdwn(summary)]
        ),
        DividerBlock(),
    ]
    footer = 1 + (1 if report_url else 0)
    room = MAX_BLOCKS - len(blocks) - footer
    shown = accounts[:room]
    for account in shown:
        mine = [t for t in targets if t["account"] == account]
        lost = [t for t in failed if t["account"] == account]
        blocks.append(SectionBlock(text=_mrkdwn(_account_text(account, mine, lost))))
    if len(accounts) > len(shown):
        more = len(accounts) - len(shown)
        blocks.append(
            ContextBlock(elements=[_mrkdwn(f"…and {more} more {_plural(more, 'account')} in the consolidated report")])
        )
    if report_url:
        blocks.append(ContextBlock(elements=[_mrkdwn(f"Consolidated report: `{escape(report_url)}`")]))
    text = f"{header}: {summary.replace('*', '')}"
    if failed:
        text += f" · {len(failed)} not audited"
    return text, blocks


def _account_text(account: str, audited: list[Mapping[str, Any]], failed: list[Mapping[str, Any]]) -> str:
    lines = [f"*Account {escape(account)}*"]
    findings = []
    for target in audited:
        counts = ", ".join(f"{n} {s}" for s, n in target["counts_by_severity"].items() if n) or "healthy"
        gaps = f", {target['coverage_gaps']} coverage gaps" if target.get("coverage_gaps") else ""
        lines.append(f"• {escape(target['region'])}: {target['functions_audited']} functions · {counts}{gaps}")
        findings += [(f, target["region"]) for f in target.get("worst_findings", [])]
    for target in failed:
        lines.append(
            f":warning: {escape(target['region'])} *not audited*: {escape(shorten(str(target['error']), 300))}"
        )
    rank = {s.value: s.rank for s in Severity}
    findings.sort(key=lambda pair: rank.get(str(pair[0].get("severity")), len(rank)))
    for finding, region in findings[:WORST_PER_ACCOUNT]:
        severity = str(finding.get("severity"))
        mark = SEVERITY_MARKS.get(Severity(severity), "") if severity in rank else ""
        where = escape(str(finding.get("function_name") or "account"))
        lines.append(f"{mark} *{severity.upper()}* · {escape(str(finding.get('title')))} · {where} ({escape(region)})")
    return shorten("\n".join(lines), MAX_SECTION_CHARS)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
