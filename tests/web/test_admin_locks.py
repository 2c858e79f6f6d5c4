"""POST locks/{name}/release: the runbook's Procedure 1 without the Firestore console."""

from datetime import timedelta

from exporter.domain import lease
from tests.jobs.cluster import heartbeats
from tests.web.conftest import API, call


async def test_releasing_a_dead_leaders_lock_lets_the_standby_take_over_at_its_next_poll(cluster, leader, app_for, aiohttp_client):
    standby = await cluster.add("beta")
    await cluster.run_for(30)
    cluster.kill(leader)  # kill -9: the lock stays held until its lease runs out
    lease_until = leader.runtime.leadership.lease_until
    client = await aiohttp_client(app_for(standby))

    status, body = await call(client, "POST", f"{API}/locks/heartbeat-scheduler/release")
    released_at = cluster.clock.now()
    assert status == 200 and lease_until - released_at > timedelta(seconds=60)
    before, after = body["before"], body["after"]
    assert before["holderInstanceId"] == "alpha" and before["expired"] is False and before["generation"] == 1
    assert after["expired"] is True and after["secondsLeft"] == 0 and after["generation"] == 1
    assert after["releasedBy"] == "admin" and after["releasedAt"] == after["leaseUntil"]

    while not standby.runtime.leadership.holds(cluster.clock.now()):
        assert cluster.clock.now() - released_at <= timedelta(seconds=5), "beta should lead within one standby poll"
        await cluster.run_for(0.5)
    await cluster.run_for(120)
    _, locks = await call(client, "GET", f"{API}/locks")
    assert locks["locks"][0]["holderInstanceId"] == "beta" and locks["locks"][0]["generation"] == 2
    docs = await heartbeats(standby.runtime.store, standby.runtime.paths.root)
    assert {d.get("instanceId"): d.get("generation") for d in docs} == {"alpha": 1, "beta": 2}


async def test_releasing_a_missing_lock_is_a_404(client):
    status, body = await call(client, "POST", f"{API}/locks/no-such-lock/release")
    assert status == 404 and "no-such-lock" in body["error"]


async def test_a_lock_changed_meanwhile_is_a_409(client, leader, monkeypatch):
    runtime = leader.runtime
    real_get = runtime.store.get

    async def get_then_renew(path):
        doc = await real_get(path)
        if path == runtime.paths.lock():
            renewal = lease.renewal_fields(runtime.clock.now() + timedelta(seconds=1), 120)
            await runtime.store.update(path, renewal)  # the leader renews in between
        return doc

    monkeypatch.setattr(runtime.store, "get", get_then_renew)
    status, body = await call(client, "POST", f"{API}/locks/heartbeat-scheduler/release")
    assert status == 409 and "conflict" in body["error"]
