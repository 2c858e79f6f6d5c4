"""The embedded document store: one SQLite file, shared safely by several processes.

    store = SqliteStore("./var/longrun.db")
    await store.set("wa_metrics/longrun/state/current", {"ts": now})
    await store.close()

Every statement runs on one dedicated worker thread, so the event loop never
waits on the disk. The file is in WAL mode: readers never wait, writers queue
for up to ``busy_timeout`` seconds and then get StoreUnavailable, so a file
held by another writer is an outage, not a crash. Versions come from one
counter in the file, so a version is never reused, even after a delete.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TypeVar

import orjson

from exporter.store import sqlite_watch
from exporter.store.sqlite_checkpoint import PAGES as CHECKPOINT_PAGES, Checkpointer, writer_pragmas
from exporter.store.base import (
    MAX_BATCH, MAX_GET_MANY, AlreadyExists, Document, DocumentStore, Filter, InvalidValue,
    NotFound, Order, PreconditionFailed, StoreError, StoreUnavailable, Transaction, Write,
    effective_order, split_path, validate_collection,
)
from exporter.store.codec import (
    TS_TAG, apply_field_updates, check_field_updates, decode_value, deep_merge, encode_document, encode_value,
    filter_value, get_field, normalize, split_field_path,
)

T = TypeVar("T")

SCHEMA_VERSION = 2
# Schema 1 kept documents in a WITHOUT ROWID table: its B-tree holds whole rows, two incident
# documents to a page, so a storm's inserts at random ids split pages all over the file (a
# 150-document batch cost 56 ms). Schema 2 keeps rows in insertion order, looked up through the
# (collection, id) key index: 15 ms. ``_migrate`` copies a schema-1 file once.
_DOCS = """CREATE TABLE IF NOT EXISTS {name} (
        collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
        version INTEGER NOT NULL, updated REAL NOT NULL,
        PRIMARY KEY (collection, id))"""
_SCHEMA = [
    _DOCS.format(name="docs"),
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO counters VALUES ('version', 0)",
    # The fields the jobs filter and sort on; query text must match these expressions. No index
    # ends with the id (the order's tiebreak): entries then go in at random places, like schema 1's
    # rows, and a storm's writes cost 2.5 times as much. Ties on the indexed field are sorted instead.
    "CREATE INDEX IF NOT EXISTS docs_ts ON docs (collection, json_extract(data, '$.ts'))",
    "CREATE INDEX IF NOT EXISTS docs_type_ts ON docs (collection, json_extract(data, '$.type'), json_extract(data, '$.ts'))",
    "CREATE INDEX IF NOT EXISTS docs_status ON docs (collection, json_extract(data, '$.status'))",
    "CREATE INDEX IF NOT EXISTS docs_next_attempt ON docs (collection, json_extract(data, '$.nextAttemptAt'))",
]
KEY_INDEX = "sqlite_autoindex_docs_1"  # SQLite's name for the index of the (collection, id) primary key
# Planner statistics as ANALYZE finds them in a store with many documents per
# collection; without any, SQLite prefers scanning a whole collection by key.
_STATS = [(KEY_INDEX, "10000 1000 1"), ("docs_ts", "10000 1000 2"), ("docs_type_ts", "10000 1000 100 2"),
          ("docs_status", "10000 1000 100"), ("docs_next_attempt", "10000 1000 2")]
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The store whose transaction() the current task is inside (to refuse re-entry instead of deadlocking).
log = logging.getLogger("longrun.store")
_ACTIVE: contextvars.ContextVar[object | None] = contextvars.ContextVar("sqlite_store_transaction", default=None)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600) before SQLite opens it: SQLite
    gives the -wal and -shm files the database's mode, so all three hold incidents, owners and
    chat ids away from other local users. An existing file keeps its mode; a readable one is
    reported, with the fix."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("the SQLite store %s is readable by other users (mode %o); run 'chmod 600 %s*' to keep "
                        "incidents and chat ids private", path, mode, path)


class SqliteStore(DocumentStore):
    """DocumentStore over one SQLite file; ``busy_timeout`` bounds the wait for another writer."""

    kind = "sqlite"

    @property
    def call_timeout(self) -> float:
        return self.busy_timeout

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0, checkpoint_pages: int = CHECKPOINT_PAGES) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.checkpoint_pages = checkpoint_pages  # the write-ahead log's size that starts a checkpoint
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread
        self._lock = asyncio.Lock()  # held by a transaction for its whole run, and by close
        self._closed = False
        self._announcements: list[tuple[str, int | None, dict[str, Any] | None]] = []  # worker thread only
        self._watch_key = sqlite_watch.db_key(self.path)  # asked on every write: resolved once
        self._checkpointer: Checkpointer | None = None  # started with the connection
        self.failures: Counter[str] = Counter()  # checkpoints that failed (DocumentStore.failures)

    # ------------------------------------------------------------ plumbing

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """One call on the worker thread. Calls queue on the worker in order, so while no transaction
        holds the connection a call joins that queue at once: the worker goes from one call to the
        next without waiting for the event loop to hand it each one (in a storm it waited a third
        of the time). During a transaction a call waits for it, as it must."""
        if _ACTIVE.get() is self:
            raise StoreError("inside transaction() use the Transaction object, not the store")
        if not self._lock.locked():
            return await self._submit(fn, *args)
        async with self._lock:
            return await self._submit(fn, *args)

    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreUnavailable(f"sqlite {self.path}: store is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:  # "database is locked" past busy_timeout, disk errors
            raise StoreUnavailable(f"sqlite {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            _create_private(self.path)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                self._enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    self._migrate(conn)
                for pragma in writer_pragmas(self.checkpoint_pages):
                    conn.execute(pragma)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._checkpointer = Checkpointer(self.path, pages=self.checkpoint_pages, on_failure=self._checkpoint_failed)
        return self._conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch a new file to WAL. Two processes opening it at once can get "database is locked"
        at once, without the busy handler waiting (SQLite's deadlock avoidance): retry until busy_timeout."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file to SCHEMA_VERSION, once, whichever process gets there first."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:  # another process did
                conn.execute("COMMIT")
                return
            self._rebuild_schema_1(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1
            conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'docs'")
            conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('docs', ?, ?)", _STATS)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ANALYZE sqlite_schema")  # loads the statistics into this connection

    def _rebuild_schema_1(self, conn: sqlite3.Connection) -> None:
        """Copy a schema-1 (WITHOUT ROWID) documents table into the schema-2 one, versions and all."""
        row = conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'docs'").fetchone()
        if row is None or "WITHOUT ROWID" not in row[0].upper():
            return
        started = time.monotonic()
        conn.execute("DROP TABLE IF EXISTS docs_v2")
        conn.execute(_DOCS.format(name="docs_v2"))
        moved = conn.execute("INSERT INTO docs_v2 (collection, id, data, version, updated) "
                             "SELECT collection, id, data, version, updated FROM docs").rowcount
        conn.execute("DROP TABLE docs")  # and its indexes, made again by _SCHEMA
        conn.execute("ALTER TABLE docs_v2 RENAME TO docs")
        log.info("SQLite store %s: moved %d documents to schema %d in %.1f s (done once; writes of large "
                 "documents are about 4x faster)", self.path, moved, SCHEMA_VERSION, time.monotonic() - started)

    def _in_write_transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._committed()
        return result

    @property
    def checkpointer(self) -> Checkpointer | None:
        """The checkpoint thread's figures (``caught_up``, ``by_writer``); None until the file is open."""
        return self._checkpointer

    def _checkpoint_failed(self) -> None:
        self.failures["checkpoint"] += 1

    def _rollback(self) -> None:
        self._announcements.clear()
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _committed(self) -> None:
        """Tell this process's watchers what just committed (other processes poll), and the checkpointer."""
        if self._checkpointer is not None:
            self._checkpointer.wrote(self._conn)
        pending, self._announcements = self._announcements, []
        for path, version, data in pending:
            sqlite_watch.announce(self._watch_key, path, version, data)

    # ------------------------------------------------------------ single documents

    def _read(self, path: str) -> Document | None:
        collection, doc_id = split_path(path)
        row = self._connection().execute(
            "SELECT data, version FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)
        ).fetchone()
        return None if row is None else _document(f"{collection}/{doc_id}", row[0], row[1])

    def _apply(self, conn: sqlite3.Connection, write: Write, version: int, if_version: str | None = None) -> None:
        """Apply one write inside an open write transaction; ``write.data`` is already encoded and
        ``version`` reserved (``_take_versions``) for it."""
        collection, doc_id = split_path(write.path)
        row = None
        if not _plain(write) or if_version is not None:
            row = conn.execute(
                "SELECT data, version FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)
            ).fetchone()
        if if_version is not None and (row is None or str(row[1]) != if_version):
            raise PreconditionFailed(f"{write.path}: version is not {if_version}")
        if write.kind == "delete":
            conn.execute("DELETE FROM docs WHERE collection = ? AND id = ?", (collection, doc_id))
            if self._watched(write.path):
                self._announcements.append((write.path, None, None))
            return
        if write.kind == "update" and row is None:
            raise NotFound(write.path)
        current = orjson.loads(row[0]) if row is not None else {}
        if write.kind == "update":
            stored = apply_field_updates(current, write.data)
        else:
            stored = deep_merge(current, write.data) if write.merge else write.data
        try:  # a create: the primary key says whether it exists, no read first
            conn.execute(insert_rows_sql(1, upsert=write.kind != "create"),
                         (collection, doc_id, _to_json(stored, write.path), version, time.time()))
        except sqlite3.IntegrityError:
            raise AlreadyExists(write.path) from None
        if self._watched(write.path):
            self._announcements.append((write.path, version, decode_value(stored)))

    def _apply_all(self, conn: sqlite3.Connection, writes: Sequence[Write]) -> None:
        """Apply a batch's writes, their versions taken in one step (in order, as one at a time would).
        A run of creates (or of plain sets) of distinct documents is one multi-row INSERT: a 150-write
        batch of new incidents costs about 12% less than a statement per row."""
        first = self._take_versions(conn, len(writes)) - len(writes) + 1 if writes else 0
        for run in _runs(writes):
            if _plain(writes[run[0]]):
                self._insert_rows(conn, [writes[offset] for offset in run], [first + offset for offset in run])
            else:
                (offset,) = run  # any other write is a run of its own
                self._apply(conn, writes[offset], first + offset)

    def _insert_rows(self, conn: sqlite3.Connection, writes: Sequence[Write], versions: Sequence[int]) -> None:
        """Creates or plain sets of distinct documents, as few statements as possible (``_runs``)."""
        kind, updated = writes[0].kind, time.time()
        rows = []
        for write, version in zip(writes, versions):
            collection, _, doc_id = write.path.rpartition("/")  # checked by _encoded, as every write here
            rows.append((collection, doc_id, _to_json(write.data, write.path), version, updated))
        done = 0
        for size in _row_chunks(len(rows)):
            chunk = rows[done:done + size]
            try:
                conn.execute(insert_rows_sql(size, upsert=kind == "set"), [v for row in chunk for v in row])
            except sqlite3.IntegrityError:  # a create of a document that exists: the statement did nothing
                held = conn.execute(read_many_sql(size), [v for row in chunk for v in row[:2]]).fetchone()
                raise AlreadyExists(f"{held[0]}/{held[1]}" if held else writes[done].path) from None
            done += size
        watched = sqlite_watch.watched(self._watch_key, [write.path for write in writes])
        for write, version in zip(writes, versions):
            if write.path in watched:
                self._announcements.append((write.path, version, decode_value(write.data)))

    @staticmethod
    def _take_versions(conn: sqlite3.Connection, count: int) -> int:
        """Reserve ``count`` versions; returns the last (versions only grow, gaps are harmless)."""
        (last,) = conn.execute("UPDATE counters SET value = value + ? WHERE name = 'version' RETURNING value",
                               (count,)).fetchone()
        return last

    def _watched(self, path: str) -> bool:
        return bool(sqlite_watch.watched(self._watch_key, [path]))

    async def _write(self, write: Write, if_version: str | None = None) -> Document | None:
        encoded = _encoded(write)

        def apply(conn: sqlite3.Connection) -> int:
            version = self._take_versions(conn, 1)
            self._apply(conn, encoded, version, if_version)
            return version

        version = await self._run(self._in_write_transaction, apply)
        return None if write.kind == "delete" else Document(write.path, decode_value(encoded.data), str(version))

    async def get(self, path: str) -> Document | None:
        split_path(path)
        return await self._run(self._read, path)

    async def get_many(self, paths: Sequence[str]) -> dict[str, Document | None]:
        keys = {path: split_path(path) for path in dict.fromkeys(paths)}
        found: dict[str, Document | None] = dict.fromkeys(keys)
        pairs = list(keys.values())
        for start in range(0, len(pairs), MAX_GET_MANY):
            found.update(await self._run(self._read_many, pairs[start:start + MAX_GET_MANY]))
        return found

    def _read_many(self, pairs: list[tuple[str, str]]) -> dict[str, Document]:
        rows = self._connection().execute(read_many_sql(len(pairs)), [part for pair in pairs for part in pair]).fetchall()
        return {f"{c}/{i}": _document(f"{c}/{i}", data, version) for c, i, data, version in rows}

    async def create(self, path: str, data: dict[str, Any]) -> Document:
        return await self._write(Write("create", path, data))

    async def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> Document:
        return await self._write(Write("set", path, data, merge=merge))

    async def update(self, path: str, data: dict[str, Any], *, if_version: str | None = None) -> Document:
        return await self._write(Write("update", path, data), if_version)

    async def delete(self, path: str, *, if_version: str | None = None) -> None:
        await self._write(Write("delete", path), if_version)

    # ------------------------------------------------------------ queries

    async def query(
        self,
        collection: str,
        *,
        where: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Document | None = None,
    ) -> list[Document]:
        sql, params = select_sql(collection, where, order_by, start_after)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = await self._run(lambda: self._connection().execute(sql, params).fetchall())
        return [_document(f"{collection}/{doc_id}", data, version) for doc_id, data, version in rows]

    async def count(self, collection: str, *, where: Sequence[Filter] = ()) -> int:
        conditions, params = _conditions(collection, where)
        sql = f"SELECT COUNT(*) FROM docs WHERE {' AND '.join(conditions)}"
        return await self._run(lambda: self._connection().execute(sql, params).fetchone()[0])

    # ------------------------------------------------------------ atomic groups

    async def batch(self, writes: Sequence[Write]) -> None:
        if len(writes) > MAX_BATCH:
            raise InvalidValue(f"batch of {len(writes)} writes; at most {MAX_BATCH}")
        encoded = [_encoded(write) for write in writes]
        await self._run(self._in_write_transaction, lambda conn: self._apply_all(conn, encoded))

    async def transaction(self, fn: Callable[[Transaction], Awaitable[T]]) -> T:
        """BEGIN IMMEDIATE for the whole of ``fn``: no other writer can interleave, so no retry is
        needed, and every other writer waits, so ``fn`` should only read and decide (no network calls)."""
        if _ACTIVE.get() is self:
            raise StoreError("transaction() inside a transaction of the same store")
        async with self._lock:
            token = _ACTIVE.set(self)
            try:
                tx = _SqliteTransaction(self)
                try:
                    await self._submit(lambda: self._connection().execute("BEGIN IMMEDIATE"))
                    result = await fn(tx)
                    await self._submit(self._commit, tx.writes)
                except BaseException:
                    await self._submit(self._rollback)  # queued behind anything already submitted
                    raise
                return result
            finally:
                _ACTIVE.reset(token)

    def _commit(self, writes: list[Write]) -> None:
        try:
            self._apply_all(self._connection(), writes)
            self._connection().execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._committed()

    def watch(self, path: str, on_change: Callable[[Document | None], None]) -> Callable[[], None]:
        split_path(path)
        return sqlite_watch.watch_document(self.path, path, on_change)

    # ------------------------------------------------------------ lifecycle

    async def ping(self) -> None:
        await self._run(lambda: self._connection().execute("SELECT 1").fetchone())

    async def close(self) -> None:
        async with self._lock:  # waits for a running transaction to finish
            if self._closed:
                return
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()  # the last connection to the file checkpoints what is left
            self._conn = None


class _SqliteTransaction(Transaction):
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self.writes: list[Write] = []

    async def get(self, path: str) -> Document | None:
        if self.writes:
            raise StoreError("transaction: every get() must come before the first write")
        split_path(path)
        return await self._store._submit(self._store._read, path)

    def create(self, path: str, data: dict[str, Any]) -> None:
        self.writes.append(_encoded(Write("create", path, data)))

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.writes.append(_encoded(Write("set", path, data, merge=merge)))

    def update(self, path: str, data: dict[str, Any]) -> None:
        self.writes.append(_encoded(Write("update", path, data)))

    def delete(self, path: str) -> None:
        self.writes.append(_encoded(Write("delete", path)))


# ---------------------------------------------------------------- helpers (pure)


def _encoded(write: Write) -> Write:
    """Validate a write up front (bad paths and values never reach the worker) and encode its data."""
    split_path(write.path)
    if write.kind not in ("create", "set", "update", "delete"):
        raise InvalidValue(f"unknown write kind {write.kind!r}")
    if write.kind == "delete":
        return write
    data = encode_document(write.data)
    if write.kind == "update":
        check_field_updates(data)
    return Write(write.kind, write.path, data, write.merge)


def _to_json(data: dict[str, Any], path: str) -> str:
    """A document's encoded data as JSON text: orjson takes a sixth of the time of the standard
    library's encoder, time the worker thread spends holding the GIL the event loop needs."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError as exc:  # a lone surrogate, or maps nested more than 254 deep
        raise InvalidValue(f"{path}: {exc}") from None


def _document(path: str, data: str, version: int) -> Document:
    return Document(path, decode_value(orjson.loads(data)), str(version))


def _field(name: str) -> str:
    """``json_extract(data, '$.a.b')``, spelled exactly as the indexes spell it."""
    parts = [s if _PLAIN_NAME.match(s) else '"' + s.replace("'", "''") + '"' for s in split_field_path(name)]
    return f"json_extract(data, '$.{'.'.join(parts)}')"


def _json_type(name: str) -> str:
    return _field(name).replace("json_extract", "json_type", 1)


def _type_guard(name: str, value: Any) -> tuple[str, list[Any]]:
    """Firestore compares values of one type only: ``n > 5`` never matches a string."""
    json_type = _json_type(name)
    if isinstance(value, bool):
        return f"{json_type} IN ('true', 'false')", []
    if isinstance(value, (int, float)):
        return f"{json_type} IN ('integer', 'real')", []
    tagged = "=" if isinstance(value, datetime) else "<>"  # a timestamp, or a plain string
    return f"{json_type} = 'text' AND substr({_field(name)}, 1, {len(TS_TAG)}) {tagged} ?", [TS_TAG]


def _condition(flt: Filter) -> tuple[str, list[Any]]:
    value, expr = filter_value(flt), _field(flt.field)
    if flt.op == "in":
        return f"{expr} IN ({', '.join('?' * len(value))})", encode_value(value)
    if value is None:
        return f"{_json_type(flt.field)} = 'null'", []
    guard, guard_params = _type_guard(flt.field, value)
    return f"{expr} {'=' if flt.op == '==' else flt.op} ? AND {guard}", [encode_value(value), *guard_params]


def _conditions(collection: str, where: Sequence[Filter]) -> tuple[list[str], list[Any]]:
    conditions, params = ["collection = ?"], [validate_collection(collection)]
    for flt in where:
        sql, values = _condition(flt)
        conditions.append(f"({sql})")
        params.extend(values)
    return conditions, params


def _plain(write: Write) -> bool:
    """A write that needs no read of what it replaces."""
    return write.kind == "create" or (write.kind == "set" and not write.merge)


def _runs(writes: Sequence[Write]) -> list[list[int]]:
    """The order to apply a batch in, as runs of positions: a run of several is plain writes of one
    kind to distinct paths (one statement). When no path repeats, the writes commute, so all the
    creates form one run and all the plain sets another; otherwise runs keep the batch's order."""
    if len({write.path for write in writes}) == len(writes):
        by_kind: dict[str, list[int]] = {"create": [], "set": []}
        rest = []
        for offset, write in enumerate(writes):
            (by_kind[write.kind] if _plain(write) else rest).append(offset)
        return [run for run in by_kind.values() if run] + [[offset] for offset in rest]
    runs: list[list[int]] = []
    paths: set[str] = set()  # of the last run
    for offset, write in enumerate(writes):
        last = runs[-1] if runs else None
        if (last is not None and _plain(write) and writes[last[0]].kind == write.kind and _plain(writes[last[0]])
                and write.path not in paths):
            last.append(offset)
        else:
            runs.append([offset])
            paths = set()
        paths.add(write.path)
    return runs


# Powers of two: a run is about popcount(n) statements (100 rows: 3, not 5), in 8 shapes per kind that
# SQLite's statement cache keeps; each statement is a wait for the GIL on the way back. 128 rows of 5
# values stay under the 999 variables of SQLite before 3.32.
_CHUNKS = (128, 64, 32, 16, 8, 4, 2, 1)


def _row_chunks(count: int) -> list[int]:
    sizes = []
    for size in _CHUNKS:
        while count >= size:
            sizes.append(size)
            count -= size
    return sizes


def insert_rows_sql(count: int, *, upsert: bool) -> str:
    """INSERT of ``count`` rows; ``upsert`` replaces an existing document (a set), else the
    primary key refuses it (a create)."""
    sql = ("INSERT INTO docs (collection, id, data, version, updated) VALUES "
           + ", ".join("(?, ?, ?, ?, ?)" for _ in range(count)))
    if upsert:
        sql += (" ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data, version = excluded.version, "
                "updated = excluded.updated")
    return sql


def read_many_sql(count: int) -> str:
    """``count`` documents by key: one primary-key lookup each. (``(collection, id) IN (VALUES ...)``
    read the whole table instead, which made every alert of a storm cost a table scan.)"""
    values = ", ".join("(?, ?)" for _ in range(count))
    return (f"SELECT d.collection, d.id, d.data, d.version FROM (VALUES {values}) AS k "
            "CROSS JOIN docs AS d ON d.collection = k.column1 AND d.id = k.column2")


def select_sql(
    collection: str, where: Sequence[Filter], order_by: Sequence[Order], start_after: Document | None = None
) -> tuple[str, list[Any]]:
    """The SELECT for a query: filters, Firestore's order with the id tiebreak, the cursor."""
    conditions, params = _conditions(collection, where)
    orders = effective_order(where, order_by)
    id_descending = orders[-1].descending if orders else False
    # Firestore leaves out documents that lack an ordered field.
    conditions += [f"{_json_type(o.field)} IS NOT NULL" for o in orders]
    keys = [(_field(o.field), o.descending) for o in orders] + [("id", id_descending)]
    if start_after is not None:
        values = [encode_value(normalize(get_field(start_after.data, o.field))) for o in orders] + [start_after.id]
        sql, cursor_params = _after(keys, values)
        conditions.append(sql)
        params.extend(cursor_params)
    order_sql = ", ".join(f"{expr} {'DESC' if desc else 'ASC'}" for expr, desc in keys)
    return f"SELECT id, data, version FROM docs WHERE {' AND '.join(conditions)} ORDER BY {order_sql}", params


def _after(keys: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
    """Rows strictly after ``values`` in the order ``keys``: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..."""
    branches, params = [], []
    for i, (expr, descending) in enumerate(keys):
        parts, branch_params = [], []
        for j, (prev_expr, _) in enumerate(keys[:i]):
            parts.append(f"{prev_expr} IS ?")
            branch_params.append(values[j])
        value = values[i]
        if value is None:  # SQL NULL sorts first
            parts.append("0" if descending else f"{expr} IS NOT NULL")
        elif descending:
            parts.append(f"({expr} < ? OR {expr} IS NULL)")
            branch_params.append(value)
        else:
            parts.append(f"{expr} > ?")
            branch_params.append(value)
        branches.append("(" + " AND ".join(parts) + ")")
        params.extend(branch_params)
    return "(" + " OR ".join(branches) + ")", params
