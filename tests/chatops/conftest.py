"""Chat-ops fixtures: a fake-clock cluster of real Runtimes wired to the fake Bot API, on both backends.

    async def test_x(chat):                              # chat.leader is leading, Telegram configured
        incident = await chat.open_p1()
        message = await chat.opened()                    # the outbox sent it to the fake Bot API
        chat.telegram.press(ADMIN, message, chat.button(message, "ack"))
        await chat.poll()                                # the leader's getUpdates and its handling
"""

from __future__ import annotations

from datetime import datetime, timezone

import asyncio

import aiohttp
import pytest

from exporter.clock import FakeClock
from exporter.settings import Settings
from tests.jobs.cluster import Cluster, Member

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ALERT_CHAT = "-1001"
ESCALATION_CHAT = "-1009"
ADMIN = {"id": 111, "is_bot": False, "first_name": "Alice", "username": "alice"}
ADMIN_NO_USERNAME = {"id": 112, "is_bot": False, "first_name": "Bo", "last_name": "Ng"}
STRANGER = {"id": 999, "is_bot": False, "first_name": "Mallory", "username": "mallory"}


class ChatCluster:
    def __init__(self, cluster: Cluster, telegram, session) -> None:
        self.cluster, self.telegram, self.session = cluster, telegram, session
        self.clock: FakeClock = cluster.clock
        self.leader: Member | None = None

    async def add(self, name: str) -> Member:
        member = await self.cluster.add(name, session=self.session)
        member.runtime.chatops.poller.poll_timeout = 0  # tests push updates before polling
        return member

    async def open_p1(self, subject: str = "accounts"):
        doc, _ = await self.leader.runtime.incidents.detect("logged_out", subject, reason="0 of 3 accounts connected")
        return doc

    async def deliver(self, member: Member | None = None):
        """Run the outbox worker once; the messages delivered by this pass."""
        before = len(self.telegram.delivered())
        worker = (member or self.leader).runtime.telegram.worker
        delivering = asyncio.ensure_future(worker.run_once())
        while not delivering.done():  # the pacer waits between two messages to one chat, on the fake clock
            deadline = self.clock.next_deadline()
            if deadline is None:
                await asyncio.sleep(0.005)
            else:
                await self.clock.advance((deadline - self.clock.now()).total_seconds())
        await delivering
        return self.telegram.delivered()[before:]

    async def opened(self, incident_type: str = "logged_out"):
        """Deliver the outbox; the "Incident opened" message of ``incident_type`` in the alert chat."""
        found = [m for m in await self.deliver()
                 if "Incident opened" in m.text and incident_type in m.text and m.chat_id == ALERT_CHAT]
        assert len(found) == 1, [m.text for m in self.telegram.delivered()]
        return found[0]

    async def poll(self, member: Member | None = None) -> int:
        return await (member or self.leader).runtime.chatops.poller.poll_once()

    def button(self, message, action: str) -> str:
        labels = {"ack": "Acknowledge", "resolve": "Resolve", "silence": "Silence"}
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if labels[action] in button["text"]:
                    return button["callback_data"]
        raise AssertionError(f"no {action} button on {message.text!r}")

    async def incident(self, incident_id: str):
        return await self.leader.runtime.incidents.get(incident_id)


@pytest.fixture
async def chat(store_factory, fake_telegram):
    clock = FakeClock(START)
    fake_telegram.clock = clock
    settings = Settings(
        store_url="sqlite:///unused", instance_id="unset", telegram_bot_token=fake_telegram.token,
        telegram_chat_ids=(ALERT_CHAT,), telegram_api_base=fake_telegram.api_base, telegram_timeout=2.0,
        telegram_admin_ids=(str(ADMIN["id"]), str(ADMIN_NO_USERNAME["id"])),
        telegram_escalation_chat_id=ESCALATION_CHAT,
    )
    async with aiohttp.ClientSession() as session:
        group = ChatCluster(Cluster(clock, settings, store_factory), fake_telegram, session)
        group.leader = await group.add("alpha")
        await group.cluster.run_for(1)
        assert group.leader.runtime.leadership.holds(clock.now())
        yield group
