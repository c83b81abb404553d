"""What the collectors have read so far, and what they could not read: the scratch space of one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import CoverageGap, DataSource, EventSource

Progress = Callable[[str, int, int], None]


@dataclass
class Collected:
    """Scratch space while the sources are read; becomes an immutable AccountSnapshot."""

    configs: list[dict[str, Any]]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    event_sources: dict[str, list[EventSource]] = field(default_factory=dict)
    unread: dict[str, dict[DataSource, str]] = field(default_factory=dict)
    gaps: list[CoverageGap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def unread_for_all(self, source: DataSource, reason: str) -> None:
        """An account-wide gap: the checks that need this source run on no function."""
        self.gaps.append(CoverageGap(source=source, reason=reason))

    def unread_for(self, arn: str, source: DataSource, reason: str) -> None:
        self.unread.setdefault(arn, {})[source] = reason

    def take(self, other: Collected) -> None:
        """What a collector on another thread, with `other` its own scratch space, could not read: after
        what this one recorded, so the report lists it in the same order whichever thread ends first."""
        self.gaps.extend(other.gaps)
        self.notes.extend(other.notes)
        for arn, sources in other.unread.items():
            self.unread.setdefault(arn, {}).update(sources)
