"""Store reads and writes per simulated day, leader plus standby, at default settings.

Runs the real job loop of two instances on one embedded store through a whole
day on a fake clock, with Alertmanager's Watchdog delivered to the leader's
webhook bridge every minute, and counts every call as Firestore would bill it
(``exporter.store.instrumented``). Prints the totals beside the Firestore free
tier (20,000 writes and 50,000 reads a day) for the job loop alone and with
the metrics refresh loop both instances run, and, as the baseline measured in
the same run, the job loop with a standby that polls the lock instead of
watching it. The figures are those of the second day: the first pays
one-offs (the refresh loop's load, the first rollup read from the store).

    python benchmarks/store_cost.py [--days 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.alertmanager.payload import parse_payload  # noqa: E402
from exporter.clock import FakeClock  # noqa: E402
from exporter.jobs.scheduler import run_together  # noqa: E402
from exporter.metrics.refresh import RefreshLoop  # noqa: E402
from exporter.runtime import Runtime  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.store.sqlite import SqliteStore  # noqa: E402

FREE_WRITES, FREE_READS = 20_000, 50_000
GOAL = 3_000


def watchdog_payload(now: datetime) -> dict:
    """Alertmanager's Watchdog notification, as the shipped rules make it fire all the time."""
    return {"version": "4", "status": "firing", "receiver": "longrun", "groupKey": '{}:{alertname="Watchdog"}',
            "groupLabels": {"alertname": "Watchdog"}, "commonLabels": {"alertname": "Watchdog"}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "Watchdog", "severity": "none"}, "annotations": {},
                        "startsAt": (now - timedelta(hours=1)).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus:9090/graph", "fingerprint": "watchdog"}]}


class _WatchdogDriver:
    """Delivers the Watchdog to the leader's webhook bridge every minute, as Alertmanager does."""

    def __init__(self, runtime: Runtime, clock: FakeClock) -> None:
        self.runtime, self.clock = runtime, clock
        self.due = clock.now()
        self.received = 0

    def next_wake(self) -> datetime:
        return self.due

    async def step(self) -> None:
        if self.clock.now() >= self.due:
            await self.runtime.alerts.receive(parse_payload(watchdog_payload(self.clock.now())))
            self.received += 1
            self.due = self.clock.now() + timedelta(seconds=60)

    async def drain(self) -> None:
        return None


class _RefreshDriver:
    """Lets run_together step a metrics RefreshLoop like a scheduler."""

    def __init__(self, loop: RefreshLoop) -> None:
        self.loop = loop

    def next_wake(self) -> datetime:
        return self.loop.next_due()

    async def step(self) -> None:
        await self.loop.refresh_due()

    async def drain(self) -> None:
        return None


async def simulate(days: float, watch: bool, refresh: bool = False, warmup: float = 1.0) -> dict[str, dict[str, int]]:
    """Reads and writes per day of each instance over ``days`` after ``warmup`` days (a first day
    pays one-offs: the refresh loop's load, the first rollup read from the store)."""
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    clock = FakeClock(start)
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = []
        for name in ("leader", "standby"):
            settings = Settings(store_url=f"sqlite:///{tmp}/cost.db", instance_id=name)
            runtime = Runtime.build(settings, clock=clock, store=SqliteStore(f"{tmp}/cost.db"))
            await runtime.start()
            if watch:
                runtime.leadership.start_watching()
            runtimes.append(runtime)
        drivers: list = [r.scheduler for r in runtimes]
        if refresh:
            loops = [RefreshLoop(r) for r in runtimes]
            for loop in loops:
                await loop.refresh_once()  # the one-off load at start, excluded below
            drivers += [_RefreshDriver(loop) for loop in loops]
        drivers.append(_WatchdogDriver(runtimes[0], clock))
        await run_together(clock, drivers, start + timedelta(days=warmup))
        base = {r.identity.instance_id: (r.store.usage.reads, r.store.usage.writes + r.store.usage.deletes) for r in runtimes}
        await run_together(clock, drivers, start + timedelta(days=warmup + days))
        usage = {}
        for runtime in runtimes:
            reads0, writes0 = base[runtime.identity.instance_id]
            u = runtime.store.usage
            usage[runtime.identity.instance_id] = {
                "reads": round((u.reads - reads0) / days),
                "writes": round((u.writes + u.deletes - writes0) / days),
            }
            await runtime.close()
    return usage


def report(title: str, usage: dict[str, dict[str, int]]) -> tuple[int, int]:
    reads = sum(u["reads"] for u in usage.values())
    writes = sum(u["writes"] for u in usage.values())
    print(f"\n{title}")
    for name, u in usage.items():
        print(f"  {name:8s} reads/day {u['reads']:7,d}   writes/day {u['writes']:7,d}")
    print(f"  {'pair':8s} reads/day {reads:7,d}   writes/day {writes:7,d}")
    print(f"  free tier used: reads {reads / FREE_READS:.3f}, writes {writes / FREE_WRITES:.3f}")
    return reads, writes


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    watched = await simulate(args.days, watch=True)
    with_metrics = await simulate(args.days, watch=True, refresh=True)
    polled = await simulate(args.days, watch=False)
    reads, writes = report("job loop (standby watches the lock)", watched)
    all_reads, all_writes = report("job loop + metrics refresh loop on both instances", with_metrics)
    base_reads, base_writes = report("baseline: job loop, standby polls the lock every 5 s", polled)
    print(f"\nratio to baseline, job loop: reads {reads / max(base_reads, 1):.3f}, writes {writes / max(base_writes, 1):.3f}")
    print(f"ratio to baseline, with metrics: reads {all_reads / max(base_reads, 1):.3f}, writes {all_writes / max(base_writes, 1):.3f}")
    ok = all_reads <= GOAL and all_writes <= GOAL
    print(f"goal: at most {GOAL:,} reads and {GOAL:,} writes a day for the pair, refresh loop and the Watchdog's "
          f"deliveries included: {'MET' if ok else 'NOT MET'} (reads {all_reads:,}, writes {all_writes:,})")
    print(f"job loop alone: reads {reads:,}, writes {writes:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
