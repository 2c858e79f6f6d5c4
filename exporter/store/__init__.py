"""The document store: one async interface (``base``), two backends (``sqlite``, ``firestore``)."""

from __future__ import annotations

from exporter.store.base import (
    AlreadyExists,
    Document,
    DocumentStore,
    Filter,
    InvalidPath,
    InvalidValue,
    NotFound,
    Order,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
    Transaction,
    TransactionConflict,
    Write,
)
from exporter.store.paths import Paths

__all__ = [
    "AlreadyExists", "Document", "DocumentStore", "Filter", "InvalidPath", "InvalidValue", "NotFound",
    "Order", "Paths", "PreconditionFailed", "StoreError", "StoreUnavailable", "Transaction",
    "TransactionConflict", "Write", "open_store",
]


def open_store(settings) -> DocumentStore:
    """Open the backend named by ``settings.store_url`` (``sqlite:///PATH`` or ``firestore://PROJECT``)."""
    url = settings.store_url
    if url.startswith("sqlite:///"):
        from exporter.store.sqlite import SqliteStore

        options = {} if settings.store_timeout is None else {"busy_timeout": settings.store_timeout}
        return SqliteStore(url[len("sqlite:///"):], **options)
    if url.startswith("firestore://"):
        from exporter.store.firestore import FirestoreStore

        options = {} if settings.store_timeout is None else {"timeout": settings.store_timeout}
        return FirestoreStore.from_settings(settings, **options)
    raise ValueError(f"unknown store URL {url!r}; use sqlite:///PATH or firestore://PROJECT_ID")
