"""The parser of Logs Insights queries: commands and expressions into a :class:`~.syntax.Query`.

Query subset (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html):
commands ``fields``, ``display``, ``filter``, ``parse`` (glob and regular expression forms),
``stats`` (``count``, ``count_distinct``, ``sum``, ``avg``, ``min``, ``max``,
``pct``/``percentile``, ``stddev``, ``earliest``, ``latest``; grouped ``by`` expressions such as
``@log`` or ``bin(1h)``; arithmetic over aggregates and earlier aliases), ``sort`` and ``limit``,
separated by ``|``, with ``#`` comments; comparison, arithmetic and boolean operators, ``like`` and
``=~`` with "substring" or /regex/, ``in [...]``, and the scalar functions listed in
:data:`~healthaudit_sandbox.logs_insights.functions.SCALAR_FUNCTIONS`.

Syntax outside the subset is a :class:`~.syntax.MalformedQueryError` naming the part, never a
silently wrong answer. Where the documentation is silent, the sandbox chooses (and the auditor must
not depend on it): ``sort`` without asc/desc sorts descending.
"""

from __future__ import annotations

import re
from typing import Any

from healthaudit_sandbox.logs_insights.functions import AGGREGATE_FUNCTIONS, SCALAR_FUNCTIONS
from healthaudit_sandbox.logs_insights.lexer import IDENTIFIER, NUMBER, PERIOD, Scanner
from healthaudit_sandbox.logs_insights.syntax import (
    MAX_LIMIT,
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
    Projection,
    Query,
    Sort,
    Star,
    Stats,
    Unary,
    walk,
)
from healthaudit_sandbox.logs_insights.values import number_of

_NOT_EMULATED_COMMANDS = frozenset(
    {
        "dedup",
        "unnest",
        "lookup",
        "join",
        "pattern",
        "anomaly",
        "diff",
        "unmask",
        "filterindex",
        "source",
        "head",
        "tail",
        "fieldindex",
    }
)
_PERIOD_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_query(text: str) -> Query:
    """Parse a Logs Insights query; raise :class:`MalformedQueryError` outside the supported subset."""
    scanner = Scanner(text)
    query = Query(text)
    if scanner.at_end():
        raise scanner.error("The query is empty", 0, len(text))
    while True:
        query.commands.append(_command(scanner))
        if scanner.at_end():
            break
        if not scanner.operator("|"):
            raise scanner.error("Expected '|' or the end of the query")
        if scanner.at_end():
            raise scanner.error("Expected a command after '|'")
    return query


def _command(s: Scanner) -> Any:
    s.skip()
    start = s.pos
    word = s.regex(IDENTIFIER)
    if not word:
        raise s.error("Expected a command (fields, display, filter, parse, stats, sort or limit)")
    name = word.group(0).lower()
    if name == "fields":
        return Fields(_projections(s, allow_aggregates=False))
    if name == "display":
        names = [_field_name(s)]
        while s.operator(","):
            names.append(_field_name(s))
        return Display(names)
    if name == "filter":
        s.skip()
        begin = s.pos
        return Filter(_plain(s, _expr(s), "filter", begin))
    if name == "parse":
        return _parse_command(s)
    if name == "stats":
        return _stats_command(s, start)
    if name == "sort":
        return _sort_command(s)
    if name == "limit":
        match = s.regex(re.compile(r"\d+(?![\w.])"))
        if not match:
            raise s.error("limit needs a whole number")
        count = int(match.group(0))
        if not 1 <= count <= MAX_LIMIT:
            raise s.error(f"limit must be between 1 and {MAX_LIMIT}, got {count}", match.start(), match.end())
        return Limit(count)
    if name in _NOT_EMULATED_COMMANDS:
        raise s.error(f"The command '{word.group(0)}' is not emulated by the sandbox", start, word.end())
    raise s.error(f"Unknown command '{word.group(0)}'", start, word.end())


def _field_name(s: Scanner) -> str:
    s.skip()
    backtick = s.regex(re.compile(r"`([^`]*)`"))
    if backtick:
        return backtick.group(1)
    ident = s.regex(IDENTIFIER)
    if not ident:
        raise s.error("Expected a field name")
    return ident.group(0)


def _projections(s: Scanner, *, allow_aggregates: bool) -> list[Projection]:
    items = [_projection(s, allow_aggregates)]
    while s.operator(","):
        items.append(_projection(s, allow_aggregates))
    return items


def _projection(s: Scanner, allow_aggregates: bool) -> Projection:
    s.skip()
    start = s.pos
    expr = _expr(s)
    end = s.pos
    if not allow_aggregates:
        _plain(s, expr, "fields", start)
    name = s.text[start:end].strip()
    if isinstance(expr, Field):
        name = expr.name
    if s.keyword("as"):
        name = _field_name(s)
    return Projection(expr, name)


def _plain(s: Scanner, expr: Any, command: str, start: int | None = None) -> Any:
    """Refuse aggregate functions outside stats."""
    if any(isinstance(node, Aggregate) for node in walk(expr)):
        raise s.error(f"Aggregate functions belong in stats, not in {command}", start)
    return expr


def _parse_command(s: Scanner) -> Parse:
    s.skip()
    source: Any = Field("@message")
    if s.peek() not in ('"', "'", "/"):
        source = _primary(s)  # not _expr: a following /regex/ is no division
    s.skip()
    pattern_start = s.pos
    regex = s.slashed()
    if regex is not None:
        names = list(regex.groupindex)
        if not names:
            raise s.error("A parse regular expression needs named groups (?<name>...)", pattern_start, s.pos)
        if s.keyword("as"):
            raise s.error("A parse regular expression names its fields in (?<name>...) groups, not with 'as'")
        return Parse(source, regex, names)
    glob = s.quoted()
    if glob is None:
        raise s.error('parse needs a "glob * pattern" or a /regular expression/')
    pattern_end = s.pos
    if not s.keyword("as"):
        raise s.error("A parse glob pattern needs 'as' and a field name for each '*'")
    names = [_field_name(s)]
    while s.operator(","):
        names.append(_field_name(s))
    stars = glob.count("*")
    if stars != len(names):
        raise s.error(
            f"The parse pattern has {stars} '*' but {len(names)} field names follow 'as'", pattern_start, pattern_end
        )
    pieces = glob.split("*")
    source_regex = re.escape(pieces[0])
    for index, piece in enumerate(pieces[1:], start=1):
        last = index == len(pieces) - 1 and piece == ""
        source_regex += ("(.*)" if last else "(.*?)") + re.escape(piece)
    return Parse(source, re.compile(source_regex), names)


def _stats_command(s: Scanner, start: int) -> Stats:
    items = _projections(s, allow_aggregates=True)
    groups: list[Projection] = []
    if s.keyword("by"):
        groups = _projections(s, allow_aggregates=False)
    known = {g.name for g in groups}
    for item in items:
        aggregates = [n for n in walk(item.expr) if isinstance(n, Aggregate)]
        for aggregate in aggregates:
            for arg in aggregate.args:
                if any(isinstance(n, Aggregate) for n in walk(arg)):
                    raise s.error(f"Aggregate functions cannot be nested in '{item.name}'", start)
        inside = {id(n) for a in aggregates for arg in a.args for n in walk(arg)}
        for node in walk(item.expr):
            if isinstance(node, Field) and id(node) not in inside and node.name not in known:
                raise s.error(
                    f"'{node.name}' in stats must be inside an aggregate function or name an earlier result",
                    node.start,
                    node.end,
                )
        if not aggregates and not any(isinstance(n, Field) for n in walk(item.expr)):
            raise s.error(f"stats '{item.name}' has no aggregate function", start)
        known.add(item.name)
    return Stats(items, groups)


def _sort_command(s: Scanner) -> Sort:
    s.keyword("by")
    keys = []
    while True:
        s.skip()
        begin = s.pos
        expr = _plain(s, _expr(s), "sort", begin)
        direction = s.keyword("asc", "desc")
        keys.append((expr, direction != "asc"))  # descending unless asc
        if not s.operator(","):
            return Sort(keys)


def _expr(s: Scanner) -> Any:
    left = _and(s)
    while s.keyword("or"):
        left = Binary("or", left, _and(s))
    return left


def _and(s: Scanner) -> Any:
    left = _not(s)
    while s.keyword("and"):
        left = Binary("and", left, _not(s))
    return left


def _not(s: Scanner) -> Any:
    if s.keyword("not"):
        return Unary("not", _not(s))
    return _comparison(s)


def _comparison(s: Scanner) -> Any:
    left = _additive(s)
    before = s.pos
    if s.keyword("not"):
        if s.keyword("like"):
            return Like(left, _pattern(s), negate=True)
        if s.keyword("in"):
            return In(left, _list(s), negate=True)
        raise s.error("Expected 'like' or 'in' after 'not'", before)
    if s.keyword("like") or s.operator("=~"):
        return Like(left, _pattern(s))
    if s.keyword("in"):
        return In(left, _list(s))
    op = s.operator("==", "!=", "<=", ">=", "=", "<", ">")
    if op:
        return Binary("=" if op == "==" else op, left, _additive(s))
    return left


def _pattern(s: Scanner) -> re.Pattern[str] | str:
    regex = s.slashed()
    if regex is not None:
        return regex
    text = s.quoted()
    if text is None:
        raise s.error('like needs a "substring" or a /regular expression/')
    return text


def _list(s: Scanner) -> list[Any]:
    s.expect("[", "'[' to open the list of 'in'")
    values = [_additive(s)]
    while s.operator(","):
        values.append(_additive(s))
    s.expect("]", "']' to close the list of 'in'")
    return values


def _additive(s: Scanner) -> Any:
    left = _multiplicative(s)
    while op := s.operator("+", "-"):
        left = Binary(op, left, _multiplicative(s))
    return left


def _multiplicative(s: Scanner) -> Any:
    left = _power(s)
    while op := s.operator("*", "/", "%"):
        left = Binary(op, left, _power(s))
    return left


def _power(s: Scanner) -> Any:
    base = _unary(s)
    if s.operator("^"):
        return Binary("^", base, _power(s))
    return base


def _unary(s: Scanner) -> Any:
    if s.operator("-"):
        return Unary("-", _unary(s))
    if s.operator("+"):
        return _unary(s)
    return _primary(s)


def _primary(s: Scanner) -> Any:
    s.skip()
    start = s.pos
    if s.operator("("):
        inner = _expr(s)
        s.expect(")", "')'")
        return inner
    text = s.quoted()
    if text is not None:
        return Literal(text)
    period = s.regex(PERIOD)
    if period:
        return Literal(int(period.group(1)) * _PERIOD_MS[period.group(2)])
    number = s.regex(NUMBER)
    if number:
        value = float(number.group(0))
        return Literal(int(value) if value.is_integer() and "." not in number.group(0) else value)
    backtick = s.regex(re.compile(r"`([^`]*)`"))
    if backtick:
        return Field(backtick.group(1), start, s.pos)
    ident = s.regex(IDENTIFIER)
    if ident:
        if s.peek() == "(":
            return _call(s, ident.group(0), start)
        return Field(ident.group(0), start, s.pos)
    if s.text[s.pos : s.pos + 1] == "/":
        raise s.error("A /regular expression/ is only allowed after like, =~ or in parse")
    raise s.error("Expected a field, a value or a function")


def _call(s: Scanner, name: str, start: int) -> Any:
    lower = name.lower()
    s.expect("(", "'('")
    args: list[Any] = []
    if lower == "count" and s.operator("*"):
        args = [Star()]
    elif s.peek() != ")":
        args = [_expr(s)]
        while s.operator(","):
            args.append(_expr(s))
    s.expect(")", f"')' to close {name}(")
    if lower in AGGREGATE_FUNCTIONS:
        wanted = {"count": (0, 1), "pct": (2, 2), "percentile": (2, 2)}.get(lower, (1, 1))
        if not wanted[0] <= len(args) <= wanted[1]:
            raise s.error(f"{name}() takes {wanted[0]}..{wanted[1]} arguments, got {len(args)}", start, s.pos)
        if lower in ("pct", "percentile"):
            rank = number_of(args[1].value) if isinstance(args[1], Literal) else None
            if rank is None or not 0 <= rank <= 100:
                raise s.error(f"The percentile of {name}() must be a number from 0 to 100", start, s.pos)
        return Aggregate(lower, args)
    if lower not in SCALAR_FUNCTIONS:
        raise s.error(f"The function '{name}' is not supported by the sandbox", start, s.pos)
    low, high = SCALAR_FUNCTIONS[lower]
    if len(args) < low or (high is not None and len(args) > high):
        raise s.error(f"{name}() does not take {len(args)} arguments", start, s.pos)
    return Call(lower, args)
