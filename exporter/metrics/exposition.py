"""``GET /metrics``: the app's own registry, in the format the scraper asked for.

    app[RUNTIME] = runtime
    add_routes(app)                               # builds the registry and the refresh loop
    task = asyncio.create_task(refresh_loop(app).run(stop))   # started by the service

The encoder comes from ``prometheus_client.exposition.choose_encoder``, so
``Accept: application/openmetrics-text`` gets OpenMetrics (ending in ``# EOF``)
exactly as with the client library's own servers; anything else gets the text
format 0.0.4. The handler reads memory only (see ``collector``).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from exporter.metrics.collector import build_registry
from exporter.metrics.refresh import RefreshLoop
from exporter.web.keys import RUNTIME

REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
REFRESH = web.AppKey("metrics_refresh", RefreshLoop)


def add_routes(app: web.Application) -> None:
    """Give ``app`` its registry and refresh loop (for ``app[RUNTIME]``) and the /metrics route."""
    runtime = app[RUNTIME]
    app[REFRESH] = RefreshLoop(runtime)
    app[REGISTRY] = build_registry(runtime, app[REFRESH])
    app.router.add_get("/metrics", metrics)


def refresh_loop(app: web.Application) -> RefreshLoop:
    """The loop that keeps this app's metrics current; the service runs it."""
    return app[REFRESH]


async def metrics(request: web.Request) -> web.Response:
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(request.app[REGISTRY]), headers={"Content-Type": content_type})
