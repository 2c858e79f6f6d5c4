"""The HTTP server's deadlines, connection cap and parser refusals (exporter/web/server.py, deadlines.py).

The rules are checked as pure functions; the server is checked on a real loopback
socket with a tiny app and sub-second deadlines.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import web

from exporter.web.deadlines import FD_RESERVE, ConnectionLimits, ConnectionView, connection_cap, eviction_order, overdue
from exporter.web.http_stats import HttpStats
from exporter.web.connections import CONNECTIONS, ConnectionGuard, track_connection
from exporter.web.server import ACCEPT_FAILED, start_site

LIMITS = ConnectionLimits(header_timeout=10, body_timeout=30, idle_timeout=60, max_connections=4)


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize("view, now, expected", [
    (ConnectionView(idle_since=0), 10, None),
    (ConnectionView(idle_since=0), 10.1, "header_timeout"),  # connected, never sent a byte
    (ConnectionView(idle_since=0, requests=1), 59, None),  # idle keep-alive
    (ConnectionView(idle_since=0, requests=1), 60.5, "idle_timeout"),
    (ConnectionView(idle_since=0, requests=1, pending_since=50), 60.1, "header_timeout"),  # half a header block
    (ConnectionView(idle_since=0, requests=1, pending_since=55), 60.1, None),
    (ConnectionView(idle_since=0, requests=1, busy_since=0, body_done=False), 30.1, "body_timeout"),
    (ConnectionView(idle_since=0, requests=1, busy_since=0, body_done=True), 1000, None),  # a slow handler
    (ConnectionView(idle_since=0, requests=1, busy_since=0, write_blocked_since=1), 31.5, "write_timeout"),
])
def test_overdue_names_the_deadline_that_passed(view, now, expected):
    assert overdue(view, now, LIMITS) == expected


@pytest.mark.parametrize("configured, file_limit, cap", [
    (256, 256, 256 - FD_RESERVE), (256, 1024, 256), (2000, 1024, 1024 - FD_RESERVE), (256, 100, 50), (256, None, 256),
])
def test_the_connection_cap_keeps_descriptors_in_reserve_under_the_file_limit(configured, file_limit, cap):
    assert connection_cap(configured, file_limit) == cap


def test_eviction_takes_the_longest_waiting_connection_and_never_a_busy_one():
    views = {"busy": ConnectionView(idle_since=0, busy_since=1), "new": ConnectionView(idle_since=9),
             "old": ConnectionView(idle_since=2), "half": ConnectionView(idle_since=8, pending_since=5)}
    assert eviction_order(views) == ["old", "half", "new"]


# ------------------------------------------------------------------ a real server


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "1")))
    return web.json_response({"ok": True})


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"got": len(await request.read())})


async def big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(64):
        await response.write(b"x" * 1024 * 1024)
    return response


@pytest.fixture
async def serve():
    runners = []

    async def start(limits: ConnectionLimits) -> tuple[ConnectionGuard, int, asyncio.Event]:
        app = web.Application(middlewares=[track_connection])
        app.router.add_get("/slow", slow)
        app.router.add_post("/echo", echo)
        app.router.add_get("/big", big)
        guard = ConnectionGuard(limits, HttpStats())
        app[CONNECTIONS] = guard
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = await start_site(runner, "127.0.0.1", 0)
        stop = asyncio.Event()
        task = asyncio.create_task(guard.run(stop))
        runners.append((runner, stop, task))
        return guard, site.port, stop

    yield start
    for runner, stop, task in runners:
        stop.set()
        await task
        await runner.cleanup()


async def connect(port: int, data: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server closes the connection (EOF or reset) within ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
        return True
    except TimeoutError:  # before OSError, of which it is a subclass
        return False
    except OSError:  # reset
        return True


async def get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await connect(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


FAST = ConnectionLimits(header_timeout=0.4, body_timeout=0.6, idle_timeout=0.8, max_connections=50)


async def test_a_connection_that_sends_nothing_or_half_a_header_is_closed_at_the_header_deadline(serve):
    guard, port, _ = await serve(FAST)
    silent, kept = await connect(port)
    half, kept_too = await connect(port, b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert await closed_within(silent, 2.0)
    assert await closed_within(half, 2.0)
    assert guard.stats.closed["header_timeout"] == 2, guard.stats


async def test_a_body_that_never_ends_is_closed_at_the_body_deadline(serve):
    guard, port, _ = await serve(FAST)
    reader, writer = await connect(port, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"a\":")
    assert not await closed_within(reader, 0.3)
    assert await closed_within(reader, 2.0)
    assert guard.stats.closed["body_timeout"] == 1


async def test_an_idle_keep_alive_is_closed_but_a_slow_handler_is_not(serve):
    guard, port, _ = await serve(FAST)
    reader, writer = await connect(port, b"GET /slow?s=1.5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)  # 1.5 s in the handler: past every deadline
    assert head.startswith(b"HTTP/1.1 200")
    assert await closed_within(reader, 3.0)
    assert guard.stats.closed == {"idle_timeout": 1}


async def test_an_answer_the_client_never_reads_is_dropped_at_the_body_deadline(serve):
    guard, port, _ = await serve(FAST)
    reader, writer = await connect(port, b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for _ in range(40):
        await asyncio.sleep(0.1)
        if guard.stats.closed["write_timeout"]:
            break
    assert guard.stats.closed["write_timeout"] == 1
    writer.close()


async def test_at_the_cap_a_new_connection_displaces_the_longest_waiting_one(serve, caplog):
    guard, port, _ = await serve(ConnectionLimits(header_timeout=30, body_timeout=30, idle_timeout=30, max_connections=3))
    idle = [await connect(port) for _ in range(3)]
    await asyncio.sleep(0.1)
    status, body = await get(port, "/slow?s=0")
    assert status == 200
    assert await closed_within(idle[0][0], 1.0), "the oldest idle connection made room"
    assert not await closed_within(idle[2][0], 0.2)
    assert guard.stats.closed["over_limit"] >= 1
    status, _ = await get(port, "/slow?s=0")
    assert status == 200
    assert sum("HTTP connection limit reached" in r.getMessage() for r in caplog.records) == 1


async def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused(serve):
    guard, port, _ = await serve(ConnectionLimits(header_timeout=30, body_timeout=30, idle_timeout=30, max_connections=2))
    busy = [await connect(port, b"GET /slow?s=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") for _ in range(2)]
    await asyncio.sleep(0.2)
    extra, kept = await connect(port, b"GET /slow?s=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert await closed_within(extra, 1.0)
    assert guard.stats.closed["over_limit"] == 1
    for reader, _writer in busy:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200"), "the requests in progress were never cut"


async def test_a_request_the_parser_refuses_gets_json_that_quotes_nothing_and_one_log_line(serve, caplog):
    guard, port, _ = await serve(FAST)
    secret = b"Bearer adm-0123456789abcdef"
    for header in (secret + b"\x01", secret + b"x" * 9000, secret + b"\x00"):
        reader, writer = await connect(port, b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + header + b"\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.split()[1] == b"400", data[:200]
        assert b"application/json" in head
        assert b"adm-0123" not in data
        assert isinstance(json.loads(body)["error"], str)
        writer.close()
    assert guard.stats.refused == {"malformed": 2, "header_too_long": 1}
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2, [r.getMessage() for r in lines]  # one per cause, not one per request
    assert not any("adm-0123" in r.getMessage() or r.exc_info for r in lines)


async def test_accept_running_out_of_descriptors_frees_the_reserve_and_logs_once(serve, caplog):
    guard, port, _ = await serve(ConnectionLimits(header_timeout=30, body_timeout=30, idle_timeout=30, max_connections=50))
    waiting = [await connect(port) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert len(guard.reserve) > 0
    loop = asyncio.get_running_loop()
    for _ in range(5):
        loop.call_exception_handler({"message": ACCEPT_FAILED, "exception": OSError(24, "Too many open files")})
    assert guard.stats.accept_errors == 5
    assert guard.stats.closed["over_limit"] == 3
    for reader, _writer in waiting:
        assert await closed_within(reader, 1.0)
    assert sum("out of file descriptors" in r.getMessage() for r in caplog.records) == 1
    await asyncio.sleep(0.7)
    assert len(guard.reserve) > 0, "the reserve is taken back at the next sweep"
