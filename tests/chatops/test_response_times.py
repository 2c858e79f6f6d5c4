"""Response times end to end: the config field, tsAck/ackSec through the incident service, mttaSec in rollups."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from exporter.clock import FakeClock
from exporter.domain import runtime_config
from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.rollup import compute_rollup
from exporter.domain.slots import day_bounds
from exporter.services.config import ConfigSource
from exporter.services.incidents import LogNotifier, IncidentService
from exporter.store.paths import Paths

DAY = date(2026, 3, 10)
START, END = day_bounds(DAY)


def test_the_config_document_carries_the_runbooks_response_times():
    assert runtime_config.defaults()["responseTimeSec"] == {"P1": 300, "P2": 900, "P3": 3600}
    assert runtime_config.validate(runtime_config.defaults(), runtime_config.defaults()).ok


@pytest.mark.parametrize("value", [0, -1, "5m", True, None, 8 * 86400])
def test_a_patch_with_a_bad_response_time_is_refused_by_name(value):
    result = runtime_config.validate_patch({"responseTimeSec": {"P1": value}}, runtime_config.defaults())
    assert [e for e in result.errors if e.startswith("responseTimeSec.P1:")], result.errors


def test_a_patch_with_a_good_response_time_applies():
    result = runtime_config.validate_patch({"responseTimeSec": {"P2": 120}}, runtime_config.defaults())
    assert result.ok and result.config["responseTimeSec"] == {"P1": 300, "P2": 120, "P3": 3600}


@pytest.fixture
async def service(store):
    clock = FakeClock(START + timedelta(hours=1))
    paths = Paths("wa_metrics/longrun")
    config = ConfigSource(store, paths, runtime_config.defaults(), clock)
    return IncidentService(store, paths, clock, config, LogNotifier())


async def test_acknowledging_records_ts_ack_and_ack_sec_once(service):
    doc, _ = await service.detect("logged_out", "accounts", reason="0 of 3 connected")
    await service.clock.advance(42)
    acked = await service.change(doc["incidentId"], status="acknowledged", owner="@alice")
    assert acked["ackSec"] == 42.0 and acked["tsAck"] == service.clock.now()
    await service.clock.advance(100)
    again = await service.change(doc["incidentId"], status="acknowledged", owner="@bob")
    stored = await service.get(doc["incidentId"])
    assert again["owner"] == "@bob" and stored["ackSec"] == 42.0 and stored["tsAck"] == acked["tsAck"]


async def test_a_person_resolving_an_unacknowledged_incident_answers_it(service):
    doc, _ = await service.detect("logged_out", "accounts", reason="0 of 3 connected")
    await service.clock.advance(90)
    resolved = await service.change(doc["incidentId"], status="resolved", root_cause="re-scanned QR")
    assert resolved["ackSec"] == 90.0 and resolved["mttrSec"] == 90.0


async def test_an_automatic_resolution_records_no_acknowledgement(service):
    await service.detect("logged_out", "accounts", reason="0 of 3 connected")
    await service.clock.advance(90)
    resolved = await service.clear("logged_out", "accounts")
    assert resolved.get("tsAck") is None and resolved.get("ackSec") is None


async def test_the_rollup_reads_incidents_acknowledged_in_the_day(service):
    # Opened the day before, acknowledged in the day, still open at its end: counts for the day's MTTA.
    service.clock = FakeClock(START - timedelta(minutes=10))
    doc, _ = await service.detect("logged_out", "accounts", reason="0 of 3 connected")
    service.clock.set(START + timedelta(minutes=5))
    await service.change(doc["incidentId"], status="acknowledged", owner="@alice")
    found = await _incidents_touching(service, START, END)
    assert [d["ackSec"] for d in found] == [900.0]


async def _incidents_touching(service, start, end):
    from exporter.services.rollups import RollupService
    rollups = RollupService(service.store, service.paths, service.clock, service.config, None, 60)
    return await rollups._incidents_touching(start, end)


def test_rollups_carry_mtta_percentiles_of_the_days_acknowledgements():
    hb = analyze_heartbeats([], START, END, 60)
    incidents = [{"type": "logged_out", "tsStart": START, "tsAck": START + timedelta(minutes=m), "ackSec": m * 60.0}
                 for m in (1, 2, 10)]
    doc = compute_rollup(DAY, hb, [], iter(incidents), interval=60, insufficient_threshold=0.8, commit="c",
                         service_version="v", created_at=END)
    assert doc["mttaSec"] == {"p50": 120.0, "p90": 600.0, "p95": 600.0}
    assert doc["incidentsCount"] == 3  # the generator was read once for both tallies


def test_report_windows_show_mtta_beside_mttr():
    from exporter.domain.report import build_window_report
    from exporter.reports import formatting

    acked = [{"type": "logged_out", "tsStart": START, "tsAck": START + timedelta(seconds=s), "ackSec": float(s)}
             for s in (60, 240)]
    window = build_window_report(7, DAY, [], iter(acked))
    assert window.to_dict()["mttaSec"] == {"p50": 60.0, "p90": 240.0, "p95": 240.0}
    assert window.incidents_count == 2
    assert formatting.mtta(window) == "P50 60 s / P90 240 s / P95 240 s"


def test_the_markdown_report_has_an_mtta_column():
    from types import SimpleNamespace

    from exporter.domain.report import build_window_report
    from exporter.reports.markdown import _summary  # the verdicts table as readers see it

    acked = {"type": "logged_out", "tsStart": START, "tsAck": START + timedelta(seconds=90), "ackSec": 90.0}
    header, _, row = _summary(SimpleNamespace(windows=[build_window_report(7, DAY, [], [acked])]))
    assert "| MTTR | MTTA |" in header and "P50 90 s / P90 90 s / P95 90 s" in row
