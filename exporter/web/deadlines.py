"""When the HTTP server gives up on a connection: pure rules, no sockets, ``now`` passed in.

    limits = ConnectionLimits(header_timeout=10, body_timeout=30, idle_timeout=60)
    overdue(ConnectionView(idle_since=100.0, requests=0), now=111.0, limits=limits)   # "header_timeout"
    connection_cap(configured=256, file_limit=256)                                     # 176

A connection is in one of three states:

- **waiting for a request**: since it was accepted (or its last answer was sent) it may sit
  idle for ``idle_timeout`` (``header_timeout`` before its first request); once the first
  byte of a request arrives, the whole header block must follow within ``header_timeout``;
- **in a request**: the body must arrive within ``body_timeout`` of the headers, and an
  answer that the client does not read may stay stuck for ``body_timeout`` at most;
- a handler that is merely slow (a store call) is left alone: the store has its own timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass

# Descriptors kept out of the HTTP server's reach: about 40 for the store (SQLite keeps two
# files open per worker thread), the job loop's outbound requests, Telegram, the log, the
# guard's own reserve and the interpreter (about 20 at rest); and about 40 for the sockets
# asyncio has accepted but not yet handed to the cap. A socket reaches ``connection_made``
# two loop turns after ``accept()``, and each turn accepts up to ``ACCEPT_BACKLOG`` more, so
# under a flood three backlogs are open before the cap counts them (exporter/web/server.py).
# Measured: with 64 kept out, a 320-connection flood at ``ulimit -n 256`` hit "Too many open
# files" at 176 connections open (tests/resilience/test_stalled_connections.py).
FD_RESERVE = 80


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_connections: int = 256


@dataclass(frozen=True)
class ConnectionView:
    """One connection as the rules see it; times are seconds on one monotonic clock."""

    idle_since: float
    requests: int = 0  # requests that reached the app on this connection
    pending_since: float | None = None  # first byte of a request not yet handed to the app
    busy_since: float | None = None  # headers handed to the app, answer not yet finished
    body_done: bool = True
    write_blocked_since: float | None = None  # an answer waiting for the client to read it


def overdue(view: ConnectionView, now: float, limits: ConnectionLimits) -> str | None:
    """The reason to close this connection now, or None while it is within its deadlines."""
    if view.busy_since is not None:
        if not view.body_done and now - view.busy_since > limits.body_timeout:
            return "body_timeout"
        if view.write_blocked_since is not None and now - view.write_blocked_since > limits.body_timeout:
            return "write_timeout"
        return None
    if view.pending_since is not None:
        return "header_timeout" if now - view.pending_since > limits.header_timeout else None
    if view.requests == 0:
        return "header_timeout" if now - view.idle_since > limits.header_timeout else None
    return "idle_timeout" if now - view.idle_since > limits.idle_timeout else None


def connection_cap(configured: int, file_limit: int | None) -> int:
    """How many connections the server holds at once: the configured number, lowered so that
    ``FD_RESERVE`` descriptors stay free under the process's open-file limit (``ulimit -n``)."""
    if file_limit is None or file_limit <= 0:
        return configured
    room = file_limit - FD_RESERVE if file_limit > 2 * FD_RESERVE else file_limit // 2
    return max(1, min(configured, room))


def eviction_order(views: dict[object, ConnectionView]) -> list[object]:
    """Keys of the connections that may make room for a new one, the longest-waiting first:
    only those with no request in the app (a request in progress is never cut)."""
    waiting = [(key, view) for key, view in views.items() if view.busy_since is None]
    return [key for key, view in sorted(waiting, key=lambda kv: kv[1].pending_since or kv[1].idle_since)]
