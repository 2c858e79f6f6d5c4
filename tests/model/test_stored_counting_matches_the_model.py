"""The same comparison through a real store, on both backends: the rollup service's
day, ``verify``'s scan and the monitor's missed-heartbeat check read what was
written and must still count as the reference model does."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.clock import FakeClock
from exporter.domain import runtime_config
from exporter.jobs.heartbeat import Identity
from exporter.jobs.monitor import MonitorJob
from exporter.reports.gather import scan_heartbeats
from exporter.services.config import ConfigSource
from exporter.services.rollups import RollupService
from exporter.store import Paths, Write
from tests.model.histories import documents, histories
from tests.model.reference import DAY, EPOCH, figures, missed_per_hour_decision, when

SPAN = DAY + 200  # one midnight and the hours around it
KEEP_FROM = DAY - 300  # only the last five hours before it are written, so each example writes little
STORED = settings(max_examples=max(4, int(os.environ.get("LONGRUN_MODEL_EXAMPLES", "40")) // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


async def stored(store, generated) -> Paths:
    paths = Paths(root=f"model/{uuid.uuid4().hex[:12]}")
    docs = [d for d in documents(generated) if d["slotStart"] >= when(KEEP_FROM)]
    writes = [Write("set", paths.heartbeat(d["bucketId"]), d) for d in docs]
    for start in range(0, len(writes), 100):
        await store.batch(writes[start:start + 100])
    return paths


@pytest.mark.slow
@STORED
@given(histories(span=SPAN), st.integers(DAY - 120, SPAN))  # checks on both sides of the midnight
async def test_stored_rollup_verify_and_monitor_match_the_model(store, generated, now_minute):
    history = [(m, mode) for m, mode in generated[0] if m >= KEEP_FROM]
    paths = await stored(store, generated)
    clock = FakeClock(when(now_minute) + timedelta(seconds=10))
    config = ConfigSource(store, paths, runtime_config.defaults(), clock)
    rollups = RollupService(store, paths, clock, config, Identity("model"), 60)

    day = (EPOCH + timedelta(days=1)).date()
    doc = await rollups.compute(day, from_store=True)
    model = figures(history, DAY, 2 * DAY)
    assert (doc["expectedHb"], doc["writtenHb"], doc["maxGapSec"]) == (model.expected, model.written, model.max_gap_sec)
    assert doc["uptimeRatio"] == model.uptime

    scanned = await scan_heartbeats(store, paths, when(now_minute - 60), when(now_minute), 60)
    hour = figures(history, now_minute - 60, now_minute)
    assert (scanned.expected, scanned.written, scanned.max_gap_sec) == (hour.expected, hour.written, hour.max_gap_sec)

    heartbeat = SimpleNamespace(interval=60, state=SimpleNamespace(reconnect_totals_since=lambda since: []))
    monitor = MonitorJob(store, paths, config, None, heartbeat, None, rollups, 3600)
    missed, _ = await monitor._heartbeats(clock.now(), runtime_config.defaults()["alertThresholds"])
    seen = [(m, mode) for m, mode in history if m <= now_minute]  # what was written by then
    expected = missed_per_hour_decision(seen, now_minute)
    assert missed.action == {None: "hold", True: "open", False: "resolve"}[expected]
