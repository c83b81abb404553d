"""The evaluator of Logs Insights queries: a parsed query over records, rows as GetQueryResults returns them.

Where the documentation is silent, the sandbox chooses (and the auditor must not depend on it):
missing values sort last; rows of ``stats ... by`` come in ascending order of the grouping values;
``pct`` is the nearest-rank percentile (AWS's is approximate); ``stats`` over no records gives no
row; a missing field is unequal (``!=``) to any value and fails every other comparison.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from collections.abc import Iterable
from typing import Any, NamedTuple

from healthaudit_sandbox.logs_insights.functions import SCALAR_IMPLEMENTATIONS
from healthaudit_sandbox.logs_insights.syntax import (
    DEFAULT_LIMIT,
    Aggregate,
    Binary,
    Call,
    Display,
    Field,
    Fields,
    Filter,
    In,
    Like,
    Limit,
    Literal,
    Parse,
    Query,
    Sort,
    Star,
    Stats,
    Unary,
    walk,
)
from healthaudit_sandbox.logs_insights.values import number_of, text_of, truthy


def _eval(node: Any, row: dict[str, Any], aggregates: dict[int, Any] | None = None) -> Any:
    if isinstance(node, Field):
        return row.get(node.name)
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Aggregate):
        if aggregates is None:  # pragma: no cover - the parser keeps aggregates inside stats
            raise RuntimeError("aggregate outside stats")
        return aggregates.get(id(node))
    if isinstance(node, Binary):
        return _binary(node, row, aggregates)
    if isinstance(node, Unary):
        value = _eval(node.operand, row, aggregates)
        if node.op == "not":
            return not truthy(value)
        number = number_of(value)
        return None if number is None else -number
    if isinstance(node, Like):
        value = _eval(node.operand, row, aggregates)
        if value is None:
            return False
        text = text_of(value)
        hit = node.pattern.search(text) is not None if isinstance(node.pattern, re.Pattern) else node.pattern in text
        return hit != node.negate
    if isinstance(node, In):
        value = _eval(node.operand, row, aggregates)
        if value is None:
            return False
        hit = any(_equal(value, _eval(v, row, aggregates)) for v in node.values)
        return hit != node.negate
    if isinstance(node, Call):
        return SCALAR_IMPLEMENTATIONS[node.name](row, [_eval(a, row, aggregates) for a in node.args])
    raise TypeError(f"cannot evaluate {node!r}")  # pragma: no cover


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    a, b = number_of(left), number_of(right)
    if a is not None and b is not None:
        return a == b
    return text_of(left) == text_of(right)


def _binary(node: Binary, row: dict[str, Any], aggregates: dict[int, Any] | None) -> Any:
    op = node.op
    if op == "and":
        return truthy(_eval(node.left, row, aggregates)) and truthy(_eval(node.right, row, aggregates))
    if op == "or":
        return truthy(_eval(node.left, row, aggregates)) or truthy(_eval(node.right, row, aggregates))
    left, right = _eval(node.left, row, aggregates), _eval(node.right, row, aggregates)
    if op in ("=", "!="):
        if left is None or right is None:
            return op == "!=" and (left is not None or right is not None)
        return _equal(left, right) == (op == "=")
    if op in ("<", "<=", ">", ">="):
        if left is None or right is None:
            return False
        a, b = number_of(left), number_of(right)
        pair: tuple[Any, Any] = (a, b) if a is not None and b is not None else (text_of(left), text_of(right))
        return {"<": pair[0] < pair[1], "<=": pair[0] <= pair[1], ">": pair[0] > pair[1], ">=": pair[0] >= pair[1]}[op]
    a, b = number_of(left), number_of(right)
    if a is None or b is None:
        return None
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b else None
        if op == "%":
            return math.fmod(a, b) if b else None
        if op == "^":
            return a**b
    except (OverflowError, ValueError, ZeroDivisionError):
        return None
    raise TypeError(op)  # pragma: no cover


def _natural_compare(left: str, right: str) -> int:
    """Insights' natural order of non-numeric values: digit runs by length then value, the rest by code point."""
    a, b = re.findall(r"\d+|\D+", left), re.findall(r"\d+|\D+", right)
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if (len(x), int(x)) < (len(y), int(y)) else 1
        return -1 if x < y else 1
    return (len(a) > len(b)) - (len(a) < len(b))


def _sort_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return number_of(value)


def _compare(left: Any, right: Any) -> int:
    """Ascending order of https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Sort.html:
    every non-number value before every number value, numbers by value, the rest in natural order."""
    a, b = _sort_number(left), _sort_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if a is not None:
        return 1
    if b is not None:
        return -1
    return _natural_compare(text_of(left), text_of(right))


def _sort_rows(rows: list[dict[str, Any]], keys: list[tuple[Any, bool]]) -> list[dict[str, Any]]:
    decorated = [([_eval(expr, row) for expr, _ in keys], row) for row in rows]

    def order(x: tuple[list[Any], dict[str, Any]], y: tuple[list[Any], dict[str, Any]]) -> int:
        for (left, right), (_, descending) in zip(zip(x[0], y[0], strict=True), keys, strict=True):
            if left is None or right is None:  # missing values last, whichever the direction
                if left is None and right is None:
                    continue
                return 1 if left is None else -1
            result = _compare(left, right)
            if result:
                return -result if descending else result
        return 0

    decorated.sort(key=functools.cmp_to_key(order))
    return [row for _, row in decorated]


def _aggregate(node: Aggregate, rows: list[dict[str, Any]]) -> Any:
    name = node.name
    if name == "count" and (not node.args or isinstance(node.args[0], Star)):
        return len(rows)
    values = [(_eval(node.args[0], row), row) for row in rows]
    present = [(value, row) for value, row in values if value is not None]
    if name == "count":
        return len(present)
    if name == "count_distinct":
        return len({text_of(value) for value, _ in present})
    if name in ("earliest", "latest"):
        if not present:
            return None
        pick = min if name == "earliest" else max
        return pick(present, key=lambda pair: int(pair[1].get("@timestamp") or 0))[0]
    if name in ("min", "max"):
        if not present:
            return None
        only = [value for value, _ in present]
        if all(_sort_number(v) is not None for v in only):
            return (min if name == "min" else max)(only, key=number_of)
        ranked = sorted(only, key=functools.cmp_to_key(_compare))
        return ranked[0] if name == "min" else ranked[-1]
    numbers = [n for n in (number_of(value) for value, _ in present) if n is not None]
    if not numbers:
        return None
    if name == "sum":
        return math.fsum(numbers)
    if name == "avg":
        return math.fsum(numbers) / len(numbers)
    if name == "stddev":
        return statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    # pct / percentile: nearest rank, the smallest value with at least p% of the values at or below it
    rank = number_of(node.args[1].value) or 0.0
    ordered = sorted(numbers)
    return ordered[max(1, math.ceil(rank / 100 * len(ordered))) - 1]


def _stats(command: Stats, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], tuple[list[Any], list[dict[str, Any]]]] = {}
    for row in rows:
        values = [_eval(g.expr, row) for g in command.groups]
        key = tuple(
            (number_of(v) if _sort_number(v) is not None else text_of(v)) if v is not None else None for v in values
        )
        groups.setdefault(key, (values, []))[1].append(row)
    out: list[dict[str, Any]] = []
    for values, members in groups.values():
        result: dict[str, Any] = {}
        for group, value in zip(command.groups, values, strict=True):
            if value is not None:
                result[group.name] = value
        for item in command.items:
            aggregates = {id(n): _aggregate(n, members) for n in walk(item.expr) if isinstance(n, Aggregate)}
            value = _eval(item.expr, result, aggregates)
            if value is not None:
                result[item.name] = value
        out.append(result)
    if command.groups:  # no documented order: ascending by the grouping values
        out = _sort_rows(out, [(Field(g.name), False) for g in command.groups])
    return out


class QueryOutcome(NamedTuple):
    """Rows as GetQueryResults returns them ([{"field", "value"}, ...] each) and how many records matched."""

    rows: list[list[dict[str, str]]]
    records_matched: int


def evaluate(query: Query, records: Iterable[dict[str, Any]], *, limit: int | None = None) -> QueryOutcome:
    """Run ``query`` over ``records`` (each a dict of field values, system fields included).

    Records start newest first (``@timestamp`` descending) and the commands apply in order (a
    ``limit`` command where it stands); then the rows are cut to ``limit`` (StartQuery's parameter)
    if given, else, without a ``limit`` command, to :data:`DEFAULT_LIMIT`.
    """
    rows = sorted((dict(record) for record in records), key=lambda r: -int(r.get("@timestamp") or 0))
    columns: list[str] | None = None
    aggregated = False
    matched: int | None = None
    for command in query.commands:
        if isinstance(command, Fields):
            columns = list(columns or [])
            for row in rows:
                for projection in command.projections:
                    value = _eval(projection.expr, row)
                    if value is None:
                        row.pop(projection.name, None)
                    else:
                        row[projection.name] = value
            columns += [p.name for p in command.projections if p.name not in columns]
        elif isinstance(command, Display):
            columns = list(dict.fromkeys(command.names))
        elif isinstance(command, Filter):
            rows = [row for row in rows if truthy(_eval(command.expr, row))]
        elif isinstance(command, Parse):
            for row in rows:
                source = _eval(command.source, row)
                match = command.regex.search(text_of(source)) if source is not None else None
                for index, name in enumerate(command.names, start=1):
                    value = None
                    if match is not None:
                        value = match.group(name) if name in command.regex.groupindex else match.group(index)
                    if value is None:
                        row.pop(name, None)
                    else:
                        row[name] = value
        elif isinstance(command, Stats):
            if matched is None:
                matched = len(rows)
            rows = _stats(command, rows)
            columns = [g.name for g in command.groups] + [i.name for i in command.items]
            aggregated = True
        elif isinstance(command, Sort):
            rows = _sort_rows(rows, command.keys)
        elif isinstance(command, Limit):
            if matched is None:
                matched = len(rows)
            rows = rows[: command.count]
    if matched is None:
        matched = len(rows)
    if limit is not None:
        rows = rows[:limit]
    elif query.limit is None:
        rows = rows[:DEFAULT_LIMIT]
    if columns is None:
        columns = ["@timestamp", "@message"]
    if not aggregated and "@ptr" not in columns:
        columns = [*columns, "@ptr"]
    output = [
        [{"field": name, "value": text_of(row[name])} for name in columns if row.get(name) is not None] for row in rows
    ]
    return QueryOutcome(output, matched)
