"""Small validators for config documents: each names the path, the value and what was expected."""

from __future__ import annotations

import difflib
from datetime import date, datetime, timezone
from typing import Any

from .errors import ConfigError


def mapping(raw: Any, path: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: got {raw!r}, expected a mapping")
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(f"{path}: unknown key {key!r}{hint}, expected one of {sorted(allowed)}")
    return raw


def did_you_mean(word: Any, choices: Any) -> str:
    """` (did you mean 'thresholds'?)` when one of `choices` is close to `word` (difflib's ratio ≥ 0.6), else ""."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def string_value(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise ConfigError(f"{path}: got {raw!r}, expected a string")
    return raw


def optional_string(raw: Any, path: str) -> str | None:
    return None if raw is None else string_value(raw, path)


def integer(raw: Any, path: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise ConfigError(f"{path}: got {raw!r}, expected an integer from {low} to {high}")
    return raw


def boolean(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"{path}: got {raw!r}, expected true or false")
    return raw


def date_value(raw: Any, path: str) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.astimezone(timezone.utc).date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ConfigError(f"{path}: got {raw!r}, expected a date as YYYY-MM-DD")
