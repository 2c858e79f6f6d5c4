"""Alerts per second and p99 latency through POST /api/alertmanager, against a no-op handler.

Serves the real route (``alerting.webhook`` over ``AlertBridge``, the incident
service and the outbox, Telegram on with one chat so every group message is
saved) on loopback, on a temporary SQLite store and on the Firestore emulator
(skipped with a message when its jar is missing). Each scenario is also sent
to a bare aiohttp handler that reads the body and answers 200, in the same
run: the baseline. Alertmanager sends one group per request, several groups
at once; so do we (``--concurrency``).

Scenarios (every request a new group, except ``repeat``):
  single      1 alert per request, each its own incident
  shared      50 alerts per request about one problem: one incident per request. The
              shipped rules make groups like this (group_by alertname, incident_type)
  batch       50 alerts per request, each its own incident (unknown alerts, type "alert"):
              the worst case, a new incident document (and its index and pointer) per alert
  repeat      the ``batch`` requests again: retries, repeat_interval, HA duplicates (dedup only)
  storm       one request at a time of 300 alerts, each its own incident: the time to answer
              (Alertmanager gives a webhook call 10 s, longrun answers 503 after 8 s)

Goals (the exit status says whether they were met): 2,000 alerts/s into SQLite with 50
alerts per request, about one problem (``shared``) and each its own incident (``batch``);
a 300-new-incident notification answered within 3 s on the emulator (``storm``, median).
Share the machine with nothing else.

    python benchmarks/webhook.py [--requests 200] [--concurrency 4] [--firestore-requests 20] [--storms 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting import webhook as route  # noqa: E402
from alerting.bridge import AlertBridge  # noqa: E402
from alerting.delivery import TelegramDelivery  # noqa: E402
from benchmarks.emulator import firestore_store  # noqa: E402
from exporter.clock import RealClock  # noqa: E402
from exporter.domain import runtime_config  # noqa: E402
from exporter.services.config import ConfigSource  # noqa: E402
from exporter.services.incidents import IncidentService  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.store.base import DocumentStore  # noqa: E402
from exporter.store.paths import Paths  # noqa: E402
from exporter.store.sqlite import SqliteStore  # noqa: E402
from exporter.server import share_the_gil  # noqa: E402
from exporter.web.app import json_errors  # noqa: E402

TOKEN = "benchmark-token"
GOAL = 2_000
STORM, STORM_GOAL_S = 300, 3.0


# ---------------------------------------------------------------- payloads


def payload(group: str, alerts: int, shared: bool) -> dict[str, Any]:
    starts = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    items = []
    for i in range(alerts):
        labels = ({"alertname": "LongrunStoreDown", "incident_type": "store_down", "severity": "P2",
                   "instance": group, "shard": str(i)} if shared else
                  {"alertname": "BenchAlert", "severity": "P3", "group": group, "i": str(i)})
        items.append({"status": "firing", "labels": labels, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                      "annotations": {"summary": f"alert {i} of {group}", "description": "x" * 200,
                                      "runbook_url": "https://runbooks.example.com/x"},
                      "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"{group}-{i:04d}"})
    return {"version": "4", "groupKey": f"{{}}:{{group=\"{group}\"}}", "truncatedAlerts": 0, "status": "firing",
            "receiver": "longrun", "groupLabels": {"group": group}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": items}


# ---------------------------------------------------------------- servers


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}{route.PATH}"


def bridge_app(store: DocumentStore) -> web.Application:
    clock, paths = RealClock(), Paths("bench/longrun")
    settings = Settings(store_url="sqlite:///unused", webhook_token=TOKEN, telegram_bot_token="1:x",
                        telegram_chat_ids=("42",))
    delivery = TelegramDelivery.from_settings(settings, store, paths, clock, session=None)  # saved, not sent
    incidents = IncidentService(store, paths, clock, ConfigSource(store, paths, runtime_config.defaults(), clock),
                                delivery.notifier)
    app = web.Application(middlewares=[json_errors])
    route.add_routes(app, AlertBridge(incidents, delivery, clock), settings)
    return app


def noop_app() -> web.Application:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "ok"})

    app = web.Application(middlewares=[json_errors])
    app.router.add_post(route.PATH, accept)
    return app


# ---------------------------------------------------------------- load


@dataclass
class Result:
    alerts: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.alerts / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def load(url: str, bodies: list[bytes], alerts_each: int, concurrency: int) -> Result:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []

    async def sender(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(len(bodies) * alerts_each, elapsed, latencies)


async def scenarios(store: DocumentStore, requests: int, concurrency: int, tag: str,
                    storms: int) -> list[tuple[str, Result, Result]]:
    import json

    bridge_runner, bridge_url = await serve(bridge_app(store))
    noop_runner, noop_url = await serve(noop_app())
    plan = [("single", 1, False, requests * 10), ("shared", 50, True, requests), ("batch", 50, False, requests),
            ("storm", STORM, False, storms)]
    rows = []
    try:
        batch_bodies: list[bytes] = []
        for name, size, shared, count in plan:
            bodies = [json.dumps(payload(f"{tag}-{name}-{n}", size, shared)).encode() for n in range(count)]
            if name == "batch":
                batch_bodies = bodies
            at_once = 1 if name == "storm" else concurrency
            baseline = await load(noop_url, bodies, size, at_once)
            measured = await load(bridge_url, bodies, size, at_once)
            rows.append((name, measured, baseline))
        baseline = await load(noop_url, batch_bodies, 50, concurrency)
        rows.append(("repeat", await load(bridge_url, batch_bodies, 50, concurrency), baseline))
    finally:
        await bridge_runner.cleanup()
        await noop_runner.cleanup()
    return rows


def table(backend: str, rows: list[tuple[str, Result, Result]]) -> None:
    print(f"\n{backend}")
    print(f"  {'scenario':9s} {'alerts/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}   "
          f"{'no-op alerts/s':>14s} {'no-op p99':>9s}   {'rate ratio':>10s} {'p99 ratio':>9s}")
    for name, got, base in rows:
        print(f"  {name:9s} {got.rate:9,.0f} {got.p50:8.1f} {got.p99:8.1f}   {base.rate:14,.0f} {base.p99:9.1f}   "
              f"{got.rate / base.rate:10.3f} {got.p99 / base.p99:9.1f}")


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100, help="50-alert requests per scenario (SQLite)")
    parser.add_argument("--firestore-requests", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--storms", type=int, default=3, help="300-alert requests, one at a time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    share_the_gil()  # as longrun run does
    print(f"POST /api/alertmanager, {args.concurrency} requests at a time; rate ratio = route / no-op handler")

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db")
        try:
            sqlite_rows = await scenarios(store, args.requests, args.concurrency, "s", args.storms)
        finally:
            await store.close()
    table("SQLite", sqlite_rows)

    firestore_rows = None
    async with firestore_store() as firestore:
        if firestore is None:
            print("\nFirestore emulator: skipped (install google-cloud-cli-firestore-emulator and a Java runtime)")
        else:
            await warm_up(firestore)
            firestore_rows = await scenarios(firestore, args.firestore_requests, args.concurrency, "f", args.storms)
            table("Firestore emulator", firestore_rows)

    return 0 if verdict(sqlite_rows, firestore_rows) else 1


async def warm_up(store: DocumentStore) -> None:
    """A fresh emulator JVM answers its first calls in seconds: let it compile before anything is timed."""
    from exporter.store.base import StoreError, Write

    for n in range(8):
        try:
            await store.batch([Write("set", f"warmup/w/d{n}/{i}", {"n": i, "x": "y" * 200}) for i in range(200)])
            await store.query(f"warmup/w/d{n}")
        except StoreError as exc:  # too slow still: keep warming
            print(f"  (emulator warm-up: {exc})")


def verdict(sqlite_rows, firestore_rows) -> bool:
    rates = {name: got.rate for name, got, _ in sqlite_rows}
    met = [rates["shared"] >= GOAL, rates["batch"] >= GOAL]
    print(f"\ngoal: {GOAL:,} alerts/s into SQLite at 50 alerts per request: about one problem "
          f"{rates['shared']:,.0f} ({'met' if met[0] else 'NOT met'}), every alert its own incident "
          f"{rates['batch']:,.0f} ({'met' if met[1] else 'NOT met'})")
    if firestore_rows is not None:
        storm = next(got for name, got, _ in firestore_rows if name == "storm")
        met.append(storm.p50 / 1000 <= STORM_GOAL_S)
        print(f"goal: a {STORM}-new-incident notification answered within {STORM_GOAL_S:g} s on the emulator: "
              f"median {storm.p50 / 1000:.2f} s, slowest {max(storm.latencies):.2f} s "
              f"({'met' if met[-1] else 'NOT met'})")
    return all(met)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
