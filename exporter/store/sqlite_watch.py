"""Watching one document of a SQLite store, in this process and across processes.

Writes made through any ``SqliteStore`` of this process on the same file are
announced at once (``announce``); writes by other processes are noticed by a
small poll on its own connection: every 0.1 s ``PRAGMA data_version``, which
reads no page, and the document only when the file changed. A standby so sees
a release within 0.1 s, well inside a heartbeat slot.

    unwatch = watch_document(db_path, "wa_metrics/longrun/locks/heartbeat-scheduler", on_change)
    ...
    unwatch()
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable

from exporter.store.base import Document
from exporter.store.codec import decode_value

OnChange = Callable[[Document | None], None]

_lock = threading.Lock()
_watchers: dict[tuple[str, str], list["_Watcher"]] = {}


class _Watcher:
    def __init__(self, db: str, path: str, on_change: OnChange, poll: float) -> None:
        self.db, self.path, self.on_change, self.poll = db, path, on_change, poll
        self.version: int | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._poll_loop, name=f"sqlite-watch:{path}", daemon=True)

    def deliver(self, version: int | None, data: dict[str, Any] | None) -> None:
        with _lock:
            if version is not None and version == self.version:
                return
            self.version = version
        if not self.stopped.is_set():
            self.on_change(None if data is None else Document(self.path, data, str(version)))

    def _poll_loop(self) -> None:
        collection, _, doc_id = self.path.rpartition("/")
        conn: sqlite3.Connection | None = None
        seen = None
        try:
            while not self.stopped.wait(self.poll):
                try:
                    if conn is None:  # the store creates the file on first use
                        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1.0)
                    changed = conn.execute("PRAGMA data_version").fetchone()[0]
                    if changed == seen:
                        continue
                    row = conn.execute("SELECT version, data FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)).fetchone()
                    seen = changed
                except sqlite3.Error:
                    continue  # not created yet, or locked: try again on the next tick
                version, data = (row[0], decode_value(json.loads(row[1]))) if row else (None, None)
                self.deliver(version, data)
        finally:
            if conn is not None:
                conn.close()


def db_key(db: Path) -> str:
    """The database file's name as watchers are filed under it (one file, however it is spelled)."""
    return str(db.resolve())


def watch_document(db: Path, path: str, on_change: OnChange, *, poll: float = 0.1) -> Callable[[], None]:
    key = (db_key(db), path)
    watcher = _Watcher(key[0], path, on_change, poll)
    with _lock:
        _watchers.setdefault(key, []).append(watcher)
    watcher.thread.start()

    def unwatch() -> None:
        watcher.stopped.set()
        with _lock:
            if watcher in _watchers.get(key, []):
                _watchers[key].remove(watcher)

    return unwatch


def announce(db: str, path: str, version: int | None, data: dict[str, Any] | None) -> None:
    """Called by SqliteStore after a write to ``path`` committed; ``db`` is ``db_key(db_path)``."""
    with _lock:
        watchers = list(_watchers.get((db, path), ()))
    for watcher in watchers:
        watcher.deliver(version, data)


def watched(db: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` someone watches, in one look (``db`` is ``db_key(db_path)``)."""
    with _lock:
        if not _watchers:
            return set()
        return {path for path in paths if _watchers.get((db, path))}
