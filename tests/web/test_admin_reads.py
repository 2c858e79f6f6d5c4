"""The read-only routes answer as the runbook's curl examples expect, with limits and filters."""

from datetime import timedelta

from tests.web.conftest import API, START, call
from tests.support import iso_ms as iso


async def test_heartbeats_count_the_last_hour_newest_first(client):
    status, body = await call(client, "GET", f"{API}/heartbeats")
    assert status == 200
    assert body["count"] == 11  # 23:00 .. 23:10
    stamps = [hb["ts"] for hb in body["heartbeats"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] == iso(START + timedelta(minutes=10))
    assert all(ts.endswith("Z") for ts in stamps)
    assert body["heartbeats"][0]["instanceId"] == "alpha"


async def test_heartbeats_limit_lists_fewer_but_counts_all(client):
    status, body = await call(client, "GET", f"{API}/heartbeats?limit=3")
    assert (status, body["count"], len(body["heartbeats"]), body["limit"]) == (200, 11, 3, 3)
    status, body = await call(client, "GET", f"{API}/heartbeats?limit=5000")
    assert status == 200 and body["limit"] == 1000


async def test_heartbeats_since_and_until_bound_the_window(client):
    since, until = iso(START + timedelta(minutes=5)), "2026-03-01T23:07:00+00:00"
    status, body = await call(client, "GET", f"{API}/heartbeats", params={"since": since, "until": until})
    assert status == 200 and body["count"] == 3
    assert [hb["bucketId"] for hb in body["heartbeats"]] == ["2026-03-01T23-07-00", "2026-03-01T23-06-00", "2026-03-01T23-05-00"]
    status, body = await call(client, "GET", f"{API}/heartbeats", params={"since": "2026-03-01T00:00:00"})  # naive: UTC
    assert status == 200 and body["count"] == 11


async def test_config_answers_the_validated_config_and_the_stored_errors(client, leader):
    status, body = await call(client, "GET", f"{API}/config")
    assert status == 200 and body["errors"] == []
    assert body["config"]["expectedAccounts"] == 3 and body["config"]["alertThresholds"]["missedHbPerHour"] == 3
    runtime = leader.runtime
    await runtime.store.update(runtime.paths.config, {"expectedAccounts": "three"})  # a console edit gone wrong
    status, body = await call(client, "GET", f"{API}/config")
    assert body["config"]["expectedAccounts"] == 3
    assert body["errors"] == ["expectedAccounts: expected a number, got str 'three'"]


async def test_probes_filter_by_type_and_result(client):
    status, body = await call(client, "GET", f"{API}/probes")
    assert status == 200 and body["count"] == 3
    assert {p["type"]: p["result"] for p in body["probes"]} == {"outbound": "PASS", "queue": "SKIP", "inbound": "SKIP"}
    _, body = await call(client, "GET", f"{API}/probes?type=outbound")
    assert [p["type"] for p in body["probes"]] == ["outbound"]
    _, body = await call(client, "GET", f"{API}/probes?result=SKIP")
    assert sorted(p["type"] for p in body["probes"]) == ["inbound", "queue"]
    _, body = await call(client, "GET", f"{API}/probes?result=SKIP&type=queue&limit=1")
    assert body["count"] == 1 and body["probes"][0]["probeKey"] == "QUEUE_20260301"
    _, body = await call(client, "GET", f"{API}/probes?result=FAIL")
    assert body == {"count": 0, "limit": 100, "probes": []}


async def test_locks_show_holder_lease_generation_and_time_left(client):
    status, body = await call(client, "GET", f"{API}/locks")
    assert status == 200
    [lock] = body["locks"]
    assert lock["name"] == "heartbeat-scheduler" and lock["holderInstanceId"] == "alpha"
    assert lock["generation"] == 1 and lock["expired"] is False
    assert 60 <= lock["secondsLeft"] <= 120
    assert lock["leaseUntil"] == iso(START + timedelta(minutes=12))


async def test_locks_of_a_dead_leader_read_as_expired(cluster, leader, client):
    cluster.kill(leader)
    await cluster.run_for(300)
    _, body = await call(client, "GET", f"{API}/locks")
    assert body["locks"][0]["expired"] is True and body["locks"][0]["secondsLeft"] == 0


async def test_incidents_filter_by_status_list_and_type(client, leader):
    incidents = leader.runtime.incidents
    now = leader.runtime.clock.now()
    gap = await incidents.open_manual("missed_heartbeat", reason="gap", ts_start=now - timedelta(minutes=5))
    await incidents.open_manual("probe_fail", reason="p", ts_start=now - timedelta(minutes=4))
    await incidents.open_manual("missed_heartbeat", reason="old", ts_start=now - timedelta(minutes=9), ts_end=now)
    await incidents.change(gap["incidentId"], status="acknowledged", owner="ana")
    _, body = await call(client, "GET", f"{API}/incidents")
    assert body["count"] == 3 and [i["reason"] for i in body["incidents"]] == ["p", "gap", "old"]
    _, body = await call(client, "GET", f"{API}/incidents?status=open,acknowledged")
    assert sorted(i["reason"] for i in body["incidents"]) == ["gap", "p"]
    _, body = await call(client, "GET", f"{API}/incidents?status=acknowledged&type=missed_heartbeat")
    assert [i["owner"] for i in body["incidents"]] == ["ana"]
    _, body = await call(client, "GET", f"{API}/incidents?type=missed_heartbeat&limit=1")
    assert [i["reason"] for i in body["incidents"]] == ["gap"]


async def test_rollups_between_two_days(cluster, client):
    await cluster.run_for(3600)  # past midnight: the rollup of 03-01 is written
    _, body = await call(client, "GET", f"{API}/rollups")
    assert body["count"] == 1
    [rollup] = body["rollups"]
    assert rollup["date"] == "2026-03-01" and rollup["writtenHb"] == 60
    # history started at 23:00: the day expected 60 slots from its first heartbeat, all written
    assert (rollup["expectedHb"], rollup["insufficientData"]) == (60, False)
    assert rollup["createdAt"] == "2026-03-02T00:00:00.000Z"
    _, body = await call(client, "GET", f"{API}/rollups?from=2026-03-01&to=2026-03-01")
    assert body["count"] == 1
    _, body = await call(client, "GET", f"{API}/rollups?from=2026-03-02")
    assert body["count"] == 0
