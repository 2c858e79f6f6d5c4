from __future__ import annotations

import random
from datetime import datetime, timezone

import aiohttp
import pytest

from alerting.outbox import Outbox, OutboxWorker
from alerting.telegram.client import TelegramClient
from alerting.telegram.pacing import Pacer
from exporter.store.paths import Paths
from tests.alerting.driving import SteppingClock
from exporter.store.sqlite import SqliteStore
from tests.jobs.cluster import FaultyStore

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
def paths() -> Paths:
    return Paths("wa_metrics/longrun")


# ``store`` comes from tests.fixtures.stores: each outbox test runs on SQLite and on the Firestore emulator.


@pytest.fixture
async def faulty_store(tmp_path):
    """A SQLite store the test can switch off (``down = True``) to play an outage."""
    store = FaultyStore(SqliteStore(tmp_path / "faulty" / "longrun.db"))
    yield store
    await store.close()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(session, fake_telegram) -> TelegramClient:
    """A client on the fake server, with a short timeout so a hung request costs little real time."""
    return TelegramClient(session, fake_telegram.api_base, fake_telegram.token, timeout=0.3)


@pytest.fixture
def make_worker(store, paths, client, clock):
    """OutboxWorker factory on the shared store, fake server and clock; keyword arguments override."""

    def make(chats=("-100",), *, pacer=None, **kwargs):
        kwargs.setdefault("rng", random.Random(7))
        kwargs.setdefault("client", client)
        return OutboxWorker(store, paths, kwargs.pop("client"), pacer or Pacer(clock), clock, chats, **kwargs)

    return make


@pytest.fixture
def outbox(store, paths, clock) -> Outbox:
    return Outbox(store, paths, clock)
