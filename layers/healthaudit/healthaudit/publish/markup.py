"""Text for the HTML report: escaping, and how numbers and times read on the page and in its charts."""

from __future__ import annotations

import html
import math
import re
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


def inline_code(text: str) -> str:
    """Text (escaped) whose `backticked` parts are set as code, as the registry's remediation writes them."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code, and no stray backtick either
        return escape(str(text).replace("`", ""))
    return "".join(f"<code>{escape(part)}</code>" if i % 2 else escape(part) for i, part in enumerate(parts))


def long_day(key: str) -> str | None:
    """The day a report's S3 key names (`reports/dt=2026-11-30/…`) as '30 Nov 2026', or None."""
    found = re.search(r"dt=(\d{4}-\d{2}-\d{2})", key)
    if not found:
        return None
    try:
        day = datetime.strptime(found.group(1), "%Y-%m-%d")
    except ValueError:
        return None
    return f"{day.day} {day:%b %Y}"
