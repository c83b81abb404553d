"""A finding's change since the previous report in words, for the digest, the page and the terminal.

"↑ worse: 2.1 % → 8.0 %": the arrow is where the figure went, the word what that means for the check
(memory-overprovisioned gets worse as its share falls). The values are already rounded as the report
shows them (healthaudit.history.figure_change); they are written with the figure's own decimals.
"""

from __future__ import annotations

from ..checks.catalogue import REGISTRY
from ..model import FigureChange, Finding


def change_text(finding: Finding, label: bool = False) -> str | None:
    """The finding's change since the previous report, or None when it has none to tell (new, or no figure).

    `label` puts the figure's name first ("error rate ↑ worse: 2.1 % → 8.0 %").
    """
    change = finding.change
    if change is None or change.before is None or change.direction == "new":
        return None
    spec = REGISTRY.get(finding.check_id)
    decimals = spec.figure.decimals if spec is not None and spec.figure is not None else None
    before, after = (_value(v, change, decimals) for v in (change.before, change.after))
    name = f"{change.label} " if label else ""
    if change.direction == "unchanged":
        return f"{name}unchanged at {after}"
    arrow = "↑" if change.after > change.before else "↓"
    return f"{name}{arrow} {change.direction}: {before} → {after}"


def _value(value: float, change: FigureChange, decimals: int | None) -> str:
    shown = f"{value:,.{decimals}f}" if decimals is not None else f"{value:,g}"
    if change.unit == "×":
        return f"{shown}×"
    return f"{shown} {change.unit}" if change.unit else shown
