"""The document store interface every backend implements.

Documents are addressed by slash paths the way Firestore addresses them:
``wa_metrics/longrun/heartbeats/2026-01-01T00-00-00`` is the document
``2026-01-01T00-00-00`` in the collection ``wa_metrics/longrun/heartbeats``.

Values are JSON-like (None, bool, int, float, str, list, dict) plus
timezone-aware ``datetime``; a naive datetime is refused. Every backend
returns datetimes as timezone-aware UTC.

    store = open_store("sqlite:///./var/longrun.db")
    await store.create("wa_metrics/longrun/heartbeats/2026-01-01T00-00-00", {"ts": now})
    page = await store.query("wa_metrics/longrun/heartbeats",
                             where=[Filter("ts", ">=", since)], order_by=[Order("ts")], limit=100)
    async for doc in store.stream("wa_metrics/longrun/heartbeats", order_by=[Order("ts")]):
        ...
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Sequence, TypeVar

T = TypeVar("T")

# ---------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of every store failure."""


class StoreUnavailable(StoreError):
    """The backend could not be reached or timed out: try again later."""


class NotFound(StoreError):
    """update() on a document that does not exist."""


class AlreadyExists(StoreError):
    """create() on a document that exists."""


class PreconditionFailed(StoreError):
    """A conditional write found a different version than expected."""


class TransactionConflict(StoreError):
    """A transaction kept colliding with other writers and gave up."""


class InvalidPath(StoreError, ValueError):
    """A path or document id that can never be valid (empty, '..', too long...)."""


class InvalidValue(StoreError, ValueError):
    """A value the store cannot hold (naive datetime, set, object...)."""


# ---------------------------------------------------------------- values

MAX_ID_BYTES = 1500
_RESERVED_ID = re.compile(r"^__.*__$")


def split_path(path: str) -> tuple[str, str]:
    """Split a document path into (collection path, document id), validating it."""
    if not isinstance(path, str) or not path:
        raise InvalidPath("empty path")
    collection, slash, doc_id = path.rpartition("/")
    if slash and collection in _COLLECTIONS_SEEN:  # a storm writes a few collections thousands of times
        return collection, validate_id(doc_id)
    segments = validate_path(path)
    if len(segments) % 2 != 0:
        raise InvalidPath(f"{path!r} is a collection path, not a document path")
    _remember(collection)
    return collection, doc_id


def validate_collection(path: str) -> str:
    if isinstance(path, str) and path in _COLLECTIONS_SEEN:
        return path
    segments = validate_path(path)
    if len(segments) % 2 != 1:
        raise InvalidPath(f"{path!r} is a document path, not a collection path")
    _remember(path)
    return path


_COLLECTIONS_SEEN: set[str] = set()  # collection paths found valid (a handful in practice)


def _remember(collection: str) -> None:
    if len(_COLLECTIONS_SEEN) >= 256:
        _COLLECTIONS_SEEN.clear()
    _COLLECTIONS_SEEN.add(collection)


def validate_path(path: str) -> list[str]:
    if not isinstance(path, str) or not path:
        raise InvalidPath("empty path")
    segments = path.split("/")
    for segment in segments:
        validate_id(segment)
    return segments


def validate_id(segment: str) -> str:
    if not segment:
        raise InvalidPath("empty path segment")
    if segment in (".", ".."):
        raise InvalidPath(f"path segment {segment!r} is not allowed")
    if segment[:2] == "__" and _RESERVED_ID.match(segment):
        raise InvalidPath(f"path segment {segment!r} is reserved")
    if "/" in segment or "\x00" in segment:
        raise InvalidPath("path segment holds '/' or a NUL byte")
    if len(segment.encode("utf-8")) > MAX_ID_BYTES:
        raise InvalidPath(f"path segment longer than {MAX_ID_BYTES} bytes")
    return segment


# ---------------------------------------------------------------- queries

Op = Literal["==", "<", "<=", ">", ">=", "in"]


@dataclass(frozen=True)
class Filter:
    """``Filter("ts", ">=", since)``; nested fields with dots: ``Filter("details.kind", "==", "x")``."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Document:
    path: str
    data: dict[str, Any]
    # Opaque; changes on every write of the document. Pass it back as
    # ``if_version`` to write only if nobody else wrote since.
    version: str | None = None
    # Backend-specific handle (a Firestore snapshot) used for cursors.
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass(frozen=True)
class Write:
    """One write of a batch: ``Write("set", path, data, merge=True)``."""

    kind: Literal["create", "set", "update", "delete"]
    path: str
    data: dict[str, Any] | None = None
    merge: bool = False


MAX_BATCH = 500
MAX_GET_MANY = 500
MAX_IN_VALUES = 30
RANGE_OPS = ("<", "<=", ">", ">=")


def effective_order(where: Sequence[Filter], order_by: Sequence[Order]) -> list[Order]:
    """The order every backend applies, as Firestore does: the given fields, then the
    range-filtered fields not already named (by field name), in the direction of the
    last given field; each backend breaks the remaining ties by document id in that
    same direction."""
    orders = list(order_by)
    descending = orders[-1].descending if orders else False
    named = {order.field for order in orders}
    ranged = sorted({f.field for f in where if f.op in RANGE_OPS} - named)
    return orders + [Order(name, descending) for name in ranged]


# ---------------------------------------------------------------- interface


class Transaction(ABC):
    """Reads first, then writes; the writes commit atomically when the function returns."""

    @abstractmethod
    async def get(self, path: str) -> Document | None: ...

    @abstractmethod
    def create(self, path: str, data: dict[str, Any]) -> None: ...

    @abstractmethod
    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None: ...

    @abstractmethod
    def update(self, path: str, data: dict[str, Any]) -> None: ...

    @abstractmethod
    def delete(self, path: str) -> None: ...


class DocumentStore(ABC):
    """One async interface over the embedded SQLite store and Firestore."""

    #: "sqlite" or "firestore", for logs and metrics labels.
    kind: str = "abstract"
    #: Work the store does on its own that failed, by operation (SQLite: "checkpoint"), counted by
    #: ``InstrumentedStore`` with its calls' errors (``longrun_store_errors``); None: no such work.
    failures: Counter[str] | None = None

    @property
    def call_timeout(self) -> float:
        """Seconds one call may take, retries included, before it fails as unavailable."""
        return 10.0

    @abstractmethod
    async def get(self, path: str) -> Document | None: ...

    async def get_many(self, paths: Sequence[str]) -> dict[str, Document | None]:
        """Many documents at once, keyed by path (None: missing), in as few round trips as the backend
        allows (SQLite: one query per MAX_GET_MANY, Firestore: one batched get per MAX_GET_MANY). Not a
        snapshot across the documents: use ``transaction`` for that. This default reads one by one."""
        for path in paths:
            split_path(path)
        return {path: await self.get(path) for path in dict.fromkeys(paths)}

    @abstractmethod
    async def create(self, path: str, data: dict[str, Any]) -> Document:
        """Write a new document; raise AlreadyExists if it exists."""

    @abstractmethod
    async def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> Document:
        """Write a document whole, or with ``merge`` deep-merge maps into the existing one."""

    @abstractmethod
    async def update(self, path: str, data: dict[str, Any], *, if_version: str | None = None) -> Document:
        """Change fields of an existing document (dotted keys address nested fields).

        Raises NotFound when missing, PreconditionFailed when ``if_version`` is
        given and the stored version differs (or the document is missing).
        Like every write, returns the new ``version``; ``data`` holds the fields
        as given (for update and merge, not the whole document).
        """

    @abstractmethod
    async def delete(self, path: str, *, if_version: str | None = None) -> None:
        """Delete a document; deleting a missing one is not an error (unless if_version is given)."""

    @abstractmethod
    async def query(
        self,
        collection: str,
        *,
        where: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Document | None = None,
    ) -> list[Document]:
        """Documents of one collection matching every filter.

        Ties in ``order_by`` (and an empty ``order_by``) are broken by document
        id, so ``start_after`` the last document of a page gives the next page.
        """

    @abstractmethod
    async def count(self, collection: str, *, where: Sequence[Filter] = ()) -> int:
        """How many documents match, without reading them."""

    @abstractmethod
    async def batch(self, writes: Sequence[Write]) -> None:
        """Apply up to MAX_BATCH writes atomically."""

    @abstractmethod
    async def transaction(self, fn: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run ``fn`` in a read-then-write transaction, retrying it on contention."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable when the backend cannot be reached. Cheap."""

    @abstractmethod
    async def close(self) -> None: ...

    def watch(self, path: str, on_change: Callable[[Document | None], None]) -> Callable[[], None] | None:
        """Call ``on_change(doc)`` (from any thread) whenever the document changes (None: deleted).

        ``doc`` is the whole document with its ``version``, so a caller can
        write on condition that nothing changed since (``update(if_version=)``).

        Returns a function that stops watching, or None when this backend
        cannot watch and callers must poll instead. A watch costs one read per
        change on Firestore, against one read per poll.
        """
        return None

    # ------------------------------------------------------------ built on the above

    async def stream(
        self,
        collection: str,
        *,
        where: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        page_size: int = 500,
    ) -> AsyncIterator[Document]:
        """Every matching document, read page by page so memory stays flat."""
        cursor: Document | None = None
        while True:
            page = await self.query(collection, where=where, order_by=order_by, limit=page_size, start_after=cursor)
            for doc in page:
                yield doc
            if len(page) < page_size:
                return
            cursor = page[-1]

    async def delete_where(self, collection: str, *, where: Sequence[Filter], batch_size: int = 200) -> int:
        """Delete matching documents in bounded batches; returns how many were deleted."""
        deleted = 0
        while True:
            page = await self.query(collection, where=where, limit=batch_size)
            if not page:
                return deleted
            await self.batch([Write("delete", doc.path) for doc in page])
            deleted += len(page)


def check_value(value: Any, where: str = "value") -> None:
    """Raise InvalidValue for anything a backend cannot store faithfully."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidValue(f"{where}: naive datetime; use a timezone-aware UTC datetime")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise InvalidValue(f"{where}: map keys must be non-empty strings")
            check_value(item, f"{where}.{key}")
        return
    raise InvalidValue(f"{where}: {type(value).__name__} cannot be stored")
