"""Heartbeats: one aligned document per slot, written once, never backfilled."""

import random
from datetime import date, timedelta

import aiohttp
import pytest
from aiohttp import web

from exporter.domain.slots import parse_bucket_id, slot_start
from tests.jobs.cluster import heartbeats

ROOT = "wa_metrics/longrun"


async def test_first_heartbeat_is_written_at_start_not_an_interval_later(cluster, store, clock):
    clock.advance_sync(17.25)  # start mid-slot
    await cluster.add("a")
    await cluster.run_for(1)
    docs = await heartbeats(store, ROOT)
    assert [d.id for d in docs] == ["2026-03-01T00-00-00"]
    assert docs[0].get("driftSec") == pytest.approx(17.25)


@pytest.mark.slow  # a simulated day or two: seconds on SQLite, minutes on the emulator
async def test_minute_slots_stay_aligned_across_a_day_with_jitter(cluster, store):
    rng = random.Random(7)
    cluster.jitter = lambda: rng.uniform(0, 2.5)  # every wake-up up to 2.5 s late
    await cluster.add("a")
    await cluster.run_for(86400)
    docs = await heartbeats(store, ROOT)
    assert len(docs) == 1441  # 00:00 of day one through 00:00 of day two
    for doc in docs:
        slot = parse_bucket_id(doc.id)
        assert slot.second == 0 and slot.microsecond == 0
        assert slot == slot_start(doc.get("ts"), 60)
        assert 0 <= doc.get("driftSec") <= 2.5
    assert doc.get("tsIso").endswith("Z") and len(doc.get("tsIso")) == 24


async def test_restart_inside_a_slot_does_not_duplicate_it(cluster, store):
    a = await cluster.add("a")
    await cluster.run_for(70)  # slots 00:00 and 00:01 written
    await cluster.stop(a)
    await cluster.run_for(15)
    await cluster.add("a-restarted")
    await cluster.run_for(1)
    docs = await heartbeats(store, ROOT)
    assert [d.id for d in docs] == ["2026-03-01T00-00-00", "2026-03-01T00-01-00"]
    assert cluster.members[1].runtime.heartbeat.state.skipped_existing == 1


async def test_missed_slots_are_never_backfilled(cluster, store):
    a = await cluster.add("a")
    await cluster.run_for(120)
    a.store.down = True
    await cluster.run_for(300)
    a.store.down = False
    await cluster.run_for(300)
    slots = [parse_bucket_id(d.id) for d in await heartbeats(store, ROOT)]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(slots, slots[1:])]
    assert max(gaps) >= 240, "the outage must show as a gap"
    assert len(slots) == len(set(slots))
    assert slots[-1] == cluster.clock.now().replace(second=0, microsecond=0)


async def test_heartbeat_without_target_has_null_counts_and_no_target_up(cluster, store):
    await cluster.add("a")
    await cluster.run_for(1)
    doc = (await heartbeats(store, ROOT))[0]
    assert "targetUp" not in doc.data
    for key in ("connectedCount", "reconnectingCount", "needsQrCount", "queueDepth"):
        assert doc.data[key] is None
    for key in ("ts", "tsIso", "bucketId", "commitHash", "serviceVersion", "instanceId", "deploymentId",
                "uptimeSec", "memoryRss", "expectedIntervalSec", "driftSec", "generation"):
        assert key in doc.data, key
    assert doc.get("memoryRss") > 1_000_000


@pytest.mark.parametrize(
    "answer, expected",
    [
        ({"connectedCount": 3, "reconnectingCount": 1, "needsQrCount": 0, "queueDepth": 12},
         {"targetUp": True, "connectedCount": 3, "reconnectingCount": 1, "needsQrCount": 0, "queueDepth": 12}),
        ("not json", {"targetUp": False, "connectedCount": None, "targetError": "answered with invalid JSON"}),
        (503, {"targetUp": False, "targetError": "HTTP 503"}),
    ],
    ids=["healthy", "garbage", "http-503"],
)
async def test_heartbeat_records_what_the_target_reports(cluster, store, aiohttp_server, answer, expected):
    async def status(request):
        if isinstance(answer, int):
            return web.Response(status=answer)
        if isinstance(answer, str):
            return web.Response(text=answer)
        return web.json_response(answer)

    app = web.Application()
    app.router.add_get("/status", status)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        await cluster.add("a", session=session, target_url=str(server.make_url("/status")), target_timeout=2.0)
        await cluster.run_for(1)
    doc = (await heartbeats(store, ROOT))[0]
    for key, value in expected.items():
        assert doc.data.get(key) == value, key


@pytest.mark.slow  # a simulated day or two: seconds on SQLite, minutes on the emulator
async def test_a_day_led_throughout_rolls_up_from_the_leaders_record_exactly_as_from_the_store(cluster, store):
    await cluster.add("a")
    await cluster.run_until(cluster.clock.now() + timedelta(days=2, minutes=1))
    stored = (await store.get(f"{ROOT}/rollups/2026-03-02")).data
    assert stored["heartbeatSource"] == "leader-record"  # led from day one: no read-back
    leader = cluster.members[0].runtime
    reread = await leader.rollups.compute(date(2026, 3, 2), from_store=True)
    assert reread["heartbeatSource"] == "store"
    for key in ("expectedHb", "writtenHb", "missedHb", "uptimePct", "maxGapSec", "restarts", "largestGaps", "unknownMinutes"):
        assert stored[key] == reread[key], key



@pytest.mark.slow  # a simulated day or two: seconds on SQLite, minutes on the emulator
async def test_a_leader_that_started_mid_day_reads_that_day_from_the_store(cluster, store, clock):
    clock.advance_sync(3600)
    await cluster.add("a")
    await cluster.run_until(cluster.clock.now() + timedelta(days=1))
    assert (await store.get(f"{ROOT}/rollups/2026-03-01")).get("heartbeatSource") == "store"


@pytest.mark.slow  # a simulated day or two: seconds on SQLite, minutes on the emulator
async def test_a_heartbeat_write_of_unknown_outcome_makes_the_rollup_read_the_store(cluster, store):
    a = await cluster.add("a")
    await cluster.run_until(cluster.clock.now() + timedelta(days=1, hours=12))
    a.store.fail_writes_under = f"{ROOT}/heartbeats"
    await cluster.run_for(61)
    a.store.fail_writes_under = None
    await cluster.run_until(parse_bucket_id("2026-03-03T00-01-00"))
    assert (await store.get(f"{ROOT}/rollups/2026-03-02")).get("heartbeatSource") == "store"
