from __future__ import annotations

import logging

import pytest

from alerting.telegram.client import Delivered, Migrated, Permanent, RetryAfter, TelegramClient, Transient, classify
from tests.fixtures.fake_telegram import Reply


async def test_a_delivered_message_returns_its_message_id_and_is_sent_as_html(client, fake_telegram):
    result = await client.send("-1001", "<b>hello</b> &amp; bye")
    assert isinstance(result, Delivered) and result.message_id >= 1000
    [received] = fake_telegram.received
    assert (received.chat_id, received.text) == ("-1001", "<b>hello</b> &amp; bye")
    assert received.parse_mode == "HTML" and received.disable_web_page_preview is True


@pytest.mark.parametrize("reply, expected", [
    (Reply.retry_after(7), RetryAfter(7.0, "Too Many Requests: retry after 7")),
    (Reply.server_error(500), Transient("Internal Server Error")),
    (Reply.server_error(502), Transient("Internal Server Error")),
    (Reply.forbidden(), Permanent("Forbidden: bot was blocked by the user")),
    (Reply.chat_not_found(), Permanent("Bad Request: chat not found")),
    (Reply.migrate("-1009876"), Migrated("-1009876")),
    (Reply.bad_request("can't parse entities: unsupported start tag"),
     Permanent("Bad Request: can't parse entities: unsupported start tag")),
])
async def test_answers_are_classified(client, fake_telegram, reply, expected):
    fake_telegram.script(reply)
    assert await client.send("-1001", "hi") == expected


async def test_a_hung_request_times_out_as_transient(client, fake_telegram):
    fake_telegram.script(Reply.hang())
    assert await client.send("-1001", "hi") == Transient("timed out")


async def test_unparsable_html_is_permanent_and_its_description_logged(client, fake_telegram, caplog):
    with caplog.at_level(logging.WARNING, logger="alerting.telegram.client"):
        result = await client.send("-1001", "<b>unclosed")
    assert isinstance(result, Permanent) and "can't parse entities" in result.reason
    assert "can't parse entities" in caplog.text


async def test_a_refused_connection_is_transient(session):
    client = TelegramClient(session, "http://127.0.0.1:9", "123456789:AAsecret-token-abcdefghijklmnop", timeout=1)
    result = await client.send("1", "hi")
    assert isinstance(result, Transient)


async def test_the_bot_token_never_appears_in_logs_reasons_or_reprs(session, fake_telegram, caplog):
    token = fake_telegram.token
    wrong = TelegramClient(session, fake_telegram.api_base, "987654321:AAother-secret-abcdefghijklmnop", timeout=1)
    broken = TelegramClient(session, "http://127.0.0.1:9", token, timeout=1)
    invalid_url = TelegramClient(session, "http://[::1", token, timeout=1)
    good = TelegramClient(session, fake_telegram.api_base, token, timeout=0.3)
    fake_telegram.script(Reply.hang(), Reply.server_error(502))
    with caplog.at_level(logging.DEBUG):
        results = [await wrong.send("1", "x"), await broken.send("1", "x"), await invalid_url.send("1", "x"),
                   await good.send("1", "x"), await good.send("1", "x")]
    assert all(not isinstance(r, Delivered) for r in results)
    seen = caplog.text + repr(results) + repr(good) + repr(broken) + str(good)
    for secret in (token, "987654321:AAother-secret-abcdefghijklmnop", token.split(":")[1]):
        assert secret not in seen
    assert "bot***" in repr(good)


async def test_a_wrong_token_keeps_messages_pending_rather_than_failing_them(session, fake_telegram):
    client = TelegramClient(session, fake_telegram.api_base, "987654321:AAwrong-token-abcdefghijklmnop", timeout=1)
    result = await client.send("1", "x")
    assert isinstance(result, Transient) and "TELEGRAM_BOT_TOKEN" in result.reason


@pytest.mark.parametrize("status, answer, expected", [
    (200, {"ok": True, "result": {"message_id": 5}}, Delivered(5)),
    (200, {"ok": True, "result": True}, Transient("answer 200 without a message_id")),
    (200, None, Transient("HTTP 200")),
    (429, {"ok": False, "description": "slow down"}, RetryAfter(5.0, "slow down")),
    (502, None, Transient("HTTP 502")),
    (400, {"ok": False, "description": "Bad Request: message is too long"},
     Permanent("Bad Request: message is too long")),
    (400, {"ok": False, "parameters": {"migrate_to_chat_id": -100123}}, Migrated("-100123")),
])
def test_classify(status, answer, expected):
    assert classify(status, answer) == expected


async def test_a_token_is_required(session):
    with pytest.raises(ValueError):
        TelegramClient(session, "http://x", "", timeout=1)
