"""``longrun run``: the HTTP server and the job loop under the lease, until SIGTERM/SIGINT.

On a signal the loop stops starting jobs, in-flight work finishes or is
cancelled, nothing more is written, and the lease is released so a standby
takes over at once instead of waiting for it to expire.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
from typing import Awaitable, Callable

import aiohttp
from aiohttp import web

from alerting.webhook import startup_notice as webhook_startup_notice
from exporter.clock import Clock, RealClock
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.web.app import create_app
from exporter.web.status_page import collect, usable_snapshot
from exporter.web.connections import CONNECTIONS
from exporter.web.server import start_site

log = logging.getLogger("longrun")


# The event loop and the SQLite store's worker thread share the GIL. At Python's default 5 ms
# switch interval a worker whose statement has finished waits up to 5 ms for the loop to let go,
# once per statement, and the two end up taking turns instead of working at once: a storm of new
# incidents was stored at about 1,330 alerts/s, at 0.2 ms about 1,630 (benchmarks/webhook.py).
SWITCH_INTERVAL_S = 0.0002


def share_the_gil() -> float:
    """Set the interpreter's switch interval for ``longrun run``; returns the one it replaces."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return previous


class StartupError(Exception):
    """A problem the operator must fix before the service can start; the message says how."""


async def serve(settings: Settings, *, clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    clock = clock or RealClock()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig, stop)

    previous_interval = share_the_gil()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=max(settings.target_timeout, 10))) as session:
            runtime = Runtime.build(settings, clock=clock, session=session)
            runner = web.AppRunner(create_app(runtime), access_log=None, handle_signals=False)
            await runner.setup()
            try:
                await _serve(runtime, runner, settings, stop)
            finally:
                await runtime.close()
                await runner.cleanup()
                log.info("👋 Stopped (instance %s)", settings.instance_id)
    finally:
        sys.setswitchinterval(previous_interval)


async def _serve(runtime: Runtime, runner: web.AppRunner, settings: Settings, stop: asyncio.Event) -> None:
    """Every loop of the service in one TaskGroup, until ``stop``: one that fails cancels the others."""
    try:
        async with asyncio.TaskGroup() as loops:
            loops.create_task(runtime.refresh.run(stop), name="metrics-refresh")  # /metrics is current from the start
            await _bind(runner, settings)
            await runtime.start()
            log.info("✅ Long-run jobs initialized (listening on http://%s)", settings.listen)
            if notice := webhook_startup_notice(settings):
                log.warning("%s", notice)
            runtime.chatops.status = lambda: collect(runtime, usable_snapshot(runtime.refresh, runtime))  # /status
            for name, run in _loops(runtime, runner.app):
                loops.create_task(run(stop), name=name)
    except BaseExceptionGroup as failed:
        raise _first(failed) from None


def _loops(runtime: Runtime, app: web.Application) -> list[tuple[str, Callable[[asyncio.Event], Awaitable[None]]]]:
    loops = [("scheduler", runtime.scheduler.run), ("alerts", runtime.alerts.run), ("chatops", runtime.chatops.run),
             ("connections", app[CONNECTIONS].run)]
    if runtime.watchdog is not None:
        loops.append(("watchdog", runtime.watchdog.run))
    return loops


def _first(failed: BaseExceptionGroup) -> BaseException:
    """The first failure, raised as itself (the CLI reports it); any other one is logged."""
    first, *others = failed.exceptions
    for other in others:
        log.error("another loop failed at the same time: %s: %s", other.__class__.__name__, other)
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def _bind(runner: web.AppRunner, settings: Settings) -> None:
    try:
        await start_site(runner, settings.listen_host, settings.listen_port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {settings.listen_port} on {settings.listen_host} is already in use; "
                "stop the other process or set LONGRUN_LISTEN=HOST:PORT"
            ) from None
        raise StartupError(f"cannot listen on {settings.listen} ({exc.strerror}); check LONGRUN_LISTEN") from None


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("received %s: stopping jobs and releasing the lease", sig.name)
    stop.set()
