"""Rollup and retention over a day of 1,440 and of 86,400 heartbeats, on each backend.

The 1,440-heartbeat day (60 s interval) is the baseline measured in the same
run; the 86,400 day (1 s interval) should cost about 60x the time (linear) and
about the same peak memory (the rollup streams pages, it never holds the day).

    python benchmarks/rollup.py [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.emulator import firestore_store  # noqa: E402
from exporter.clock import FakeClock  # noqa: E402
from exporter.domain import runtime_config  # noqa: E402
from exporter.domain.documents import Identity, heartbeat_document  # noqa: E402
from exporter.services.config import ConfigSource  # noqa: E402
from exporter.services.retention import RetentionService  # noqa: E402
from exporter.services.rollups import RollupService  # noqa: E402
from exporter.store import Paths, Write  # noqa: E402
from exporter.store.sqlite import SqliteStore  # noqa: E402

DAY = date(2026, 3, 1)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
PATHS = Paths()


async def fill(store, interval: float) -> int:
    identity = Identity("bench", "d", "c", "v")
    writes, n = [], 0
    slot = START
    while slot < START + timedelta(days=1):
        doc = heartbeat_document(slot=slot, written_at=slot + timedelta(milliseconds=5), identity=identity, generation=1,
                                 interval=interval, uptime_sec=n * interval, memory_rss=1, target=None)
        writes.append(Write("create", PATHS.heartbeat(doc["bucketId"]), doc))
        n += 1
        if len(writes) == 500:
            await store.batch(writes)
            writes = []
        slot += timedelta(seconds=interval)
    if writes:
        await store.batch(writes)
    return n


async def measure(store, interval: float) -> dict[str, float]:
    n = await fill(store, interval)
    clock = FakeClock(START + timedelta(days=1, minutes=1))
    config = ConfigSource(store, PATHS, runtime_config.defaults(heartbeat_interval=interval), clock)
    await config.ensure()
    rollups = RollupService(store, PATHS, clock, config, Identity("bench"), interval)

    tracemalloc.start()
    started = time.perf_counter()
    doc, _ = await rollups.run_day(DAY)
    rollup_s = time.perf_counter() - started
    _, rollup_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert doc["writtenHb"] == n, (doc["writtenHb"], n)

    await store.update(PATHS.config, {"retention.heartbeatsDays": 1})
    clock.set(START + timedelta(days=2, hours=1))
    retention = RetentionService(store, PATHS, clock, config, batch_size=500, max_per_collection=10**6)
    tracemalloc.start()
    started = time.perf_counter()
    deleted = await retention.run()
    retention_s = time.perf_counter() - started
    _, retention_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert deleted["heartbeats"] == n
    return {"n": n, "rollup_s": rollup_s, "rollup_mb": rollup_peak / 2**20, "retention_s": retention_s, "retention_mb": retention_peak / 2**20}


async def run_backend(name: str) -> list[dict[str, float]] | None:
    rows = []
    for interval in (60.0, 1.0):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                store = SqliteStore(f"{tmp}/bench.db")
                rows.append(await measure(store, interval))
                await store.close()
        else:
            async with firestore_store() as store:
                if store is None:
                    return None
                rows.append(await measure(store, interval))
    return rows


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,firestore")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"{'backend':10s} {'heartbeats':>10s} {'rollup s':>9s} {'peak MB':>8s} {'retention s':>12s} {'peak MB':>8s}")
    for backend in args.backends.split(","):
        rows = await run_backend(backend)
        if rows is None:
            print(f"{backend:10s} skipped: Firestore emulator jar not found")
            continue
        for row in rows:
            print(f"{backend:10s} {row['n']:>10,d} {row['rollup_s']:>9.2f} {row['rollup_mb']:>8.1f} {row['retention_s']:>12.2f} {row['retention_mb']:>8.1f}")
        small, big = rows
        print(f"{backend:10s} ratio 86,400 / 1,440 (60 = linear): rollup time {big['rollup_s'] / small['rollup_s']:.1f}x, "
              f"retention time {big['retention_s'] / small['retention_s']:.1f}x, rollup peak memory {big['rollup_mb'] / small['rollup_mb']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
