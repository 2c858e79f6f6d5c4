"""The webhook inside the real application (``create_app`` over a ``Runtime``), as the service serves it."""

from __future__ import annotations

import aiohttp
import pytest

from alerting import webhook
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.web.app import create_app
from tests.alerting.builders import alert
from tests.alerting.builders import webhook as body
from tests.alerting.conftest_bridge import TOKEN


@pytest.fixture
async def app_client(store, clock, aiohttp_client):
    settings = Settings(store_url="sqlite:///unused", instance_id="w", webhook_token=TOKEN)
    async with aiohttp.ClientSession() as session:
        runtime = Runtime.build(settings, clock=clock, store=store, session=session)
        app = create_app(runtime)
        yield await aiohttp_client(app), runtime


async def test_the_real_app_stores_an_alert_and_answers_errors_as_json(app_client):
    client, runtime = app_client
    auth = {"Authorization": f"Bearer {TOKEN}"}

    stored = await client.post(webhook.PATH, json=body(alert(1)), headers=auth)
    unauthenticated = await client.post(webhook.PATH, json=body(alert(1)))
    invalid = await client.post(webhook.PATH, data=b"{", headers=auth)
    too_large = await client.post(webhook.PATH, data=b" " * (2 * 1024 * 1024), headers=auth)
    wrong_method = await client.get(webhook.PATH)

    assert stored.status == 200 and len((await stored.json())["incidents"]) == 1
    assert len(await runtime.incidents.list()) == 1
    for response, status in ((unauthenticated, 401), (invalid, 400), (too_large, 413), (wrong_method, 405)):
        assert response.status == status and "error" in await response.json()
