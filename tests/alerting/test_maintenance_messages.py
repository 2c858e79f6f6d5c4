"""The Telegram messages of a maintenance window, as the chat sees them (the fake Bot API checks the HTML)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp

from exporter.clock import FakeClock
from exporter.runtime import Runtime
from exporter.settings import Settings
from tests.fixtures.fake_telegram import check_telegram_html

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
CHAT = "-1001234567890"


async def test_one_message_when_a_window_starts_and_one_when_it_ends(store, fake_telegram):
    clock = FakeClock(T0)
    settings = Settings(store_url="sqlite:///unused", instance_id="a", telegram_bot_token=fake_telegram.token,
                        telegram_chat_ids=(CHAT,), telegram_api_base=fake_telegram.api_base)
    async with aiohttp.ClientSession() as session:
        runtime = Runtime.build(settings, clock=clock, store=store, session=session)
        maintenance, worker = runtime.maintenance, runtime.telegram.worker

        doc = await maintenance.add(T0 + timedelta(minutes=5), T0 + timedelta(minutes=35),
                                    "deploy <0.3> & migrate", created_by="cli:ana")
        await worker.run_once()
        assert fake_telegram.delivered() == []                  # planned: nothing yet
        for minute in range(1, 40):                             # the leader's job, every minute
            clock.set(T0 + timedelta(minutes=minute))
            await maintenance.reconcile(clock.now())
            await worker.run_once()

    seen = [check_telegram_html(m.text) for m in fake_telegram.delivered(CHAT)]
    assert [problem for problem, _ in seen] == [None, None]
    texts = [visible for _, visible in seen]
    assert all("deploy &lt;0.3&gt; &amp; migrate" in m.text for m in fake_telegram.delivered(CHAT))
    assert texts == [  # the fake shows each HTML entity as one character, "x"
        "🔧 Maintenance started: deploy x0.3x x migrate\n"
        "until 2026-03-01 08:35 UTC (30 min), by cli:ana\n"
        "Planned work: longrun pages nobody for it and leaves it out of uptime and coverage.\n"
        f"{doc['id']}",
        "✅ Maintenance over: deploy x0.3x x migrate\n"
        "2026-03-01 08:05 UTC – 2026-03-01 08:35 UTC (30 min), ended as planned. Alerts page again.\n"
        f"{doc['id']}",
    ]
