"""Log amplification (issue 18, item 7): what a client breaks is counted, and logged once a minute
at most, without a traceback; a client that drops its own body is no server error."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from exporter.web.server import start_site


async def test_a_dropped_chunked_body_on_the_inbound_route_is_not_an_unhandled_error(leader, app_for, caplog):
    runner = web.AppRunner(app_for(leader), access_log=None)
    await runner.setup()
    site = await start_site(runner, "127.0.0.1", 0)
    try:
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
            writer.write(b"POST /api/probes/inbound/aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n400\r\n" + b"x" * 100)
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.close()
        await asyncio.sleep(0.3)
    finally:
        await runner.cleanup()
    noisy = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not noisy, [r.getMessage() for r in noisy]


async def test_a_flood_of_garbage_requests_costs_one_log_line_a_minute(leader, app_for, caplog):
    runner = web.AppRunner(app_for(leader), access_log=None)
    await runner.setup()
    site = await start_site(runner, "127.0.0.1", 0)
    try:
        for _ in range(50):
            reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\x00b\r\n\r\n")
            await writer.drain()
            assert b" 400 " in await asyncio.wait_for(reader.read(), 5)
            writer.close()
    finally:
        await runner.cleanup()
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and not lines[0].exc_info, [r.getMessage() for r in lines]
    assert sum(len(r.getMessage()) for r in lines) < 400
    assert leader.runtime.http.refused["malformed"] == 50
