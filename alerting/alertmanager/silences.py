"""Alertmanager silences through its API v2: create one, expire one, read one.

Used by maintenance windows (a silence for the window's span) and by anything
else that must quiet longrun's alerts for a while (a chat-ops "silence 1 h").

    silences = SilenceClient(session, "http://alertmanager:9093")
    sid = await silences.create(parse_matchers('alertname=~"Longrun.+"'), start, end,
                                comment="deploy 0.3", created_by="longrun")
    await silences.expire(sid)          # True, also when it had expired already; False: unknown id
    await silences.get(sid)             # the silence as Alertmanager shows it, None when unknown

Every failure raises ``SilenceError``; ``permanent`` is True when Alertmanager
refused the request itself (a 4xx: retrying the same request cannot help),
False when it could not be reached, timed out or answered 5xx (retry later).
The URL may carry basic-auth credentials; they never appear in an error.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

import aiohttp

DEFAULT_MATCHERS = 'alertname=~"Longrun.+"'
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*))\s*(?:,|$)')
_SILENCE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class SilenceError(Exception):
    """A silence call failed; ``permanent``: Alertmanager refused it (4xx), else try again later."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a silence: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    def __str__(self) -> str:
        op = ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        return f'{self.name}{op}"{self.value}"'


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """``alertname=~"Longrun.+",monitor="prod"`` as matchers; ValueError naming the bad part."""
    matchers, pos = [], 0
    text = text.strip()
    while pos < len(text):
        found = _MATCHER.match(text, pos)
        if found is None or found.end() == pos:
            raise ValueError(f"expected matchers like alertname=~\"Longrun.+\",monitor=\"prod\"; cannot read {text[pos:pos + 40]!r}")
        name, op, quoted, bare = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        matchers.append(Matcher(name, value, is_regex="~" in op, is_equal=not op.startswith("!")))
        pos = found.end()
    if not any(m.is_equal and m.value and not (m.is_regex and m.value in (".*", ".+")) for m in matchers):
        raise ValueError("give at least one matcher that narrows the silence (a silence of everything would hide the Watchdog too)")
    return tuple(matchers)


def _utc(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


class SilenceClient:
    """Alertmanager's silence API on one shared session; see the module docstring."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, timeout: float = 5.0) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.where = redact_url(self.base_url)

    async def create(self, matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime, *,
                     comment: str, created_by: str = "longrun") -> str:
        """Create a silence for [starts_at, ends_at); returns its id."""
        body = {"matchers": [m.to_api() for m in matchers], "startsAt": _utc(starts_at), "endsAt": _utc(ends_at),
                "createdBy": created_by, "comment": comment}
        status, answer = await self._call("POST", "/api/v2/silences", body)
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("silenceID"), str):
            raise self._refused("creating a silence", status, answer)
        return answer["silenceID"]

    async def expire(self, silence_id: str) -> bool:
        """Expire a silence now (again: fine); False when Alertmanager does not know it."""
        self._check_id(silence_id)
        status, answer = await self._call("DELETE", f"/api/v2/silence/{silence_id}")
        if status == 200:
            return True
        if status == 404 or (status == 500 and "not found" in str(answer)):
            return False  # Alertmanager 0.25 answers 500 "silence not found" for an unknown id
        raise self._refused(f"expiring silence {silence_id}", status, answer)

    async def get(self, silence_id: str) -> dict[str, Any] | None:
        self._check_id(silence_id)
        status, answer = await self._call("GET", f"/api/v2/silence/{silence_id}")
        if status == 404:
            return None
        if status != 200 or not isinstance(answer, dict):
            raise self._refused(f"reading silence {silence_id}", status, answer)
        return answer

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _check_id(silence_id: str) -> None:
        if not isinstance(silence_id, str) or not _SILENCE_ID.match(silence_id):
            raise SilenceError(f"not a silence id: {str(silence_id)[:40]!r}", permanent=True)

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            async with self.session.request(method, self.base_url + path, json=body, timeout=self.timeout) as response:
                text = await response.text()
                try:
                    answer: Any = await response.json(content_type=None) if text.strip() else None
                except ValueError:
                    answer = text[:300]
                return response.status, answer
        except asyncio.TimeoutError:
            raise SilenceError(f"Alertmanager at {self.where} did not answer within {self.timeout.total:g} s") from None
        except aiohttp.ClientError as exc:
            raise SilenceError(f"Alertmanager at {self.where} unreachable ({exc.__class__.__name__})") from None

    def _refused(self, action: str, status: int, answer: Any) -> SilenceError:
        detail = answer if isinstance(answer, str) else str(answer)
        return SilenceError(f"Alertmanager at {self.where} refused {action}: HTTP {status} {detail[:200]}",
                            permanent=400 <= status < 500)
