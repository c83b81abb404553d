"""Text for the HTML report: escaping, and how numbers and times read on the page and in its charts."""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import Any


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def link(url: str | None, text: str, label: str) -> str:
    """A link only to https URLs (console and docs); anything else (javascript:, data:) stays text."""
    if isinstance(url, str) and url.startswith("https://"):
        return f'<a href="{escape(url)}" rel="noreferrer" title="{escape(label)}">{text}</a>'
    return text


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def compact(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def moment(stamp: datetime | str | None) -> datetime | None:
    """A datetime in UTC (naive ones are taken as UTC), from a datetime or an ISO 8601 string; None if neither."""
    if not isinstance(stamp, datetime):
        try:
            stamp = datetime.fromisoformat(str(stamp))
        except ValueError:
            return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def when(stamp: datetime | str | None, plain: bool = False) -> str:
    """A time as '27 Nov 2026 01:00 UTC' (escaped), or as given if it does not parse.

    `plain`: as '27 Nov 01:00', unescaped (for text that is escaped where it is placed)."""
    at = moment(stamp)
    text = at.strftime("%d %b %H:%M" if plain else "%d %b %Y %H:%M UTC") if at else str(stamp or "?")
    return text if plain else escape(text)
