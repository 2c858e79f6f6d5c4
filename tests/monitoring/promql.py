"""Find the metric names and label matchers a PromQL expression uses.

Not a PromQL parser: a tokenizer that knows enough of the grammar to tell a
metric name from a function, a keyword, a label list, a string, a duration or
a Grafana variable. That is all the shipped-artefact tests need to check every
name against the exporter's catalog.

    >>> [s.name for s in selectors('max without (instance) (rate(a_total{x="1"}[5m])) > on () b')]
    ['a_total', 'b']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AGGREGATIONS = frozenset(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split()
)
# Keywords followed by an optional "(label, ...)" list that names labels, not metrics.
LABEL_LIST_KEYWORDS = frozenset("by without on ignoring group_left group_right".split())
OTHER_KEYWORDS = frozenset("bool and or unless offset atan2".split())
NUMBER_WORDS = frozenset(("inf", "nan"))

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+)
  | (?P<number>0[xX][0-9a-fA-F]+|\d[\w.]*(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<lbrace>\{)
  | (?P<lbracket>\[)
  | (?P<punct>[(),])
  | (?P<op>[-+*/%^=!<>~@]+)
    """,
    re.VERBOSE,
)
_MATCHER = re.compile(
    r"""\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*
        (?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?""",
    re.VERBOSE,
)


class PromQLSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str


@dataclass
class Selector:
    name: str | None  # None for a bare {__name__=...} selector without a name before it
    matchers: list[Matcher] = field(default_factory=list)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    matchers: tuple[Matcher, ...] = ()


def _unquote(text: str) -> str:
    body = text[1:-1]
    if text[0] == "`":
        return body
    return re.sub(r"\\(.)", r"\1", body)


def _read_braces(expr: str, start: int) -> tuple[tuple[Matcher, ...], int]:
    """Parse label matchers from expr[start] == '{' to its '}'; return them and the end index."""
    pos, matchers = start + 1, []
    while True:
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
        if pos < len(expr) and expr[pos] == "}":
            return tuple(matchers), pos + 1
        match = _MATCHER.match(expr, pos)
        if not match:
            raise PromQLSyntaxError(f"cannot read label matchers at {expr[pos:pos + 40]!r}")
        matchers.append(Matcher(match["label"], match["op"], _unquote(match["value"])))
        pos = match.end()


def _read_brackets(expr: str, start: int) -> int:
    """Skip a range or subquery [5m], [$__rate_interval], [1h:5m] (or Grafana's [[var]])."""
    depth, pos = 0, start
    while pos < len(expr):
        if expr[pos] == "[":
            depth += 1
        elif expr[pos] == "]":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise PromQLSyntaxError(f"unclosed [ at {expr[start:start + 40]!r}")


def tokens(expr: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise PromQLSyntaxError(f"unexpected character at {expr[pos:pos + 40]!r}")
        kind = match.lastgroup
        if kind == "lbrace":
            matchers, pos = _read_braces(expr, pos)
            out.append(_Tok("matchers", "{}", matchers))
            continue
        if kind == "lbracket":
            pos = _read_brackets(expr, pos)
            out.append(_Tok("range", "[]"))
            continue
        pos = match.end()
        if kind != "space":
            out.append(_Tok(kind, match.group()))
    return out


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in expr: its metric name (if any) and its matchers."""
    toks = tokens(expr)
    found: list[Selector] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "ident":
            word = tok.text
            if word in LABEL_LIST_KEYWORDS:
                i += 1
                if nxt is not None and nxt.text == "(":
                    i = _skip_parens(toks, i)
                continue
            if nxt is not None and nxt.text == "(":
                i += 1  # a function or an aggregation: its arguments follow
                continue
            if word in AGGREGATIONS and nxt is not None and nxt.text in ("by", "without"):
                i += 1
                continue
            if word in OTHER_KEYWORDS or word.lower() in NUMBER_WORDS:
                i += 1
                continue
            matchers = list(nxt.matchers) if nxt is not None and nxt.kind == "matchers" else []
            found.append(Selector(word, matchers))
            i += 2 if matchers or (nxt is not None and nxt.kind == "matchers") else 1
            continue
        if tok.kind == "matchers":
            name = next((m.value for m in tok.matchers if m.label == "__name__" and m.op == "="), None)
            found.append(Selector(name, [m for m in tok.matchers if m.label != "__name__"]))
        i += 1
    return found


def _skip_parens(toks: list[_Tok], i: int) -> int:
    """toks[i] is '('; return the index after its matching ')'."""
    depth = 0
    while i < len(toks):
        if toks[i].text == "(":
            depth += 1
        elif toks[i].text == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PromQLSyntaxError("unbalanced parentheses")


def metric_names(expr: str) -> set[str]:
    return {s.name for s in selectors(expr) if s.name}


_GRAFANA_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<expr>.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", re.S)
_GRAFANA_ONE_ARG = re.compile(r"^\s*(?:label_values|metrics|query_result)\((?P<expr>.*)\)\s*$", re.S)


def grafana_variable_expr(query: str) -> str | None:
    """The PromQL inside a Grafana variable query such as label_values(up{job="x"}, instance)."""
    for pattern in (_GRAFANA_LABEL_VALUES, _GRAFANA_ONE_ARG):
        match = pattern.match(query)
        if match:
            return match["expr"]
    return None


def alternatives(matcher: Matcher) -> list[str] | None:
    """The literal values a matcher accepts: one for =, the branches of a plain a|b|c for =~."""
    if matcher.op == "=":
        return [matcher.value]
    if matcher.op == "=~" and re.fullmatch(r"[A-Za-z0-9_:\-]+(\|[A-Za-z0-9_:\-]+)*", matcher.value):
        return matcher.value.split("|")
    return None
