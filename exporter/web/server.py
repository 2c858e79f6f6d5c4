"""The HTTP server around the app: deadlines, a connection cap, descriptors in reserve, quiet refusals.

    runner = web.AppRunner(app, access_log=None)            # app from create_app(runtime)
    await runner.setup()
    site = await start_site(runner, "127.0.0.1", 9469)
    await app[CONNECTIONS].run(stop)                        # closes overdue connections
    await runner.cleanup()

aiohttp alone keeps a connection that never finishes its headers or its body
for as long as the client likes, accepts connections until the process runs
out of file descriptors (then /health, the store and the heartbeat job fail
with "Too many open files"), and answers a request its parser refuses with a
text page quoting the refused line. Here:

- every connection has deadlines (``deadlines.overdue``, kept by ``connections.ConnectionGuard``): header block,
  body, unread answer and idle keep-alive (``LONGRUN_HTTP_*_TIMEOUT``);
- at most ``connection_cap`` connections are open, below ``ulimit -n`` by
  ``FD_RESERVE``; at the cap a new connection displaces the one that has
  waited longest without a request in progress (or is refused when all are
  busy), counted in ``longrun_http_connections_closed_total{reason="over_limit"}``
  and logged once a minute;
- if ``accept()`` fails anyway (another part of the process used the
  descriptors), a few descriptors held in reserve are given back, the
  longest-waiting connections are closed, and one line a minute is logged
  instead of asyncio's line per attempt;
- a request the HTTP parser refuses gets a JSON 400 that quotes nothing, is
  counted (``longrun_http_requests_refused_total``) and logged once a minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong
from aiohttp.web_protocol import RequestHandler

from exporter.web.connections import CONNECTIONS, ConnectionGuard

log = logging.getLogger("longrun.web")

# asyncio accepts up to ``backlog`` sockets per loop turn, and a socket reaches the cap two
# turns later; a small backlog bounds that burst (three backlogs are part of
# ``deadlines.FD_RESERVE``).
ACCEPT_BACKLOG = 8
ACCEPT_FAILED = "socket.accept() out of system resource"
MALFORMED = "malformed HTTP request: the request line or a header is not valid HTTP"


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection protocol, reporting to the guard and answering parser refusals in JSON."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.guard = guard
        self.refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.guard.admit(transport):  # type: ignore[arg-type]
            self.refused = True
            self.guard.stats.closed["over_limit"] += 1
            transport.abort()  # type: ignore[attr-defined]
            return
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.guard.received(self.transport)
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.refused:
            return
        self.guard.forget(self.transport)
        super().connection_lost(exc)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A JSON answer that quotes nothing of the request (aiohttp's own quotes the refused line)."""
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already being sent when the error happened")
        if status == 400:
            text = self._refused(request, exc)
        elif status == 504:
            text = "the request took too long"
        else:
            self.logger.error("error handling %s %s", request.method, request.path, exc_info=exc)
            text = "internal error; see the server log"
        response = web.Response(status=status, text=json.dumps({"error": text}), content_type="application/json")
        response.force_close()
        return response

    def _refused(self, request: web.BaseRequest, exc: BaseException | None) -> str:
        too_long = isinstance(exc, LineTooLong)
        reason = "header_too_long" if too_long else "malformed"
        self.guard.stats.refused[reason] += 1
        text = f"a request line or header longer than {self.max_field_size} bytes" if too_long else MALFORMED
        skipped = self.guard.budget.take(f"refused:{reason}", self.guard.clock())
        if skipped is not None and not isinstance(exc, BadHttpMethod):
            log.warning("refused a request from %s: %s (%s); nothing of it is logged. %d more like it in the "
                        "last minute (longrun_http_requests_refused_total)", request.remote, text,
                        type(exc).__name__ if exc else "unknown", skipped)
        return text


def handler_factory(server: web.Server, guard: ConnectionGuard) -> Callable[[], GuardedRequestHandler]:
    """The protocol factory for ``loop.create_server``: aiohttp's handler with the app's handler
    arguments (aiohttp keeps them on the Server, which passes the same to its own handlers)."""
    loop = asyncio.get_running_loop()
    kwargs = dict(getattr(server, "_kwargs", {}))
    kwargs["keepalive_timeout"] = guard.limits.idle_timeout + guard.limits.header_timeout  # a backstop only
    return lambda: GuardedRequestHandler(server, guard=guard, loop=loop, **kwargs)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are ``GuardedRequestHandler``s."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner, backlog=ACCEPT_BACKLOG)
        self.host, self.port, self.guard = host, port, guard

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        factory = handler_factory(self._runner.server, self.guard)
        self._server = await loop.create_server(factory, self.host, self.port, backlog=self._backlog,
                                                reuse_address=True)
        if self.port == 0 and self._server.sockets:
            self.port = self._server.sockets[0].getsockname()[1]


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, guard: ConnectionGuard) -> None:
    """Route asyncio's "accept() out of system resource" (logged per attempt, with a traceback)
    to the guard; every other loop error goes to the handler that was there before."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            guard.on_accept_failed(context.get("exception"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def start_site(runner: web.BaseRunner, host: str, port: int) -> GuardedSite:
    """Listen on host:port for a set-up runner, with its app's guard (``app[CONNECTIONS]``)
    and asyncio's accept() errors routed to it. ``port`` 0 picks a free port (``site.port``)."""
    guard = runner.app[CONNECTIONS]  # type: ignore[attr-defined]
    site = GuardedSite(runner, host, port, guard)
    await site.start()
    quiet_accept_errors(asyncio.get_running_loop(), guard)
    return site
