"""Moves the SQLite store's write-ahead log into the database file on a thread of its own.

SQLite's default is that the commit which takes the log past 1,000 pages copies
the log into the file and syncs both, on the writer's own time: in a storm of
new incidents that was a third of every write transaction's wall time, with the
event loop waiting on it. The store's writer connection turns that off
(``wal_autocheckpoint = 0``) and tells this thread after each commit; once the
log holds ``pages`` pages the thread runs PASSIVE checkpoints on its own
connection, which never block the writer or readers.

SQLite starts the log over at the first write after a checkpoint that copied
all of it. Commits made while a pass runs leave a few pages behind, so the
thread runs passes until one copies everything (each is shorter than the one
before). Should it still fall behind by ``OVERDUE`` times the threshold, the
writer checkpoints after its commit itself, as SQLite would have (waiting for a
pass of the thread's to end first): the log stays bounded. SQLite reuses the
log file rather than shrinking it, so the writer also sets
``journal_size_limit`` (``writer_pragmas``) below the threshold: the file's
size then says how much the log holds.

    checkpointer = Checkpointer(path)
    ...                          # on the writer's thread, after each commit:
    checkpointer.wrote(conn)
    checkpointer.close()         # at the store's close
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger("longrun.store")

PAGES = 1_000  # SQLite's own threshold for an automatic checkpoint
PAGE_BYTES = 4096  # SQLite's default page size, which every file this store makes has
OVERDUE = 8  # times the threshold: past this the writer checkpoints itself
_PASSES = 8  # passes in a row before waiting for the next commit
_WARN_EVERY_S = 300.0


def writer_pragmas(pages: int = PAGES) -> list[str]:
    """What the writer connection runs so that this thread, not its commits, checkpoints."""
    return ["PRAGMA wal_autocheckpoint = 0", f"PRAGMA journal_size_limit = {pages * PAGE_BYTES // 2}"]


class Checkpointer:
    def __init__(self, path: Path, *, pages: int = PAGES, on_failure: Callable[[], None] = lambda: None) -> None:
        self.path = path
        self._on_failure = on_failure  # each failed checkpoint (longrun_store_errors{operation="checkpoint"})
        self._wal = Path(f"{path}-wal")
        self._threshold = pages * PAGE_BYTES
        self._nudged = threading.Event()
        self._passing = threading.Lock()  # one pass at a time: SQLite would refuse a second as busy
        self._closing = False
        self._conn: sqlite3.Connection | None = None  # the thread's own, touched only by it
        self._last_warning = float("-inf")
        self.caught_up = 0  # passes that copied the whole log (the next write starts it over)
        self.by_writer = 0  # checkpoints the writer made itself, the thread having fallen behind
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self, conn: sqlite3.Connection) -> None:
        """A write transaction committed on ``conn`` (call on its thread): wake the thread, or, if the
        log has grown past OVERDUE times the threshold all the same, checkpoint on ``conn`` now."""
        self._nudged.set()
        if self._wal_size() >= OVERDUE * self._threshold:
            self.by_writer += 1
            with self._passing:  # after the thread's pass, if one runs: nothing is appended meanwhile
                self._pass(conn)

    def close(self) -> None:
        """Stop the thread; the store's last connection to close checkpoints what is left."""
        self._closing = True
        self._nudged.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._closing:
                self._nudged.wait()
                self._nudged.clear()
                if not self._closing and self._wal_size() >= self._threshold:
                    self._catch_up()
        finally:
            if self._conn is not None:
                self._conn.close()

    def _catch_up(self) -> None:
        """Passes until one copies the whole log (or one fails, or _PASSES were made)."""
        for _ in range(_PASSES):
            with self._passing:
                done = self._own_pass()
            if done is not False or self._closing:
                return

    def _own_pass(self) -> bool | None:
        """A pass on the thread's own connection, opened when first needed and again after a failure."""
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        done = self._pass(self._conn)
        if done is None:
            self._conn.close()
            self._conn = None
        return done

    def _wal_size(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:
            return 0

    def _pass(self, conn: sqlite3.Connection) -> bool | None:
        """One passive checkpoint: True when it copied the whole log, False when commits (or another
        process's checkpoint) left some behind, None when it failed (counted and logged)."""
        try:
            # fetchall: the statement runs to its end, so it holds no read lock that could stop the restart
            (busy, logged, copied), = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        if busy or logged != copied:
            return False
        self.caught_up += 1
        return True

    def _failed(self, exc: sqlite3.Error) -> None:
        self._on_failure()
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_S:
            self._last_warning = now
            log.warning("SQLite store %s: could not move the write-ahead log into the file (%s); it will grow "
                        "until a checkpoint succeeds. Check free disk space and the file's permissions; longrun "
                        "retries after the next write", self.path, exc)
