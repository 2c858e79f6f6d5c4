"""A webhook flood and 50 scrapers at once against a real ``longrun run``: every answer right, nothing lost.

The flood (``tests/resilience/loadgen.py``, also behind ``benchmarks/load.py``)
sends Alertmanager notifications back to back from 8 senders: new groups,
repeats, half and full resolutions, HA duplicates sent twice at once. Meanwhile
50 clients scrape /metrics every second and /health, the status page and the
admin incident list are read every second. Telegram is on (a fake Bot API),
so every notification is also saved in the outbox.

Behaviour only: speed and memory are the benchmark's. The figures recorded
here (latency percentiles, RSS) are for the README; the one memory check is a
leak guard far above anything measured.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.fake_telegram import FakeTelegram
from tests.process.processes import LongrunProcess
from tests.resilience.conftest import FAST, StoreUnderTest, firestore_store, sqlite_store
from tests.resilience.loadgen import Audit, Flood, Phase, client_session, read_back, run_phase
from tests.resilience.loadwatch import READ_PATHS, Scrapers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TOKEN = "load-test-token"
IDLE_SECONDS = 3.0
FLOOD_SECONDS = 12.0
# A slow store (the emulator on a busy machine) gets more time: enough notifications that every path shows.
MIN_REQUESTS, MAX_SECONDS = 200, 90.0
SCRAPERS = 50
LEAK_GUARD_BYTES = 200 * 1024 * 1024  # growth during the flood; measured: 4-13 MB


@dataclass
class Outcome:
    idle: Phase
    flood: Phase
    audit: Audit
    alive: bool
    log: str


async def flood_process(store: StoreUnderTest, tmp: Path) -> Outcome:
    telegram = FakeTelegram()
    await telegram.start()
    env = {**FAST, **store.env, "LONGRUN_REFRESH_INTERVAL": "2s", "LONGRUN_WEBHOOK_TOKEN": TOKEN,
           "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_CHAT_ID": "42", "TELEGRAM_API_BASE": telegram.api_base}
    process = LongrunProcess("loaded", env, tmp).start()
    try:
        await asyncio.to_thread(process.wait_for, lambda h: h["leader"] is True, 60, "the process leading")
        async with client_session() as session:
            scrapers = Scrapers(session, process.url, count=SCRAPERS, interval=1.0)
            idle = await run_phase(IDLE_SECONDS, scrapers, process.proc.pid)
            flood = Flood(session, process.url, TOKEN, rate=None, senders=8)
            flooded = await run_phase(FLOOD_SECONDS, scrapers, process.proc.pid, flood,
                                      min_requests=MIN_REQUESTS, max_seconds=MAX_SECONDS)
        audit, alive = await read_back(flood, store.opener, process)
        return Outcome(idle, flooded, audit, alive, process.log()[-3000:])
    finally:
        process.stop()
        await telegram.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, str]:
    """One flood per backend, shared by the tests of this module (each asserts one behaviour of it)."""
    tmp = tmp_path_factory.mktemp(f"load-{request.param}")
    if request.param == "sqlite":
        store = sqlite_store(tmp / "longrun.db")
    else:
        emulator = request.getfixturevalue("firestore_emulator")
        emulator.start()  # in case an earlier test stopped it
        store = firestore_store(emulator)
    return asyncio.run(flood_process(store, tmp)), store.kind


def test_every_webhook_call_is_answered_2xx_during_the_flood(loaded):
    outcome, _ = loaded
    flood = outcome.flood.flood
    assert flood.requests >= MIN_REQUESTS, f"the flood hardly ran: {flood.requests} requests in {MAX_SECONDS} s"
    assert not flood.latencies.errors(), f"webhook answers other than 2xx: {dict(flood.latencies.errors())}\n{outcome.log}"
    assert flood.kinds["new"] and flood.kinds["repeat"] and flood.kinds["resolve"], dict(flood.kinds)


def test_every_scrape_is_200_and_a_well_formed_exposition(loaded):
    outcome, _ = loaded
    for phase in (outcome.idle, outcome.flood):
        metrics = phase.scrapes.path("/metrics")
        assert metrics.count >= SCRAPERS, f"only {metrics.count} scrapes in {phase.seconds:.1f} s"
        assert not metrics.errors(), f"/metrics answered {dict(metrics.errors())}"
        assert not phase.scrapes.malformed, phase.scrapes.malformed[:3]
        assert len(phase.scrapes.samples) == metrics.count
        for path in READ_PATHS:
            reads = phase.scrapes.path(path.split("?")[0])
            assert reads.count and not reads.errors(), f"{path} answered {dict(reads.statuses)}"


def test_every_alert_lands_on_exactly_one_incident(loaded):
    audit = loaded[0].audit
    assert audit.alerts >= 100, f"only {audit.alerts} alerts acknowledged"
    assert audit.lost == [], audit.problems()
    assert audit.duplicated == [] and audit.split == [], audit.problems()
    assert audit.stored_incidents == audit.expected_incidents, audit.problems()


def test_resolutions_close_their_incidents_and_firing_ones_stay_open(loaded):
    audit = loaded[0].audit
    assert audit.resolved_incidents > 0, "no group was resolved: the flood proves nothing about closing"
    assert audit.not_resolved == [], audit.problems()
    assert audit.not_open == [], audit.problems()


def test_the_process_survives_the_flood_with_bounded_memory(loaded, figures):
    outcome, backend = loaded
    assert outcome.alive, outcome.log
    flood, rss = outcome.flood.flood, outcome.flood.rss
    seconds = round(outcome.flood.seconds, 1)
    assert rss.peak - rss.start < LEAK_GUARD_BYTES, f"RSS grew {(rss.peak - rss.start) / 1e6:.0f} MB in {seconds} s"
    labels = {"backend": backend, "scrapers": SCRAPERS, "seconds": seconds}
    figures.record("load_webhook_requests_per_s", flood.requests / outcome.flood.seconds, "1/s", **labels)
    figures.record("load_alerts_per_s", flood.alerts_sent / outcome.flood.seconds, "1/s", **labels)
    for name, value in flood.latencies.summary().items():
        figures.record(f"load_webhook_{name}_ms", value, "ms", **labels)
    for phase_name, phase in (("idle", outcome.idle), ("flood", outcome.flood)):
        summary = phase.scrapes.path("/metrics").summary()
        for name in ("p50", "p99"):
            figures.record(f"load_scrape_{name}_ms", summary[name], "ms", phase=phase_name, **labels)
    for name, value in (("start", rss.start), ("peak", rss.peak), ("end", rss.end)):
        figures.record(f"load_rss_{name}_mb", value / 1e6, "MB", **labels)
