"""A fake-clock cluster: several instances sharing one store and one FakeClock.

Each instance is a real Runtime (lease, scheduler, jobs) on its own store
object; the driver steps them in time order, so a test can kill, pause or
break one and watch what the others do, across days, in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import aiohttp

from exporter.clock import FakeClock
from exporter.jobs.scheduler import run_together
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.store import DocumentStore, Order, StoreUnavailable
from exporter.store.base import Document, Write


class FaultyStore(DocumentStore):
    """Passes everything through, except what a test tells it to fail."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.down = False
        self.fail_writes_under: str | None = None

    def _check(self, path: str = "", write: bool = False) -> None:
        if self.down or (write and self.fail_writes_under and path.startswith(self.fail_writes_under)):
            raise StoreUnavailable("injected outage")

    async def get(self, path):
        self._check(path)
        return await self.inner.get(path)

    async def create(self, path, data):
        self._check(path, True)
        return await self.inner.create(path, data)

    async def set(self, path, data, *, merge=False):
        self._check(path, True)
        return await self.inner.set(path, data, merge=merge)

    async def update(self, path, data, *, if_version=None):
        self._check(path, True)
        return await self.inner.update(path, data, if_version=if_version)

    async def delete(self, path, *, if_version=None):
        self._check(path, True)
        return await self.inner.delete(path, if_version=if_version)

    async def query(self, collection, **kwargs):
        self._check(collection)
        return await self.inner.query(collection, **kwargs)

    async def count(self, collection, **kwargs):
        self._check(collection)
        return await self.inner.count(collection, **kwargs)

    async def batch(self, writes: list[Write]):
        for write in writes:
            self._check(write.path, True)
        return await self.inner.batch(writes)

    async def transaction(self, fn):
        self._check()
        outer = self

        async def guarded(tx):
            class Guard:
                async def get(self, path):
                    outer._check(path)
                    return await tx.get(path)

                def __getattr__(self, name):
                    method = getattr(tx, name)

                    def write(path, *args, **kwargs):
                        outer._check(path, True)
                        return method(path, *args, **kwargs)

                    return write

            return await fn(Guard())

        return await self.inner.transaction(guarded)

    async def ping(self):
        self._check()
        return await self.inner.ping()

    async def close(self):
        await self.inner.close()


@dataclass
class Member:
    name: str
    runtime: Runtime
    store: FaultyStore
    alive: bool = True
    paused: bool = False


@dataclass
class Cluster:
    clock: FakeClock
    settings: Settings
    open_store: Callable[[], DocumentStore]
    members: list[Member] = field(default_factory=list)
    # Called after every step: a test's invariants (e.g. at most one leader).
    checks: list[Callable[["Cluster"], None]] = field(default_factory=list)
    # Seconds each wake-up comes late, as a loaded machine would.
    jitter: Callable[[], float] = lambda: 0.0

    async def add(self, name: str, session: aiohttp.ClientSession | None = None, **overrides: Any) -> Member:
        store = FaultyStore(self.open_store())
        settings = self.settings.with_(instance_id=name, **overrides)
        runtime = Runtime.build(settings, clock=self.clock, store=store, session=session)
        await runtime.start()
        member = Member(name, runtime, store)
        self.members.append(member)
        return member

    def active(self) -> list[Member]:
        return [m for m in self.members if m.alive and not m.paused]

    async def run_until(self, until: datetime) -> None:
        """Step every live, unpaused member in time order up to ``until``."""

        def check() -> None:
            for invariant in self.checks:
                invariant(self)

        schedulers = [m.runtime.scheduler for m in self.active()]
        await run_together(self.clock, schedulers, until, jitter=self.jitter, after_step=check)

    async def run_for(self, seconds: float) -> None:
        await self.run_until(self.clock.now() + timedelta(seconds=seconds))

    def kill(self, member: Member) -> None:
        """kill -9: no release, nothing more from this member."""
        member.alive = False

    async def stop(self, member: Member) -> None:
        """SIGTERM: stop jobs, release the lease."""
        await member.runtime.scheduler.shutdown()
        member.alive = False

    def leaders(self) -> list[str]:
        now = self.clock.now()
        # Paused members count: "holds" asks whether it would write if it ran now.
        return [m.name for m in self.members if m.alive and m.runtime.leadership.holds(now)]


async def heartbeats(store: DocumentStore, root: str) -> list[Document]:
    return [doc async for doc in store.stream(f"{root}/heartbeats", order_by=[Order("ts")])]
