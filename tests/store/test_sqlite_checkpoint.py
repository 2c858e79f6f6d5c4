"""The SQLite store's write-ahead log is moved into the file by a thread of its own, not by commits."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timezone

import pytest

from exporter.clock import FakeClock
from exporter.store.base import StoreUnavailable
from exporter.store.instrumented import InstrumentedStore
from exporter.store.sqlite import SqliteStore
from exporter.store.sqlite_checkpoint import OVERDUE, PAGE_BYTES, Checkpointer
from tests.support.polling import eventually, poll

PAGES = 4  # a 16 KiB threshold, so a few writes cross it


async def test_the_checkpoint_thread_moves_the_log_into_the_file_and_the_next_write_starts_it_over(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteStore(path, checkpoint_pages=PAGES)
    try:
        before = path.stat().st_size if path.exists() else 0
        for i in range(2):  # about 70 KB of log: past the threshold, short of the writer's own limit
            await store.set(f"c/d{i}", {"text": f"{i}" * 4000})
        checkpointer = store.checkpointer
        # Commits never checkpoint (wal_autocheckpoint = 0): only the thread puts pages in the file.
        await eventually(lambda: checkpointer.caught_up >= 1, within=10, what="a checkpoint by the thread")
        assert checkpointer.by_writer == 0
        assert path.stat().st_size >= before + 8000  # both documents are in the file itself
        wal = tmp_path / "store.db-wal"
        grown = wal.stat().st_size
        await store.set("c/after", {"n": 1})  # starts the log over: the file is cut back
        assert wal.stat().st_size < grown
        assert [(await store.get(f"c/d{i}")).data["text"][:2] for i in range(2)] == ["00", "11"]
    finally:
        await store.close()


async def test_writes_faster_than_the_thread_checkpoints_still_keep_the_log_bounded(tmp_path):
    """Back-to-back commits leave the thread's passes behind: past OVERDUE times the threshold the
    writer checkpoints after its commit itself, so the log never grows without bound."""
    store = SqliteStore(tmp_path / "store.db", checkpoint_pages=PAGES)
    wal, largest = tmp_path / "store.db-wal", 0
    try:
        for i in range(200):  # about 7 MB of log with no checkpoint
            await store.set(f"c/d{i:03d}", {"text": "x" * 4000})
            largest = max(largest, wal.stat().st_size)
        assert largest <= OVERDUE * PAGES * PAGE_BYTES + 100_000  # the limit, and one commit's pages
        assert await store.count("c") == 200
    finally:
        await store.close()


async def test_closing_leaves_every_write_in_the_file_and_no_log(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteStore(path, checkpoint_pages=PAGES)
    for i in range(10):
        await store.set(f"c/d{i}", {"text": "x" * 3000, "i": i})
    await store.close()
    assert not (tmp_path / "store.db-wal").exists()  # the last connection to close checkpointed the rest
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert raw.execute("SELECT COUNT(*) FROM docs WHERE collection = 'c'").fetchone() == (10,)
    finally:
        raw.close()


def test_a_checkpoint_that_fails_says_what_to_do_and_is_tried_again_after_the_next_write(tmp_path, caplog):
    """A file SQLite cannot open (here a directory) stands for a full disk or a broken file: the
    thread logs what to check, keeps running, and tries again when the writer commits again."""
    path = tmp_path / "not-a-file.db"
    path.mkdir()
    (tmp_path / "not-a-file.db-wal").write_bytes(b"\0" * (2 * PAGE_BYTES))
    failures = []
    checkpointer = Checkpointer(path, pages=1, on_failure=lambda: failures.append(1))
    elsewhere = sqlite3.connect(":memory:")
    try:
        with caplog.at_level(logging.WARNING, logger="longrun.store"):
            checkpointer.wrote(elsewhere)
            poll(lambda: caplog.records, within=10, what="the warning", every=0.02)
        assert len(caplog.records) == 1, caplog.text
        message = caplog.records[0].getMessage()
        assert str(path) in message and "write-ahead log" in message and "free disk space" in message
        assert failures == [1]  # counted each time (the store counts them as longrun_store_errors)
        assert checkpointer.caught_up == 0
        path.rmdir()  # the cause is fixed: the next commit's nudge checkpoints
        sqlite3.connect(path).close()
        (tmp_path / "not-a-file.db-wal").unlink()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", ("y" * 3 * PAGE_BYTES,))
        checkpointer.wrote(conn)
        poll(lambda: checkpointer.caught_up, within=10, what="a checkpoint once the file is back", every=0.02)
        assert checkpointer.caught_up >= 1
        conn.close()
    finally:
        checkpointer.close()
        elsewhere.close()


async def test_a_failed_checkpoint_is_counted_with_the_store_calls_errors(tmp_path):
    """``longrun_store_errors{operation="checkpoint"}``: the instrumented store reports the SQLite
    store's background failures in the same count as its calls' errors. The file is moved away
    (the writer keeps its open handle) and a directory takes its name, so the checkpoint thread
    cannot open it: a broken disk, as far as the thread can tell."""
    path = tmp_path / "store.db"
    inner = SqliteStore(path, checkpoint_pages=64)  # 256 KiB: the first small write starts no checkpoint
    store = InstrumentedStore(inner, FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    try:
        await store.set("c/first", {"n": 0})
        path.rename(tmp_path / "moved.db")
        path.mkdir()
        for i in range(40):  # about 1.5 MB of log: past the threshold, short of the writer's own 2 MB
            await store.set(f"c/d{i:02d}", {"text": "x" * 4000})
        await eventually(lambda: store.usage.errors["checkpoint"] >= 1, within=10, what="a failed checkpoint")
        assert inner.checkpointer.caught_up == 0
        path.rmdir()
        (tmp_path / "moved.db").rename(path)
        await inner.close()
        with pytest.raises(StoreUnavailable):
            await store.get("c/d00")
        assert store.usage.errors["get"] == 1 and store.usage.errors["checkpoint"] >= 1
    finally:
        await store.close()
