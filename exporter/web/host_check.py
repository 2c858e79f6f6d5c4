"""DNS rebinding: a loopback listener answers only requests that name it.

A web page the operator visits can point its own host name at 127.0.0.1 and
then read the admin API (open to loopback readers) from the browser. The
browser still sends the page's name in ``Host``. So when longrun listens on a
loopback address, a request whose Host is not localhost, 127.0.0.1, [::1] or a
name in ``LONGRUN_ALLOWED_HOSTS`` gets 421 Misdirected Request.

    host_allowed("evil.example:9469", allowed=())          # False
    host_allowed("127.0.0.1:9469", allowed=())             # True
    host_allowed("status.internal", allowed=("status.internal",))  # True
    guarded("127.0.0.1")                                   # True: the check applies
"""

from __future__ import annotations

import ipaddress
import logging
import time

from aiohttp import web

from exporter.log_budget import LogBudget

log = logging.getLogger("longrun.web")

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
MESSAGE = ("this port is a loopback listener and answers only Host localhost, 127.0.0.1 or [::1]; "
           "to reach it under another name add that name to LONGRUN_ALLOWED_HOSTS")


def guarded(listen_host: str) -> bool:
    """True when ``listen_host`` is a loopback address or ``localhost`` (then Host is checked)."""
    if listen_host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen_host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a Host header without its port, lower case: ``[::1]:9469`` -> ``[::1]``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def host_allowed(header: str | None, allowed: tuple[str, ...]) -> bool:
    """Pure. A request without Host (HTTP/1.0) passes: browsers always send one."""
    if header is None:
        return True
    name = host_name(header).rstrip(".")
    return name in LOOPBACK_NAMES or name in allowed


def host_check(allowed: tuple[str, ...], stats, budget: LogBudget | None = None):
    """The middleware refusing other Host names with 421, counted in ``stats.refused["host"]``."""
    budget = budget or LogBudget()
    names = tuple(name.rstrip(".") for name in allowed)

    @web.middleware
    async def middleware(request: web.Request, handler):
        if host_allowed(request.headers.get("Host"), names):
            return await handler(request)
        stats.refused["host"] += 1
        skipped = budget.take("host", time.monotonic())
        if skipped is not None:
            log.warning("refused a request for another host name on a loopback listener (DNS rebinding?); "
                        "if that name is yours add it to LONGRUN_ALLOWED_HOSTS (%d more like it in the last minute)",
                        skipped)
        return web.json_response({"error": MESSAGE}, status=421)

    return middleware
