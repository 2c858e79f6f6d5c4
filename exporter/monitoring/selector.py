"""A PromQL label matcher list, checked before anything is rendered with it.

    >>> s = Selector.parse('job="my-longrun", env=~"prod|staging"')
    >>> s.text
    'job="my-longrun", env=~"prod|staging"'
    >>> s.equalities
    {'job': 'my-longrun'}

``Selector.parse`` raises ``SelectorError`` with what is wrong for anything
Prometheus would refuse inside ``metric{...}``: an unknown operator, an
unquoted value, a bad label name, an invalid regular expression, a list
whose matchers all match the empty string (Prometheus then selects nothing
by them), or ``__name__`` (the rules choose the metric names themselves).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_MATCHER = re.compile(
    r"""\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*
        (?P<value>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*""",
    re.VERBOSE,
)
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


class SelectorError(ValueError):
    """The selector is not a PromQL label matcher list; the message says where and why."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

    def matches_empty(self) -> bool:
        if self.op == "=":
            return self.value == ""
        if self.op == "!=":
            return self.value != ""
        full = re.fullmatch(self.value, "") is not None
        return full if self.op == "=~" else not full


@dataclass(frozen=True)
class Selector:
    matchers: tuple[Matcher, ...]

    @classmethod
    def parse(cls, text: str) -> "Selector":
        body = text.strip()
        if body.startswith("{") and body.endswith("}"):
            body = body[1:-1]
        matchers, position = [], 0
        while position < len(body):
            match = _MATCHER.match(body, position)
            if not match:
                raise SelectorError(f"--selector: expected label=\"value\" at {body[position:position + 30]!r} "
                                    f"(a PromQL label matcher list like job=\"my-longrun\", env=~\"prod|staging\")")
            matchers.append(_matcher(match))
            position = match.end()
            if position < len(body):
                if body[position] != ",":
                    raise SelectorError(f"--selector: expected a comma at {body[position:position + 30]!r}")
                position += 1
        return cls(_checked(tuple(matchers)))

    @property
    def text(self) -> str:
        """Normalised: double-quoted values, ", " between matchers (safe inside a Go template raw string)."""
        return ", ".join(m.text for m in self.matchers)

    @property
    def equalities(self) -> dict[str, str]:
        """The labels every selected series carries for certain (the ``=`` matchers)."""
        return {m.label: m.value for m in self.matchers if m.op == "="}

    @property
    def exact(self) -> bool:
        """Only ``=`` matchers: test series can be given exactly these labels."""
        return all(m.op == "=" for m in self.matchers)


def _matcher(match: re.Match[str]) -> Matcher:
    quoted = match.group("value")
    value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), quoted[1:-1])
    return Matcher(match.group("label"), match.group("op"), value)


def _checked(matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
    if not matchers:
        raise SelectorError('--selector: give at least one matcher, like job="my-longrun"')
    for m in matchers:
        if m.label == "__name__":
            raise SelectorError("--selector: __name__ cannot be matched: the rules choose the metric names")
        if m.op in ("=~", "!~"):
            try:
                re.compile(m.value)
            except re.error as exc:
                raise SelectorError(f"--selector: {m.label}{m.op}: invalid regular expression ({exc})") from None
        if "`" in m.value:
            raise SelectorError(f"--selector: {m.label}: a backtick cannot be used in a value")
    if all(m.matches_empty() for m in matchers):
        raise SelectorError("--selector: every matcher also matches an empty label, so it selects nothing "
                            'by itself; add one that needs a value, like job="my-longrun"')
    return matchers
