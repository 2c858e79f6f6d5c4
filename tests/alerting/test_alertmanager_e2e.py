"""The real Alertmanager binary delivering to the webhook on loopback: its retry, then its resolution.

Alertmanager retries a webhook answered 5xx; the first delivery here meets a
failing store (503), the retry lands exactly one incident and one message.
Then the alert is posted again with endsAt in the past: Alertmanager sends the
resolution and the incident closes with tsEnd = endsAt and mttrSec.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from alerting import webhook as route
from alerting.alertmanager.payload import parse_rfc3339
from tests.alerting.conftest_bridge import CHAT, TOKEN, make_bridge  # noqa: F401
from tests.fixtures.alertmanager import Alertmanager, alertmanager_binary  # noqa: F401
from tests.support import eventually, iso

pytestmark = pytest.mark.slow


@pytest.mark.timeout(60)
async def test_alertmanager_retries_a_503_into_one_incident_and_one_message_then_resolves_it(
        alertmanager_binary, make_bridge, tmp_path):
    harness = await make_bridge()
    harness.clock.set(datetime.now(timezone.utc))  # a real Alertmanager stamps real times: start the fake clock there
    answers: list[str] = []
    receive = harness.bridge.receive

    async def first_delivery_meets_a_failing_store(payload):
        harness.clock.set(harness.clock.now() + timedelta(seconds=1))  # the harness clock is fake: move it
        try:
            receipt = await receive(payload)
        except Exception:
            answers.append("503")
            raise
        finally:
            harness.store.fail_after(None)  # the store is back for Alertmanager's retry
        answers.append(f"200 {payload.status}")
        return receipt

    harness.bridge.receive = first_delivery_meets_a_failing_store
    harness.store.fail_after(0)
    manager = Alertmanager(tmp_path, str(harness.client.server.make_url(route.PATH)), TOKEN)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    alert = {"labels": {"alertname": "LongrunReconnectLoop", "incident_type": "reconnect_loop", "severity": "P2",
                        "job": "longrun"},
             "annotations": {"summary": "14 reconnects in the last hour",
                             "runbook_url": "https://runbooks.example.com/longrun#incident-types"},
             "startsAt": iso(now - timedelta(seconds=90)), "endsAt": iso(now + timedelta(hours=1)),
             "generatorURL": "http://prometheus:9090/graph?g0.expr=reconnects"}
    try:
        async with aiohttp.ClientSession() as session:
            await manager.ready(session)
            await manager.post(session, [alert])

            async def stored_after_a_retry() -> bool:
                return "200 firing" in answers and len(await harness.incidents_stored()) == 1

            await eventually(stored_after_a_retry, within=15, what=f"no incident after Alertmanager's retry; answers {answers}", every=0.1)
            assert answers[0] == "503"
            incident = await harness.only_incident()
            assert (incident["type"], incident["subject"], incident["status"]) == ("reconnect_loop", "target", "open")
            assert incident["tsStart"] == now - timedelta(seconds=90)
            assert len(await harness.outbox()) == 1

            ended = now - timedelta(seconds=1)
            await manager.post(session, [{**alert, "endsAt": iso(ended)}])

            async def resolved() -> bool:
                return "200 resolved" in answers

            await eventually(resolved, within=15, what=f"the resolution did not arrive; answers {answers}", every=0.1)
    finally:
        manager.stop()

    incident = await harness.only_incident()
    assert parse_rfc3339(iso(incident["tsEnd"]), "tsEnd") == ended and incident["mttrSec"] == 89.0
    assert answers.count("503") == 1 and answers[-1] == "200 resolved"
    await harness.deliver()
    sent = harness.fake_telegram.delivered(CHAT)
    assert len(sent) == 2 and "FIRING" in sent[0].text and "RESOLVED" in sent[1].text
