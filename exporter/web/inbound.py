"""``POST /api/probes/inbound/{token}``: the monitored service reports an inbound probe message.

The token is the secret: it is fresh, unguessable and good for one report,
so the route needs no other authentication. Unknown, used and malformed
tokens all answer 404 alike, so the route tells a guesser nothing. The body
is not used; one over ``SMALL_BODY`` is refused with 413 like on every other route.
"""

from __future__ import annotations

import re

from aiohttp import web

from exporter.services.probes import report_arrival
from exporter.store import StoreError
from exporter.web.bodies import SMALL_BODY, larger_than, too_large_message
from exporter.web.keys import RUNTIME

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


async def report_inbound(request: web.Request) -> web.Response:
    if await larger_than(request, SMALL_BODY):
        return web.json_response({"error": too_large_message(SMALL_BODY)}, status=413)
    token = request.match_info["token"]
    runtime = request.app[RUNTIME]
    if TOKEN.match(token):
        if runtime.inbound.report(token):  # the prober is this instance
            return web.json_response({"ok": True})
        try:  # the prober is another instance (the standby got the report): tell it through the store
            if await report_arrival(runtime.store, runtime.paths, token, runtime.clock.now()):
                return web.json_response({"ok": True})
        except StoreError:
            return web.json_response({"error": "store unavailable: report again"}, status=503,
                                     headers={"Retry-After": "10"})
    return web.json_response({"error": "no inbound probe is waiting for this token"}, status=404)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/probes/inbound/{token}", report_inbound)
