"""The leader carries its newest heartbeats on the lease renewals; a standby takes them from there."""

from datetime import datetime, timezone

from exporter.domain.lease_heartbeats import FIELD, KEEP, carried, carry

ROOT = "wa_metrics/longrun"


def test_carry_keeps_the_newest_few_summaries_and_carried_reads_them_back_oldest_first():
    docs = [{"bucketId": f"b{i}", "ts": datetime(2026, 3, 1, 0, i, tzinfo=timezone.utc), "memoryRss": 1, "targetUp": True}
            for i in range(KEEP + 3)]
    fields = carry(docs)
    assert [d["bucketId"] for d in fields[FIELD]] == [f"b{i}" for i in range(3, KEEP + 3)]
    assert "memoryRss" not in fields[FIELD][0] and fields[FIELD][0]["targetUp"] is True
    assert [d["bucketId"] for d in carried({FIELD: list(reversed(fields[FIELD]))})] == [f"b{i}" for i in range(3, KEEP + 3)]
    assert carry([]) == {}


def test_carried_ignores_what_an_older_version_or_a_bad_document_holds():
    assert carried(None) == [] and carried({"holderInstanceId": "a"}) == []
    assert carried({FIELD: "x"}) == []
    naive = datetime(2026, 3, 1)
    assert carried({FIELD: [{"bucketId": "b", "ts": naive}, {"bucketId": 3, "ts": datetime.now(timezone.utc)}, 7]}) == []


async def test_renewals_carry_the_leaders_heartbeats_to_the_watching_standby(cluster, store):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(185)
    lock = await store.get(a.runtime.leadership.path)
    written = [d["bucketId"] for d in a.runtime.heartbeat.state.recent]
    on_lock = [d["bucketId"] for d in lock.get(FIELD)]
    assert on_lock and written[-len(on_lock):] == on_lock or written[-len(on_lock) - 1:-1] == on_lock
    assert [d["bucketId"] for d in b.runtime.leadership.carried] == on_lock
    assert b.runtime.leadership.carried_at == lock.get("updatedAt")
    assert a.runtime.leadership.carried == []  # the leader does not take its own
