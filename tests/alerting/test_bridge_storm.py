"""A storm of new incidents in one notification: stored in a few batched calls, on both stores, safely."""

from __future__ import annotations

import gc
import warnings
from collections import Counter

from alerting.dedup import entry_id
from alerting.alertmanager.payload import parse_payload
from exporter.domain.incidents import open_key
from exporter.services.incidents import Opening
from exporter.store.instrumented import InstrumentedStore
from tests.alerting.builders import alert, webhook
from tests.alerting.conftest_bridge import FailAfterWrites, make_bridge  # noqa: F401


SLOW_STORE = 60.0  # the webhook's deadline here: a cold emulator on a busy machine takes seconds a batch


def storm(n: int, *, status: str = "firing", start: int = 0) -> dict:
    """One notification of ``n`` alerts, each about its own problem (its own incident)."""
    return webhook(*[alert(i, status=status, labels={"alertname": "StormAlert", "severity": "warning",
                                                     "pod": f"pod-{i:05d}"}, fingerprint=f"{i:016x}")
                     for i in range(start, start + n)])


async def test_three_hundred_new_incidents_take_a_handful_of_store_calls_not_seven_each(store, make_bridge, clock):
    counted = InstrumentedStore(store, clock)
    bridge = await make_bridge(on=counted, deadline=SLOW_STORE)
    assert (await bridge.post(storm(100, start=5_000))).status == 200  # warms a cold emulator up
    counted.usage.calls.clear()

    response = await bridge.post(storm(300))

    assert response.status == 200, await response.text()
    body = await response.json()
    assert len(body["incidents"]) == 300 and body["verdicts"] == {"new_firing": 300}
    calls = sum(counted.usage.calls.values())
    assert calls <= 12, counted.usage.calls  # was about 2,100 (seven per incident)
    incidents = [d for d in await bridge.incidents_stored() if int(d["labels"]["pod"][4:]) < 5_000]
    assert len(incidents) == 300
    for doc in incidents:
        assert doc["status"] == "open" and doc["source"] == "alertmanager" and len(doc["alerts"]) == 1
        assert doc["labels"]["pod"].startswith("pod-") and doc["notified"]  # saved, then announced
    keys = await store.get_many([bridge.paths.incident_key(d["openKey"]) for d in incidents])
    assert all(k is not None and k.data["incidentId"] for k in keys.values())
    assert bridge.incidents.counters.opened == {"alertmanager": 400}


async def test_the_storm_again_is_a_duplicate_read_in_bulk_and_its_resolution_closes_every_incident(
        store, make_bridge, clock):
    counted = InstrumentedStore(store, clock)
    bridge = await make_bridge(on=counted, deadline=SLOW_STORE)
    assert (await bridge.post(storm(120))).status == 200
    counted.usage.calls.clear()

    again = await bridge.post(storm(120))  # a retry, a repeat_interval re-send, the HA peer
    repeat_calls = sum(counted.usage.calls.values())
    resolved = await bridge.post(storm(120, status="resolved"))

    assert (await again.json())["verdicts"] == {"duplicate": 120}
    assert repeat_calls <= 3, counted.usage.calls  # two batched reads and the outbox's: was 240 reads
    assert (await resolved.json())["verdicts"] == {"resolves": 120}
    incidents = await bridge.incidents_stored()
    assert len(incidents) == 120 and Counter(d["status"] for d in incidents) == {"resolved": 120}
    resolved_again = await bridge.post(storm(120, status="resolved"))
    assert (await resolved_again.json())["verdicts"] == {"stale": 120}  # the episodes already ended


async def test_an_incident_opened_meanwhile_by_someone_else_is_joined_not_opened_twice(store, make_bridge, clock):
    opener: list = []

    class OpensBetweenReadAndWrite(FailAfterWrites):
        """After the bridge's first batched read, the monitor opens the incident of pod 7."""

        async def get_many(self, paths):
            found = await super().get_many(paths)
            if opener:
                await opener.pop()()
            return found

    bridge = await make_bridge(on=OpensBetweenReadAndWrite(store), deadline=SLOW_STORE)
    target = bridge.bridge.mapping.target(parse_payload(storm(8)).alerts[7].labels)
    opener.append(lambda: bridge.incidents.detect(target.type, target.subject, reason="seen by the monitor"))

    response = await bridge.post(storm(8))

    assert response.status == 200, await response.text()
    incidents = await bridge.incidents_stored()
    assert len(incidents) == 8  # the batch was refused, each of its incidents then opened the careful way
    [joined] = [d for d in incidents if d["subject"] == target.subject]
    assert joined["source"] == "monitor" and len(joined["alerts"]) == 1


async def test_open_many_refuses_a_batch_whose_index_already_exists(store, make_bridge, clock):
    bridge = await make_bridge()
    now = clock.now()
    await store.set(bridge.paths.incident_key(open_key("alert", "b")), {"incidentId": "x", "type": "alert",
                                                                         "subject": "b"})

    opened, refused = await bridge.incidents.open_many([Opening("alert", s, now, source="test") for s in "abc"])

    assert opened == [] and [o.subject for o in refused] == ["a", "b", "c"]
    assert await bridge.incidents_stored() == []


async def test_a_notification_cut_short_by_the_deadline_leaves_no_coroutine_unawaited(make_bridge):
    bridge = await make_bridge(deadline=SLOW_STORE)
    assert (await bridge.post(storm(60))).status == 200  # sixty open incidents: the next alerts join them
    slow = await make_bridge(on=bridge.store.inner, deadline=0.3)
    slow.store.stall()
    joining = webhook(*[alert(i, labels={"alertname": "StormAlert", "severity": "warning", "pod": f"pod-{i:05d}"},
                              fingerprint=f"{i:016x}", starts_at="2026-03-01T11:55:00Z") for i in range(60)])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await slow.post(joining)
        slow.store.resume()
        gc.collect()

    assert response.status == 503
    assert not [w for w in caught if "never awaited" in str(w.message)], [str(w.message) for w in caught]
    again = await bridge.post(joining)  # Alertmanager retries: all of it lands
    assert again.status == 200, await again.text()
    incidents = await bridge.incidents_stored()
    assert len(incidents) == 60 and all(len(d["alerts"]) == 2 for d in incidents)
    assert {entry_id(a) for a in parse_payload(joining).alerts} <= {k for d in incidents for k in d["alerts"]}
