"""Incidents through the API: the runbook's workflow (open, acknowledge, resolve) and the manual gap record."""

from datetime import timedelta

import pytest

from tests.web.conftest import API, call
from tests.support import iso_ms as iso


async def test_open_acknowledge_resolve_with_mttr(cluster, client):
    started = cluster.clock.now() - timedelta(minutes=10)
    status, body = await call(client, "POST", f"{API}/incidents",
                              json={"type": "missed_heartbeat", "reason": "heartbeats stopped", "tsStart": iso(started)})
    assert status == 201
    incident = body["incident"]
    assert (incident["status"], incident["severity"], incident["source"]) == ("open", "P2", "manual")
    assert incident["tsStart"] == iso(started) and incident["mttrSec"] is None
    path = f"{API}/incidents/{incident['incidentId']}"

    await cluster.run_for(300)
    status, body = await call(client, "PATCH", path, json={"status": "acknowledged", "owner": "ana"})
    assert status == 200
    assert (body["incident"]["status"], body["incident"]["owner"]) == ("acknowledged", "ana")
    assert body["incident"]["acknowledgedAt"] == iso(cluster.clock.now())

    await cluster.run_for(600)
    status, body = await call(client, "PATCH", path, json={"status": "resolved", "rootCause": "OOM kill"})
    assert status == 200
    resolved = body["incident"]
    assert (resolved["status"], resolved["rootCause"], resolved["owner"]) == ("resolved", "OOM kill", "ana")
    assert resolved["mttrSec"] == 25 * 60 and resolved["tsEnd"] == iso(cluster.clock.now())

    status, body = await call(client, "PATCH", path, json={"status": "acknowledged", "owner": "bob"})
    assert status == 409 and "resolved" in body["error"]
    status, _ = await call(client, "PATCH", path, json={"rootCause": "OOM kill after a leak"})
    assert status == 200, "a post-mortem may still record the root cause"
    _, body = await call(client, "GET", f"{API}/incidents?status=resolved")
    assert [i["incidentId"] for i in body["incidents"]] == [incident["incidentId"]]


async def test_the_runbooks_manual_gap_record_is_resolved_at_once(client):
    gap = {"type": "missed_heartbeat", "reason": "host reboot, no heartbeats", "tsStart": "2026-03-01T08:00:00Z",
           "tsEnd": "2026-03-01T09:10:00Z", "severity": "P1", "owner": "ops"}
    status, body = await call(client, "POST", f"{API}/incidents", json=gap)
    assert status == 201
    incident = body["incident"]
    assert (incident["status"], incident["severity"], incident["owner"]) == ("resolved", "P1", "ops")
    assert incident["mttrSec"] == 70 * 60 and incident["tsEnd"] == "2026-03-01T09:10:00.000Z"
    status, _ = await call(client, "POST", f"{API}/incidents", json=gap)
    assert status == 409, "the same record twice"


async def test_resolving_can_be_back_dated_to_when_the_problem_ended(cluster, client):
    _, body = await call(client, "POST", f"{API}/incidents",
                         json={"type": "probe_fail", "reason": "x", "tsStart": "2026-03-01T22:00:00Z"})
    path = f"{API}/incidents/{body['incident']['incidentId']}"
    status, body = await call(client, "PATCH", path, json={"status": "resolved", "tsEnd": "2026-03-01T22:30:00Z"})
    assert status == 200 and body["incident"]["mttrSec"] == 1800
    status, body = await call(client, "PATCH", path, json={"tsEnd": "2026-03-01T22:40:00Z"})
    assert status == 400 and body["error"].startswith("tsEnd")


@pytest.mark.parametrize("change, field", [
    ({"type": "missed_heartbeat", "tsStart": "2026-03-01T22:00:00Z"}, "reason"),
    ({"type": "missed_heartbeat", "reason": "r"}, "tsStart"),
    ({"type": "missed_heartbeat", "reason": "r", "tsStart": "2026-03-02T22:00:00Z"}, "tsStart"),
    ({"type": "missed_heartbeat", "reason": "r", "tsStart": "2026-03-01T22:00:00Z", "tsEnd": "2026-03-01T21:00:00Z"}, "tsEnd"),
    ({"type": "missed_heartbeat", "reason": "r", "tsStart": "2026-03-01T22:00:00Z", "severity": "P9"}, "severity"),
    ({"type": "Missed Heartbeat", "reason": "r", "tsStart": "2026-03-01T22:00:00Z"}, "type"),
    ({"type": "missed_heartbeat", "reason": "r", "tsStart": 1772406720}, "tsStart"),
    ({"type": "missed_heartbeat", "reason": "", "tsStart": "2026-03-01T22:00:00Z"}, "reason"),
    ({"type": "missed_heartbeat", "reason": "r", "tsStart": "2026-03-01T22:00:00Z", "status": "open"}, "status"),
])
async def test_a_bad_manual_incident_is_a_400_naming_the_field(client, change, field):
    status, body = await call(client, "POST", f"{API}/incidents", json=change)
    assert status == 400 and field in body["error"], body


async def test_changing_an_unknown_incident_is_a_404_and_bad_changes_are_400(client):
    status, _ = await call(client, "PATCH", f"{API}/incidents/missed_heartbeat_20260301T000000000Z_x_1234abcd",
                           json={"status": "resolved"})
    assert status == 404
    _, body = await call(client, "POST", f"{API}/incidents",
                         json={"type": "missed_heartbeat", "reason": "r", "tsStart": "2026-03-01T22:00:00Z"})
    path = f"{API}/incidents/{body['incident']['incidentId']}"
    for change in ({}, {"status": "open"}, {"status": "closed"}, {"status": 1}, {"owner": ""}, {"colour": "red"},
                   {"status": "acknowledged"}):  # nobody to own it
        status, body = await call(client, "PATCH", path, json=change)
        assert status == 400, (change, body)
