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

- every connection has deadlines (``deadlines.overdue``): header block,
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
import os
import resource
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong
from aiohttp.web_protocol import RequestHandler

from exporter.log_budget import LogBudget
from exporter.web.deadlines import ConnectionLimits, ConnectionView, connection_cap, eviction_order, overdue
from exporter.web.http_stats import HttpStats

log = logging.getLogger("longrun.web")

SWEEP_EVERY = 0.5
RESERVE_FDS = 8
# asyncio accepts up to ``backlog`` sockets per wake-up before any reaches the cap; a small
# backlog bounds that burst (it is part of ``deadlines.FD_RESERVE``).
ACCEPT_BACKLOG = 16
ACCEPT_FAILED = "socket.accept() out of system resource"
MALFORMED = "malformed HTTP request: the request line or a header is not valid HTTP"


@dataclass
class Connection:
    """One open connection's record, kept by the guard; ``view`` is what the rules read."""

    transport: asyncio.Transport
    idle_since: float
    requests: int = 0
    pending_since: float | None = None
    busy_since: float | None = None
    request: web.BaseRequest | None = None
    write_blocked_since: float | None = None
    buffered: int = 0

    def view(self) -> ConnectionView:
        body_done = self.request is None or self.request.content.is_eof()
        return ConnectionView(self.idle_since, self.requests, self.pending_since, self.busy_since,
                              body_done, self.write_blocked_since)


@dataclass
class ConnectionGuard:
    """Tracks every connection of one server and closes those past their deadline or over the cap."""

    limits: ConnectionLimits
    stats: HttpStats
    clock: Callable[[], float] = field(default=lambda: asyncio.get_running_loop().time())
    budget: LogBudget = field(default_factory=LogBudget)
    connections: dict[asyncio.BaseTransport, Connection] = field(default_factory=dict)
    reserve: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stats.limit = self.limits.max_connections

    # -- the protocol's events
    def admit(self, transport: asyncio.Transport) -> bool:
        """Register a new connection; False when it must be refused (the cap is reached and
        every open connection has a request in progress)."""
        now = self.clock()
        while len(self.connections) >= self.limits.max_connections:
            victims = eviction_order({t: c.view() for t, c in self.connections.items()})
            self._over_limit(now)
            if not victims:
                return False
            self.close(victims[0], "over_limit")
        self.connections[transport] = Connection(transport, idle_since=now)
        self.stats.open = len(self.connections)
        return True

    def received(self, transport: asyncio.BaseTransport) -> None:
        conn = self.connections.get(transport)
        if conn is not None and conn.busy_since is None and conn.pending_since is None:
            conn.pending_since = self.clock()

    def forget(self, transport: asyncio.BaseTransport) -> None:
        self.connections.pop(transport, None)
        self.stats.open = len(self.connections)

    def begin(self, request: web.BaseRequest) -> Connection | None:
        conn = self.connections.get(request.transport) if request.transport is not None else None
        if conn is not None:
            conn.busy_since, conn.pending_since, conn.request = self.clock(), None, request
            conn.requests += 1
        return conn

    def end(self, conn: Connection) -> None:
        conn.busy_since, conn.request, conn.write_blocked_since = None, None, None
        conn.idle_since = self.clock()

    # -- the sweep
    def close(self, transport: asyncio.BaseTransport, reason: str) -> None:
        self.forget(transport)
        self.stats.closed[reason] += 1
        transport.abort()

    def sweep(self) -> None:
        now = self.clock()
        for transport, conn in list(self.connections.items()):
            self._watch_writes(conn, now)
            reason = overdue(conn.view(), now, self.limits)
            if reason is not None:
                self.close(transport, reason)
        self._restore_reserve()

    def _watch_writes(self, conn: Connection, now: float) -> None:
        buffered = conn.transport.get_write_buffer_size() if not conn.transport.is_closing() else 0
        if buffered == 0 or conn.busy_since is None:
            conn.write_blocked_since = None
        elif conn.write_blocked_since is None or buffered < conn.buffered:
            conn.write_blocked_since = now
        conn.buffered = buffered

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until ``stop`` is set; a failing sweep is logged, never fatal."""
        self._restore_reserve()
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the guard must outlive any one bad sweep
                log.exception("HTTP connection sweep failed; retrying in %.1f s", SWEEP_EVERY)
            try:
                await asyncio.wait_for(stop.wait(), SWEEP_EVERY)
            except asyncio.TimeoutError:
                pass
        self._release_reserve()

    # -- running out of descriptors
    def on_accept_failed(self, error: BaseException | None) -> None:
        """``accept()`` ran out of descriptors: free the reserve and the longest-waiting connections."""
        self.stats.accept_errors += 1
        self._release_reserve()
        victims = eviction_order({t: c.view() for t, c in self.connections.items()})
        for transport in victims[: max(RESERVE_FDS, len(victims) // 10)]:
            self.close(transport, "over_limit")
        skipped = self.budget.take("accept", self.clock())
        if skipped is not None:
            log.error(
                "accept() failed (%s) with %d connections open: the process is out of file descriptors; "
                "closed the longest-waiting connections. Raise the open-file limit (ulimit -n, systemd "
                "LimitNOFILE=) or lower LONGRUN_HTTP_MAX_CONNECTIONS (%d more like it in the last minute)",
                error, len(self.connections), skipped)

    def _release_reserve(self) -> None:
        while self.reserve:
            os.close(self.reserve.pop())

    def _restore_reserve(self) -> None:
        try:
            while len(self.reserve) < RESERVE_FDS:
                self.reserve.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass  # still short of descriptors: try again at the next sweep

    def _over_limit(self, now: float) -> None:
        skipped = self.budget.take("over_limit", now)
        if skipped is not None:
            log.warning(
                "HTTP connection limit reached (%d open, cap %d): closing the connection that has waited "
                "longest without a request. If this is real traffic raise LONGRUN_HTTP_MAX_CONNECTIONS "
                "(and ulimit -n); otherwise a client is holding connections open "
                "(longrun_http_connections_closed_total) (%d more like it in the last minute)",
                len(self.connections), self.limits.max_connections, skipped)


CONNECTIONS = web.AppKey("connections", ConnectionGuard)


def limits_from(settings: Any, file_limit: int | None = None) -> ConnectionLimits:
    """The server's limits from settings; the cap lowered under the open-file limit."""
    if file_limit is None:
        file_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        file_limit = None if file_limit == resource.RLIM_INFINITY else file_limit
    return ConnectionLimits(
        header_timeout=settings.http_header_timeout, body_timeout=settings.http_body_timeout,
        idle_timeout=settings.http_idle_timeout,
        max_connections=connection_cap(settings.http_max_connections, file_limit),
    )


@web.middleware
async def track_connection(request: web.Request, handler):
    """Marks the connection busy while the app handles a request (the guard's deadlines
    then apply to the body, not to the time the handler takes)."""
    guard = request.app.get(CONNECTIONS)
    conn = guard.begin(request) if guard is not None else None
    try:
        return await handler(request)
    finally:
        if conn is not None:
            guard.end(conn)


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
