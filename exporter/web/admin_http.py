"""The admin API's plumbing: access check, JSON answers and the ONE exception-to-HTTP mapping.

Handlers stay thin: they parse, call a service, and return a dict.

    @endpoint(Access.WRITE)
    async def release_lock(request, runtime):
        name = lock_name(request)
        return {"lock": name, ...}               # 200 JSON, datetimes as ISO strings with Z

    return reply(doc, status=201)                # another status

Raise ``ApiError(400, "limit: ...")`` for bad input; store and domain
exceptions are mapped in ``error_response`` (NotFound 404, conflicts 409,
StoreUnavailable 503 with Retry-After ...). Nothing else leaves as a stack trace.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from datetime import date, datetime
from typing import Any, Awaitable, Callable, Mapping

from aiohttp import web

from exporter.domain.incidents import IncidentTransitionError
from exporter.domain.slots import iso
from exporter.runtime import Runtime
from exporter.store import (
    AlreadyExists,
    InvalidPath,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
    TransactionConflict,
)
from exporter.web.auth import Access, redact, refusal
from exporter.web.bodies import SMALL_BODY, larger_than, too_large_message
from exporter.web.keys import RUNTIME

log = logging.getLogger("longrun.web.admin")

RETRY_AFTER_SEC = 5
MAX_ADMIN_BODY = SMALL_BODY
# Never read a secret from a URL: it ends up in proxy and access logs.
SECRET_QUERY_KEYS = ("token", "access_token", "admin_token", "authorization", "bearer")

Handler = Callable[[web.Request, Runtime], Awaitable[Any]]


class ApiError(Exception):
    """Bad input: answered as ``{"error": message}`` (plus ``fields`` when given) with ``status``."""

    def __init__(self, status: int, message: str, *, fields: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.fields, self.headers = dict(fields or {}), dict(headers or {})


# ------------------------------------------------------------------ JSON


def to_json(value: Any) -> Any:
    """A copy safe for ``json.dumps``: datetimes as ISO-8601 UTC with Z, dates as YYYY-MM-DD,
    non-finite floats as null, tuples and sets as lists, anything else as its string."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return str(value)


def reply(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    text = json.dumps(to_json(body), ensure_ascii=False, allow_nan=False)
    if not text.isascii() and not _encodable(text):  # a lone surrogate: send it as JSON's \udXXX escape
        text = json.dumps(to_json(body), ensure_ascii=True, allow_nan=False)
    return web.json_response(text=text, status=status, headers=dict(headers or {}))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error_reply(status: int, message: str, *, fields: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = dict(fields)
    return reply(body, status, headers)


# ------------------------------------------------------------------ the one mapping


STORE_DOWN = "store unavailable, retry"
MALFORMED_BODY = "malformed request body: its Content-Encoding or chunked framing does not decode"

# Exception types -> (status, fixed message or None to tell the exception's own text). First match wins.
ERRORS: tuple[tuple[tuple[type[Exception], ...], int, str | None], ...] = (
    ((StoreUnavailable, TransactionConflict), 503, STORE_DOWN),
    ((NotFound,), 404, None),
    ((AlreadyExists, PreconditionFailed), 409, "conflict: the document changed or exists already; read it again and retry"),
    ((IncidentTransitionError,), 409, None),
    ((InvalidPath, InvalidValue, ValueError), 400, None),
    ((web.RequestPayloadError,), 400, MALFORMED_BODY),
    ((StoreError,), 503, STORE_DOWN),
)


def error_response(exc: Exception) -> web.Response:
    """The HTTP answer for an exception a handler raised. Unknown ones are logged and answer 500."""
    if isinstance(exc, ApiError):
        return error_reply(exc.status, exc.message, fields=exc.fields, headers=exc.headers)
    for types, status, message in ERRORS:
        if isinstance(exc, types):
            if status >= 500:
                log.warning("admin route: store failed (%s: %s)", exc.__class__.__name__, exc)
                return error_reply(status, STORE_DOWN, headers={"Retry-After": str(RETRY_AFTER_SEC)})
            return error_reply(status, message or str(exc)[:500] or exc.__class__.__name__)
    log.error("unhandled error in an admin route", exc_info=exc)
    return error_reply(500, "internal error; see the server log")


# ------------------------------------------------------------------ the decorator


def endpoint(access: Access) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.Response]]]:
    """Wrap ``handler(request, runtime)``: check access, refuse secrets in the URL and
    oversized bodies, turn a returned dict into JSON and any exception into its answer."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.Response:
            runtime = request.app[RUNTIME]
            refused = refusal(request, access, runtime.settings.admin_token)
            if refused is not None:
                return refused
            try:
                await check_request(request)
                result = await handler(request, runtime)
                response = result if isinstance(result, web.Response) else reply(result)
            except web.HTTPException:
                raise  # aiohttp's own (413 while reading...): the app's json_errors middleware answers
            except Exception as exc:  # noqa: BLE001 - this IS the one place that maps them
                response = error_response(exc)
            response.body = redact(response.body, runtime.settings.admin_token)
            return response

        return run

    return wrap


async def check_request(request: web.Request) -> None:
    if any(key.lower() in SECRET_QUERY_KEYS for key in request.query):
        raise ApiError(400, "tokens are never accepted in the query string; send 'Authorization: Bearer <token>'")
    # Also on routes that take no body: a chunked one is refused as one with a Content-Length is.
    if await larger_than(request, MAX_ADMIN_BODY):
        raise ApiError(413, too_large_message(MAX_ADMIN_BODY))


# ------------------------------------------------------------------ bodies


MAX_DEPTH = 8
INT64 = 2**63


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object of bounded depth with finite, 64-bit-safe numbers."""
    raw = await request.read()
    if len(raw) > MAX_ADMIN_BODY:
        raise ApiError(413, too_large_message(MAX_ADMIN_BODY))
    if not raw.strip():
        raise ApiError(400, "empty body: expected a JSON object")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, f"malformed JSON body: {exc.__class__.__name__}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"expected a JSON object, got {type(body).__name__}")
    _check_values(body, "body", 0)
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_values(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ApiError(400, f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, f"{where}: number out of range")
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
        raise ApiError(400, f"{where}: number out of range")
    if isinstance(value, str) and not value.isascii() and not _encodable(value):
        raise ApiError(400, f"{where}: contains a lone surrogate (like \\ud800): not valid Unicode")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key:
                raise ApiError(400, f"{where}: empty key")
            if not key.isascii() and not _encodable(key):
                raise ApiError(400, f"{where}: a key contains a lone surrogate (like \\ud800): not valid Unicode")
            _check_values(item, f"{where}.{key}"[:200], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{where}[{index}]", depth + 1)
