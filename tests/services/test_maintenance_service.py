"""The maintenance service on both backends: documents, silences (and their retries), announcements, reads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerting.alertmanager.silences import SilenceError, parse_matchers
from exporter.clock import FakeClock
from exporter.domain.maintenance import WindowError
from exporter.services.maintenance import MaintenanceService
from exporter.store import NotFound, Paths

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
MATCHERS = parse_matchers('alertname=~"Longrun.+"')


class FakeSilences:
    """Alertmanager's silence API as the service uses it; ``down`` makes every call fail as unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.created: list[dict] = []
        self.expired: list[str] = []

    async def create(self, matchers, starts_at, ends_at, *, comment, created_by="longrun"):
        if self.down:
            raise SilenceError("Alertmanager at http://am unreachable (ClientConnectorError)")
        self.created.append({"matchers": matchers, "startsAt": starts_at, "endsAt": ends_at, "comment": comment,
                             "createdBy": created_by})
        return f"sil-{len(self.created)}"

    async def expire(self, silence_id):
        if self.down:
            raise SilenceError("Alertmanager at http://am unreachable (ClientConnectorError)")
        self.expired.append(silence_id)
        return True


class Announcements:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, key, texts):
        self.sent.extend((key, text) for text in texts)
        return len(texts)


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def parts(store, clock):
    silences, telegram = FakeSilences(), Announcements()
    tokens = iter(f"t{n}" for n in range(100))
    service = MaintenanceService(store, Paths(), clock, silences=silences, matchers=MATCHERS, telegram=telegram,
                                 token=lambda: next(tokens))
    return service, silences, telegram


async def test_start_records_the_window_silences_it_and_announces_it(parts, store, clock):
    service, silences, telegram = parts
    doc = await service.start(timedelta(minutes=30), "deploy 0.3", created_by="cli:ana")
    stored = (await store.get(Paths().maintenance(doc["id"]))).data
    assert doc["id"] == "mw-20260301T0800-t0"
    for key in ("id", "start", "end", "reason", "createdBy", "createdAt", "endedAt", "silenceIds"):
        assert stored[key] == doc[key], key
    assert (stored["start"], stored["end"], stored["reason"], stored["createdBy"]) == (
        T0, T0 + timedelta(minutes=30), "deploy 0.3", "cli:ana")
    assert stored["silenceIds"] == ["sil-1"] and stored["endedAt"] is None
    assert silences.created == [{"matchers": MATCHERS, "startsAt": T0, "endsAt": T0 + timedelta(minutes=30),
                                 "comment": "deploy 0.3", "createdBy": "longrun"}]
    assert [key for key, _ in telegram.sent] == [f"maintenance:{doc['id']}:start"]
    assert "Maintenance started" in telegram.sent[0][1] and "deploy 0.3" in telegram.sent[0][1]


async def test_ending_early_expires_the_silence_and_announces_the_end_once(parts, clock):
    service, silences, telegram = parts
    doc = await service.start(timedelta(minutes=30), "deploy", created_by="cli:ana")
    clock.set(T0 + timedelta(minutes=12))
    ended = await service.end(doc["id"], ended_by="admin")
    assert (ended["endedAt"], ended["endedBy"]) == (T0 + timedelta(minutes=12), "admin")
    assert silences.expired == ["sil-1"]
    await service.reconcile(T0 + timedelta(minutes=13))           # nothing more to do
    assert [key.rsplit(":", 1)[1] for key, _ in telegram.sent] == ["start", "end"]
    assert "ended early" in telegram.sent[1][1]
    with pytest.raises(WindowError) as over:
        await service.end(doc["id"], ended_by="admin")
    assert over.value.field == "id"
    with pytest.raises(NotFound):
        await service.end("mw-nope", ended_by="admin")


async def test_an_unreachable_alertmanager_still_records_the_window_and_is_retried_until_it_ends(parts, clock, caplog):
    service, silences, telegram = parts
    silences.down = True
    doc = await service.start(timedelta(minutes=10), "deploy", created_by="cli:ana")
    assert doc["silenceIds"] == [] and "unreachable" in doc["silenceError"]
    for minute in (1, 2, 3):
        await service.reconcile(T0 + timedelta(minutes=minute))
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and doc["id"] in r.getMessage()]
    assert len(warnings) == 1 and "retries every minute until the window ends" in warnings[0].getMessage()
    assert service.stats.failures == 4

    silences.down = False
    clock.set(T0 + timedelta(minutes=4))
    await service.reconcile(clock.now())
    stored = await service.get(doc["id"])
    assert stored["silenceIds"] == ["sil-1"] and stored["silenceError"] is None
    assert silences.created[0]["startsAt"] == T0 + timedelta(minutes=4)   # the rest of the window only
    assert silences.created[0]["endsAt"] == T0 + timedelta(minutes=10)


async def test_no_silence_is_retried_once_the_window_is_over(parts):
    service, silences, _ = parts
    silences.down = True
    await service.start(timedelta(minutes=10), "deploy", created_by="cli:ana")
    silences.down = False
    await service.reconcile(T0 + timedelta(minutes=11))
    assert silences.created == []


async def test_an_expiry_that_failed_is_retried(parts, clock):
    service, silences, _ = parts
    doc = await service.start(timedelta(minutes=30), "deploy", created_by="cli:ana")
    clock.set(T0 + timedelta(minutes=5))
    silences.down = True
    ended = await service.end(doc["id"], ended_by="admin")
    assert ended["endedAt"] == clock.now() and silences.expired == []
    silences.down = False
    await service.reconcile(T0 + timedelta(minutes=6))
    assert silences.expired == ["sil-1"]
    assert (await service.get(doc["id"]))["silencesExpiredAt"] == T0 + timedelta(minutes=6)


async def test_a_planned_window_is_announced_when_it_starts_and_when_it_ends(parts):
    service, silences, telegram = parts
    doc = await service.add(T0 + timedelta(hours=2), T0 + timedelta(hours=3), "db upgrade", created_by="admin")
    assert silences.created[0]["startsAt"] == T0 + timedelta(hours=2)      # Alertmanager holds it pending
    await service.reconcile(T0 + timedelta(hours=1))
    assert telegram.sent == []
    await service.reconcile(T0 + timedelta(hours=2, seconds=30))
    await service.reconcile(T0 + timedelta(hours=2, minutes=1))
    await service.reconcile(T0 + timedelta(hours=3))
    await service.reconcile(T0 + timedelta(hours=3, minutes=1))
    assert [key for key, _ in telegram.sent] == [f"maintenance:{doc['id']}:start", f"maintenance:{doc['id']}:end"]
    assert "ended as planned" in telegram.sent[1][1]


async def test_a_past_window_gets_one_message_and_no_silence(parts):
    service, silences, telegram = parts
    await service.add(T0 - timedelta(hours=3), T0 - timedelta(hours=2), "forgot to announce", created_by="admin")
    await service.reconcile(T0)
    assert silences.created == []
    assert len(telegram.sent) == 1 and "recorded" in telegram.sent[0][1]


async def test_cancelling_a_planned_window_sends_nothing_and_counts_nothing(parts):
    service, silences, telegram = parts
    doc = await service.add(T0 + timedelta(hours=2), T0 + timedelta(hours=3), "maybe", created_by="admin")
    await service.end(doc["id"], ended_by="admin")
    assert silences.expired == ["sil-1"] and telegram.sent == []
    assert not await service.spans(T0, T0 + timedelta(hours=4))


async def test_reads_list_newest_first_merge_spans_and_find_the_active_window(parts):
    service, _, _ = parts
    a = await service.add(T0 - timedelta(hours=1), T0 + timedelta(minutes=30), "a", created_by="admin")
    b = await service.add(T0 + timedelta(minutes=10), T0 + timedelta(hours=1), "b", created_by="admin")
    c = await service.add(T0 - timedelta(days=6), T0 - timedelta(days=5), "old", created_by="admin")
    assert [d["id"] for d in await service.list()] == [b["id"], a["id"], c["id"]]
    spans = await service.spans(T0, T0 + timedelta(hours=2))
    assert spans.spans == ((T0 - timedelta(hours=1), T0 + timedelta(hours=1)),)
    assert [w.id for w in await service.active(T0 + timedelta(minutes=20))] == [b["id"], a["id"]]
    assert (await service.spans(T0 - timedelta(days=5, hours=12), T0 - timedelta(days=5, hours=6))).spans


async def test_bad_windows_are_refused_and_nothing_is_stored(parts, store):
    service, silences, _ = parts
    for start, end, reason, field in [
        (T0, T0 - timedelta(minutes=1), "x", "until"),
        (T0, T0 + timedelta(days=8), "x", "until"),
        (T0, T0 + timedelta(hours=1), "  ", "reason"),
    ]:
        with pytest.raises(WindowError) as caught:
            await service.add(start, end, reason, created_by="admin")
        assert caught.value.field == field
    assert await store.query(Paths().maintenance_windows) == [] and silences.created == []


async def test_the_leader_reconciles_at_window_edges_and_every_15_minutes_when_nothing_waits(parts):
    service, silences, telegram = parts
    assert service.next_reconcile(T0, 60, 900) == T0 + timedelta(minutes=1)  # nothing read yet: read soon
    await service.reconcile(T0)
    assert service.next_reconcile(T0, 60, 900) == T0 + timedelta(minutes=15)  # no window: one read a quarter hour
    doc = await service.add(T0 + timedelta(minutes=40), T0 + timedelta(hours=2), "db upgrade", created_by="admin")
    await service.reconcile(T0 + timedelta(minutes=30))
    assert service.next_reconcile(T0 + timedelta(minutes=30), 60, 900) == T0 + timedelta(minutes=40)  # its start
    await service.reconcile(T0 + timedelta(minutes=40))
    assert [key for key, _ in telegram.sent] == [f"maintenance:{doc['id']}:start"]
    assert service.next_reconcile(T0 + timedelta(minutes=40), 60, 900) == T0 + timedelta(minutes=55)
    await service.reconcile(T0 + timedelta(hours=1, minutes=55))
    assert service.next_reconcile(T0 + timedelta(hours=1, minutes=55), 60, 900) == T0 + timedelta(hours=2)  # its end


async def test_a_window_waiting_for_its_silence_is_reconciled_every_minute(parts):
    service, silences, _ = parts
    silences.down = True
    await service.add(T0, T0 + timedelta(hours=1), "deploy", created_by="admin")
    await service.reconcile(T0 + timedelta(minutes=1))
    assert service.next_reconcile(T0 + timedelta(minutes=1), 60, 900) == T0 + timedelta(minutes=2)
    silences.down = False
    await service.reconcile(T0 + timedelta(minutes=2))
    assert service.next_reconcile(T0 + timedelta(minutes=2), 60, 900) == T0 + timedelta(minutes=17)
