"""POST rollups/{day} recomputes and says what it overwrote; POST probes/{type}/run stores a manual result."""

from datetime import datetime, timezone

from exporter.store import Filter, Write
from tests.web.conftest import API, call


async def test_a_probe_run_now_is_stored_as_a_manual_result(client, leader):
    status, body = await call(client, "POST", f"{API}/probes/outbound/run")
    assert status == 201
    probe = body["probe"]
    assert (probe["type"], probe["trigger"], probe["result"], probe["instanceId"]) == ("outbound", "manual", "PASS", "alpha")
    assert "_MANUAL_" in probe["probeKey"]
    stored = await leader.runtime.store.get(leader.runtime.paths.probe(probe["probeKey"]))
    assert stored is not None and stored.get("trigger") == "manual"
    _, listed = await call(client, "GET", f"{API}/probes?type=outbound")
    assert [p["trigger"] for p in listed["probes"]] == ["manual", "schedule"], "the schedule's slot is untouched"


async def test_an_unconfigured_probe_run_is_skip_never_pass(client):
    status, body = await call(client, "POST", f"{API}/probes/queue/run")
    assert status == 201 and body["probe"]["result"] == "SKIP" and "LONGRUN_TARGET_URL" in body["probe"]["error"]


async def test_recomputing_a_rollup_overwrites_it_and_says_what_was_there(cluster, client, leader):
    runtime = leader.runtime
    await cluster.run_for(3600)  # 00:10 on 03-02: the rollup of 03-01 exists
    _, listed = await call(client, "GET", f"{API}/rollups")
    original = listed["rollups"][0]
    assert original["writtenHb"] == 60
    lost = [Filter("ts", ">=", datetime(2026, 3, 1, 23, 50, tzinfo=timezone.utc)),
            Filter("ts", "<", datetime(2026, 3, 2, tzinfo=timezone.utc))]
    doomed = await runtime.store.query(runtime.paths.heartbeats, where=lost)
    await runtime.store.batch([Write("delete", d.path) for d in doomed])  # ten heartbeats lost, say

    status, body = await call(client, "POST", f"{API}/rollups/2026-03-01")
    assert status == 200
    assert body["overwrote"]["writtenHb"] == 60 and body["overwrote"]["createdAt"] == original["createdAt"]
    assert body["overwrote"]["recomputedAt"] is None
    assert body["rollup"]["writtenHb"] == 50 and body["rollup"]["recomputedAt"] == "2026-03-02T00:10:00.000Z"
    stored = await runtime.store.get(runtime.paths.rollup("2026-03-01"))
    assert stored.get("writtenHb") == 50


async def test_recomputing_a_day_without_a_rollup_overwrites_nothing(client):
    status, body = await call(client, "POST", f"{API}/rollups/2026-02-28")
    assert status == 200 and body["overwrote"] is None and body["rollup"]["writtenHb"] == 0


async def test_only_complete_days_within_heartbeat_retention_can_be_recomputed(client):
    for day in ("2026-03-01", "2026-03-05"):  # today (not over) and the future
        status, body = await call(client, "POST", f"{API}/rollups/{day}")
        assert status == 400 and "not over yet" in body["error"]
    status, body = await call(client, "POST", f"{API}/rollups/2025-06-01")
    assert status == 409 and "retention" in body["error"]
