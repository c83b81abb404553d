"""The syntax tree of a Logs Insights query, and the error a query outside the sandbox's subset raises."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Rows a query returns without ``limit`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Limit.html).
DEFAULT_LIMIT = 10_000
#: The largest ``limit`` (StartQuery: "The maximum limit is 100,000").
MAX_LIMIT = 100_000


class MalformedQueryError(ValueError):
    """The query is not valid (in the subset the sandbox evaluates); offsets into the query string."""

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end


@dataclass(eq=False)
class Literal:
    value: Any


@dataclass(eq=False)
class Field:
    name: str
    start: int = 0
    end: int = 0


@dataclass(eq=False)
class Star:
    pass


@dataclass(eq=False)
class Unary:
    op: str
    operand: Any


@dataclass(eq=False)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(eq=False)
class Like:
    operand: Any
    pattern: re.Pattern[str] | str
    negate: bool = False


@dataclass(eq=False)
class In:
    operand: Any
    values: list[Any]
    negate: bool = False


@dataclass(eq=False)
class Call:
    name: str
    args: list[Any]


@dataclass(eq=False)
class Aggregate:
    name: str
    args: list[Any]


@dataclass(eq=False)
class Projection:
    expr: Any
    name: str


@dataclass(eq=False)
class Fields:
    projections: list[Projection]


@dataclass(eq=False)
class Display:
    names: list[str]


@dataclass(eq=False)
class Filter:
    expr: Any


@dataclass(eq=False)
class Parse:
    source: Any
    regex: re.Pattern[str]
    names: list[str]


@dataclass(eq=False)
class Stats:
    items: list[Projection]
    groups: list[Projection]


@dataclass(eq=False)
class Sort:
    keys: list[tuple[Any, bool]]  # (expression, descending)


@dataclass(eq=False)
class Limit:
    count: int


@dataclass(eq=False)
class Query:
    """A parsed Logs Insights query."""

    text: str
    commands: list[Any] = field(default_factory=list)

    @property
    def limit(self) -> int | None:
        """The smallest ``limit`` of the query, if any."""
        counts = [c.count for c in self.commands if isinstance(c, Limit)]
        return min(counts) if counts else None


def walk(node: Any) -> Iterable[Any]:
    """The expression ``node`` and every expression inside it, depth first."""
    yield node
    children: list[Any] = []
    if isinstance(node, Unary):
        children = [node.operand]
    elif isinstance(node, Binary):
        children = [node.left, node.right]
    elif isinstance(node, Like):
        children = [node.operand]
    elif isinstance(node, In):
        children = [node.operand, *node.values]
    elif isinstance(node, Call | Aggregate):
        children = list(node.args)
    for child in children:
        yield from walk(child)
