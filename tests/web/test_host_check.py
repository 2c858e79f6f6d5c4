"""A loopback listener refuses other Host names with 421 (DNS rebinding; issue 18, item 6)."""

from __future__ import annotations

import pytest

from exporter.web.app import create_app
from exporter.web.host_check import guarded, host_allowed, host_name
from tests.web.conftest import API


@pytest.mark.parametrize("listen, applies", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
    ("10.0.0.5", False), ("::", False), ("longrun.internal", False),
])
def test_the_check_applies_to_loopback_listeners_only(listen, applies):
    assert guarded(listen) is applies


@pytest.mark.parametrize("header, allowed, ok", [
    ("127.0.0.1:9469", (), True), ("localhost", (), True), ("LOCALHOST:1", (), True), ("[::1]:9469", (), True),
    ("localhost.:9469", (), True), (None, (), True),
    ("rebind.attacker.example:9469", (), False), ("127.0.0.1.nip.io", (), False), ("", (), False),
    ("status.internal:9469", ("status.internal",), True), ("other.internal", ("status.internal",), False),
])
def test_host_allowed(header, allowed, ok):
    assert host_allowed(header, allowed) is ok


def test_host_name_drops_the_port():
    assert host_name("[::1]:9469") == "[::1]" and host_name("Example.COM:80") == "example.com"


async def test_a_rebinding_host_gets_421_on_every_route_and_is_counted(leader, app_for, aiohttp_client):
    client = await aiohttp_client(app_for(leader))
    for path in ("/health", f"{API}/incidents", "/", "/metrics"):
        async with client.get(path, headers={"Host": "rebind.attacker.example:9469"}) as response:
            assert response.status == 421, path
            assert "LONGRUN_ALLOWED_HOSTS" in (await response.json())["error"]
        async with client.get(path) as response:
            assert response.status == 200, path
    assert leader.runtime.http.refused["host"] == 4


async def test_allowed_hosts_and_non_loopback_listeners_pass(leader, aiohttp_client):
    runtime = leader.runtime
    runtime.settings = runtime.settings.with_(allowed_hosts=("status.internal",))
    client = await aiohttp_client(create_app(runtime))
    async with client.get("/health", headers={"Host": "status.internal:9469"}) as response:
        assert response.status == 200
    runtime.settings = runtime.settings.with_(listen_host="0.0.0.0", allowed_hosts=())
    client = await aiohttp_client(create_app(runtime))
    async with client.get("/health", headers={"Host": "anything.example"}) as response:
        assert response.status == 200
