"""When every longrun instance is down, the page still goes out: Alertmanager sends it to Telegram itself.

The shipped rules mark LongrunExporterDown (every instance down) ``delivery="direct"``;
the shipped Alertmanager config, rendered by ``alertmanager/render-config.sh`` as
compose does, sends such alerts to the fake Bot API through its telegram-direct
receiver as well as to longrun's webhook. longrun, once back, records the
incident but sends no message of its own: the people in the chat read it once.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.conftest import CHAT

ALERT = "LongrunExporterDown"
DIRECT = "Sent by Alertmanager directly"


def direct_messages(telegram, status: str = "") -> list:
    return [m for m in telegram.delivered(CHAT) if DIRECT in m.text and ALERT in m.text and status in m.text]


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_every_instance_down_pages_through_alertmanager_alone_and_longrun_records_it_silently(
        stack, fake_telegram, record_property):
    await stack.settled()
    began = time.monotonic()
    for process in (stack.standby, stack.leader):
        process.signal(signal.SIGTERM)  # releases the lease: the restart below leads at once
        process.wait_exit()

    await stack.eventually(lambda: _firing_p1(stack), 30, f"{ALERT} (P1) firing in Prometheus")
    page, _ = await stack.eventually(lambda: direct_messages(fake_telegram, "FIRING"), 20,
                                        "the page from Alertmanager's telegram-direct receiver")
    assert "Every longrun instance is down" in page[0].text and "(P1 critical)" in page[0].text
    down_for = time.monotonic() - began

    stack.leader.start()
    await stack.eventually(lambda: stack.health(stack.leader, lambda h: h["leader"]), 30, "the leader leading again")
    stack.standby.start()
    resolved, _ = await stack.eventually(lambda: direct_messages(fake_telegram, "RESOLVED"), 30,
                                         "the resolution from Alertmanager")

    # longrun heard it too, after the fact: an incident per instance (one alert each), closed,
    # and no message of its own about them.
    incidents, _ = await stack.eventually(
        lambda: _closed_incidents(stack), 30, f"longrun recording the {ALERT} episodes it could not receive")
    assert {(i["source"], i["severity"], i["labels"]["instance"]) for i in incidents} == {
        ("alertmanager", "P1", f"127.0.0.1:{p.port}") for p in (stack.leader, stack.standby)}
    from_longrun = [m.text for m in fake_telegram.delivered(CHAT) if ALERT in m.text and DIRECT not in m.text]
    assert from_longrun == []
    assert len(direct_messages(fake_telegram, "FIRING")) == 1 and len(resolved) == 1

    record_property("direct_page_after_all_down_s", round(page[0].monotonic - began, 2))
    record_property("longrun_down_s", round(down_for, 2))


async def _firing_p1(stack):
    alert = await stack.firing(ALERT)
    return alert if alert and alert["labels"].get("priority") == "P1" else None


async def _closed_incidents(stack):
    found = [i for i in await stack.incidents() if i.get("alertname") == ALERT]
    return found if len(found) == 2 and all(i["status"] == "resolved" for i in found) else None
