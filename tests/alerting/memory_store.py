"""An in-memory DocumentStore for the alerting tests, faithful to ``exporter.store.base``.

Every operation yields to the event loop once before it acts, so concurrent
tasks interleave between a read and a conditional write the way two
processes on a real backend would.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import operator
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Sequence

from exporter.store.base import (
    AlreadyExists, Document, DocumentStore, Filter, InvalidValue, MAX_BATCH, NotFound, Order, PreconditionFailed,
    StoreUnavailable, Transaction, TransactionConflict, Write, check_value, split_path, validate_collection,
)


class MemoryStore(DocumentStore):
    kind = "memory"

    def __init__(self) -> None:
        self._docs: dict[str, tuple[dict[str, Any], str]] = {}
        self._versions = itertools.count(1)
        self.available = True
        self.writes = 0

    # ------------------------------------------------------------ reads

    async def get(self, path: str) -> Document | None:
        await self._enter()
        split_path(path)
        return self._document(path)

    async def query(self, collection: str, *, where: Sequence[Filter] = (), order_by: Sequence[Order] = (),
                    limit: int | None = None, start_after: Document | None = None) -> list[Document]:
        await self._enter()
        docs = self._matching(collection, where)
        docs.sort(key=lambda d: d.id)
        for order in reversed(order_by):
            docs.sort(key=lambda d: _sort_key(_field(d.data, order.field)), reverse=order.descending)
        if start_after is not None:
            ids = [d.path for d in docs]
            docs = docs[ids.index(start_after.path) + 1:] if start_after.path in ids else []
        return docs[:limit] if limit is not None else docs

    async def count(self, collection: str, *, where: Sequence[Filter] = ()) -> int:
        await self._enter()
        return len(self._matching(collection, where))

    # ------------------------------------------------------------ writes

    async def create(self, path: str, data: dict[str, Any]) -> Document:
        await self._enter()
        return self._create(path, data)

    async def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> Document:
        await self._enter()
        return self._set(path, data, merge)

    async def update(self, path: str, data: dict[str, Any], *, if_version: str | None = None) -> Document:
        await self._enter()
        return self._update(path, data, if_version)

    async def delete(self, path: str, *, if_version: str | None = None) -> None:
        await self._enter()
        self._delete(path, if_version)

    async def batch(self, writes: Sequence[Write]) -> None:
        await self._enter()
        if len(writes) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} writes")
        saved = dict(self._docs)
        try:
            for w in writes:
                self._apply(w)
        except Exception:
            self._docs = saved
            raise

    async def transaction(self, fn: Callable[[Transaction], Awaitable[Any]]) -> Any:
        for _ in range(20):
            tx = _MemoryTransaction(self)
            result = await fn(tx)
            if all(self._version_of(p) == v for p, v in tx.read_versions.items()):
                saved = dict(self._docs)
                try:
                    for w in tx.writes:
                        self._apply(w)
                except Exception:
                    self._docs = saved
                    raise
                return result
            await asyncio.sleep(0)
        raise TransactionConflict("memory transaction kept colliding")

    async def ping(self) -> None:
        await self._enter()

    async def close(self) -> None:
        pass

    # ------------------------------------------------------------ internals

    async def _enter(self) -> None:
        await asyncio.sleep(0)
        if not self.available:
            raise StoreUnavailable("memory store switched off by the test")

    def _document(self, path: str) -> Document | None:
        if path not in self._docs:
            return None
        data, version = self._docs[path]
        return Document(path, copy.deepcopy(data), version)

    def _version_of(self, path: str) -> str | None:
        return self._docs[path][1] if path in self._docs else None

    def _store(self, path: str, data: dict[str, Any]) -> Document:
        self._docs[path] = (data, str(next(self._versions)))
        self.writes += 1
        return self._document(path)  # type: ignore[return-value]

    def _create(self, path: str, data: dict[str, Any]) -> Document:
        split_path(path)
        if path in self._docs:
            raise AlreadyExists(path)
        return self._store(path, _normalise(data))

    def _set(self, path: str, data: dict[str, Any], merge: bool) -> Document:
        split_path(path)
        data = _normalise(data)
        if merge and path in self._docs:
            data = _deep_merge(copy.deepcopy(self._docs[path][0]), data)
        return self._store(path, data)

    def _update(self, path: str, data: dict[str, Any], if_version: str | None) -> Document:
        split_path(path)
        if path not in self._docs:
            raise NotFound(path)
        if if_version is not None and self._docs[path][1] != if_version:
            raise PreconditionFailed(path)
        merged = copy.deepcopy(self._docs[path][0])
        for key, value in _normalise(data).items():
            *parents, leaf = key.split(".")
            node = merged
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
        return self._store(path, merged)

    def _delete(self, path: str, if_version: str | None) -> None:
        split_path(path)
        if if_version is not None and self._version_of(path) != if_version:
            raise PreconditionFailed(path)
        self._docs.pop(path, None)

    def _apply(self, w: Write) -> None:
        if w.kind == "create":
            self._create(w.path, w.data or {})
        elif w.kind == "set":
            self._set(w.path, w.data or {}, w.merge)
        elif w.kind == "update":
            self._update(w.path, w.data or {}, None)
        else:
            self._delete(w.path, None)

    def _matching(self, collection: str, where: Sequence[Filter]) -> list[Document]:
        validate_collection(collection)
        prefix = collection + "/"
        docs = [self._document(p) for p in self._docs if p.startswith(prefix) and "/" not in p[len(prefix):]]
        return [d for d in docs if d is not None and all(_matches(d.data, f) for f in where)]


class _MemoryTransaction(Transaction):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.read_versions: dict[str, str | None] = {}
        self.writes: list[Write] = []

    async def get(self, path: str) -> Document | None:
        doc = await self._store.get(path)
        self.read_versions[path] = doc.version if doc else None
        return doc

    def create(self, path: str, data: dict[str, Any]) -> None:
        self.writes.append(Write("create", path, data))

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.writes.append(Write("set", path, data, merge))

    def update(self, path: str, data: dict[str, Any]) -> None:
        self.writes.append(Write("update", path, data))

    def delete(self, path: str) -> None:
        self.writes.append(Write("delete", path))


_MISSING = object()


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidValue("a document is a map")
    check_value(data, "document")
    return _to_utc(copy.deepcopy(data))


def _to_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, dict):
        return {k: _to_utc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_utc(v) for v in value]
    return value


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _field(data: dict[str, Any], name: str) -> Any:
    node: Any = data
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _matches(data: dict[str, Any], f: Filter) -> bool:
    value = _field(data, f.field)
    if value is _MISSING:
        return False
    if f.op == "in":
        return value in f.value
    if f.op == "==":
        return value == f.value
    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[f.op]
    try:
        return compare(value, f.value)
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    # Firestore's type order: missing/null < bool < number < timestamp < string < the rest.
    if value is _MISSING or value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    return (5, repr(value))
