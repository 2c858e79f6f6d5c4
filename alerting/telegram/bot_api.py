"""The Bot API calls chat-ops needs besides ``sendMessage``: getUpdates, answerCallbackQuery, editMessageText.

Every call goes through one shared ``aiohttp.ClientSession``. A failure (the
network, a timeout, an answer that is not ``ok``) raises ``BotApiError``, whose
text never holds the bot token: the token sits in every URL path, so URLs and
exception texts are redacted (``bot***``) before they reach a log line or an
error.

    api = BotApi(session, "https://api.telegram.org", token)
    updates = await api.get_updates(offset=41, timeout=25)      # long polling
    await api.answer_callback(query_id, "Acknowledged")
    await api.edit_message(chat_id, message_id, "<b>…</b>", reply_markup=None)

The bot never calls ``setWebhook``: updates are pulled by the leader only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
# What getUpdates may bring; everything else is not asked for.
ALLOWED_UPDATES = ("message", "callback_query")
CALLBACK_TEXT_LIMIT = 200


class BotApiError(Exception):
    """A Bot API call failed; ``retry_after`` is set when Telegram asked us to wait."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def redact(text: str, token: str | None = None) -> str:
    """``text`` without the bot token (ours, or anything shaped like one)."""
    if token:
        text = text.replace(token, "***")
    return _TOKEN_SHAPE.sub("***", text)


class BotApi:
    def __init__(self, session: aiohttp.ClientSession, api_base: str, bot_token: str, timeout: float = 10.0) -> None:
        if not bot_token:
            raise ValueError("a Telegram bot token is required")
        self._session = session
        self._api_base = api_base.rstrip("/")
        self._token = bot_token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"BotApi(api_base={self._api_base!r}, bot=bot***)"

    async def get_updates(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        """Long polling: the updates from ``offset`` on, waiting up to ``timeout`` seconds for one."""
        body: dict[str, Any] = {"timeout": max(0, int(timeout)), "allowed_updates": list(ALLOWED_UPDATES)}
        if offset is not None:
            body["offset"] = offset
        result = await self._call("getUpdates", body, timeout=timeout + self._timeout)
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def answer_callback(self, query_id: str, text: str, *, alert: bool = False) -> None:
        await self._call("answerCallbackQuery", {"callback_query_id": query_id,
                                                  "text": text[:CALLBACK_TEXT_LIMIT], "show_alert": alert})

    async def edit_message(self, chat_id: str | int, message_id: int, text: str,
                           reply_markup: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": "HTML",
                                "disable_web_page_preview": True,
                                "reply_markup": reply_markup or {"inline_keyboard": []}}
        try:
            await self._call("editMessageText", body)
        except BotApiError as exc:
            if "message is not modified" not in str(exc):  # pressing twice edits to the same text: fine
                raise

    async def send_message(self, chat_id: str | int, text: str, reply_markup: dict[str, Any] | None = None) -> None:
        """A direct answer to a command (answers are not incidents' news, so they skip the outbox)."""
        body: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                                "disable_web_page_preview": True}
        if reply_markup:
            body["reply_markup"] = reply_markup
        await self._call("sendMessage", body)

    async def _call(self, method: str, body: dict[str, Any], *, timeout: float | None = None) -> Any:
        url = f"{self._api_base}/bot{self._token}/{method}"
        limit = aiohttp.ClientTimeout(total=timeout or self._timeout)
        try:
            async with self._session.post(url, json=body, timeout=limit) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    answer = None
        except asyncio.TimeoutError:
            raise BotApiError(f"{method}: timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise BotApiError(redact(f"{method}: {type(exc).__name__}: {exc}", self._token)) from None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        answer = answer if isinstance(answer, dict) else {}
        parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        description = redact(str(answer.get("description") or f"HTTP {status}"), self._token)
        raise BotApiError(f"{method}: {description}", status=status,
                          retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None)
