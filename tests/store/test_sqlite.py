"""What only the embedded store has to prove: WAL, several processes on one file, lock timeouts, indexes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from exporter.store.base import Filter, InvalidValue, Order, StoreUnavailable, Write
from exporter.store.codec import TS_TAG
from exporter.store.sqlite import KEY_INDEX, SCHEMA_VERSION, SqliteStore, read_many_sql, select_sql

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

    assert any(f"SEARCH d USING INDEX {KEY_INDEX} (collection=? AND id=?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN d") or step == "SCAN docs" for step in plan), plan


SCHEMA_1 = [
    """CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
        version INTEGER NOT NULL, updated REAL NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID""",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO counters VALUES ('version', 41)",
    "CREATE INDEX docs_ts ON docs (collection, json_extract(data, '$.ts'))",
    "PRAGMA user_version = 1",
]


async def test_a_schema_1_file_is_moved_to_a_rowid_table_once_keeping_every_document_and_version(tmp_path, caplog):
    """0.2's file kept whole documents in a WITHOUT ROWID B-tree, which made storms slow; it is copied once."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        for statement in SCHEMA_1:
            raw.execute(statement)
        raw.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, 0)",
                        [("a/longrun/heartbeats", f"h{i:02d}",
                          json.dumps({"n": i, "ts": f"{TS_TAG}2026-01-01T00:{i:02d}:00.000000Z"}), i + 1)
                         for i in range(40)])
    caplog.set_level("INFO", logger="longrun.store")

    store = SqliteStore(path)
    doc = await store.get("a/longrun/heartbeats/h07")
    window = await store.query("a/longrun/heartbeats", where=[Filter("ts", ">=", datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc))],
                               order_by=[Order("ts")])
    written = await store.set("a/longrun/heartbeats/new", {"n": 99})
    await store.close()
    again = SqliteStore(path)
    await again.ping()
    await again.close()

    assert doc is not None and doc.data == {"n": 7, "ts": datetime(2026, 1, 1, 0, 7, tzinfo=timezone.utc)}
    assert doc.version == "8"
    assert [d.data["n"] for d in window] == list(range(30, 40))
    assert int(written.version) == 42, "the version counter carries on from the old file"
    with sqlite3.connect(path) as raw:
        (table_sql,) = raw.execute("SELECT sql FROM sqlite_schema WHERE name = 'docs'").fetchone()
        assert "WITHOUT ROWID" not in table_sql.upper()
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("SELECT COUNT(*) FROM docs").fetchone()[0] == 41
        indexes = {name for (name,) in raw.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
        assert {KEY_INDEX, "docs_ts", "docs_type_ts", "docs_status", "docs_next_attempt"} <= indexes
    moved = [r.getMessage() for r in caplog.records if "documents to schema" in r.getMessage()]
    assert len(moved) == 1 and "moved 40 documents to schema 2" in moved[0], moved


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
    # The index gives the order of the field; only documents tied on it are sorted (by id).
    assert index_sorts == ("TEMP B-TREE FOR ORDER BY" not in plan), plan
    if index_sorts:
        assert "TEMP B-TREE" not in plan or "TEMP B-TREE FOR RIGHT PART OF ORDER BY" in plan, plan


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


async def test_a_batch_announces_each_watched_document_it_writes_at_once_not_by_the_poll(sqlite_store, tmp_path):
    """Writes of this process reach its watchers when they commit, whichever path wrote them (one
    statement per write, or a multi-row INSERT for a run of creates or sets): here the other
    processes' poll is an hour, so only the announcement can deliver."""
    from exporter.store import sqlite_watch
    from exporter.store.base import Write

    await sqlite_store.ping()
    seen: list = []
    watched = ["c/created", "c/replaced", "c/merged"]
    stops = [sqlite_watch.watch_document(tmp_path / "store.db", path, seen.append, poll=3600) for path in watched]
    try:
        await sqlite_store.batch([Write("create", f"c/other{i}", {"n": i}) for i in range(5)]
                                 + [Write("create", "c/created", {"n": 1}), Write("set", "c/replaced", {"n": 2}),
                                    Write("set", "c/other9", {"n": 9}), Write("set", "c/merged", {"n": 3}, merge=True)])
        deadline = time.monotonic() + 2
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        for stop in stops:
            stop()

    assert sorted((doc.path, doc.data["n"]) for doc in seen) == [("c/created", 1), ("c/merged", 3), ("c/replaced", 2)]
    assert all(doc.version for doc in seen)


async def test_a_write_made_while_a_transaction_is_open_waits_for_it_and_survives_its_rollback(sqlite_store):
    """Calls no longer wait their turn on the event loop, only on the worker's queue; but one made
    while a transaction holds the connection must not run inside it (its ROLLBACK would undo it)."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def change_of_mind(tx):
        await tx.get("c/a")
        entered.set()
        await release.wait()
        raise RuntimeError("changed my mind")

    failing = asyncio.create_task(sqlite_store.transaction(change_of_mind))
    await entered.wait()
    outside = asyncio.create_task(sqlite_store.set("c/b", {"n": 1}))
    await asyncio.sleep(0.05)
    assert not outside.done()  # waiting for the transaction, not inside it
    release.set()
    with pytest.raises(RuntimeError, match="changed my mind"):
        await failing
    await outside
    assert (await sqlite_store.get("c/b")).data == {"n": 1}


async def test_calls_made_at_once_take_effect_in_the_order_they_were_made(sqlite_store):
    await asyncio.gather(*(sqlite_store.set("c/x", {"n": i}) for i in range(200)),
                         *(sqlite_store.batch([Write("set", f"c/y{i % 3}", {"n": i})]) for i in range(60)))
    assert (await sqlite_store.get("c/x")).data == {"n": 199}
    assert [(await sqlite_store.get(f"c/y{k}")).data["n"] for k in range(3)] == [57, 58, 59]
