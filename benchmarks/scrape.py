"""/metrics latency and throughput, against a bare handler serving the same registry.

Builds a Runtime on a temporary SQLite store with some state (a leader's six
hours of heartbeats, probes, open and resolved incidents), refreshes its
metrics once, and serves it on loopback twice: through the real app
(``create_app``: middleware, router, the client library's aiohttp handler) and through a bare
aiohttp handler returning ``generate_latest`` of the SAME registry, the
baseline. Both are scraped by aiohttp clients, 1 and 50 at a time, in
alternating rounds so drift hits both alike. The goal: /metrics within 1.3x of
the baseline (p50 latency and requests per second).

    python benchmarks/scrape.py [--requests 1000] [--seconds 10] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.clock import FakeClock  # noqa: E402
from exporter.jobs.scheduler import run_together  # noqa: E402
from exporter.runtime import Runtime  # noqa: E402
from exporter.settings import Settings  # noqa: E402
from exporter.store.sqlite import SqliteStore  # noqa: E402
from exporter.web.app import create_app  # noqa: E402

GOAL = 1.3
CONCURRENCY = (1, 50)


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def add(self, other: "Run") -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed


async def build_runtime(tmp: str) -> Runtime:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    settings = Settings(store_url=f"sqlite:///{tmp}/scrape.db", instance_id="bench")
    runtime = Runtime.build(settings, clock=clock, store=SqliteStore(f"{tmp}/scrape.db"))
    await runtime.start()
    await run_together(clock, [runtime.scheduler], clock.now() + timedelta(hours=6))
    await runtime.incidents.detect("probe_fail", "outbound", reason="bench", source="monitor")
    await runtime.incidents.detect("logged_out", "acct-1", reason="bench", source="alertmanager")
    await runtime.incidents.open_manual("missed_heartbeat", reason="bench", ts_start=clock.now() - timedelta(hours=3),
                                        ts_end=clock.now() - timedelta(hours=2))
    for _ in range(3):
        clock.advance_sync(1)
        await runtime.probes.run("outbound")
    return runtime


def bare_app(registry) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    app = web.Application()
    app.router.add_get("/metrics", handler)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
    return runner, f"http://127.0.0.1:{port}/metrics"


async def scrape(url: str, concurrency: int, requests: int, seconds: float) -> Run:
    run = Run()
    remaining = requests
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200
                run.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.elapsed = time.perf_counter() - started
    return run


async def measure(urls: dict[str, str], args: argparse.Namespace) -> dict[tuple[str, int], Run]:
    results = {(name, c): Run() for name in urls for c in CONCURRENCY}
    for concurrency in CONCURRENCY:
        for name, url in urls.items():  # warm-up, not counted
            await scrape(url, concurrency, 100, args.seconds)
        for round_ in range(args.rounds):
            order = list(urls.items()) if round_ % 2 == 0 else list(reversed(urls.items()))
            for name, url in order:  # alternate who goes first, so neither always runs warmer
                results[(name, concurrency)].add(await scrape(url, concurrency, args.requests, args.seconds))
    return results


def report(results: dict[tuple[str, int], Run], body_bytes: int, series: int) -> bool:
    print(f"\n/metrics: {body_bytes:,} bytes, {series} samples per scrape")
    print(f"{'target':10s} {'conc':>4s} {'requests':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s}"
          f" {'p50 x':>6s} {'p99 x':>6s} {'rate x':>6s}")
    met = True
    for concurrency in CONCURRENCY:
        base = results[("baseline", concurrency)]
        for name in ("baseline", "/metrics"):
            run = results[(name, concurrency)]
            ratios = (run.p50 / base.p50, run.p99 / base.p99, base.rate / run.rate)
            print(f"{name:10s} {concurrency:4d} {len(run.latencies):8d} {run.p50 * 1000:8.3f} {run.p99 * 1000:8.3f}"
                  f" {run.rate:8.0f} {ratios[0]:6.2f} {ratios[1]:6.2f} {ratios[2]:6.2f}")
            met = met and ratios[0] <= GOAL and ratios[2] <= GOAL
    print(f"\ngoal: /metrics p50 latency and throughput within {GOAL}x of the baseline: {'MET' if met else 'NOT MET'}")
    return met


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000, help="per target, concurrency and round")
    parser.add_argument("--seconds", type=float, default=10.0, help="time cap per target, concurrency and round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await build_runtime(tmp)
        app = create_app(runtime)
        await runtime.refresh.refresh_once()
        registry = runtime.metrics
        runners = []
        try:
            urls = {}
            for name, served in (("baseline", bare_app(registry)), ("/metrics", app)):
                runner, urls[name] = await serve(served)
                runners.append(runner)
            body = generate_latest(registry)
            series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
            met = report(await measure(urls, args), len(body), series)
        finally:
            for runner in runners:
                await runner.cleanup()
            await runtime.close()
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
