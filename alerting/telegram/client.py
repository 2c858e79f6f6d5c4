"""The Telegram Bot API ``sendMessage`` call, its answer classified for the outbox.

``send`` never raises for a network or API failure; it returns one of
``Delivered``, ``RetryAfter``, ``Transient``, ``Permanent`` or ``Migrated`` so
the caller decides what to persist. The bot token sits in the URL path: it is
redacted (``bot***``) from every log line, reason and repr.

    client = TelegramClient(session, "https://api.telegram.org", token, timeout=10)
    result = await client.send("-1001234", "<b>hello</b>")
    if isinstance(result, RetryAfter):
        ...  # wait result.seconds before sending to this chat again
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any, Union

import aiohttp

log = logging.getLogger(__name__)

# A bot token looks like 123456789:AA...; also redacted when it is not ours.
_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
_DEFAULT_RETRY_AFTER = 5.0


@dataclass(frozen=True)
class Delivered:
    message_id: int


@dataclass(frozen=True)
class RetryAfter:
    """429: Telegram asks us to wait ``seconds`` before sending again."""

    seconds: float
    reason: str = "too many requests"


@dataclass(frozen=True)
class Transient:
    """5xx, timeout, connection failure: try again later with backoff."""

    reason: str


@dataclass(frozen=True)
class Permanent:
    """403 (bot blocked or kicked), 400 chat not found, unparsable message: never retry."""

    reason: str


@dataclass(frozen=True)
class Migrated:
    """The group became a supergroup: send to ``new_chat_id`` instead."""

    new_chat_id: str


SendResult = Union[Delivered, RetryAfter, Transient, Permanent, Migrated]


class TelegramClient:
    """Sends HTML messages through one shared ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession, api_base: str, bot_token: str, timeout: float = 10.0) -> None:
        if not bot_token:
            raise ValueError("a Telegram bot token is required")
        self._session = session
        self._api_base = api_base.rstrip("/")
        self._token = bot_token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"TelegramClient(api_base={self._api_base!r}, bot=bot***)"

    def redact(self, text: str) -> str:
        """``text`` with the bot token (and anything shaped like one) replaced by ``***``."""
        return _TOKEN_SHAPE.sub("***", text.replace(self._token, "***"))

    async def send(self, chat_id: str, text: str, reply_markup: dict[str, Any] | None = None) -> SendResult:
        url = f"{self._api_base}/bot{self._token}/sendMessage"
        body: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                                "disable_web_page_preview": True}
        if reply_markup:
            body["reply_markup"] = reply_markup
        try:
            async with self._session.post(url, json=body, timeout=self._timeout) as response:
                answer = await _read_json(response)
                result = classify(response.status, answer)
        except asyncio.TimeoutError:
            result = Transient("timed out")
        except (aiohttp.ClientError, OSError) as exc:
            result = Transient(self.redact(f"{type(exc).__name__}: {exc}"))
        if not isinstance(result, Delivered):
            log.warning("telegram sendMessage to chat %s: %s", chat_id, self.redact(_describe(result)))
        return result


def classify(status: int, answer: dict[str, Any] | None) -> SendResult:
    """Map an HTTP status and the decoded Bot API answer to a SendResult."""
    answer = answer or {}
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    description = str(answer.get("description") or f"HTTP {status}")
    if status == 200 and answer.get("ok") is True:
        result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
        message_id = result.get("message_id")
        if isinstance(message_id, int):
            return Delivered(message_id)
        return Transient("answer 200 without a message_id")
    if parameters.get("migrate_to_chat_id") is not None:
        return Migrated(str(parameters["migrate_to_chat_id"]))
    if status == 429:
        retry_after = parameters.get("retry_after")
        seconds = float(retry_after) if isinstance(retry_after, (int, float)) else _DEFAULT_RETRY_AFTER
        return RetryAfter(max(seconds, 0.0), description)
    if status >= 500 or status == 200:
        return Transient(description)
    if status in (401, 404):
        # A wrong or revoked token: every message would fail the same way. Keep
        # them pending (with backoff) so they go out once the token is fixed.
        return Transient(f"{description} (check TELEGRAM_BOT_TOKEN)")
    return Permanent(description)


async def _read_json(response: aiohttp.ClientResponse) -> dict[str, Any] | None:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return None
    return answer if isinstance(answer, dict) else None


def _describe(result: SendResult) -> str:
    if isinstance(result, RetryAfter):
        return f"retry after {result.seconds:g}s ({result.reason})"
    if isinstance(result, Migrated):
        return f"chat migrated to {result.new_chat_id}"
    return f"{type(result).__name__.lower()}: {getattr(result, 'reason', '')}"
