"""Retention: old documents go in bounded batches, open incidents and rollups stay."""

from datetime import datetime, timedelta, timezone

from exporter.clock import FakeClock
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.services.retention import RetentionService
from exporter.store import Paths, Write

PATHS = Paths()
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


async def seed(store, collection: str, ages_days: list[float], **extra) -> None:
    writes = []
    for i, age in enumerate(ages_days):
        ts = NOW - timedelta(days=age)
        data = {"ts": ts, "tsStart": ts, "createdAt": ts, **extra}
        if extra.get("status") == "resolved":
            data["tsEnd"] = ts
        tag = extra.get("status", "x")
        writes.append(Write("create", f"{getattr(PATHS, collection)}/{collection}-{tag}-{i:04d}", data))
    for start in range(0, len(writes), 500):
        await store.batch(writes[start:start + 500])


async def service(store, **retention) -> RetentionService:
    clock = FakeClock(NOW)
    config = ConfigSource(store, PATHS, runtime_config.defaults(), clock)
    await config.ensure()
    if retention:
        await store.update(PATHS.config, {f"retention.{k}": v for k, v in retention.items()})
    return RetentionService(store, PATHS, clock, config, batch_size=50, max_per_collection=10_000)


async def test_documents_past_their_retention_are_deleted_and_the_rest_kept(store):
    await seed(store, "heartbeats", [89.9] * 30 + [90.1] * 120)
    await seed(store, "probes", [179] * 5 + [181] * 7)
    await seed(store, "incidents", [400] * 3, status="resolved")
    await seed(store, "rollups", [1000] * 4)
    retention = await service(store)
    assert await retention.count_due() == {"heartbeats": 120, "probes": 7, "incidents": 3, "outbox": 0}
    deleted = await retention.run()
    assert deleted == {"heartbeats": 120, "probes": 7, "incidents": 3, "outbox": 0}
    assert await store.count(PATHS.heartbeats) == 30
    assert await store.count(PATHS.probes) == 5
    assert await store.count(PATHS.rollups) == 4  # rollups are kept forever by default


async def test_an_open_incident_is_never_deleted_however_old(store):
    await seed(store, "incidents", [500] * 2, status="open")
    await seed(store, "incidents", [500] * 2, status="acknowledged")
    retention = await service(store)
    assert (await retention.run())["incidents"] == 0
    assert await store.count(PATHS.incidents) == 4


async def test_one_run_deletes_at_most_its_bound_and_the_next_run_goes_on(store):
    await seed(store, "heartbeats", [100] * 130)
    retention = await service(store)
    retention.max_per_collection = 100
    assert (await retention.run())["heartbeats"] == 100
    assert (await retention.run())["heartbeats"] == 30
    assert await store.count(PATHS.heartbeats) == 0


async def test_retention_follows_the_config_document(store):
    await seed(store, "heartbeats", [10] * 5)
    await seed(store, "rollups", [10] * 3)
    retention = await service(store, heartbeatsDays=None, rollupsDays=5)
    deleted = await retention.run()
    assert "heartbeats" not in deleted and deleted["rollups"] == 3
    assert await store.count(PATHS.heartbeats) == 5


async def test_old_outbox_messages_go_once_delivered_failed_or_merged_into_a_digest_never_while_pending(store):
    for status in ("sent", "failed", "merged", "pending"):
        await seed(store, "outbox", [8] * 2, status=status)
    retention = await service(store)
    assert (await retention.run())["outbox"] == 6
    assert [d.data["status"] for d in await store.query(PATHS.outbox)] == ["pending", "pending"]


async def test_an_incident_is_kept_by_when_it_ended_not_when_it_started(store):
    long_ago, last_week = NOW - timedelta(days=400), NOW - timedelta(days=7)
    await store.create(f"{PATHS.incidents}/long", {"tsStart": long_ago, "tsEnd": last_week, "status": "resolved"})
    await store.create(f"{PATHS.incidents}/old", {"tsStart": long_ago, "tsEnd": long_ago, "status": "resolved"})
    retention = await service(store)
    assert (await retention.run())["incidents"] == 1
    assert [d.id async for d in store.stream(PATHS.incidents)] == ["long"]
