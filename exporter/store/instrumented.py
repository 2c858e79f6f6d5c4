"""A store wrapper that counts what each call costs and whether the store is up.

Reads and writes are counted as Firestore bills them (a query reads every
document it returns, at least one; a count reads one per thousand entries), so
the same numbers serve the cost benchmark, ``/health`` and ``longrun_store_up``.

    store = InstrumentedStore(SqliteStore("var/longrun.db"), clock)
    await store.get(path)
    store.usage.reads  # 1
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from exporter.clock import Clock
from exporter.store.base import (
    Document,
    DocumentStore,
    Filter,
    InvalidPath,
    InvalidValue,
    NotFound,
    AlreadyExists,
    Order,
    PreconditionFailed,
    StoreError,
    Transaction,
    Write,
)

T = TypeVar("T")

# Answers that prove the store is reachable even though the call failed.
_REACHABLE_ERRORS = (NotFound, AlreadyExists, PreconditionFailed, InvalidPath, InvalidValue)


@dataclass
class Usage:
    reads: int = 0
    writes: int = 0
    deletes: int = 0
    calls: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    up: bool = True
    last_ok: datetime | None = None
    last_error: str | None = None
    # A call still waiting after this long says the store is not answering, before it fails:
    # a Firestore transaction may take 3 budgets to give up, and nobody should wait that long to know.
    stall_after: float = 12.0
    pending: dict[int, datetime] = field(default_factory=dict)  # calls in flight -> when they began

    def is_up(self, now: datetime) -> bool:
        """The last call answered and none has waited longer than ``stall_after``."""
        return self.up and self.stalled_for(now) is None

    def stalled_for(self, now: datetime) -> float | None:
        """Seconds the oldest call in flight has waited, when that is over ``stall_after``."""
        oldest = min(self.pending.values(), default=None)
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        return waited if waited > self.stall_after else None


class _CountingTransaction(Transaction):
    def __init__(self, inner: Transaction, usage: Usage) -> None:
        self._inner, self._usage = inner, usage

    async def get(self, path: str) -> Document | None:
        self._usage.reads += 1
        return await self._inner.get(path)

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._usage.writes += 1
        self._inner.create(path, data)

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self._usage.writes += 1
        self._inner.set(path, data, merge=merge)

    def update(self, path: str, data: dict[str, Any]) -> None:
        self._usage.writes += 1
        self._inner.update(path, data)

    def delete(self, path: str) -> None:
        self._usage.deletes += 1
        self._inner.delete(path)


class InstrumentedStore(DocumentStore):
    def __init__(self, inner: DocumentStore, clock: Clock) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.clock = clock
        # One count of errors by operation: the calls' and those of the store's own work.
        self.usage = Usage(stall_after=inner.call_timeout + 2.0,
                           errors=inner.failures if inner.failures is not None else Counter())
        self._call_ids = itertools.count()

    @property
    def call_timeout(self) -> float:
        return self.inner.call_timeout

    async def _call(self, operation: str, awaitable: Awaitable[T]) -> T:
        self.usage.calls[operation] += 1
        call_id = next(self._call_ids)
        self.usage.pending[call_id] = self.clock.now()
        try:
            result = await awaitable
        except _REACHABLE_ERRORS:
            self._mark_ok()
            raise
        except StoreError as exc:
            self.usage.errors[operation] += 1
            self.usage.up = False
            self.usage.last_error = f"{operation}: {exc.__class__.__name__}: {exc}"
            raise
        finally:
            self.usage.pending.pop(call_id, None)
        self._mark_ok()
        return result

    def _mark_ok(self) -> None:
        self.usage.up = True
        self.usage.last_ok = self.clock.now()

    async def get(self, path: str) -> Document | None:
        self.usage.reads += 1
        return await self._call("get", self.inner.get(path))

    async def get_many(self, paths: Sequence[str]) -> dict[str, Document | None]:
        self.usage.reads += len(set(paths))  # Firestore bills each document asked for, found or not
        return await self._call("get_many", self.inner.get_many(paths))

    async def create(self, path: str, data: dict[str, Any]) -> Document:
        self.usage.writes += 1
        return await self._call("create", self.inner.create(path, data))

    async def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> Document:
        self.usage.writes += 1
        return await self._call("set", self.inner.set(path, data, merge=merge))

    async def update(self, path: str, data: dict[str, Any], *, if_version: str | None = None) -> Document:
        self.usage.writes += 1
        return await self._call("update", self.inner.update(path, data, if_version=if_version))

    async def delete(self, path: str, *, if_version: str | None = None) -> None:
        self.usage.deletes += 1
        await self._call("delete", self.inner.delete(path, if_version=if_version))

    async def query(
        self,
        collection: str,
        *,
        where: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Document | None = None,
    ) -> list[Document]:
        docs = await self._call(
            "query", self.inner.query(collection, where=where, order_by=order_by, limit=limit, start_after=start_after)
        )
        self.usage.reads += max(1, len(docs))
        return docs

    async def count(self, collection: str, *, where: Sequence[Filter] = ()) -> int:
        n = await self._call("count", self.inner.count(collection, where=where))
        self.usage.reads += max(1, math.ceil(n / 1000))
        return n

    async def batch(self, writes: Sequence[Write]) -> None:
        for write in writes:
            if write.kind == "delete":
                self.usage.deletes += 1
            else:
                self.usage.writes += 1
        await self._call("batch", self.inner.batch(writes))

    async def transaction(self, fn: Callable[[Transaction], Awaitable[T]]) -> T:
        return await self._call("transaction", self.inner.transaction(lambda tx: fn(_CountingTransaction(tx, self.usage))))

    async def ping(self) -> None:
        await self._call("ping", self.inner.ping())

    async def close(self) -> None:
        await self.inner.close()

    def watch(self, path: str, on_change: Callable[[Document | None], None]) -> Callable[[], None] | None:
        def counted(doc: Document | None) -> None:
            self.usage.reads += 1
            on_change(doc)

        return self.inner.watch(path, counted)
