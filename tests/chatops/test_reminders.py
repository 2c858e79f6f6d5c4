"""Reminders for an unacknowledged incident: on time, to the alert and escalation chats, at most five, stopped by ack."""

from __future__ import annotations

from datetime import timedelta

from tests.chatops.conftest import ADMIN, ALERT_CHAT, ESCALATION_CHAT


def reminders(telegram):
    return [m for m in telegram.delivered() if "Reminder" in m.text]


async def test_a_p1_left_alone_is_reminded_each_response_time_until_acknowledged(chat):
    incident = await chat.open_p1()
    opened_at = chat.clock.now()
    await chat.deliver()

    await chat.cluster.run_for(299)
    await chat.deliver()
    assert reminders(chat.telegram) == []

    await chat.cluster.run_for(30)  # the deadline (300 s) plus the 30 s the issue allows
    await chat.deliver()
    first = reminders(chat.telegram)
    assert sorted(m.chat_id for m in first) == sorted([ALERT_CHAT, ESCALATION_CHAT])
    assert all(m.clock_time - opened_at <= timedelta(seconds=330) for m in first)
    assert "Reminder 1/5" in first[0].text and "P1" in first[0].text and "logged_out" in first[0].text
    assert "5m" in first[0].text  # how long it has waited
    assert [b["text"] for b in first[0].reply_markup["inline_keyboard"][0]] == ["👀 Acknowledge", "✅ Resolve"]

    await chat.cluster.run_for(300)
    await chat.deliver()
    assert [m.text.split("</b>")[0] for m in reminders(chat.telegram) if m.chat_id == ALERT_CHAT] == [
        "⏰ <b>Reminder 1/5", "⏰ <b>Reminder 2/5"]

    # Acknowledged from the reminder's own button: no reminder after that.
    second = [m for m in reminders(chat.telegram) if m.chat_id == ESCALATION_CHAT][-1]
    chat.telegram.press(ADMIN, second, chat.button(second, "ack"))
    await chat.poll()
    assert (await chat.incident(incident["incidentId"]))["status"] == "acknowledged"
    count = len(reminders(chat.telegram))
    await chat.cluster.run_for(900)
    await chat.deliver()
    assert len(reminders(chat.telegram)) == count


async def test_never_more_than_five_reminders(chat):
    incident = await chat.open_p1()
    for _ in range(8):
        await chat.cluster.run_for(300)
    await chat.deliver()
    assert len([m for m in reminders(chat.telegram) if m.chat_id == ALERT_CHAT]) == 5
    assert (await chat.incident(incident["incidentId"]))["reminders"] == 5
    assert chat.leader.runtime.chatops.reminders.sent == 5


async def test_the_response_time_comes_from_the_config_document(chat):
    await chat.leader.runtime.store.update(chat.leader.runtime.paths.config, {"responseTimeSec": {"P1": 60, "P2": 900,
                                                                                                 "P3": 3600}})
    await chat.open_p1()
    await chat.cluster.run_for(70)
    await chat.deliver()
    assert len([m for m in reminders(chat.telegram) if m.chat_id == ALERT_CHAT]) == 1


async def test_a_resolved_incident_is_never_reminded(chat):
    incident = await chat.open_p1()
    await chat.cluster.run_for(100)
    await chat.leader.runtime.incidents.clear("logged_out", "accounts")
    await chat.cluster.run_for(900)
    await chat.deliver()
    assert reminders(chat.telegram) == []
    assert (await chat.incident(incident["incidentId"])).get("reminders") is None


async def test_a_quiet_leader_reads_the_open_incidents_once_a_minute_not_every_tick(chat):
    job = chat.leader.runtime.chatops.reminders
    reads = []
    real = job.incidents.list

    async def counting(*args, **kwargs):
        if kwargs.get("status") == ("open",):
            reads.append(chat.clock.now())
        return await real(*args, **kwargs)

    job.incidents.list = counting
    await chat.cluster.run_for(600)
    assert 9 <= len(reads) <= 11  # 60 ticks of 10 s
