"""The lease lock: one leader at a time, and a standby that really takes over."""

from datetime import timedelta

from exporter.domain.slots import parse_bucket_id
from exporter.jobs.leadership import Leadership
from exporter.store import Paths
from exporter.store.instrumented import InstrumentedStore
from tests.jobs.cluster import heartbeats

ROOT = "wa_metrics/longrun"



async def run_until_leader(cluster, member, limit: float) -> float:
    start = cluster.clock.now()
    while not member.runtime.leadership.holds(cluster.clock.now()):
        elapsed = (cluster.clock.now() - start).total_seconds()
        assert elapsed <= limit, f"{member.name} did not lead within {limit}s"
        await cluster.run_for(0.5)
    return (cluster.clock.now() - start).total_seconds()


async def test_first_instance_leads_and_the_standby_waits(cluster, store):
    await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(600)
    assert cluster.leaders() == ["a"]
    docs = await heartbeats(store, ROOT)
    assert {d.get("instanceId") for d in docs} == {"a"}
    assert len(docs) == 11  # the slot at start, then one a minute for 10 minutes
    assert b.runtime.leadership.observed.holder == "a"


async def test_standby_takes_over_after_leader_dies_within_lease_plus_poll(cluster, store):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(300)
    lease_until = a.runtime.leadership.lease_until
    cluster.kill(a)
    waited = await run_until_leader(cluster, b, limit=120 + 5 + 1)
    took_over_at = cluster.clock.now()
    assert took_over_at >= lease_until, "the standby must not lead before the dead leader's lease expired"
    assert took_over_at <= lease_until + timedelta(seconds=5), "the standby must lead within one poll of expiry"
    await cluster.run_for(180)
    docs = await heartbeats(store, ROOT)
    generations = {d.get("instanceId"): d.get("generation") for d in docs}
    assert generations["b"] == generations["a"] + 1
    assert waited <= 125


async def test_leader_whose_renewals_fail_steps_down_before_its_lease_expires(cluster, store):
    a = await cluster.add("a")
    await cluster.add("b")
    await cluster.run_for(90)
    lease_until = a.runtime.leadership.lease_until
    a.store.fail_writes_under = f"{ROOT}/locks"  # renewals fail; heartbeats still could be written
    await cluster.run_for(300)  # the at-most-one-leader check runs after every step
    assert cluster.leaders() == ["b"]
    docs = await heartbeats(store, ROOT)
    last_a = max(d.get("ts") for d in docs if d.get("instanceId") == "a")
    first_b = min(d.get("ts") for d in docs if d.get("instanceId") == "b")
    assert last_a < lease_until <= first_b


async def test_paused_leader_that_comes_back_does_not_write(cluster, store):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(120)
    paused_at = cluster.clock.now()
    a.paused = True  # SIGSTOP
    await cluster.run_for(200)  # past the lease: b takes over
    assert b.runtime.leadership.holds(cluster.clock.now())
    a.paused = False  # SIGCONT: a's timers fire late, all at once
    await cluster.run_for(300)
    docs = await heartbeats(store, ROOT)
    assert not [d for d in docs if d.get("instanceId") == "a" and d.get("ts") > paused_at]
    assert cluster.leaders() == ["b"]
    assert not a.runtime.leadership.is_leader


async def test_sigterm_hands_over_at_once_without_missing_a_slot(cluster, store):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(310)  # 10 s into a slot
    await cluster.stop(a)
    waited = await run_until_leader(cluster, b, limit=5)
    assert waited <= 5
    await cluster.run_for(300)
    docs = await heartbeats(store, ROOT)
    slots = sorted(parse_bucket_id(d.id) for d in docs)
    gaps = {(later - earlier).total_seconds() for earlier, later in zip(slots, slots[1:])}
    assert gaps == {60.0}, f"a slot was missed or doubled across the handover: {gaps}"
    assert {d.get("instanceId") for d in docs} == {"a", "b"}


async def test_generation_grows_on_every_change_of_holder(cluster, store):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(61)
    await cluster.stop(a)
    await cluster.run_for(61)
    await cluster.add("c")
    await cluster.stop(b)
    await cluster.run_for(61)
    docs = await heartbeats(store, ROOT)
    by_instance = {}
    for doc in docs:
        by_instance.setdefault(doc.get("instanceId"), set()).add(doc.get("generation"))
    assert by_instance == {"a": {1}, "b": {2}, "c": {3}}
    lock = await store.get(f"{ROOT}/locks/heartbeat-scheduler")
    assert lock.get("holderInstanceId") == "c" and lock.get("generation") == 3
    assert isinstance(lock.get("leaseUntilTs"), int)


async def test_renewals_cost_no_read(store, clock):
    counted = InstrumentedStore(store, clock)
    leadership = Leadership(counted, Paths(), clock, instance_id="a")
    await leadership.maintain()
    assert leadership.holds(clock.now())
    reads, writes = counted.usage.reads, counted.usage.writes
    for _ in range(60):  # an hour of renewals
        clock.set(leadership.next_due)
        await leadership.maintain()
    assert leadership.holds(clock.now())
    assert counted.usage.reads == reads
    assert counted.usage.writes == writes + 60
