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

import aiohttp
from aiohttp import web

from exporter.clock import Clock, RealClock
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.web.app import create_app
from exporter.web.status_page import collect, usable_snapshot
from exporter.web.server import CONNECTIONS, start_site

log = logging.getLogger("longrun")


class StartupError(Exception):
    """A problem the operator must fix before the service can start; the message says how."""


async def serve(settings: Settings, *, clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    clock = clock or RealClock()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig, stop)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=max(settings.target_timeout, 10))) as session:
        runtime = Runtime.build(settings, clock=clock, session=session)
        app = create_app(runtime)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        refresh = asyncio.create_task(runtime.refresh.run(stop), name="metrics-refresh")
        try:
            await _bind(runner, settings)
            await runtime.start()
            log.info("✅ Long-run jobs initialized (listening on http://%s)", settings.listen)
            watchdog = [runtime.watchdog.run(stop)] if runtime.watchdog is not None else []
            runtime.chatops.status = lambda: collect(runtime, usable_snapshot(runtime.refresh, runtime))  # /status
            await asyncio.gather(runtime.scheduler.run(stop), runtime.alerts.run(stop), runtime.chatops.run(stop),
                                 app[CONNECTIONS].run(stop),
                                 *watchdog)
        finally:
            refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)
            await runtime.close()
            await runner.cleanup()
            log.info("👋 Stopped (instance %s)", settings.instance_id)


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
