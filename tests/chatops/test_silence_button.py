"""Silence 1 h from Telegram, against the real Alertmanager 0.25 (the maintenance windows' silence client)."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp
import pytest

from alerting.alertmanager.silences import SilenceClient
from tests.chatops.conftest import ADMIN
from tests.fixtures.alertmanager import Alertmanager, alertmanager_binary  # noqa: F401
from tests.fixtures.stores import free_port

LABELS = {"alertname": "LongrunTargetDown", "instance": "wa-1", "severity": "critical"}


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_silence_1h_silences_exactly_the_incidents_alert(chat, alertmanager_binary, tmp_path):
    manager = Alertmanager(tmp_path, f"http://127.0.0.1:{free_port()}/api/alertmanager", "t")
    try:
        async with aiohttp.ClientSession() as session:
            await manager.ready(session)
            chat.clock.set(datetime.now(timezone.utc))  # Alertmanager judges silences by the wall clock
            member = await chat.cluster.add("gamma", session=chat.session, alertmanager_url=manager.url)
            member.runtime.chatops.poller.poll_timeout = 0
            chat.cluster.kill(chat.leader)
            await chat.cluster.run_for(200)
            chat.leader = member
            assert member.runtime.leadership.holds(chat.clock.now())
            incident, _ = await member.runtime.incidents.detect(
                "alert", "LongrunTargetDown", source="alertmanager", severity="P1", reason="target down",
                extra={"labels": LABELS})
            await chat.cluster.run_for(310)  # a reminder, with the buttons
            [reminder] = [m for m in await chat.deliver() if "Reminder" in m.text][:1]
            assert [b["text"] for b in reminder.reply_markup["inline_keyboard"][0]] == [
                "👀 Acknowledge", "✅ Resolve", "🔕 Silence 1 h"]

            chat.telegram.press(ADMIN, reminder, chat.button(reminder, "silence"))
            await chat.poll()

            stored = await chat.incident(incident["incidentId"])
            assert stored["status"] == "open" and stored["silencedBy"] == "@alice"
            silence = await SilenceClient(session, manager.url).get(stored["silenceId"])
            # The fake clock ran ahead of the wall clock (a takeover, a response time): not active yet, but there.
            assert silence["status"]["state"] in ("active", "pending") and silence["createdBy"] == "@alice"
            span = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")) - datetime.fromisoformat(
                silence["startsAt"].replace("Z", "+00:00"))
            assert span.total_seconds() == 3600
            assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
                (k, v, False) for k, v in LABELS.items()}
            [edit] = chat.telegram.edits
            assert "Silenced for 1 h by @alice" in edit.text
    finally:
        manager.stop()
