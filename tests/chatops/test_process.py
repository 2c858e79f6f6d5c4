"""The whole chat-ops flow through ``longrun run`` as a real process, against the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from tests.chatops.conftest import ADMIN
from tests.fixtures.fake_telegram import Received
from tests.process.processes import LongrunProcess
from tests import support

CHAT, ESCALATION = "-1001", "-1009"
ADMIN_TOKEN = "admin-token-3f9a1c7e5b2d4a6c8e0f"


async def eventually(check, timeout: float, what: str, process: LongrunProcess):
    def died() -> str | None:
        return f"longrun exited:\n{process.log()[-3000:]}" if process.proc.poll() is not None else None

    def log_tail() -> str:
        return "\n".join(l for l in process.log().splitlines() if "heartbeat" not in l.lower())[-6000:]

    return await support.eventually(check, within=timeout, what=what, every=0.1, stop_if=died, explain=log_tail)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_buttons_reminders_and_status_through_a_real_longrun_run(fake_telegram, tmp_path):
    env = {
        "LONGRUN_STORE": f"sqlite:///{tmp_path / 'longrun.db'}", "LONGRUN_HEARTBEAT_INTERVAL": "1s",
        "LONGRUN_LEASE": "10s", "LONGRUN_RENEW": "3s", "LONGRUN_REFRESH_INTERVAL": "1s",
        "LONGRUN_ADMIN_TOKEN": ADMIN_TOKEN, "TELEGRAM_BOT_TOKEN": fake_telegram.token, "TELEGRAM_CHAT_ID": CHAT,
        "TELEGRAM_API_BASE": fake_telegram.api_base, "TELEGRAM_ADMIN_IDS": str(ADMIN["id"]),
        "TELEGRAM_ESCALATION_CHAT_ID": ESCALATION,
    }
    process = LongrunProcess("solo", env, tmp_path).start()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    api = f"{process.url}/api/admin/longrun"
    try:
        async with aiohttp.ClientSession() as session:
            async def health():
                try:
                    async with session.get(f"{process.url}/health") as response:
                        return (await response.json())["leader"] is True
                except (aiohttp.ClientError, ValueError, KeyError):
                    return False

            await eventually(health, 30, "leadership", process)
            async with session.patch(f"{api}/config", json={"responseTimeSec": {"P1": 8}}, headers=auth) as response:
                assert response.status == 200, await response.text()
            async with session.patch(f"{api}/config", json={"responseTimeSec": {"P1": 0}}, headers=auth) as response:
                assert response.status == 400 and "responseTimeSec.P1" in await response.text()
            now = datetime.now(timezone.utc) - timedelta(seconds=1)
            body = {"type": "logged_out", "reason": "0 of 3 accounts connected", "severity": "P1",
                    "tsStart": now.isoformat().replace("+00:00", "Z")}
            async with session.post(f"{api}/incidents", json=body, headers=auth) as response:
                assert response.status in (200, 201), await response.text()
                answer = await response.json()
                incident_id = answer.get("incident", answer)["incidentId"]

            async def delivered(word, chat=CHAT):
                return [m for m in fake_telegram.delivered(chat) if word in m.text]

            [opened] = await eventually(lambda: delivered("Incident opened"), 20, "the opened message", process)
            assert opened.reply_markup is not None
            # The reminder job reads the config and the open incidents at most once a minute (the edit above
            # applies from its next read), then ticks every 10 s: the first reminder is the latest owed.
            reminder: Received = (await eventually(lambda: delivered("Reminder ", ESCALATION), 90,
                                                   "a reminder in the escalation chat", process))[0]
            assert "P1" in reminder.text and reminder.reply_markup is not None

            fake_telegram.press(ADMIN, opened, next(b["callback_data"] for b in
                                                    opened.reply_markup["inline_keyboard"][0] if "Ack" in b["text"]))
            fake_telegram.command(ADMIN, CHAT, "/status")

            async def acked():
                async with session.get(f"{api}/incidents", headers=auth) as response:
                    docs = (await response.json())["incidents"]
                return [d for d in docs if d["incidentId"] == incident_id and d["status"] == "acknowledged"]

            [doc] = await eventually(acked, 30, "the acknowledgement", process)
            assert doc["owner"] == "@alice" and doc["ackSec"] > 0
            await eventually(lambda: _ready(fake_telegram.edits), 10, "the edited message", process)
            assert "Acknowledged by @alice" in fake_telegram.edits[0].text
            assert any("Acknowledged by @alice" in a.text for a in fake_telegram.answers)
            status = await eventually(lambda: _ready([b for m, b in fake_telegram.calls if m == "sendMessage"
                                                      and b["text"].startswith("<b>longrun status")]),
                                      15, "the /status answer", process)
            assert "Leader: solo" in status[0]["text"]

            async def ack_metric():
                async with session.get(f"{process.url}/metrics") as response:
                    text = await response.text()
                return 'longrun_incident_ack_seconds_count{severity="P1"} 1.0' in text

            await eventually(ack_metric, 20, "the ack histogram", process)
            reminders = len(await delivered("Reminder"))
            await asyncio.sleep(12)  # past the next response time and tick: no reminder after the acknowledgement
            assert len(await delivered("Reminder")) == reminders
        assert "setWebhook" not in {m for m, _ in fake_telegram.calls}
    finally:
        process.stop()
    log = process.log()
    assert fake_telegram.token not in log and fake_telegram.token.split(":")[1] not in log


async def _ready(value):
    return value
