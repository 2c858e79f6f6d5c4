"""A Firestore emulator for benchmarks: started on loopback for one run, or None when the jar is missing."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from pathlib import Path
from typing import AsyncIterator

from exporter.store.base import DocumentStore


@contextlib.asynccontextmanager
async def firestore_store() -> AsyncIterator[DocumentStore | None]:
    # The test fixture module knows how to find and start the emulator; reuse it, not a copy of it.
    from tests.fixtures.stores import FirestoreEmulator, find_emulator_jar
    from exporter.store.firestore import FirestoreStore

    jar = find_emulator_jar()
    if jar is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        emulator = FirestoreEmulator(jar, Path(tmp) / "emulator.log")
        emulator.start()
        store = FirestoreStore.from_settings(emulator.settings(f"bench-{uuid.uuid4().hex[:8]}"))
        try:
            yield store
        finally:
            await store.close()
            emulator.stop()
