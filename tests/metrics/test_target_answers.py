"""Any answer from the target gives a status, never an exception (issue 12, item 1)."""

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings, strategies as st

from exporter.target import TargetClient, parse_body

HOSTILE = [
    b'{"connectedCount": Infinity, "queueDepth": 1}',
    b'{"connectedCount": 1, "queueDepth": 1e999}',
    b'{"connectedCount": NaN}',
    b'{"connectedCount": -Infinity}',
    b'\xff\xfe{"connectedCount": 1}',
    b'{"queueDepth": "\xc3\x28"}',
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_non_finite_or_non_utf8_answer_is_target_down_with_a_reason(raw):
    status = parse_body(raw)
    assert status.up is False
    assert status.error


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_a_status(raw):
    status = parse_body(raw)
    assert status.up in (True, False)
    if status.up:
        for value in (status.connected_count, status.queue_depth, status.reconnects_total):
            assert value is None or value >= 0


@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=5),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
                    max_leaves=10))
@settings(max_examples=300, deadline=None)
def test_any_json_gives_a_status(value):
    import json
    status = parse_body(json.dumps(value).encode())
    assert status.up is isinstance(value, dict)


@pytest.mark.parametrize("raw", HOSTILE)
async def test_the_client_turns_a_hostile_answer_into_target_down(aiohttp_server, raw):
    async def answer(request):
        return web.Response(body=raw, content_type="application/json")

    app = web.Application()
    app.router.add_get("/status", answer)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        status = await TargetClient(session, str(server.make_url("/status")), timeout=2).status()
    assert status.up is False and status.error
    assert status.latency_ms is not None
