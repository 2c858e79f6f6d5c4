"""The Bot API calls of chat-ops: errors say what failed and never hold the bot token."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from alerting.telegram.bot_api import BotApi, BotApiError, redact
from tests.fixtures.stores import free_port


async def test_a_refused_connection_is_an_error_without_the_token(fake_telegram):
    async with aiohttp.ClientSession() as session:
        api = BotApi(session, f"http://127.0.0.1:{free_port()}", fake_telegram.token, timeout=2)
        with pytest.raises(BotApiError) as caught:
            await api.get_updates(None, 0)
    assert "getUpdates" in str(caught.value)
    assert fake_telegram.token not in str(caught.value) and fake_telegram.token.split(":")[1] not in str(caught.value)
    assert "bot***" in repr(api) and fake_telegram.token not in repr(api)


async def test_a_wrong_token_is_an_error_that_names_the_method_not_the_token(fake_telegram):
    async with aiohttp.ClientSession() as session:
        api = BotApi(session, fake_telegram.api_base, "987654321:AAwrong-token-0123456789abcdefghij", timeout=2)
        with pytest.raises(BotApiError) as caught:
            await api.answer_callback("cb1", "hi")
    assert caught.value.status == 401 and "987654321" not in str(caught.value)


async def test_an_invalid_url_error_is_redacted(fake_telegram, caplog):
    async with aiohttp.ClientSession() as session:
        api = BotApi(session, "http://[::1", fake_telegram.token, timeout=2)  # aiohttp names the whole URL
        with caplog.at_level(logging.DEBUG), pytest.raises(BotApiError) as caught:
            await api.edit_message("-1", 1, "x")
    assert fake_telegram.token not in str(caught.value)
    assert all(fake_telegram.token not in r.getMessage() for r in caplog.records)


def test_redact_removes_any_token_shaped_text():
    assert redact("https://api.telegram.org/bot123456789:AAfake-test-token-0123456789abcdefgh/getUpdates") == \
        "https://api.telegram.org/bot***/getUpdates"


async def test_editing_to_the_same_text_is_not_an_error(fake_telegram):
    async with aiohttp.ClientSession() as session:
        api = BotApi(session, fake_telegram.api_base, fake_telegram.token, timeout=2)
        await api.send_message("-1001", "<b>hello</b>")
        message = fake_telegram.received[-1]
        await api.edit_message("-1001", message.message_id, "<b>changed</b>")
        await api.edit_message("-1001", message.message_id, "<b>changed</b>")  # a second press: same text
    assert [e.error for e in fake_telegram.edits] == [None, "Bad Request: message is not modified"]
