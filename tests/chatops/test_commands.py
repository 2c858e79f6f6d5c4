"""Bot commands through the fake Bot API, on both backends."""

from __future__ import annotations

from datetime import timedelta

from alerting.telegram.texts import short_id
from tests.chatops.conftest import ADMIN, ALERT_CHAT, STRANGER


def answers(chat, chat_id=ALERT_CHAT):
    return [body["text"] for method, body in chat.telegram.calls
            if method == "sendMessage" and str(body["chat_id"]) == chat_id]


async def test_status_is_answered_with_heartbeat_leader_coverage_probes_and_incidents(chat):
    from exporter.web.status_page import collect

    chat.leader.runtime.chatops.status = lambda: collect(chat.leader.runtime)
    await chat.cluster.run_for(180)
    await chat.open_p1()
    chat.telegram.command(ADMIN, ALERT_CHAT, "/status")

    await chat.poll()

    [text] = answers(chat)
    assert "Heartbeat: " in text and " ago" in text
    assert "Leader: alpha" in text and "Coverage 1h: " in text and "Coverage 24h: " in text
    assert "Probes: " in text and "Open incidents: 1" in text and short_id(
        (await chat.leader.runtime.incidents.list())[0]["incidentId"]) in text


async def test_incidents_lists_short_ids_and_ack_and_resolve_take_them(chat):
    incident = await chat.open_p1()
    sid = short_id(incident["incidentId"])
    chat.telegram.command(ADMIN, ALERT_CHAT, "/incidents")
    chat.telegram.command(ADMIN, ALERT_CHAT, f"/ack@longrun_bot {sid}")
    await chat.poll()
    await chat.cluster.run_for(60)
    chat.telegram.command(ADMIN, str(ADMIN["id"]), f"/resolve {sid} QR code re-scanned", chat_type="private")
    await chat.poll()

    listing, acked = answers(chat)
    assert sid in listing and "logged_out" in listing
    assert "Acknowledged by @alice" in acked
    [resolved] = answers(chat, str(ADMIN["id"]))
    assert "Resolved by @alice" in resolved
    stored = await chat.incident(incident["incidentId"])
    assert stored["status"] == "resolved" and stored["rootCause"] == "QR code re-scanned" and stored["ackSec"] == 0.0


async def test_others_get_a_one_line_refusal_and_unknown_commands_the_help_line(chat):
    incident = await chat.open_p1()
    chat.telegram.command(STRANGER, ALERT_CHAT, f"/ack {short_id(incident['incidentId'])}")
    chat.telegram.command(ADMIN, ALERT_CHAT, "/frobnicate")
    chat.telegram.command(ADMIN, ALERT_CHAT, "just chatting")
    await chat.poll()

    refusal, help_line = answers(chat)
    assert refusal.startswith("⛔ Not allowed") and "\n" not in refusal
    assert help_line.startswith("Commands: /status")
    assert (await chat.incident(incident["incidentId"]))["status"] == "open"


async def test_a_10000_character_argument_is_refused_and_changes_nothing(chat):
    incident = await chat.open_p1()
    chat.telegram.command(ADMIN, ALERT_CHAT, f"/resolve {short_id(incident['incidentId'])} " + "x" * 10_000)
    await chat.poll()
    [refusal] = answers(chat)
    assert refusal.startswith("⛔ Argument too long") and len(refusal) < 200
    assert (await chat.incident(incident["incidentId"]))["status"] == "open"


async def test_commands_from_a_foreign_chat_are_ignored(chat):
    incident = await chat.open_p1()
    chat.telegram.command(ADMIN, "-100555", f"/resolve {short_id(incident['incidentId'])}")
    await chat.poll()
    assert answers(chat, "-100555") == []
    assert (await chat.incident(incident["incidentId"]))["status"] == "open"


async def test_maintenance_starts_a_window_through_the_maintenance_service(chat):
    chat.telegram.command(ADMIN, ALERT_CHAT, "/maintenance 30m deploy 0.3")
    chat.telegram.command(ADMIN, ALERT_CHAT, "/maintenance soon deploy")
    await chat.poll()

    started, refused = answers(chat)
    [window] = await chat.leader.runtime.maintenance.list()
    assert window["reason"] == "deploy 0.3" and window["createdBy"] == "telegram:111"
    assert (window["end"] - window["start"]).total_seconds() == 1800
    assert started.startswith("🔧 Maintenance window") and window["id"] in started
    assert refused.startswith("⛔ ") and "nothing was changed" in refused and "\n" not in refused


async def test_status_counts_every_open_incident_and_lists_the_p1_first(chat):
    from exporter.web.status_page import collect, usable_snapshot

    runtime = chat.leader.runtime
    runtime.chatops.status = lambda: collect(runtime, usable_snapshot(runtime.refresh, runtime))
    await chat.cluster.run_for(60)
    now = chat.cluster.clock.now()
    for n in range(12):  # more than the ten a store list returns
        await runtime.incidents.open_manual("probe_fail", reason=f"P3 {n}", ts_start=now - timedelta(minutes=n),
                                            severity="P3", subject=f"s{n}")
    p1 = await runtime.incidents.open_manual("logged_out", reason="P1", ts_start=now, severity="P1", subject="acct")
    assert await runtime.refresh.refresh_once()
    chat.telegram.command(ADMIN, ALERT_CHAT, "/status")
    await chat.poll()
    [text] = answers(chat)
    assert "Open incidents: 13" in text
    listed = [line for line in text.splitlines() if line.startswith("  <code>")]
    assert short_id(p1["incidentId"]) in listed[0]
