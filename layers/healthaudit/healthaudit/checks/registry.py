"""The check registry: each check's identity, IAM needs and remediation live beside its code.

Docs (`healthaudit checks`, the README's catalogue) and the template's IAM policy are derived
from here, never written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

from ..config import Thresholds
from ..model import (
    AccountSnapshot,
    DataSource,
    Finding,
    FunctionSnapshot,
    Observation,
    Severity,
)

FunctionCheck = Callable[[FunctionSnapshot, Thresholds], Iterable[Observation]]
AccountCheck = Callable[[AccountSnapshot, Thresholds], Iterable[Observation]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    permissions: tuple[str, ...]
    remediation: str
    docs: str
    needs: tuple[DataSource, ...]
    """Data sources the check reads; where one is unread for a function the check is not run there."""
    series: tuple[str, ...]
    """Metrics whose hourly series back up a finding of this check (evidence and charts)."""
    run: FunctionCheck | None = None
    run_account: AccountCheck | None = None
    account_needs: tuple[DataSource, ...] = ()

    def to_finding(self, snapshot: AccountSnapshot, observation: Observation) -> Finding:
        return Finding(
            check_id=self.id,
            title=self.title,
            severity=self.severity,
            account=snapshot.account,
            region=snapshot.region,
            message=observation.message,
            remediation=self.remediation,
            docs=self.docs,
            function_name=observation.function_name,
            function_arn=observation.function_arn,
            evidence=observation.evidence,
        )


REGISTRY: dict[str, CheckSpec] = {}


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    permissions: tuple[str, ...],
    remediation: str,
    docs: str,
    needs: tuple[DataSource, ...] = (),
    series: tuple[str, ...] = (),
    account_wide: bool = False,
) -> Callable[[Callable], Callable]:
    """Register a check over each function (or, with account_wide, over the account snapshot)."""

    def register(func: Callable) -> Callable:
        if id in REGISTRY:
            raise ValueError(f"check id {id!r} is registered twice")
        REGISTRY[id] = CheckSpec(
            id=id,
            title=title,
            severity=severity,
            permissions=permissions,
            remediation=remediation,
            docs=docs,
            needs=() if account_wide else needs,
            series=series,
            run=None if account_wide else func,
            run_account=func if account_wide else None,
            account_needs=needs if account_wide else (),
        )
        return func

    return register


def account_wide_part_of(check_id: str, needs: tuple[DataSource, ...] = ()) -> Callable[[AccountCheck], AccountCheck]:
    """Give a registered per-function check an account-wide half under the same id."""

    def register(func: AccountCheck) -> AccountCheck:
        REGISTRY[check_id] = replace(REGISTRY[check_id], run_account=func, account_needs=needs)
        return func

    return register


def all_checks() -> list[CheckSpec]:
    from . import catalogue  # noqa: F401  (importing it registers every check)

    return sorted(REGISTRY.values(), key=lambda spec: (spec.severity.rank, spec.id))


def run_checks(
    snapshot: AccountSnapshot,
    thresholds_for: Callable[[FunctionSnapshot], Thresholds],
    account_thresholds: Thresholds,
    enabled: Callable[[str], bool] = lambda check_id: True,
) -> Iterator[Finding]:
    """Every enabled check over every function, then the account-wide checks.

    A check whose data is unread for a function is skipped there: the coverage-gap check
    reports the hole instead, so nothing unread is ever called healthy.
    """
    specs = [spec for spec in all_checks() if enabled(spec.id)]
    unread_account_wide = {gap.source for gap in snapshot.gaps if gap.function_name is None}
    for fn in snapshot.functions:
        thresholds = thresholds_for(fn)
        for spec in specs:
            if spec.run is None or any(s in fn.unread or s in unread_account_wide for s in spec.needs):
                continue
            for observation in spec.run(fn, thresholds):
                yield spec.to_finding(snapshot, observation)
    for spec in specs:
        if spec.run_account is None or unread_account_wide.intersection(spec.account_needs):
            continue
        for observation in spec.run_account(snapshot, account_thresholds):
            yield spec.to_finding(snapshot, observation)
