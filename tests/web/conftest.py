"""Fixtures for the HTTP tests: a fake-clock cluster of real Runtimes and a client on one of them.

    async def test_something(leader, client):        # on SQLite and on the Firestore emulator
        status, body = await call(client, "GET", "/api/admin/longrun/heartbeats")

The clock starts at 2026-03-01 23:00 UTC, so an hour of running crosses
midnight and the day's rollup gets written; ``leader`` has already run ten
minutes (heartbeats 23:00..23:10, the probes of their slots).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web

from exporter.clock import FakeClock
from exporter.settings import Settings
from exporter.web.app import create_app
from tests.jobs.cluster import Cluster, Member
from tests.support import at_most_one_leader

START = datetime(2026, 3, 1, 23, 0, tzinfo=timezone.utc)
TOKEN = "tok-3f9a1c7e5b2d4a6c8e0f1a2b3c4d5e6f"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/admin/longrun"
OUTSIDE = "203.0.113.7"  # TEST-NET-3: never loopback


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def cluster(clock, store_factory) -> Cluster:
    """Instances at the runbook's defaults (60 s heartbeats, 120 s lease), with an admin token."""
    settings = Settings(store_url="sqlite:///unused", instance_id="unset", admin_token=TOKEN)
    group = Cluster(clock, settings, store_factory)
    group.checks.append(at_most_one_leader)
    return group


@pytest.fixture
async def leader(cluster) -> Member:
    member = await cluster.add("alpha")
    await cluster.run_for(600)
    return member


@pytest.fixture
def app_for():
    """``app_for(member, remote=None)``: the real app; ``remote`` makes every request come from that address."""

    def build(member: Member, remote: str | None = None) -> web.Application:
        app = create_app(member.runtime)
        if remote is not None:
            app.middlewares.insert(0, pretend_remote(remote))
        return app

    return build


@pytest.fixture
async def client(leader, app_for, aiohttp_client):
    return await aiohttp_client(app_for(leader))


def pretend_remote(remote: str):
    """A middleware that makes the request look as if it came from ``remote`` (as behind a NAT)."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        return await handler(request.clone(remote=remote))

    return middleware


async def call(client, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> tuple[int, Any]:
    """(status, parsed JSON body); asserts every answer is JSON and carries no stack trace."""
    headers = {**(AUTH if auth else {}), **kwargs.pop("headers", {})}
    async with client.request(method, path, headers=headers, **kwargs) as response:
        text = await response.text()
        assert response.content_type == "application/json", (response.status, text[:300])
        assert "Traceback" not in text and TOKEN not in text
        return response.status, json.loads(text)
