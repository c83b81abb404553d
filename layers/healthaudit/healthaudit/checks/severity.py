"""How a check grades its findings: a fixed severity, or bands over one figure of the evidence.

A check declares its rule beside its thresholds (`@check(severity=...)`); the registry applies it to
each observation, so check functions stay pure and report figures, and the catalogue shows the rule
in words ("throttle rate: HIGH ≥ 5 %, MEDIUM ≥ 1 %, else LOW").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..model import Severity

_UNITS = ("", "%", "ms", "days", "×")


@dataclass(frozen=True)
class SeverityRule:
    """`otherwise`, unless the evidence's `figure` reaches a band: the first band reached, worst first, wins.

    Bands are (severity, bound) pairs; a figure reaches a band at or above its bound, or at or below
    it where `lower_is_worse`. An observation whose figure is missing gets the rule's worst severity:
    a grade is never more lenient than the data allows.
    """

    otherwise: Severity
    figure: str | None = None
    """The evidence key the bands read."""
    label: str = ""
    """The figure in words, for the catalogue."""
    unit: str = ""
    """How the catalogue writes a bound: "%" for a ratio, "ms" for milliseconds, "days", "×" for a factor."""
    bands: tuple[tuple[Severity, float], ...] = ()
    lower_is_worse: bool = False

    @classmethod
    def fixed(cls, severity: Severity) -> SeverityRule:
        """One severity whatever the evidence: for configuration checks (tracing off, no retention)."""
        return cls(otherwise=severity)

    @classmethod
    def at_least(
        cls, figure: str, label: str, bands: Mapping[Severity, float], otherwise: Severity, unit: str = ""
    ) -> SeverityRule:
        """Worse as the figure grows: `{HIGH: 0.05, MEDIUM: 0.01}` is HIGH ≥ 0.05, MEDIUM ≥ 0.01."""
        return cls(otherwise, figure, label, unit, tuple(bands.items()))

    @classmethod
    def at_most(
        cls, figure: str, label: str, bands: Mapping[Severity, float], otherwise: Severity, unit: str = ""
    ) -> SeverityRule:
        """Worse as the figure shrinks: `{MEDIUM: 0}` is MEDIUM ≤ 0."""
        return cls(otherwise, figure, label, unit, tuple(bands.items()), lower_is_worse=True)

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise ValueError(f"severity rule unit {self.unit!r}: expected one of {_UNITS}")
        if bool(self.bands) != bool(self.figure):
            raise ValueError("a severity rule has bands over a figure, or neither (a fixed severity)")
        ranks = [severity.rank for severity, _ in self.bands] + [self.otherwise.rank]
        if ranks != sorted(set(ranks)):
            raise ValueError(f"severity rule on {self.figure!r}: bands must go from worst to mildest, above otherwise")
        bounds = [bound for _, bound in self.bands]
        if bounds != sorted(bounds, reverse=not self.lower_is_worse) or len(set(bounds)) != len(bounds):
            direction = "rise" if self.lower_is_worse else "fall"
            raise ValueError(f"severity rule on {self.figure!r}: band bounds must {direction} from worst to mildest")

    @property
    def levels(self) -> tuple[Severity, ...]:
        """Every severity the rule can give, worst first."""
        return (*(severity for severity, _ in self.bands), self.otherwise)

    @property
    def worst(self) -> Severity:
        return self.levels[0]

    def grade(self, evidence: Mapping[str, Any]) -> Severity:
        if self.figure is None:
            return self.otherwise
        value = evidence.get(self.figure)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return self.worst
        for severity, bound in self.bands:
            if (value <= bound) if self.lower_is_worse else (value >= bound):
                return severity
        return self.otherwise

    @property
    def words(self) -> str:
        """The rule as the catalogue shows it: "throttle rate: HIGH ≥ 5 %, MEDIUM ≥ 1 %, else LOW"."""
        if not self.bands:
            return f"always {self.otherwise.name}"
        sign = "≤" if self.lower_is_worse else "≥"
        bands = ", ".join(f"{severity.name} {sign} {_amount(bound, self.unit)}" for severity, bound in self.bands)
        return f"{self.label}: {bands}, else {self.otherwise.name}"


def _amount(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:g} %"
    if unit == "×":
        return f"{value:g}×"
    if unit == "days":
        return f"{value:g} days"
    if unit == "ms":
        for size, name in ((3_600_000, "h"), (60_000, "min"), (1000, "s")):
            if value >= size and value % size == 0:
                return f"{value / size:g} {name}"
        return f"{value:g} ms"
    return f"{value:g}"
