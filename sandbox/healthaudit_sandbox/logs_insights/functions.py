"""The functions of the Logs Insights query language in the sandbox's subset: the aggregate ones
(evaluated by ``stats``), and the scalar ones with their argument counts and their bodies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from healthaudit_sandbox.logs_insights.values import Timestamp, number_of, text_of

AGGREGATE_FUNCTIONS = frozenset(
    {"count", "count_distinct", "sum", "avg", "min", "max", "pct", "percentile", "stddev", "earliest", "latest"}
)
#: Scalar functions and their (min, max) argument counts; None: no maximum.
SCALAR_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "ispresent": (1, 1),
    "isempty": (1, 1),
    "isblank": (1, 1),
    "coalesce": (1, None),
    "abs": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "greatest": (1, None),
    "least": (1, None),
    "log": (1, 1),
    "sqrt": (1, 1),
    "strlen": (1, 1),
    "toupper": (1, 1),
    "tolower": (1, 1),
    "concat": (1, None),
    "ltrim": (1, 2),
    "rtrim": (1, 2),
    "trim": (1, 2),
    "substr": (2, 3),
    "replace": (3, 3),
    "strcontains": (2, 2),
    "datefloor": (2, 2),
    "dateceil": (2, 2),
    "bin": (1, 1),
    "frommillis": (1, 1),
    "tomillis": (1, 1),
}


def _numeric(function: Callable[[float], float]) -> Callable[[dict[str, Any], list[Any]], Any]:
    def apply(_row: dict[str, Any], args: list[Any]) -> Any:
        number = number_of(args[0])
        if number is None:
            return None
        try:
            return function(number)
        except (ValueError, OverflowError):
            return None

    return apply


def _string(function: Callable[..., Any]) -> Callable[[dict[str, Any], list[Any]], Any]:
    def apply(_row: dict[str, Any], args: list[Any]) -> Any:
        if args[0] is None:
            return None
        return function(text_of(args[0]), *args[1:])

    return apply


def _trim(side: str) -> Callable[..., str]:
    def trim(text: str, chars: Any = None) -> str:
        strip = {"l": str.lstrip, "r": str.rstrip, "": str.strip}[side]
        return strip(text, None if chars is None else text_of(chars))

    return trim


def _substr(text: str, start: Any, length: Any = None) -> str | None:
    begin = number_of(start)
    if begin is None:
        return None
    count = None if length is None else number_of(length)
    first = int(begin)
    return text[first:] if count is None else text[first : first + int(count)]


def _datefloor(moment: Any, period: Any) -> Timestamp | None:
    at, size = number_of(moment), number_of(period)
    if at is None or not size:
        return None
    return Timestamp(int(at // size * size))


def _dateceil(moment: Any, period: Any) -> Timestamp | None:
    at, size = number_of(moment), number_of(period)
    if at is None or not size:
        return None
    return Timestamp(int(-(-at // size) * size))


SCALAR_IMPLEMENTATIONS: dict[str, Callable[[dict[str, Any], list[Any]], Any]] = {
    "ispresent": lambda _r, a: a[0] is not None,
    "isempty": lambda _r, a: a[0] is None or text_of(a[0]) == "",
    "isblank": lambda _r, a: a[0] is None or text_of(a[0]).strip() == "",
    "coalesce": lambda _r, a: next((v for v in a if v is not None), None),
    "abs": _numeric(abs),
    "ceil": _numeric(math.ceil),
    "floor": _numeric(math.floor),
    "log": _numeric(math.log),
    "sqrt": _numeric(math.sqrt),
    "greatest": lambda _r, a: max((n for n in map(number_of, a) if n is not None), default=None),
    "least": lambda _r, a: min((n for n in map(number_of, a) if n is not None), default=None),
    "strlen": _string(len),
    "toupper": _string(str.upper),
    "tolower": _string(str.lower),
    "concat": lambda _r, a: "".join(text_of(v) for v in a if v is not None),
    "ltrim": _string(_trim("l")),
    "rtrim": _string(_trim("r")),
    "trim": _string(_trim("")),
    "substr": _string(_substr),
    "replace": _string(lambda text, old, new: text.replace(text_of(old), text_of(new))),
    "strcontains": lambda _r, a: None if a[0] is None else int(text_of(a[1]) in text_of(a[0])),
    "datefloor": lambda _r, a: _datefloor(a[0], a[1]),
    "dateceil": lambda _r, a: _dateceil(a[0], a[1]),
    "bin": lambda r, a: _datefloor(r.get("@timestamp"), a[0]),
    "frommillis": lambda _r, a: None if number_of(a[0]) is None else Timestamp(int(number_of(a[0]) or 0)),
    "tomillis": lambda _r, a: None if number_of(a[0]) is None else int(number_of(a[0]) or 0),
}
