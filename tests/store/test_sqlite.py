"""What only the embedded store has to prove: WAL, several processes on one file, lock timeouts, indexes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from exporter.store.base import Filter, InvalidValue, Order, StoreUnavailable
from exporter.store.codec import TS_TAG
from exporter.store.sqlite import SqliteStore, read_many_sql, select_sql

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import asyncio, sys, time
from exporter.store.sqlite import SqliteStore

async def main(path, name, count):
    store = SqliteStore(path, busy_timeout=30)
    await store.ping()
    print("ready", flush=True)
    sys.stdin.readline()  # "go": both processes start writing together
    started = time.time()
    for i in range(count):
        async def write(tx, i=i):
            counter = await tx.get("c/counter")
            tx.set("c/counter", {"n": (counter.get("n") if counter else 0) + 1})
            tx.create(f"c/{name}-{i:03d}", {"by": name, "i": i})
        await store.transaction(write)
    print(started, time.time(), flush=True)
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


@pytest.fixture
async def sqlite_store(tmp_path):
    store = SqliteStore(tmp_path / "store.db")
    yield store
    await store.close()


async def test_the_file_is_in_wal_mode_in_a_directory_created_for_it(tmp_path):
    path = tmp_path / "not" / "yet" / "there.db"
    store = SqliteStore(path)
    await store.create("c/a", {"n": 1})
    await store.close()

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "200"], cwd=REPO,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("first", "second")
    ]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        spans = []
        for writer in writers:
            out, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err
            spans.append([float(t) for t in out.split()])
    finally:
        for writer in writers:
            writer.kill()

    assert max(start for start, _ in spans) < min(end for _, end in spans), "the writers did not overlap"
    store = SqliteStore(path)
    try:
        assert (await store.get("c/counter")).get("n") == 400
        assert await store.count("c", where=[Filter("by", "==", "first")]) == 200
        assert await store.count("c", where=[Filter("by", "==", "second")]) == 200
    finally:
        await store.close()


async def test_a_file_locked_by_another_writer_is_an_outage_not_a_hang(tmp_path):
    path = tmp_path / "locked.db"
    store = SqliteStore(path, busy_timeout=0.3)
    await store.create("c/before", {"n": 1})
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    ticks = 0

    async def count_ticks():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(count_ticks())
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="locked"):
            await store.create("c/during", {"n": 2})
        waited = time.monotonic() - started

        async def bump(tx):
            tx.set("c/during", {"n": 3})

        with pytest.raises(StoreUnavailable, match="locked"):
            await store.transaction(bump)
        assert (await store.get("c/before")).data == {"n": 1}  # WAL: readers are never locked out
    finally:
        ticker.cancel()
        holder.execute("ROLLBACK")
        holder.close()

    assert 0.25 <= waited < 3, "waited for busy_timeout, then gave up"
    assert ticks >= 5, "the event loop kept running while the store waited for the lock"
    await store.create("c/after", {"n": 4})
    assert await store.get("c/during") is None
    await store.close()


async def test_a_string_that_looks_like_an_encoded_timestamp_is_refused(sqlite_store):
    with pytest.raises(InvalidValue):
        await sqlite_store.create("c/a", {"s": TS_TAG + "2026-01-01T00:00:00.000000Z"})
    with pytest.raises(InvalidValue):
        await sqlite_store.query("c", where=[Filter("s", "==", TS_TAG + "x")])


NEW_YEAR = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("count", [1, 2, 100])
async def test_reading_many_documents_looks_each_up_by_key_and_scans_nothing(sqlite_store, tmp_path, count):
    await sqlite_store.ping()  # creates the schema

    with sqlite3.connect(tmp_path / "store.db") as raw:
        plan = [row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {read_many_sql(count)}", ["c", "x"] * count)]

    assert any("SEARCH d USING PRIMARY KEY (collection=? AND id=?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN d") or step == "SCAN docs" for step in plan), plan


@pytest.mark.parametrize("where, order_by, index, index_sorts", [
    ([Filter("ts", ">=", NEW_YEAR), Filter("ts", "<", NEW_YEAR)], [Order("ts")], "docs_ts", True),
    ([Filter("type", "==", "outbound")], [Order("ts", descending=True)], "docs_type_ts", True),
    ([Filter("status", "==", "pending")], [Order("priority"), Order("createdAt"), Order("seq")], "docs_status", False),
    ([Filter("nextAttemptAt", "<=", NEW_YEAR)], [Order("nextAttemptAt")], "docs_next_attempt", True),
], ids=["heartbeats-in-a-window", "latest-probes-of-a-type", "pending-outbox", "due-retries"])
async def test_the_queries_the_jobs_make_use_an_index(sqlite_store, tmp_path, where, order_by, index, index_sorts):
    await sqlite_store.ping()  # creates the schema
    sql, params = select_sql("c", where, order_by)

    with sqlite3.connect(tmp_path / "store.db") as raw:
        plan = " ".join(row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))

    assert f"USING INDEX {index}" in plan, plan
    assert index_sorts == ("TEMP B-TREE" not in plan), plan


async def test_the_database_and_its_wal_and_shm_files_are_created_0600(tmp_path, caplog):
    """Incidents, owners and chat ids are not for other local users (issue 18, item 14), whatever the umask."""
    import os
    import stat

    from exporter.store.sqlite import SqliteStore

    old = os.umask(0o022)
    try:
        store = SqliteStore(tmp_path / "fresh" / "longrun.db")
        await store.set("c/one", {"owner": "alice"})
        files = [tmp_path / "fresh" / name for name in ("longrun.db", "longrun.db-wal", "longrun.db-shm")]
        assert all(f.exists() for f in files)
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f.name, oct(f.stat().st_mode))
        await store.close()
        legacy = tmp_path / "legacy.db"
        legacy.touch(mode=0o644)
        reopened = SqliteStore(legacy)
        await reopened.set("c/one", {"owner": "bob"})
        await reopened.close()
        assert any("chmod 600" in r.getMessage() for r in caplog.records), "a readable existing file is reported"
    finally:
        os.umask(old)
