"""Every open HTTP connection of one server, its deadlines and the cap (the server's bookkeeping).

    guard = ConnectionGuard(limits_from(settings), runtime.http)   # app[CONNECTIONS] = guard
    guard.admit(transport)        # False: refuse, at the cap with every connection busy
    await guard.run(stop)         # closes connections past their deadline (deadlines.overdue)

The protocol (``exporter/web/server.py``) reports accepts, bytes and losses;
``track_connection`` marks a connection busy while the app handles a request.
Decisions are ``exporter/web/deadlines.py``'s pure rules; times come from the
event loop's monotonic clock, like every socket timeout (they measure a peer's
network behaviour, not the service's schedule).
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from exporter.log_budget import LogBudget
from exporter.web.deadlines import ConnectionLimits, ConnectionView, connection_cap, eviction_order, overdue
from exporter.web.http_stats import HttpStats

log = logging.getLogger("longrun.web")

SWEEP_EVERY = 0.5
RESERVE_FDS = 8


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
