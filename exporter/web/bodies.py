"""Request body limits shared by the routes that take small bodies (admin API, inbound probe).

    if await larger_than(request, SMALL_BODY):
        ...answer 413

aiohttp itself refuses a body over the app's ``client_max_size`` (1 MiB, for
the webhook); these routes allow far less, and a chunked body (no
Content-Length) tells its size only once read.
"""

from __future__ import annotations

from aiohttp import web

SMALL_BODY = 64 * 1024


async def larger_than(request: web.Request, limit: int) -> bool:
    if request.content_length is not None:
        return request.content_length > limit
    return request.body_exists and len(await request.read()) > limit


def too_large_message(limit: int) -> str:
    return f"request body larger than {limit} bytes"
