"""The check registry: each check's identity, thresholds, IAM needs and remediation live beside its code.

Docs (`healthaudit checks`, the README's catalogue), the config's thresholds and the template's IAM
policy are derived from here, never written twice. Which checks exist is catalogue.py's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Mapping, Protocol

from ..model import (
    AccountSnapshot,
    DataSource,
    Finding,
    FunctionSnapshot,
    Observation,
)
from .severity import SeverityRule


@dataclass(frozen=True)
class Threshold:
    """A threshold a check declares: its default, what it measures, and the values it accepts.

    An int default makes an integer threshold. The bounds are inclusive, except `above`; a value
    outside them is refused with "expected <noun> between 0 and 1" (or ">= 0", "> 0"), then `example`.
    """

    default: int | float
    description: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    noun: str = "a number"
    example: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.default, bool) or not isinstance(self.default, (int, float)):
            raise TypeError(f"threshold default {self.default!r}: expected an int or a float")
        if self.minimum is not None and self.above is not None:
            raise ValueError("a threshold's lower bound is either inclusive (minimum) or exclusive (above), not both")
        if self.problem(self.default):
            raise ValueError(f"threshold default {self.default!r}: expected {self.expected}")

    @property
    def integer(self) -> bool:
        return isinstance(self.default, int)

    @property
    def expected(self) -> str:
        if self.above is not None:
            bounds = f"> {self.above:g}"
        elif self.minimum is not None and self.maximum is not None:
            bounds = f"between {self.minimum:g} and {self.maximum:g}"
        elif self.minimum is not None:
            bounds = f">= {self.minimum:g}"
        elif self.maximum is not None:
            bounds = f"<= {self.maximum:g}"
        else:
            return self.noun
        return f"{self.noun} {bounds}" + (f" ({self.example})" if self.example else "")

    def problem(self, value: float) -> str | None:
        """What was expected instead of `value`, or None if it is acceptable (NaN never is, where bounded)."""
        acceptable = (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.above is None or value > self.above)
        )
        return None if acceptable else self.expected


@dataclass(frozen=True)
class Figure:
    """A check's main figure: the evidence key that says how bad a finding is, and how a reader reads it.

    The report compares it with the previous report's (error rate 2.1 % -> 8.0 %, worse). The evidence
    stores it raw (a ratio as 0..1, an age in ms); `scale` turns that into `unit`, and `decimals` is
    the rounding it is shown with: a move that does not change the shown value is no change.
    """

    key: str
    label: str
    unit: str
    """"%" (a ratio shown ×100), "ms", "s", "MB" or "×" (a factor): the unit the figure is shown in."""
    higher_is_worse: bool = True
    scale: float = 1.0
    decimals: int = 1

    @classmethod
    def share(cls, key: str, label: str, higher_is_worse: bool = True) -> Figure:
        """A ratio stored as 0..1, shown as a percentage to one decimal (8.0 %)."""
        return cls(key, label, "%", higher_is_worse, scale=100.0, decimals=1)

    def shown(self, value: object) -> float | None:
        """The figure as the report shows it, rounded; None where the evidence does not carry a finite number."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return round(value * self.scale, self.decimals)


class CheckThresholds(Protocol):
    """The threshold values a check reads, by the names it declared (`thresholds.max_error_rate`)."""

    def __getattr__(self, name: str) -> float: ...


FunctionCheck = Callable[[FunctionSnapshot, CheckThresholds], Iterable[Observation]]
AccountCheck = Callable[[AccountSnapshot, CheckThresholds], Iterable[Observation]]
NotJudged = Callable[[FunctionSnapshot], str | None]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: SeverityRule
    """How its findings are graded: fixed, or by bands over one figure of the evidence."""
    permissions: tuple[str, ...]
    remediation: str
    docs: str
    needs: tuple[DataSource, ...]
    """Data sources the check reads; where one is unread for a function the check is not run there."""
    series: tuple[str, ...]
    """Metrics whose hourly series back up a finding of this check (evidence and charts)."""
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    """Threshold name → declaration; each name is a key under the config's `thresholds` and a
    `healthaudit:<name>` tag."""
    not_judged: NotJudged | None = None
    """Why the check leaves a function unjudged, for the report's notes (None where it judges it)."""
    means_unknown: bool = False
    """Its findings say a function's health is unknown (data unread), not that it is unhealthy."""
    run: FunctionCheck | None = None
    run_account: AccountCheck | None = None
    account_needs: tuple[DataSource, ...] = ()
    explained_by: tuple[str, ...] = ()
    """Checks whose finding on the same function already names this check's cause: where one of
    them fires, this one stays quiet (one cause, one finding)."""
    figure: Figure | None = None
    """The main figure its findings are compared on across reports; None where there is no number to compare."""

    def thresholds_in_force(self, thresholds: CheckThresholds) -> dict[str, float]:
        """The values of the thresholds this check declared, as they apply (defaults, config, tags)."""
        return {name: getattr(thresholds, name) for name in self.thresholds}

    def to_finding(
        self, snapshot: AccountSnapshot, observation: Observation, thresholds: Mapping[str, float] | None = None
    ) -> Finding:
        return Finding(
            check_id=self.id,
            title=self.title,
            severity=self.severity.grade(observation.evidence),
            account=snapshot.account,
            region=snapshot.region,
            message=observation.message,
            remediation=self.remediation,
            docs=self.docs,
            function_name=observation.function_name,
            function_arn=observation.function_arn,
            evidence=observation.evidence,
            thresholds=dict(thresholds or {}),
            cost=observation.cost,
            log_group=observation.log_group,
        )


REGISTRY: dict[str, CheckSpec] = {}


def check(
    *,
    id: str,
    title: str,
    severity: SeverityRule,
    permissions: tuple[str, ...],
    remediation: str,
    docs: str,
    needs: tuple[DataSource, ...] = (),
    series: tuple[str, ...] = (),
    thresholds: Mapping[str, Threshold] | None = None,
    not_judged: NotJudged | None = None,
    means_unknown: bool = False,
    account_wide: bool = False,
    explained_by: tuple[str, ...] = (),
    figure: Figure | None = None,
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
            thresholds=dict(thresholds or {}),
            not_judged=not_judged,
            means_unknown=means_unknown,
            run=None if account_wide else func,
            run_account=func if account_wide else None,
            account_needs=needs if account_wide else (),
            explained_by=explained_by,
            figure=figure,
        )
        return func

    return register


def account_wide_part_of(check_id: str, needs: tuple[DataSource, ...] = ()) -> Callable[[AccountCheck], AccountCheck]:
    """Give a registered per-function check an account-wide half under the same id."""

    def register(func: AccountCheck) -> AccountCheck:
        REGISTRY[check_id] = replace(REGISTRY[check_id], run_account=func, account_needs=needs)
        return func

    return register


def run_checks(
    specs: Iterable[CheckSpec],
    snapshot: AccountSnapshot,
    thresholds_for: Callable[[FunctionSnapshot], CheckThresholds],
    account_thresholds: CheckThresholds,
) -> Iterator[Finding]:
    """The checks over every function, then their account-wide halves.

    A check whose data is unread for a function is skipped there: the coverage-gap check
    reports the hole instead, so nothing unread is ever called healthy. A check whose cause
    another check's finding on the function already names (`explained_by`) stays quiet there.
    Each finding carries the values of its check's thresholds as they applied to its function.
    """
    specs = list(specs)
    unread_account_wide = {gap.source for gap in snapshot.gaps if gap.function_name is None}
    for fn in snapshot.functions:
        thresholds = thresholds_for(fn)
        observed = [
            (spec, list(spec.run(fn, thresholds)))
            for spec in specs
            if spec.run is not None and not any(s in fn.unread or s in unread_account_wide for s in spec.needs)
        ]
        fired = {spec.id for spec, observations in observed if observations}
        for spec, observations in observed:
            if fired.intersection(spec.explained_by):
                continue
            for observation in observations:
                yield spec.to_finding(snapshot, observation, spec.thresholds_in_force(thresholds))
    for spec in specs:
        if spec.run_account is None or unread_account_wide.intersection(spec.account_needs):
            continue
        for observation in spec.run_account(snapshot, account_thresholds):
            yield spec.to_finding(snapshot, observation, spec.thresholds_in_force(account_thresholds))
