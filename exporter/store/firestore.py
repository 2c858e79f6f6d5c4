"""The Firestore backend, over ``google.cloud.firestore.AsyncClient``.

    store = FirestoreStore.from_settings(settings)   # settings.store_url == "firestore://my-project"
    doc = await store.get("wa_metrics/longrun/config/current")
    await store.update(doc.path, {"thresholds.gapSec": 180}, if_version=doc.version)

Every call is bounded: each RPC gets ``timeout`` seconds and transient errors are
retried within the same budget, so an unreachable backend gives StoreUnavailable
within seconds instead of a hang. Google's exceptions never leave this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import re
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Sequence, TypeVar

import grpc
from google.api_core import exceptions as gexc
from google.api_core.retry import if_transient_error
from google.api_core.retry_async import AsyncRetry
from google.auth import exceptions as auth_exceptions
from google.auth import load_credentials_from_dict
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud.firestore import AsyncClient
from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.async_transaction import AsyncTransaction, async_transactional
from google.cloud.firestore_v1.base_document import DocumentSnapshot
from google.cloud.firestore_v1.base_query import BaseQuery
from google.cloud.firestore_v1.field_path import FieldPath
from google.oauth2 import service_account
from google.protobuf.timestamp_pb2 import Timestamp

from exporter.settings import SettingsError
from exporter.store import firestore_watch
from exporter.store.base import (
    MAX_BATCH, MAX_GET_MANY, AlreadyExists, Document, DocumentStore, Filter, InvalidValue, NotFound, Order,
    PreconditionFailed, StoreError, StoreUnavailable, Transaction, TransactionConflict, Write,
    effective_order, split_path, validate_collection,
)
from exporter.store.codec import check_field_updates, document_data, filter_value, get_field, split_field_path

T = TypeVar("T")

_UNAVAILABLE = (
    gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError, gexc.InternalServerError, gexc.Unknown,
    gexc.ResourceExhausted, gexc.Cancelled, gexc.Unauthenticated, gexc.PermissionDenied,
    grpc.RpcError, auth_exceptions.TransportError, auth_exceptions.RefreshError,
)
_PING_PATH = "longrun-health/ping"
_ACTIVE: contextvars.ContextVar[object | None] = contextvars.ContextVar("firestore_store_transaction", default=None)


# The document a create found, as Firestore names it ("Document already exists: projects/P/databases/
# D/documents/c/id") and as the emulator does ("entity already exists: EntityRef{..., path=/c/id}").
_HELD = re.compile(r"/documents/([^\s,}]+)|path=/([^\s,}]+)")


class FirestoreStore(DocumentStore):
    """DocumentStore over Firestore (or its emulator). ``timeout`` bounds each call, retries included."""

    kind = "firestore"

    def __init__(self, client: AsyncClient, *, timeout: float = 10.0, max_attempts: int = 5) -> None:
        self._client = client
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._call = {
            "retry": AsyncRetry(predicate=if_transient_error, initial=0.1, maximum=1.0, multiplier=2.0, timeout=timeout),
            "timeout": timeout,
        }
        # One transaction at a time per store: Firestore locks the documents a
        # transaction reads, so two from one process would only wait on each other.
        self._transaction_lock = asyncio.Lock()

    @property
    def call_timeout(self) -> float:
        """Seconds one call may take, retries included (LONGRUN_STORE_TIMEOUT)."""
        return self._timeout

    @classmethod
    def from_settings(cls, settings: Any, **options: Any) -> "FirestoreStore":
        """Project from ``firestore://PROJECT``; credentials from the inline JSON, the file, or the emulator."""
        project = settings.store_url.removeprefix("firestore://").strip("/")
        if not project or "/" in project:
            raise SettingsError(f"LONGRUN_STORE: expected firestore://PROJECT_ID, got {settings.store_url!r}")
        credentials = load_credentials(settings)
        with _emulator_host(settings.firestore_emulator_host):
            try:
                client = AsyncClient(project=project, credentials=credentials)
            except auth_exceptions.DefaultCredentialsError:
                raise SettingsError(
                    "Firestore credentials: set FIREBASE_SERVICE_ACCOUNT_JSON or GOOGLE_APPLICATION_CREDENTIALS "
                    "(or FIRESTORE_EMULATOR_HOST for the emulator)"
                ) from None
        return cls(client, **options)

    # ------------------------------------------------------------ plumbing

    @asynccontextmanager
    async def _guard(self, what: str, *, conditional: bool = False, budget: float | None = None,
                     in_transaction: bool = False) -> AsyncIterator[None]:
        """Bound the time of the block and turn Google's errors into the store's."""
        if _ACTIVE.get() is self and not in_transaction:
            raise StoreError("inside transaction() use the Transaction object, not the store")
        budget = budget or self._timeout + 2
        deadline = asyncio.timeout(budget)  # a backstop: the client's own timeouts come first
        try:
            async with deadline:
                yield
        except TimeoutError as exc:
            if not deadline.expired():
                raise  # raised by the caller's own code inside a transaction
            raise StoreUnavailable(f"firestore {what}: no answer within {budget:g}s") from exc
        except gexc.AlreadyExists as exc:
            held = _HELD.search(exc.message or "")
            raise AlreadyExists(f"{what}: {held.group(1) or held.group(2)} exists" if held else what) from exc
        except (gexc.FailedPrecondition, gexc.Aborted) as exc:
            if conditional:
                raise PreconditionFailed(f"{what}: {exc.message}") from exc
            if isinstance(exc, gexc.Aborted):
                raise TransactionConflict(f"{what}: {exc.message}") from exc
            raise StoreError(f"{what}: {exc.message}") from exc
        except gexc.NotFound as exc:
            raise NotFound(what) from exc
        except gexc.InvalidArgument as exc:
            raise InvalidValue(f"{what}: {exc.message}") from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"firestore {what}: {type(exc).__name__}: {exc}") from exc
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"firestore {what}: {type(exc).__name__}: {exc.message}") from exc
        except Exception as exc:
            if not deadline.expired():
                raise
            # Cancelled by the deadline mid-transaction, the library tries to roll back a transaction
            # that never began and raises ValueError("...cannot be rolled back") instead.
            raise StoreUnavailable(f"firestore {what}: no answer within {budget:g}s") from exc

    def _ref(self, path: str):
        split_path(path)
        return self._client.document(path)

    # ------------------------------------------------------------ single documents

    async def get(self, path: str) -> Document | None:
        ref = self._ref(path)
        async with self._guard(f"get {path}"):
            snapshot = await ref.get(**self._call)
        return _document(snapshot)

    async def get_many(self, paths: Sequence[str]) -> dict[str, Document | None]:
        refs = {path: self._ref(path) for path in dict.fromkeys(paths)}
        found: dict[str, Document | None] = dict.fromkeys(refs)
        chunks = [list(refs.values())[i:i + MAX_GET_MANY] for i in range(0, len(refs), MAX_GET_MANY)]
        for docs in await asyncio.gather(*(self._get_all(chunk) for chunk in chunks)):
            found.update((doc.path, doc) for doc in docs)
        return found

    async def _get_all(self, refs: list) -> list[Document]:
        async with self._guard(f"get of {len(refs)} documents"):
            return [doc async for snapshot in self._client.get_all(refs, **self._call)
                    if (doc := _document(snapshot)) is not None]

    async def create(self, path: str, data: dict[str, Any]) -> Document:
        ref, data = self._ref(path), document_data(data)
        async with self._guard(f"create {path}"):
            result = await ref.create(data, **self._call)
        return Document(path, data, _version(result.update_time))

    async def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> Document:
        ref, data = self._ref(path), document_data(data)
        async with self._guard(f"set {path}"):
            result = await ref.set(data, merge=merge, **self._call)
        return Document(path, data, _version(result.update_time))

    async def update(self, path: str, data: dict[str, Any], *, if_version: str | None = None) -> Document:
        ref, data = self._ref(path), _field_updates(data)
        option = self._client.write_option(last_update_time=_timestamp(if_version)) if if_version else None
        async with self._guard(f"update {path}", conditional=if_version is not None):
            result = await ref.update(data, option=option, **self._call)
        return Document(path, data, _version(result.update_time))

    async def delete(self, path: str, *, if_version: str | None = None) -> None:
        ref = self._ref(path)
        option = self._client.write_option(last_update_time=_timestamp(if_version)) if if_version else None
        async with self._guard(f"delete {path}", conditional=if_version is not None):
            await ref.delete(option=option, **self._call)

    # ------------------------------------------------------------ queries

    def _filtered(self, collection: str, where: Sequence[Filter]):
        query = self._client.collection(validate_collection(collection))
        for flt in where:
            split_field_path(flt.field)
            query = query.where(filter=FieldFilter(flt.field, flt.op, filter_value(flt)))
        return query

    def _query(self, collection: str, where: Sequence[Filter], order_by: Sequence[Order]):
        """The query with the order every backend applies, ties broken by document id."""
        query, orders = self._filtered(collection, where), effective_order(where, order_by)
        for order in orders:
            split_field_path(order.field)
            query = query.order_by(order.field, direction=_direction(order.descending))
        last_descending = orders[-1].descending if orders else False
        return query.order_by(FieldPath.document_id(), direction=_direction(last_descending)), orders

    async def query(
        self,
        collection: str,
        *,
        where: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        start_after: Document | None = None,
    ) -> list[Document]:
        query, orders = self._query(collection, where, order_by)
        if start_after is not None:
            query = query.start_after(_cursor(start_after, orders))
        if limit is not None:
            query = query.limit(int(limit))
        async with self._guard(f"query {collection}"):
            snapshots = await query.get(**self._call)
        return [_document(snapshot) for snapshot in snapshots]

    async def count(self, collection: str, *, where: Sequence[Filter] = ()) -> int:
        query = self._filtered(collection, where)
        async with self._guard(f"count {collection}"):
            results = await query.count(alias="count").get(**self._call)
        return int(results[0][0].value)

    # ------------------------------------------------------------ atomic groups

    async def batch(self, writes: Sequence[Write]) -> None:
        if len(writes) > MAX_BATCH:
            raise InvalidValue(f"batch of {len(writes)} writes; at most {MAX_BATCH}")
        if not writes:
            return
        batch = self._client.batch()
        for write in writes:
            _stage(batch, self._ref(write.path), write)
        async with self._guard(f"batch of {len(writes)}"):
            await batch.commit(**self._call)

    async def transaction(self, fn: Callable[[Transaction], Awaitable[T]]) -> T:
        """``fn`` runs in a Firestore transaction, again on contention, up to ``max_attempts`` times."""

        @async_transactional
        async def attempt(native: AsyncTransaction) -> T:
            return await fn(_FirestoreTransaction(self, native))

        if _ACTIVE.get() is self:
            raise StoreError("transaction() inside a transaction of the same store")
        async with self._transaction_lock:
            token = _ACTIVE.set(self)
            try:
                async with self._guard("transaction", budget=self._timeout * 3, in_transaction=True):
                    try:
                        return await attempt(self._client.transaction(max_attempts=self._max_attempts))
                    except ValueError as exc:  # how the library says "gave up after max_attempts"
                        if type(exc) is ValueError and isinstance(exc.__cause__, gexc.Aborted):
                            raise TransactionConflict(f"transaction: {exc}") from exc
                        raise
            finally:
                _ACTIVE.reset(token)

    # ------------------------------------------------------------ lifecycle

    async def ping(self) -> None:
        async with self._guard("ping"):
            await self._client.document(_PING_PATH).get(**self._call)

    async def close(self) -> None:
        # The client has no async close; its gRPC channel exists once a call was made.
        api, self._client._firestore_api_internal = self._client._firestore_api_internal, None
        if api is not None:
            await api.transport.close()


    def watch(self, path: str, on_change: Callable[[Document | None], None]) -> Callable[[], None] | None:
        self._ref(path)  # validates the path
        return firestore_watch.watch_document(self._client, path, on_change, _document)


class _FirestoreTransaction(Transaction):
    def __init__(self, store: FirestoreStore, native: AsyncTransaction) -> None:
        self._store = store
        self._native = native
        self._wrote = False

    async def get(self, path: str) -> Document | None:
        if self._wrote:
            raise StoreError("transaction: every get() must come before the first write")
        ref = self._store._ref(path)
        async with self._store._guard(f"transaction get {path}", in_transaction=True):
            snapshot = await ref.get(transaction=self._native, **self._store._call)
        return _document(snapshot)

    def _write(self, write: Write) -> None:
        _stage(self._native, self._store._ref(write.path), write)
        self._wrote = True

    def create(self, path: str, data: dict[str, Any]) -> None:
        self._write(Write("create", path, data))

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self._write(Write("set", path, data, merge=merge))

    def update(self, path: str, data: dict[str, Any]) -> None:
        self._write(Write("update", path, data))

    def delete(self, path: str) -> None:
        self._write(Write("delete", path))


# ---------------------------------------------------------------- credentials


def load_credentials(settings: Any) -> Credentials | None:
    """Credentials named by the settings; errors name the variable, never its content."""
    if settings.firebase_service_account_json:
        return _credentials_from_text(settings.firebase_service_account_json, "FIREBASE_SERVICE_ACCOUNT_JSON")
    if settings.google_application_credentials:
        path = settings.google_application_credentials
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError(f"GOOGLE_APPLICATION_CREDENTIALS: cannot read {path} ({reason})") from None
        return _credentials_from_text(text, f"GOOGLE_APPLICATION_CREDENTIALS ({path})")
    if settings.firestore_emulator_host:
        return AnonymousCredentials()
    return None  # the client looks for Application Default Credentials


def _credentials_from_text(text: str, source: str) -> Credentials:
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:  # the message quotes no content, only the position
        raise SettingsError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(info, dict):
        raise SettingsError(f"{source}: expected a JSON object (a service-account key)")
    if info.get("type") == "service_account":
        missing = sorted({"client_email", "private_key", "token_uri"} - set(info))
        if missing:
            raise SettingsError(f"{source}: service-account key lacks {', '.join(missing)}")
        key = str(info["private_key"])
        if "\\n" in key and "\n" not in key:  # pasted into an env file with its newlines escaped twice
            info = {**info, "private_key": key.replace("\\n", "\n")}
    try:
        if info.get("type") == "service_account":
            return service_account.Credentials.from_service_account_info(info)
        return load_credentials_from_dict(info)[0]
    except Exception as exc:  # the library's messages may quote the key: report only the kind
        raise SettingsError(f"{source}: credentials could not be loaded ({type(exc).__name__})") from None


@contextmanager
def _emulator_host(host: str | None) -> Iterator[None]:
    """The client reads FIRESTORE_EMULATOR_HOST once, when built: set it for that moment only."""
    if not host:
        yield
        return
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        yield
    finally:
        if previous is None:
            del os.environ["FIRESTORE_EMULATOR_HOST"]
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


# ---------------------------------------------------------------- conversions (pure)


def _stage(batch: Any, ref: Any, write: Write) -> None:
    """Add one write to a batch or transaction."""
    if write.kind == "delete":
        batch.delete(ref)
    elif write.kind == "update":
        batch.update(ref, _field_updates(write.data))
    elif write.kind == "create":
        batch.create(ref, document_data(write.data))
    elif write.kind == "set":
        batch.set(ref, document_data(write.data), merge=write.merge)
    else:
        raise InvalidValue(f"unknown write kind {write.kind!r}")


def _field_updates(data: dict[str, Any]) -> dict[str, Any]:
    data = document_data(data)
    check_field_updates(data)
    return data


def _direction(descending: bool) -> str:
    return BaseQuery.DESCENDING if descending else BaseQuery.ASCENDING


def _cursor(doc: Document, orders: list[Order]) -> Any:
    """The snapshot itself when we have it (exact, nanoseconds included), else its values by field."""
    if isinstance(doc.raw, DocumentSnapshot):
        return doc.raw
    return [get_field(doc.data, order.field) for order in orders] + [doc.id]


def _document(snapshot: DocumentSnapshot) -> Document | None:
    if not snapshot.exists:
        return None
    return Document(snapshot.reference.path, _plain(snapshot.to_dict()), _version(snapshot.update_time), snapshot)


def _plain(value: Any) -> Any:
    """Firestore's DatetimeWithNanoseconds → plain aware UTC datetime, all the way down."""
    if isinstance(value, datetime):
        v = value.astimezone(timezone.utc)
        return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=timezone.utc)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _version(update_time: Any) -> str:
    stamp = update_time.timestamp_pb() if hasattr(update_time, "timestamp_pb") else update_time
    return f"{stamp.seconds}.{stamp.nanos:09d}"


def _timestamp(version: str) -> Timestamp:
    seconds, _, nanos = str(version).partition(".")
    if not (seconds.isdigit() and nanos.isdigit()):
        raise PreconditionFailed(f"version {version!r} was not issued by Firestore, so it cannot match")
    return Timestamp(seconds=int(seconds), nanos=int(nanos))
