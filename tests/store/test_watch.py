"""Watching a document: every committed change arrives whole, from any writer."""

import asyncio
import threading

import pytest

from exporter.store import Paths, PreconditionFailed
from tests.support import reached

PATH = Paths().lock()


async def wait_for(seen: list, count: int, timeout: float = 10.0) -> None:
    """Until ``count`` changes arrived or ``timeout`` passed; the test asserts what it got."""
    await reached(lambda: len(seen) >= count, within=timeout)


async def test_watch_delivers_each_change_whole_and_deletes_as_none(store_factory):
    writer, watcher = store_factory(), store_factory()  # as two processes would
    seen, lock = [], threading.Lock()

    def on_change(doc):
        with lock:
            seen.append(doc)

    unwatch = watcher.watch(PATH, on_change)
    assert unwatch is not None
    try:
        await asyncio.sleep(1.0)  # the listener is up (Firestore answers the current state first)
        before = len(seen)
        first = await writer.set(PATH, {"holderInstanceId": "a", "generation": 1})
        await wait_for(seen, before + 1)
        second = await writer.update(PATH, {"generation": 2})
        await wait_for(seen, before + 2)
        await writer.delete(PATH)
        await wait_for(seen, before + 3)
    finally:
        unwatch()
    # Before the first write only the initial state (none); Firestore may answer it late, or twice.
    initial, seen = seen[:-3], seen[-3:]
    assert all(doc is None for doc in initial)
    assert [doc.data if doc else None for doc in seen] == [
        {"holderInstanceId": "a", "generation": 1},
        {"holderInstanceId": "a", "generation": 2},  # the whole document, not just the changed field
        None,
    ]
    # With the version of each write, so the watcher can write on condition that nothing changed since.
    assert [doc.version for doc in seen[:2]] == [first.version, second.version]
    assert all(doc.path == PATH for doc in seen[:2])


async def test_a_write_on_the_watched_version_fails_once_someone_else_wrote(store_factory):
    writer, watcher = store_factory(), store_factory()
    seen, lock = [], threading.Lock()

    def on_change(doc):
        with lock:
            seen.append(doc)

    await writer.set(PATH, {"holderInstanceId": "a", "generation": 1})
    unwatch = watcher.watch(PATH, on_change)
    try:
        await wait_for(seen, 1)
        watched = seen[-1]
        await writer.update(PATH, {"generation": 2}, if_version=watched.version)
        with pytest.raises(PreconditionFailed):
            await watcher.update(PATH, {"holderInstanceId": "b"}, if_version=watched.version)
    finally:
        unwatch()


async def test_nothing_arrives_after_unwatch(store_factory):
    store = store_factory()
    seen = []
    unwatch = store.watch(PATH, seen.append)
    await asyncio.sleep(0.5)
    unwatch()
    seen.clear()
    await store.set(PATH, {"x": 1})
    await asyncio.sleep(1.0)
    assert seen == []
