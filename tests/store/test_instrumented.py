"""The instrumented store's view of whether the store is up: failures, and calls that never answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from exporter.clock import FakeClock
from exporter.store.instrumented import InstrumentedStore
from exporter.store.sqlite import SqliteStore


class HangingGets(SqliteStore):
    """A store whose reads wait until ``answer`` is set: a store that stopped answering."""

    def __init__(self, path) -> None:
        super().__init__(path, busy_timeout=5.0)
        self.answer = asyncio.Event()

    async def get(self, path):
        await self.answer.wait()
        return await super().get(path)


async def test_a_call_waiting_past_the_stores_timeout_counts_as_down_before_it_fails(tmp_path):
    clock = FakeClock()
    inner = HangingGets(tmp_path / "x.db")
    store = InstrumentedStore(inner, clock)
    try:
        waiting = asyncio.create_task(store.get("c/a"))
        await asyncio.sleep(0)
        start = clock.now()

        assert store.usage.is_up(start + timedelta(seconds=7))  # busy timeout 5 s + 2 s of grace
        late = start + timedelta(seconds=7.5)
        assert not store.usage.is_up(late) and store.usage.stalled_for(late) == 7.5

        inner.answer.set()
        await waiting
        assert store.usage.is_up(late) and store.usage.pending == {}
    finally:
        await store.close()


async def test_a_get_many_is_one_call_billed_one_read_per_document_asked_for(tmp_path):
    inner = SqliteStore(tmp_path / "x.db")
    store = InstrumentedStore(inner, FakeClock())
    try:
        await inner.create("c/a", {"n": 1})

        got = await store.get_many(["c/a", "c/b", "c/a"])

        assert got["c/a"].data == {"n": 1} and got["c/b"] is None
        assert store.usage.calls["get_many"] == 1 and store.usage.reads == 2
    finally:
        await inner.close()
