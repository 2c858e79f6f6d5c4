"""``POST /api/alertmanager``: Alertmanager's webhook. Authenticate, bound, parse, hand to the bridge, answer.

Answers (JSON ``{"error": ...}`` on failure):

- 200 once the bridge has stored the incidents and the messages;
- 400 for a body that can never be valid, naming the field (``alerts[3].startsAt``);
- 401 a missing or wrong ``Authorization: Bearer`` token;
- 403 no ``LONGRUN_WEBHOOK_TOKEN`` configured (unless ``LONGRUN_WEBHOOK_OPEN=true``);
- 413 a body over the limit, refused before it is read whole;
- 503 the store failed, or did not finish within ``DEADLINE_SECONDS``: nothing is lost,
  Alertmanager retries (it retries 5xx, never 4xx).

Every refusal is counted by status (``longrun_alertmanager_webhook_errors_total{code}``).

    add_routes(app, bridge, settings)      # settings.webhook_token, settings.webhook_open
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from aiohttp import web

from alerting.alertmanager.payload import PayloadError, parse_payload
from alerting.bridge import AlertBridge
from exporter.store.base import InvalidPath, InvalidValue, StoreError
from exporter.domain.bearer import bearer_token, token_matches

log = logging.getLogger("longrun.alerts")

PATH = "/api/alertmanager"
MAX_BODY = 1024 * 1024
BRIDGE = web.AppKey("alert_bridge", AlertBridge)
LIMIT = web.AppKey("alert_webhook_max_body", int)
# Alertmanager gives a webhook call 10 s, then gives up and retries later. Answering 503 first tells
# it the truth and keeps calls from piling up behind a store that hangs (SQLite waits out its busy
# timeout per call, the Firestore client retries for up to 10 s): every step is safe to repeat.
DEADLINE_SECONDS = 8.0
DEADLINE = web.AppKey("alert_webhook_deadline", float)

HOW_TO_SET_TOKEN = (
    "the Alertmanager webhook needs a token: set LONGRUN_WEBHOOK_TOKEN to a long random secret here and the "
    "same value in alertmanager.yml (webhook_configs: http_config: authorization: credentials_file), or set "
    "LONGRUN_WEBHOOK_OPEN=true to accept unauthenticated calls on a trusted network"
)


def startup_notice(settings) -> str | None:
    """The one warning ``longrun run`` logs at start about the webhook; None when a token guards it."""
    if settings.webhook_token:
        return None
    if settings.webhook_open:
        return ("⚠️ Alertmanager webhook OPEN: POST /api/alertmanager accepts calls without a token "
                "(LONGRUN_WEBHOOK_OPEN=true), so anyone who reaches this port can open and resolve incidents and "
                "send Telegram messages; keep it on a trusted network, or set LONGRUN_WEBHOOK_TOKEN instead")
    return ("⚠️ Alertmanager webhook DISABLED: LONGRUN_WEBHOOK_TOKEN is not set, so POST /api/alertmanager answers "
            "403, Prometheus alerts become neither incidents nor messages, and the Watchdog dead man's switch is "
            "off. Set LONGRUN_WEBHOOK_TOKEN to a long random secret here and in Alertmanager's credentials_file")


@dataclass(frozen=True)
class WebhookAuth:
    """Who may call the webhook: ``WebhookAuth(token).refusal(request.headers.get("Authorization"))``."""

    token: str | None
    open: bool = False

    @classmethod
    def from_settings(cls, settings) -> "WebhookAuth":
        return cls(settings.webhook_token or None, bool(settings.webhook_open))

    def refusal(self, authorization: str | None) -> tuple[int, str] | None:
        """None when the call may proceed, else (status, message)."""
        if not self.token:
            return None if self.open else (403, HOW_TO_SET_TOKEN)
        given = bearer_token(authorization)  # the admin API's parsing and constant-time comparison too
        if given is None:
            return 401, "missing or malformed Authorization: Bearer token"
        if not token_matches(given, self.token):
            return 401, "wrong webhook token"
        return None


AUTH = web.AppKey("alert_webhook_auth", WebhookAuth)


def add_routes(app: web.Application, bridge: AlertBridge, settings, *, max_body: int = MAX_BODY,
               deadline: float = DEADLINE_SECONDS) -> None:
    app[BRIDGE] = bridge
    app[AUTH] = WebhookAuth.from_settings(settings)
    app[LIMIT] = max_body
    app[DEADLINE] = deadline
    app.router.add_post(PATH, receive)


async def receive(request: web.Request) -> web.Response:
    response = await _answer(request)
    if response.status >= 400:
        request.app[BRIDGE].webhook_errors[str(response.status)] += 1
    return response


async def _answer(request: web.Request) -> web.Response:
    refusal = request.app[AUTH].refusal(request.headers.get("Authorization"))
    if refusal is not None:
        return _error(*refusal)
    try:
        body = await _read_bounded(request, request.app[LIMIT])
        payload = parse_payload(_decode(body), now=request.app[BRIDGE].clock.now())
    except PayloadError as exc:
        return _error(400, str(exc), field=exc.field)
    except _TooLarge as exc:
        return _error(413, str(exc))
    try:
        async with asyncio.timeout(request.app[DEADLINE]):
            receipt = await request.app[BRIDGE].receive(payload)
    except TimeoutError:
        log.warning("alertmanager webhook: the store did not finish within %gs, answering 503 for a retry "
                    "(every step is safe to repeat); check longrun_store_up", request.app[DEADLINE])
        return _error(503, "store too slow, retry later", headers={"Retry-After": "10"})
    except (InvalidValue, InvalidPath) as exc:  # the store refuses a value from the payload: a retry cannot help
        log.error("alertmanager webhook: the store refused the notification %s: %s", payload.group_key, exc)
        return _error(400, f"the store refused a value of this notification: {exc}")
    except StoreError as exc:
        log.warning("alertmanager webhook: store unavailable, answering 503 for a retry: %s", exc)
        return _error(503, f"store unavailable, retry later ({type(exc).__name__})", headers={"Retry-After": "10"})
    return web.json_response(receipt.as_json())


class _TooLarge(Exception):
    pass


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, or _TooLarge as soon as it is known to exceed ``limit`` (from Content-Length, or while reading)."""
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge(f"request body of {request.content_length} bytes is larger than {limit} bytes")
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes):
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise PayloadError("body", "JSON nested too deeply") from None


def _error(status: int, message: str, *, field: str | None = None, headers=None) -> web.Response:
    body = {"error": message} if field is None else {"error": message, "field": field}
    return web.json_response(body, status=status, headers=headers)
