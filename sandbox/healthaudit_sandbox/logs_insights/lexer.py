"""The lexer of Logs Insights queries: a scanner that reads the query text one token at a time.

Whitespace and ``#`` comments separate tokens; strings are "double" or 'single' quoted with
backslash escapes; regular expressions are /slashed/, in Java's syntax.
"""

from __future__ import annotations

import re

from healthaudit_sandbox.logs_insights.syntax import MalformedQueryError

_WS = re.compile(r"(?:\s+|#[^\n]*)*")
IDENTIFIER = re.compile(r"@{0,2}[A-Za-z_][A-Za-z0-9_.]*")
PERIOD = re.compile(r"(\d+)(ms|s|m|h|d|w)(?![A-Za-z0-9_.])")
NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_])")
_OPERATORS = ("==", "=~", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", ",", "[", "]")


class Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos : self.pos + 1]

    def error(self, message: str, start: int | None = None, end: int | None = None) -> MalformedQueryError:
        start = self.pos if start is None else start
        end = max(start, min(len(self.text), (start + 1) if end is None else end))
        near = self.text[start : start + 30] or "the end of the query"
        return MalformedQueryError(f"{message} at character {start} (near {near!r})", start, end)

    def keyword(self, *words: str) -> str | None:
        """Consume one of ``words`` (case-insensitive, whole word) and return it in lower case."""
        self.skip()
        match = IDENTIFIER.match(self.text, self.pos)
        if match and match.group(0).lower() in words:
            self.pos = match.end()
            return match.group(0).lower()
        return None

    def operator(self, *ops: str) -> str | None:
        self.skip()
        for op in ops:
            if self.text.startswith(op, self.pos):
                if op == "=" and self.text.startswith(("==", "=~"), self.pos):
                    continue
                if op in ("<", ">") and self.text.startswith(("<=", ">="), self.pos):
                    continue
                self.pos += len(op)
                return op
        return None

    def expect(self, op: str, what: str) -> None:
        if not self.operator(op):
            raise self.error(f"Expected {what}")

    def regex(self, pattern: re.Pattern[str], skip: bool = True) -> re.Match[str] | None:
        if skip:
            self.skip()
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()
        return match

    def quoted(self) -> str | None:
        """A "double" or 'single' quoted string, with backslash escapes."""
        self.skip()
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ('"', "'"):
            return None
        start, i, out = self.pos, self.pos + 1, []
        escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
        while i < len(self.text):
            char = self.text[i]
            if char == "\\" and i + 1 < len(self.text):
                nxt = self.text[i + 1]
                out.append(escapes.get(nxt, "\\" + nxt))
                i += 2
                continue
            if char == quote:
                self.pos = i + 1
                return "".join(out)
            out.append(char)
            i += 1
        raise self.error("Unterminated string", start)

    def slashed(self) -> re.Pattern[str] | None:
        """A /regular expression/ (Java syntax; (?<name>...) groups become Python's (?P<name>...))."""
        self.skip()
        if self.text[self.pos : self.pos + 1] != "/":
            return None
        start, i, out = self.pos, self.pos + 1, []
        while i < len(self.text):
            char = self.text[i]
            if char == "\\" and i + 1 < len(self.text):
                out.append("/" if self.text[i + 1] == "/" else self.text[i : i + 2])
                i += 2
                continue
            if char == "/":
                self.pos = i + 1
                source = re.sub(r"\(\?<(?![=!])", "(?P<", "".join(out))
                # Java applies an inline flag such as (?i) from where it stands; Python wants it first.
                flags = "".join(sorted(set("".join(re.findall(r"\(\?([imsx]+)\)", source)))))
                if flags:
                    source = f"(?{flags})" + re.sub(r"\(\?[imsx]+\)", "", source)
                try:
                    return re.compile(source)
                except re.error as exc:
                    raise self.error(f"Invalid regular expression: {exc}", start, i + 1) from None
            out.append(char)
            i += 1
        raise self.error("Unterminated regular expression", start)
