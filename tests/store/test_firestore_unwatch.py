"""Stopping a Firestore listener never blocks the event loop's thread.

``Watch.unsubscribe`` joins the listener's thread for up to a second (always while the
emulator or Firestore is unreachable). Leadership stops a listener from the event loop
when it steps down or takes over, so /health went unanswered for a second during store
outages (tests/resilience/test_webhook_outage.py). The stand-in client below records
which thread stops it.
"""

from __future__ import annotations

import threading

from exporter.store import firestore_watch


class StandIn:
    def __init__(self) -> None:
        self.listener = None
        self.stopped_on: int | None = None
        self.closed = threading.Event()

    # firestore.Client(...)
    def __call__(self, **_kwargs):
        return self

    def document(self, _path):
        return self

    def on_snapshot(self, listener):
        self.listener = listener
        return self

    def unsubscribe(self) -> None:
        self.stopped_on = threading.get_ident()

    def close(self) -> None:
        self.closed.set()


class Snapshot:
    exists = True


def test_unwatch_stops_delivery_at_once_and_closes_the_listener_on_another_thread(monkeypatch):
    stand_in = StandIn()
    monkeypatch.setattr(firestore_watch.firestore, "Client", stand_in)
    client = type("AsyncClient", (), {"_emulator_host": None, "project": "p", "_credentials": None})()
    seen = []

    unwatch = firestore_watch.watch_document(client, "c/doc", seen.append, lambda snapshot: "doc")
    stand_in.listener([Snapshot()], [], None)
    unwatch()
    stand_in.listener([Snapshot()], [], None)  # the listener's thread, still running for a moment

    assert seen == ["doc"]
    assert stand_in.closed.wait(5)
    assert stand_in.stopped_on is not None and stand_in.stopped_on != threading.get_ident()
