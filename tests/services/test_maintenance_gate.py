"""The monitor's incidents through the maintenance gate, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from exporter.clock import FakeClock
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService, LogNotifier
from exporter.services.maintenance import MaintenanceService
from exporter.services.maintenance_gate import MaintenanceGate
from exporter.store import Paths

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def parts(store):
    clock = FakeClock(at(0))
    paths = Paths()
    incidents = IncidentService(store, paths, clock, ConfigSource(store, paths, runtime_config.defaults(), clock), LogNotifier())
    maintenance = MaintenanceService(store, paths, clock)
    await maintenance.add(at(0), at(30), "deploy", created_by="admin")
    return clock, incidents, MaintenanceGate(incidents, maintenance.spans, clock)


async def open_incidents(incidents):
    return [(d["type"], d["tsStart"]) for d in await incidents.list(status=["open"])]


async def test_a_problem_inside_the_window_opens_nothing(parts):
    clock, incidents, gate = parts
    clock.set(at(20))
    doc, change = await gate.detect("missed_heartbeat", "heartbeat", reason="5 missed", at=at(5),
                                    details={"until": at(10).isoformat()}, source="monitor")
    assert (doc, change) == (None, "held") and gate.held == 1
    _, change = await gate.detect("probe_fail", "outbound", reason="3 failures", at=at(12), source="monitor")
    assert change == "held"                                        # still going, but the window still runs
    assert await open_incidents(incidents) == []


async def test_a_problem_outlasting_the_window_opens_at_its_end(parts):
    clock, incidents, gate = parts
    clock.set(at(45))
    doc, change = await gate.detect("missed_heartbeat", "heartbeat", reason="15 missed", at=at(25),
                                    details={"until": None}, source="monitor")
    assert change == "opened" and doc["tsStart"] == at(30)
    assert doc["details"]["plannedWorkUntil"] == at(30).isoformat()


async def test_an_incident_open_before_the_window_stays_open_and_other_types_pass(parts):
    clock, incidents, gate = parts
    opened, _ = await incidents.detect("missed_heartbeat", "heartbeat", reason="before", at=at(-10), source="monitor")
    clock.set(at(20))
    doc, change = await gate.detect("missed_heartbeat", "heartbeat", reason="still", at=at(-10), source="monitor")
    assert change == "updated" and doc["incidentId"] == opened["incidentId"]
    _, change = await gate.detect("logged_out", "accounts", reason="2 of 3", at=at(15), source="monitor")
    assert change == "opened"                                      # not a gated type
    assert sorted(t for t, _ in await open_incidents(incidents)) == ["logged_out", "missed_heartbeat"]
