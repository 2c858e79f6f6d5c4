"""Watching one Firestore document with a real-time listener.

The async client has no listeners, so a synchronous client (same project and
credentials) runs ``on_snapshot`` on its own threads. Firestore bills one read
per change delivered, which is what makes a watching standby cheap: it learns
of every renewal and release without polling.

    unwatch = watch_document(async_client, "wa_metrics/longrun/locks/heartbeat-scheduler", on_change, to_document)
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from google.cloud import firestore

log = logging.getLogger("longrun.store")

OnChange = Callable[[Any], None]


def watch_document(client: Any, path: str, on_change: OnChange, to_document: Callable[[Any], Any]) -> Callable[[], None] | None:
    """Start a listener; returns a function that stops it, or None when one cannot be started.

    ``to_document`` turns a snapshot into the store's ``Document`` (None when it does not exist).
    """
    stopped = threading.Event()
    try:
        # Built against the same endpoint as the async client: the emulator when it uses one.
        with _emulator(client._emulator_host):
            sync = firestore.Client(project=client.project, credentials=client._credentials)
        reference = sync.document(path)

        def changed(snapshots, _changes, _read_time) -> None:
            if stopped.is_set():
                return
            snapshot = snapshots[0] if snapshots else None
            on_change(to_document(snapshot) if snapshot is not None else None)

        watch = reference.on_snapshot(changed)
    except Exception as exc:  # a listener is an optimisation: polling still works without it
        log.warning("cannot watch %s (%s: %s); polling instead", path, exc.__class__.__name__, exc)
        return None

    def unwatch() -> None:
        """Stops delivery at once; the listener itself is closed on a thread of its own, because
        ``unsubscribe`` joins the listener's thread for up to a second (always, while the store is
        unreachable), and this is called from the event loop."""
        stopped.set()
        threading.Thread(target=_close, args=(watch, sync), name=f"firestore-unwatch:{path}", daemon=True).start()

    return unwatch


def _close(watch: Any, sync: Any) -> None:
    try:
        watch.unsubscribe()
    except Exception as exc:  # noqa: BLE001 - the listener is gone either way
        log.debug("closing a Firestore listener: %s: %s", exc.__class__.__name__, exc)
    finally:
        sync.close()


@contextmanager
def _emulator(host: str | None) -> Iterator[None]:
    """The client reads FIRESTORE_EMULATOR_HOST once, when built: set (or clear) it for that moment only."""
    previous = os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    if host:
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        yield
    finally:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        if previous is not None:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
