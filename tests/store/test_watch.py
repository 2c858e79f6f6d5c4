"""Watching a document: every committed change arrives whole, from any writer."""

import asyncio
import threading

from exporter.store import Paths

PATH = Paths().lock()


async def wait_for(seen: list, count: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(seen) < count and loop.time() < deadline:
        await asyncio.sleep(0.02)


async def test_watch_delivers_each_change_whole_and_deletes_as_none(store_factory):
    writer, watcher = store_factory(), store_factory()  # as two processes would
    seen, lock = [], threading.Lock()

    def on_change(data):
        with lock:
            seen.append(data)

    unwatch = watcher.watch(PATH, on_change)
    assert unwatch is not None
    try:
        await asyncio.sleep(1.0)  # the listener is up (Firestore answers the current state first)
        seen.clear()
        await writer.set(PATH, {"holderInstanceId": "a", "generation": 1})
        await wait_for(seen, 1)
        await writer.update(PATH, {"generation": 2})
        await wait_for(seen, 2)
        await writer.delete(PATH)
        await wait_for(seen, 3)
    finally:
        unwatch()
    assert seen == [
        {"holderInstanceId": "a", "generation": 1},
        {"holderInstanceId": "a", "generation": 2},  # the whole document, not just the changed field
        None,
    ]


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
