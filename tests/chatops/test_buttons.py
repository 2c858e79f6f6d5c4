"""Buttons on incident messages, pressed through the fake Bot API, on both backends."""

from __future__ import annotations

import logging

from tests.chatops.conftest import ADMIN, ADMIN_NO_USERNAME, ALERT_CHAT, STRANGER
from tests.metrics.scraping import Exporter, value


async def test_an_incident_message_carries_acknowledge_and_resolve_within_64_bytes(chat):
    await chat.open_p1()
    message = await chat.opened()
    assert "Incident opened" in message.text and message.chat_id == ALERT_CHAT
    row = message.reply_markup["inline_keyboard"][0]
    assert [b["text"] for b in row] == ["👀 Acknowledge", "✅ Resolve"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in row)
    assert not any(incident_part in b["callback_data"] for b in row for incident_part in ("logged_out", "accounts"))


async def test_an_allowed_users_acknowledge_press_acknowledges_answers_and_edits(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    await chat.cluster.run_for(42)
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))

    assert await chat.poll() == 1

    stored = await chat.incident(incident["incidentId"])
    assert stored["status"] == "acknowledged" and stored["owner"] == "@alice" and stored["ackSec"] == 42.0
    [answer] = chat.telegram.answers
    assert "Acknowledged by @alice" in answer.text and not answer.show_alert
    [edit] = chat.telegram.edits
    assert edit.error is None and edit.message_id == message.message_id
    assert "Acknowledged by @alice at 2026-03-01 12:00:4" in edit.text
    assert [b["text"] for b in edit.reply_markup["inline_keyboard"][0]] == ["✅ Resolve"]  # only what still applies


async def test_a_strangers_press_changes_nothing_and_is_refused(chat, caplog):
    incident = await chat.open_p1()
    message = await chat.opened()
    chat.telegram.press(STRANGER, message, chat.button(message, "ack"))

    with caplog.at_level(logging.WARNING, logger="longrun.chatops"):
        await chat.poll()

    stored = await chat.incident(incident["incidentId"])
    assert stored["status"] == "open" and stored.get("owner") is None and stored.get("tsAck") is None
    [answer] = chat.telegram.answers
    assert answer.text.startswith("⛔ Not allowed") and answer.show_alert
    assert chat.telegram.edits == []
    assert len([r for r in caplog.records if r.name == "longrun.chatops" and "user 999 " in r.getMessage()]) == 1
    families = Exporter(chat.leader.runtime).scrape()
    assert value(families, "longrun_telegram_updates_total", outcome="refused") == 1
    assert value(families, "longrun_telegram_updates_total", outcome="applied") == 0


async def test_resolve_closes_the_incident_with_mttr_and_leaves_no_buttons(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    await chat.cluster.run_for(300)
    chat.telegram.press(ADMIN_NO_USERNAME, message, chat.button(message, "resolve"))

    await chat.poll()

    stored = await chat.incident(incident["incidentId"])
    assert stored["status"] == "resolved" and stored["mttrSec"] == 300.0 and stored["owner"] == "Bo Ng (id 112)"
    [edit] = chat.telegram.edits
    assert "Resolved by Bo Ng (id 112)" in edit.text and edit.reply_markup == {"inline_keyboard": []}


async def test_a_press_on_a_resolved_incident_gets_a_friendly_answer_and_changes_nothing(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    await chat.leader.runtime.incidents.change(incident["incidentId"], status="resolved", owner="@carol")
    before = await chat.incident(incident["incidentId"])
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))

    await chat.poll()

    assert await chat.incident(incident["incidentId"]) == before
    [answer] = chat.telegram.answers
    assert answer.text.startswith("✅ Already resolved by @carol") and not answer.show_alert
    assert chat.telegram.edits == []


async def test_forged_callback_data_changes_nothing(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    genuine = chat.button(message, "ack")
    code, ref, mac = genuine.split(".")
    forged = [f"r.{ref}.{mac}", f"a.{ref[:-1]}x.{mac}", "a.x.y", "", "x" * 65, f"{genuine}.extra"]
    for data in forged:
        chat.telegram.press(ADMIN, message, data)

    await chat.poll()

    assert (await chat.incident(incident["incidentId"]))["status"] == "open"
    assert len(chat.telegram.answers) == len(forged)
    assert all(a.text.startswith("⛔ This button is not valid") for a in chat.telegram.answers)
    assert chat.leader.runtime.chatops.poller.results == {"forged": len(forged)}


async def test_a_press_from_a_foreign_chat_changes_nothing(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"), chat={"id": -100777, "type": "group"})

    await chat.poll()

    assert (await chat.incident(incident["incidentId"]))["status"] == "open"
    assert chat.telegram.answers[0].text.startswith("⛔ This chat is not")


async def test_the_same_update_delivered_twice_is_handled_once(chat):
    incident = await chat.open_p1()
    message = await chat.opened()
    update = chat.telegram.press(ADMIN, message, chat.button(message, "resolve"))
    chat.telegram.push(update)

    await chat.poll()

    assert len(chat.telegram.answers) == 1 and len(chat.telegram.edits) == 1
    assert (await chat.incident(incident["incidentId"]))["status"] == "resolved"


async def test_without_admin_ids_messages_carry_no_buttons_and_nobody_polls(chat):
    member = await chat.cluster.add("plain", session=chat.session, telegram_admin_ids=())
    assert member.runtime.chatops.poller is None and not member.runtime.chatops.enabled
    await member.runtime.incidents.detect("logged_out", "other", reason="x")
    await chat.deliver(member)
    assert chat.telegram.delivered()[-1].reply_markup is None


async def test_the_bot_never_sets_a_webhook(chat):
    await chat.open_p1()
    message = await chat.opened()
    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))
    await chat.poll()
    methods = {method for method, _ in chat.telegram.calls}
    assert "getUpdates" in methods and "setWebhook" not in methods and "deleteWebhook" not in methods
