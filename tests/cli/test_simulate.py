"""``exporter.simulate`` (the pure generator) and ``longrun simulate`` (batched writes into any store)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from exporter.cli.simulate import write_documents
from exporter.domain.slots import bucket_id
from exporter.domain.documents import Identity, heartbeat_document
from exporter.simulate import Episode, SimulationSpec, generate, with_random_events
from exporter.store import Paths
from exporter.store.sqlite import SqliteStore
from exporter.target import TargetStatus

DAY = datetime(2026, 3, 9, tzinfo=timezone.utc)
NEXT = DAY + timedelta(days=1)


def at(hours: int, minutes: int = 0) -> datetime:
    return DAY + timedelta(hours=hours, minutes=minutes)


def docs(spec: SimulationSpec, collection: str) -> list[dict]:
    return [doc.data for doc in generate(spec) if doc.collection == collection]


def test_a_quiet_day_has_every_slot_and_every_probe():
    spec = SimulationSpec(DAY, NEXT, seed=3)
    heartbeats, probes = docs(spec, "heartbeats"), docs(spec, "probes")
    assert [hb["bucketId"] for hb in heartbeats] == [bucket_id(DAY + timedelta(minutes=m)) for m in range(1440)]
    assert Counter(p["type"] for p in probes) == {"outbound": 4, "inbound": 4, "queue": 1}
    assert {p["result"] for p in probes} == {"PASS"} and docs(spec, "incidents") == []
    assert all(0 < (hb["ts"] - hb["slotStart"]).total_seconds() < 1 for hb in heartbeats)


def test_heartbeats_have_the_real_document_shape():
    real = heartbeat_document(slot=DAY, written_at=DAY, identity=Identity("i"), generation=1, interval=60,
                              uptime_sec=1, memory_rss=1, target=TargetStatus(up=True))
    simulated = docs(SimulationSpec(DAY, DAY + timedelta(minutes=5)), "heartbeats")[0]
    assert simulated.keys() == real.keys()
    assert simulated["commitHash"] == "simulated" and simulated["targetUp"] is True


def test_the_same_seed_writes_the_same_history_and_another_seed_does_not():
    spec = SimulationSpec(DAY, at(3), seed=7)
    assert list(generate(spec)) == list(generate(spec))
    other = SimulationSpec(DAY, at(3), seed=8)
    assert [d.data["ts"] for d in generate(spec)] != [d.data["ts"] for d in generate(other)]


def test_an_outage_of_whole_minutes_loses_exactly_those_slots_and_restarts():
    spec = SimulationSpec(DAY, NEXT, outages=(Episode(at(10), 45 * 60),))
    heartbeats = docs(spec, "heartbeats")
    assert len(heartbeats) == 1440 - 45
    slots = {hb["slotStart"] for hb in heartbeats}
    assert at(9, 59) in slots and at(10, 0) not in slots and at(10, 44) not in slots and at(10, 45) in slots
    after = next(hb for hb in heartbeats if hb["slotStart"] == at(10, 45))
    before = next(hb for hb in heartbeats if hb["slotStart"] == at(9, 59))
    assert after["instanceId"] != before["instanceId"] and after["generation"] == before["generation"] + 1
    assert after["uptimeSec"] < 1
    [incident] = docs(spec, "incidents")
    assert (incident["type"], incident["severity"], incident["status"]) == ("missed_heartbeat", "P2", "resolved")
    assert (incident["tsStart"], incident["tsEnd"], incident["mttrSec"]) == (at(10), at(10, 45), 2700)


def test_a_probe_whose_slot_starts_in_an_outage_runs_at_the_restart():
    spec = SimulationSpec(DAY, NEXT, outages=(Episode(at(5, 50), 20 * 60),))
    outbound = [p for p in docs(spec, "probes") if p["type"] == "outbound" and p["slotStart"] == at(6)]
    assert len(outbound) == 1 and at(6, 10) < outbound[0]["ts"] < at(6, 11)


def test_target_down_keeps_heartbeats_but_marks_them_down_and_fails_target_probes():
    spec = SimulationSpec(DAY, NEXT, target_down=(Episode(at(11, 50), 20 * 60),))
    down = [hb for hb in docs(spec, "heartbeats") if hb["targetUp"] is False]
    assert len(down) == 20 and down[0]["slotStart"] == at(11, 50) and down[0]["connectedCount"] is None
    failed = {p["type"] for p in docs(spec, "probes") if p["result"] == "FAIL"}
    assert failed == {"inbound"}  # the 12:00 inbound slot; outbound only needs the store
    [incident] = docs(spec, "incidents")
    assert (incident["type"], incident["severity"], incident["mttrSec"]) == ("target_down", "P1", 1200)


def test_two_failures_in_a_row_open_a_probe_incident_until_the_next_pass():
    spec = SimulationSpec(DAY, NEXT, probe_failures=(("queue", at(1)),))
    assert docs(spec, "incidents") == []  # one failure is not a streak
    fails = (("outbound", at(0, 30)), ("outbound", at(6, 30)))
    spec = SimulationSpec(DAY, NEXT, probe_failures=fails)
    probes = [p for p in docs(spec, "probes") if p["type"] == "outbound"]
    [incident] = docs(spec, "incidents")
    assert incident["tsStart"] == probes[0]["ts"] and incident["tsEnd"] == probes[2]["ts"]


def test_an_outage_past_the_end_leaves_its_incident_open():
    spec = SimulationSpec(DAY, at(12), outages=(Episode(at(11, 30), 3600),))
    [incident] = docs(spec, "incidents")
    assert (incident["status"], incident["tsEnd"]) == ("open", None)


def test_random_events_come_from_the_seed():
    spec = SimulationSpec(DAY, DAY + timedelta(days=28), seed=1)
    first, again = with_random_events(spec, 2), with_random_events(spec, 2)
    assert first == again
    events = len(first.outages) + len(first.target_down) + len(first.probe_failures) + len(first.restarts)
    assert events == 8  # 2 a week for 4 weeks
    assert with_random_events(spec, 0) == spec


class CountingStore(SqliteStore):
    def __init__(self, path):
        super().__init__(path)
        self.batches: list[int] = []

    async def batch(self, writes):
        self.batches.append(len(writes))
        await super().batch(writes)


async def test_documents_are_written_in_batches_of_at_most_500(tmp_path):
    store = CountingStore(tmp_path / "s.db")
    spec = SimulationSpec(DAY, NEXT)
    written = await write_documents(store, Paths(), generate(spec), start=DAY, days=1)
    await store.close()
    assert written == {"heartbeats": 1440, "probes": 9}
    assert max(store.batches) == 500 and sum(store.batches) == 1449 and len(store.batches) == 3


@pytest.mark.slow
def test_thirty_days_of_minute_heartbeats_take_seconds_on_sqlite(sqlite_cli):
    began = time.perf_counter()
    summary = sqlite_cli.simulate(days=30, end="2026-03-30", rollups=False)
    elapsed = time.perf_counter() - began
    assert summary["written"]["heartbeats"] == 43_200
    assert elapsed < 60, f"30 days took {elapsed:.1f}s"


def test_simulate_refuses_a_range_that_already_holds_heartbeats(cli):
    cli.simulate(days=1, end="2026-03-09")
    result = cli("simulate", "--days", "1", "--end", "2026-03-09", "--events-per-week", "0")
    assert result.code == 64 and len(result.err_lines) == 1
    assert "the store already holds 1440 heartbeats between 2026-03-09T00:00:00.000Z and 2026-03-10T00:00:00.000Z" in result.err


def test_simulate_writes_rollups_for_the_days_that_are_over(sqlite_cli):
    summary = sqlite_cli.simulate(days=2, end="2026-03-10T12:00:00Z")
    assert summary["rollups"] == ["2026-03-08", "2026-03-09"]  # 2026-03-10 is not over at 12:00
    assert summary["start"] == "2026-03-08T00:00:00.000Z" and summary["end"] == "2026-03-10T12:00:00.000Z"


@pytest.mark.parametrize("flags, named", [
    (["--outage", "2026-03-09T10:00Z"], "START+DURATION"),
    (["--outage", "2026-03-09T10:00Z+forever"], "--outage"),
    (["--probe-fail", "sideways@2026-03-09T10:00Z"], "TYPE@TIME"),
    (["--restart", "soon"], "--restart"),
    (["--end", "2999-01-01"], "in the future"),
])
def test_bad_events_are_usage_errors(sqlite_cli, flags, named):
    result = sqlite_cli("simulate", "--days", "1", *flags)
    assert result.code == 64 and len(result.err_lines) == 1 and named in result.err


def test_a_new_sqlite_store_is_created_by_simulate(sqlite_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("LONGRUN_STORE", f"sqlite:///{tmp_path}/fresh/new.db")
    sqlite_cli.simulate(days=1, end="2026-03-09")
    assert (tmp_path / "fresh" / "new.db").is_file()
