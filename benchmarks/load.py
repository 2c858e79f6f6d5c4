"""A webhook flood and 50 scrapers at once against a real ``longrun run`` process: latency, memory, nothing lost.

Starts ``longrun run`` (SQLite in a temporary directory, or ``--backend
firestore`` on the emulator) with a webhook token and Telegram on against a
fake Bot API on loopback, so every notification is also saved in the outbox.
Then, per mode:

  warm-up   3 s of scrapers, not counted
  idle      the scrapers alone (``--idle-seconds``): the baseline
  flood     the scrapers and an Alertmanager-shaped flood (``--seconds``): new groups,
            repeats (the dedup path), half and full resolutions, HA duplicates
            (see tests/resilience/loadgen.py)

Modes: ``realistic`` sends ``--rate`` notifications a second; ``max`` sends them
back to back from ``--senders`` concurrent senders. The scrapers are 50 clients
each scraping /metrics every ``--scrape-interval`` seconds, plus one reader each
of /health, the status page and the admin incident list, every second.

Printed: webhook requests and alerts per second, p50/p95/p99/max latency of the
webhook and of each path, errors by status, the process's RSS (sampled every
second: start of the flood, peak, end, and the slope over its last half), and
the ratios against the baseline of the same run: scrape latency flood/idle and
RSS end/start. Then the store is read back: every acknowledged alert must be on
exactly one incident (lost 0, duplicated 0), resolved groups' incidents closed.
The exit status is 1 when an alert was lost or doubled, a request got a 5xx, or
the process died.

The refresh loop runs every 5 s here (``--refresh-interval``; 60 s by default)
and heartbeats every second, so that the background work a flood adds shows within a minute.

    python benchmarks/load.py [--seconds 60] [--modes realistic,max] [--rate 20] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.store.base import DocumentStore  # noqa: E402
from exporter.store.firestore import FirestoreStore  # noqa: E402
from exporter.store.sqlite import SqliteStore  # noqa: E402
from tests.fixtures.fake_telegram import FakeTelegram  # noqa: E402
from tests.fixtures.stores import FirestoreEmulator, find_emulator_jar  # noqa: E402
from tests.process.processes import LongrunProcess  # noqa: E402
from tests.resilience.loadgen import Audit, Flood, Phase, client_session, read_back, run_phase  # noqa: E402
from tests.resilience.loadwatch import Scrapers  # noqa: E402

TOKEN = "load-benchmark-token"
WARM_UP = 3.0
ENV = {
    "LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "3s", "LONGRUN_RENEW": "1s",
    "LONGRUN_STANDBY_POLL": "500ms", "LONGRUN_WEBHOOK_TOKEN": TOKEN,
    "TELEGRAM_CHAT_ID": "42",
}


@dataclass
class Backend:
    """Where the process keeps its data: its environment, and a way to open the same store here."""

    name: str
    env: dict[str, str]
    open: Callable[[], DocumentStore]


@contextlib.asynccontextmanager
async def backend(kind: str, tmp: Path) -> AsyncIterator[Backend | None]:
    if kind == "sqlite":
        path = tmp / "load.db"
        yield Backend("SQLite", {"LONGRUN_STORE": f"sqlite:///{path}"}, lambda: SqliteStore(path))
        return
    jar = find_emulator_jar()
    if jar is None:
        yield None
        return
    emulator = FirestoreEmulator(jar, tmp / "emulator.log")
    await asyncio.to_thread(emulator.start)
    try:
        project = emulator.new_project()
        yield Backend("Firestore emulator", {"LONGRUN_STORE": f"firestore://{project}",
                                             "FIRESTORE_EMULATOR_HOST": emulator.address},
                      lambda: FirestoreStore.from_settings(emulator.settings(project)))
    finally:
        emulator.stop()


@dataclass
class ModeResult:
    mode: str
    idle: Phase
    flood: Phase
    audit: Audit
    alive: bool
    log_tail: str


async def run_mode(mode: str, store: Backend, tmp: Path, args: argparse.Namespace) -> ModeResult:
    telegram = FakeTelegram()
    await telegram.start()
    env = {**ENV, **store.env, "LONGRUN_REFRESH_INTERVAL": args.refresh_interval, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE": telegram.api_base}
    process = LongrunProcess(f"load-{mode}", env, tmp).start()
    try:
        await asyncio.to_thread(process.wait_for, lambda h: h["leader"] is True, 60, "the process leading")
        async with client_session() as session:
            scrapers = Scrapers(session, process.url, count=args.scrapers, interval=args.scrape_interval)
            await run_phase(WARM_UP, scrapers, process.proc.pid)
            idle = await run_phase(args.idle_seconds, scrapers, process.proc.pid)
            flood = Flood(session, process.url, TOKEN, rate=None if mode == "max" else args.rate,
                          senders=args.senders, prefix=f"{mode}")
            flooded = await run_phase(args.seconds, scrapers, process.proc.pid, flood)
        audit, alive = await read_back(flood, store.open, process)
        return ModeResult(mode, idle, flooded, audit, alive, process.log()[-2000:])
    finally:
        process.stop()
        await telegram.close()


# ---------------------------------------------------------------- the table


def ms(value: float) -> str:
    return f"{'-':>8s}" if math.isnan(value) else f"{value:8.1f}"


def errors_text(statuses) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items(), key=str)) or "none"


def report(backend_name: str, result: ModeResult, args: argparse.Namespace) -> bool:
    flood, idle, phase = result.flood.flood, result.idle, result.flood
    assert flood is not None
    mb = 1e6
    rate = f"back to back, {args.senders} senders" if result.mode == "max" else f"{args.rate:g}/s"
    print(f"\n{backend_name}, {result.mode} ({rate}), flood {phase.seconds:.0f} s, idle baseline {idle.seconds:.0f} s")
    print(f"  webhook: {flood.requests:,} requests ({flood.requests / phase.seconds:,.1f}/s) carrying "
          f"{flood.alerts_sent:,} alerts ({flood.alerts_sent / phase.seconds:,.1f}/s); notifications "
          + ", ".join(f"{kind} {n:,}" for kind, n in sorted(flood.kinds.items()))
          + (f"; {flood.behind} ticks skipped (64 in flight)" if flood.behind else ""))
    print(f"  {'':34s} {'requests':>9s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}  errors")
    rows = [("POST /api/alertmanager", flood.latencies)]
    for path in sorted(set(phase.scrapes.by_path) | set(idle.scrapes.by_path), key=lambda p: (p != "/metrics", p)):
        shown = path.replace("/api/admin/longrun", "admin")
        rows.append((f"GET {shown}  idle", idle.scrapes.path(path)))
        rows.append((f"GET {shown}  flood", phase.scrapes.path(path)))
    for name, lat in rows:
        s = lat.summary()
        print(f"  {name:34s} {lat.count:9,d} {ms(s['p50'])} {ms(s['p95'])} {ms(s['p99'])} {ms(s['max'])}  "
              f"{errors_text(lat.errors())}")
    idle_m, flood_m = idle.scrapes.path("/metrics").summary(), phase.scrapes.path("/metrics").summary()
    rss = phase.rss
    slope = rss.slope_mb_per_min()
    print(f"  RSS: idle {idle.rss.start / mb:.1f} MB; flood start {rss.start / mb:.1f} MB, peak {rss.peak / mb:.1f} MB, "
          f"end {rss.end / mb:.1f} MB; slope over the last half {slope:+.1f} MB/min ({len(rss.points)} samples)")
    malformed = len(idle.scrapes.malformed) + len(phase.scrapes.malformed)
    samples = phase.scrapes.samples
    print(f"  /metrics bodies: {len(samples) + len(idle.scrapes.samples):,} parsed, {malformed} malformed; "
          f"samples per scrape {min(samples, default=0)}..{max(samples, default=0)}")
    audit = result.audit
    print(f"  store: {audit.alerts:,} distinct alerts acknowledged -> {audit.stored_incidents:,} incidents stored "
          f"(expected {audit.expected_incidents:,}), {audit.resolved_incidents:,} resolved; "
          f"lost {len(audit.lost)}, duplicated {len(audit.duplicated)}, split {len(audit.split)}, "
          f"left open {len(audit.not_resolved)}, closed early {len(audit.not_open)}")
    print(f"  ratios: /metrics p50 flood/idle {flood_m['p50'] / idle_m['p50']:.2f}x, "
          f"p99 {flood_m['p99'] / idle_m['p99']:.2f}x; RSS end/start {rss.end / rss.start:.2f}x, "
          f"peak/start {rss.peak / rss.start:.2f}x")
    five = sum(n for lat in [flood.latencies, *phase.scrapes.by_path.values(), *idle.scrapes.by_path.values()]
               for status, n in lat.statuses.items() if isinstance(status, int) and status >= 500)
    ok = audit.ok and five == 0 and result.alive and malformed == 0
    if not result.alive:
        print(f"  the process DIED:\n{result.log_tail}")
    print(f"  verdict: {'OK' if ok else 'FAILED'} (5xx: {five}, process alive: {result.alive})"
          + ("" if audit.ok else f"; {audit.problems()}"))
    return ok


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="flood phase, per mode")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="the scrapers alone: the baseline")
    parser.add_argument("--modes", default="realistic,max", help="realistic, max, or both (comma-separated)")
    parser.add_argument("--rate", type=float, default=20.0, help="notifications per second in the realistic mode")
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders in the max mode")
    parser.add_argument("--scrapers", type=int, default=50)
    parser.add_argument("--scrape-interval", type=float, default=1.0, help="seconds between one scraper's scrapes")
    parser.add_argument("--refresh-interval", default="5s", help="LONGRUN_REFRESH_INTERVAL of the process")
    parser.add_argument("--backend", choices=("sqlite", "firestore"), default="sqlite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    print(f"longrun run under load: {args.scrapers} scrapers every {args.scrape_interval:g} s + /health, / and "
          f"the admin incident list every 1 s; Telegram on (fake Bot API); ratios against the idle baseline")
    started, ok = time.perf_counter(), True
    for mode in modes:
        with tempfile.TemporaryDirectory() as tmp:
            async with backend(args.backend, Path(tmp)) as store:
                if store is None:
                    print("\nFirestore emulator: skipped (install google-cloud-cli-firestore-emulator and a Java runtime)")
                    return 0
                ok = report(store.name, await run_mode(mode, store, Path(tmp), args), args) and ok
    print(f"\n{time.perf_counter() - started:.0f} s in all; {'every alert on exactly one incident, no 5xx' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
