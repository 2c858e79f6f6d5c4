"""The Alertmanager group message about one incident carries its buttons (it is that incident's "opened" message)."""

from __future__ import annotations

from alerting.alertmanager.payload import parse_payload
from tests.alerting.builders import alert, webhook
from tests.chatops.conftest import ADMIN


async def test_a_firing_group_message_carries_the_incidents_buttons_and_a_press_acknowledges_it(chat):
    bridge = chat.leader.runtime.alerts
    receipt = await bridge.receive(parse_payload(webhook(alert(1))))
    [incident_id] = receipt.incidents
    [message] = [m for m in await chat.deliver() if "FIRING" in m.text]
    assert [b["text"] for b in message.reply_markup["inline_keyboard"][0]] == ["👀 Acknowledge", "✅ Resolve"]

    chat.telegram.press(ADMIN, message, chat.button(message, "ack"))
    await chat.poll()

    stored = await chat.incident(incident_id)
    assert stored["status"] == "acknowledged" and stored["owner"] == "@alice" and stored["source"] == "alertmanager"


async def test_a_resolved_group_message_carries_no_buttons(chat):
    bridge = chat.leader.runtime.alerts
    await bridge.receive(parse_payload(webhook(alert(1))))
    await bridge.receive(parse_payload(webhook(alert(1, status="resolved", ends_at="2026-03-01T11:59:00Z"))))
    messages = await chat.deliver()
    [resolved] = [m for m in messages if "RESOLVED" in m.text]
    assert resolved.reply_markup is None


async def test_a_group_message_about_several_incidents_carries_no_buttons(chat):
    receipt = await chat.leader.runtime.alerts.receive(parse_payload(webhook(alert(1), alert(2))))
    assert len(receipt.incidents) == 2
    [message] = [m for m in await chat.deliver() if "FIRING" in m.text]
    assert message.reply_markup is None


async def test_the_buttons_of_an_incident_this_notification_opened_need_no_read_back(chat, monkeypatch):
    """One alert, one new incident: its message's buttons come from the incident as just stored
    (a read back was a fifth store call for every one-alert notification)."""
    bridge = chat.leader.runtime.alerts
    read_back = []
    real_get = bridge.incidents.get

    async def counting_get(incident_id):
        read_back.append(incident_id)
        return await real_get(incident_id)

    monkeypatch.setattr(bridge.incidents, "get", counting_get)
    receipt = await bridge.receive(parse_payload(webhook(alert(1))))

    [message] = [m for m in await chat.deliver() if "FIRING" in m.text]
    assert [b["text"] for b in message.reply_markup["inline_keyboard"][0]] == ["👀 Acknowledge", "✅ Resolve"]
    assert read_back == [], "the incident opened by this notification was read back"
    assert receipt.incidents == set(receipt.opened)
