"""Incident changes into the outbox: one message per announced change per chat, never twice."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from alerting.notifier import TelegramNotifier, announces, dedup_key
from alerting.outbox import ChatRoutes, Outbox
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService
from exporter.store.base import StoreUnavailable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def notifier(faulty_store, paths, clock):
    woken = []
    notifier = TelegramNotifier(Outbox(faulty_store, paths, clock), ChatRoutes(["-100", "42"]), lambda: woken.append(1))
    notifier.woken = woken
    return notifier


async def saved(store, paths):
    return [d.data for d in await store.query(paths.outbox)]


def doc(changes, notified=(), **fields):
    return {"incidentId": "inc-1", "type": "reconnect_loop", "severity": "P2", "status": "open", "tsStart": NOW,
            "source": "monitor", "changes": list(changes), "notified": {k: NOW for k in notified}, **fields}


@pytest.mark.parametrize("incident, change, expected", [
    ({"source": "monitor"}, "opened", True),
    ({"source": "manual"}, "opened", True),
    ({"source": "alertmanager"}, "opened", False),
    ({"source": "alertmanager", "resolvedBy": "monitor"}, "resolved", True),
    ({"source": "monitor", "resolvedBy": "alertmanager"}, "resolved", False),
    ({"source": "alertmanager"}, "escalated", True),
    ({"source": "alertmanager"}, "acknowledged", True),
])
def test_what_alertmanager_announced_in_its_group_message_is_not_announced_again(incident, change, expected):
    assert announces(incident, change) is expected


async def test_a_change_is_saved_once_per_chat_under_its_dedup_key(notifier, faulty_store, paths):
    for _ in range(3):
        await notifier.incident_changed(doc(["opened"]), "opened")

    messages = await saved(faulty_store, paths)
    assert sorted(m["chatId"] for m in messages) == ["-100", "42"]
    assert {m["dedupKey"] for m in messages} == {dedup_key("inc-1", 0, "opened")} == {"incident:inc-1:0:opened"}
    assert "Incident opened" in messages[0]["text"] and notifier.woken


async def test_two_pending_changes_of_one_kind_are_announced_by_one_message_of_the_current_state(
        notifier, faulty_store, paths):
    incident = doc(["opened", "escalated", "acknowledged", "escalated"], notified=["0:opened", "2:acknowledged"],
                   severity="P1")
    await notifier.incident_changed(incident, "escalated")
    await notifier.incident_changed(incident, "escalated")  # the service asks once per recorded change

    messages = await saved(faulty_store, paths)
    assert {m["dedupKey"] for m in messages} == {"incident:inc-1:1:escalated"} and len(messages) == 2  # two chats
    assert "P1" in messages[0]["text"]


async def test_without_chats_nothing_is_saved(faulty_store, paths, clock):
    notifier = TelegramNotifier(Outbox(faulty_store, paths, clock), ChatRoutes([]))
    await notifier.incident_changed(doc(["opened"]), "opened")
    assert await saved(faulty_store, paths) == []


async def test_a_failed_save_is_retried_by_the_service_under_the_same_key(notifier, faulty_store, paths, clock):
    service = IncidentService(faulty_store, paths, clock, ConfigSource(faulty_store, paths, runtime_config.defaults(),
                                                                       clock), notifier)
    incident, _ = await service.detect("reconnect_loop", "target", reason="12 reconnects", source="monitor")
    faulty_store.down = True
    with pytest.raises(StoreUnavailable):
        await service.clear("reconnect_loop", "target", source="monitor")
    faulty_store.down = False
    # The resolution was not saved either (the store was down for the transaction): nothing to announce yet.
    await service.redeliver(incident["incidentId"])
    assert len(await saved(faulty_store, paths)) == 2

    await service.clear("reconnect_loop", "target", source="monitor")
    await service.redeliver(incident["incidentId"])

    keys = sorted(m["dedupKey"] for m in await saved(faulty_store, paths))
    assert keys == ["incident:" + incident["incidentId"] + k for k in
                    (":0:opened", ":0:opened", ":1:resolved", ":1:resolved")]
