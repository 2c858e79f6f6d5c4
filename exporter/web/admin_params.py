"""Parsing the admin API's query strings, path parts and fields: every failure is a 400 naming the input.

    limit = query_limit(request)                      # default 100, capped at 1000
    since = query_time(request, "since")              # ISO-8601; naive means UTC
    day = parse_day(request.match_info["day"], "day")

The patterns and bounds here are also what ``exporter.web.openapi`` publishes,
so the description and the checks cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Iterable, Sequence

from aiohttp import web

from exporter.domain.vocabulary import PROBE_RESULTS, PROBE_TYPES, SEVERITIES
from exporter.store.base import InvalidPath, validate_id
from exporter.web.admin_http import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Ids as longrun writes them: incident ids and lock names are path-safe by construction.
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,300}$"
LOCK_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"
TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 1, 1, tzinfo=timezone.utc)

_ID, _LOCK, _TYPE, _DAY = (re.compile(p) for p in (ID_PATTERN, LOCK_PATTERN, TYPE_PATTERN, DAY_PATTERN))
_DIGITS = re.compile(r"^[0-9]{1,40}$")


def only_params(request: web.Request, allowed: Iterable[str]) -> None:
    """Refuse unknown or repeated query parameters (a typo like ``limt`` should not pass silently)."""
    allowed = set(allowed)
    for key in request.query:
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise ApiError(400, f"unknown query parameter {key[:40]!r}; this route takes: {names}")
        if len(request.query.getall(key)) > 1:
            raise ApiError(400, f"{key}: given more than once")


def query_limit(request: web.Request, default: int = DEFAULT_LIMIT) -> int:
    text = request.query.get("limit")
    if text is None:
        return default
    if not _DIGITS.match(text) or int(text) < 1:
        raise ApiError(400, f"limit: expected a whole number from 1 (any above {MAX_LIMIT} reads as {MAX_LIMIT})")
    return min(int(text), MAX_LIMIT)


def parse_time(text: str, name: str) -> datetime:
    """ISO-8601 date-time (``2026-03-01T08:00:00Z``, offsets allowed); without an offset it is UTC."""
    try:
        if len(text) > 64:
            raise ValueError
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name}: expected an ISO-8601 time like 2026-03-01T08:00:00Z") from None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    if not EARLIEST <= when < LATEST:
        raise ApiError(400, f"{name}: must lie between 1970 and 9999")
    return when


def query_time(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    return None if text is None else parse_time(text, name)


def parse_day(text: str, name: str) -> date:
    try:
        if not _DAY.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name}: expected a date YYYY-MM-DD") from None


def query_day(request: web.Request, name: str) -> date | None:
    text = request.query.get(name)
    return None if text is None else parse_day(text, name)


def choice(value: str | None, name: str, allowed: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise ApiError(400, f"{name}: expected one of {', '.join(allowed)}")
    return value


def choices(value: str | None, name: str, allowed: Sequence[str]) -> list[str]:
    """A comma list, each in ``allowed``; duplicates dropped, order kept."""
    if value is None:
        return []
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ApiError(400, f"{name}: expected a comma list of {', '.join(allowed)}")
    for item in items:
        choice(item, name, allowed)
    return list(dict.fromkeys(items))


def incident_type(value: Any, name: str = "type") -> str:
    if not isinstance(value, str) or not _TYPE.match(value):
        raise ApiError(400, f"{name}: expected a lower-case name like missed_heartbeat ({TYPE_PATTERN})")
    return value


def probe_type(value: str) -> str:
    if value not in PROBE_TYPES:
        raise ApiError(400, f"unknown probe type; valid types: {', '.join(PROBE_TYPES)}")
    return value


def path_id(request: web.Request, key: str, *, lock: bool = False) -> str:
    """The id in the path: 400 unless it fits the documented pattern; 404 when it fits but the
    store reserves it (``__…__``), since nothing longrun writes can have that id."""
    value = request.match_info[key]
    if not (_LOCK if lock else _ID).match(value) or value.strip(".") == "":
        raise ApiError(400, f"{key}: not a valid id (letters, digits, '_', '.', '-')")
    try:
        validate_id(value)
    except InvalidPath:
        raise ApiError(404, f"{key}: no such id {value!r}") from None
    return value


# ------------------------------------------------------------------ body fields


def text_field(body: dict[str, Any], key: str, *, required: bool = False, max_len: int = 2000) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"{key}: required", fields={key: "required"})
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len or "\x00" in value:
        message = f"expected a non-empty string of at most {max_len} characters"
        raise ApiError(400, f"{key}: {message}", fields={key: message})
    return value.strip()


def time_field(body: dict[str, Any], key: str, *, required: bool = False) -> datetime | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"{key}: required", fields={key: "required"})
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key}: expected an ISO-8601 time string", fields={key: "expected an ISO-8601 time string"})
    return parse_time(value, key)


def severity_field(body: dict[str, Any]) -> str | None:
    value = body.get("severity")
    return None if value is None else choice(value if isinstance(value, str) else repr(value), "severity", SEVERITIES)


def known_fields(body: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0][:60]!r}; allowed: {', '.join(sorted(allowed))}",
                       fields={name[:60]: "unknown field" for name in unknown[:20]})

