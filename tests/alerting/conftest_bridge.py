"""Fixtures for the alert bridge tests: the webhook route over a tiny app, on a real store.

Import the fixtures into a test module (pytest finds them in its namespace):

    from tests.alerting.conftest_bridge import bridge, make_bridge  # noqa: F401

    async def test_x(bridge):
        response = await bridge.post(webhook(alert(1)))
        assert response.status == 200
        assert len(await bridge.incidents_stored()) == 1
        await bridge.deliver()                # the outbox worker, in fake time, until nothing is pending
"""

from __future__ import annotations

import asyncio

from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from alerting import webhook as route
from alerting.bridge import AlertBridge
from alerting.delivery import TelegramDelivery
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService
from exporter.settings import Settings
from exporter.store.base import DocumentStore, StoreUnavailable, Write
from exporter.store.paths import Paths
from exporter.web.app import json_errors
from tests.alerting.driving import SteppingClock, run_workers

TOKEN = "webhook-test-token-0123456789"
CHAT = "42"


class FailAfterWrites(DocumentStore):
    """Passes everything through until ``budget`` write operations have been made, then every write
    raises StoreUnavailable (a transaction counts as one write, failing before it commits).
    ``stall()`` makes every write hang until ``resume()`` (a store that stopped answering)."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.budget: int | None = None  # None: never fail
        self.writes = 0
        self._answering = asyncio.Event()
        self._answering.set()

    def fail_after(self, writes: int | None) -> None:
        self.budget, self.writes = writes, 0

    def stall(self) -> None:
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    async def _write(self) -> None:
        await self._answering.wait()
        if self.budget is not None and self.writes >= self.budget:
            raise StoreUnavailable(f"injected: the store fails after {self.budget} writes")
        self.writes += 1

    async def get(self, path):
        return await self.inner.get(path)

    async def get_many(self, paths):
        return await self.inner.get_many(paths)

    async def query(self, collection, **kwargs):
        return await self.inner.query(collection, **kwargs)

    async def count(self, collection, **kwargs):
        return await self.inner.count(collection, **kwargs)

    async def create(self, path, data):
        await self._write()
        return await self.inner.create(path, data)

    async def set(self, path, data, *, merge=False):
        await self._write()
        return await self.inner.set(path, data, merge=merge)

    async def update(self, path, data, *, if_version=None):
        await self._write()
        return await self.inner.update(path, data, if_version=if_version)

    async def delete(self, path, *, if_version=None):
        await self._write()
        return await self.inner.delete(path, if_version=if_version)

    async def batch(self, writes: list[Write]):
        await self._write()
        return await self.inner.batch(writes)

    async def transaction(self, fn):
        async def guarded(tx):
            watched = _WatchedTransaction(tx)
            result = await fn(watched)
            if watched.wrote:  # a read-only transaction writes nothing
                await self._write()
            return result

        return await self.inner.transaction(guarded)

    async def ping(self):
        return await self.inner.ping()

    async def close(self):
        pass  # the store fixture closes the inner store


class _WatchedTransaction:
    def __init__(self, inner) -> None:
        self._inner, self.wrote = inner, False

    async def get(self, path):
        return await self._inner.get(path)

    def __getattr__(self, name):  # create / set / update / delete
        self.wrote = True
        return getattr(self._inner, name)


@dataclass
class BridgeHarness:
    store: FailAfterWrites
    paths: Paths
    clock: SteppingClock
    incidents: IncidentService
    delivery: TelegramDelivery
    bridge: AlertBridge
    client: TestClient
    fake_telegram: Any
    token: str | None = TOKEN
    answers: list[int] = field(default_factory=list)

    async def post(self, body: Any, *, token: str | None = "default", raw: bytes | None = None, **kwargs):
        token = self.token if token == "default" else token
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else None
        if raw is None:
            kwargs["json"] = body
        response = await self.client.post(route.PATH, data=data, headers=headers, **kwargs)
        self.answers.append(response.status)
        return response

    async def incidents_stored(self) -> list[dict[str, Any]]:
        return [d.data for d in await self.store.query(self.paths.incidents)]

    async def outbox(self) -> list[dict[str, Any]]:
        return [d.data for d in await self.store.query(self.paths.outbox)]

    async def only_incident(self) -> dict[str, Any]:
        stored = await self.incidents_stored()
        assert len(stored) == 1, [(d["incidentId"], d["status"]) for d in stored]
        return stored[0]

    async def deliver(self) -> None:
        """Run the outbox worker in fake time until every saved message was sent (or failed)."""
        worker = self.delivery.worker
        assert worker is not None, "Telegram is off in this harness"
        total = len(await self.outbox())
        self.fake_telegram.clock = self.clock
        finished = lambda: total == 0 or (worker.stats.sent + worker.stats.failed >= total  # noqa: E731
                                          and worker.stats.depth == 0)
        await run_workers(self.clock, [worker], finished)


@pytest.fixture
def make_bridge(store, aiohttp_client, fake_telegram, session, clock):
    """``await make_bridge(**settings)``: a harness over the test's store (``on=`` another store object,
    for a second instance); settings override the defaults (webhook token TOKEN, Telegram on the fake
    server with chat 42)."""

    async def make(*, mapping=None, on=None, deadline: float = route.DEADLINE_SECONDS, **overrides) -> BridgeHarness:
        settings = Settings(
            store_url="sqlite:///unused", webhook_token=TOKEN, telegram_bot_token=fake_telegram.token,
            telegram_chat_ids=(CHAT,), telegram_api_base=fake_telegram.api_base,
        ).with_(**overrides)
        paths = Paths("wa_metrics/longrun")
        faulty = FailAfterWrites(on or store)
        config = ConfigSource(faulty, paths, runtime_config.defaults(), clock)
        delivery = TelegramDelivery.from_settings(settings, faulty, paths, clock, session, poll_interval=5.0)
        incidents = IncidentService(faulty, paths, clock, config, delivery.notifier)
        bridge = AlertBridge(incidents, delivery, clock, mapping)
        app = web.Application(middlewares=[json_errors])
        route.add_routes(app, bridge, settings, deadline=deadline)
        client = await aiohttp_client(app)
        return BridgeHarness(faulty, paths, clock, incidents, delivery, bridge, client, fake_telegram,
                             token=settings.webhook_token)

    return make


@pytest.fixture
async def bridge(make_bridge) -> BridgeHarness:
    return await make_bridge()
