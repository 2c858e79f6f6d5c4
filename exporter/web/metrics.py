"""``GET /metrics``: the runtime's own registry, served by the client library's aiohttp handler.

    metrics.add_routes(app)        # app[RUNTIME].metrics is the registry; the runtime refreshes it

``prometheus_client.aiohttp.make_aiohttp_handler`` negotiates the format as
the library's own servers do: ``Accept: application/openmetrics-text`` gets
OpenMetrics (ending in ``# EOF``), anything else the text format 0.0.4; it
honours ``name[]=`` filters. Not compressed, as before: the scrape stays cheap
on the instance (benchmarks/scrape.py). The registry reads memory only
(``exporter.metrics.collector``): a scrape never touches the store.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from exporter.web.keys import RUNTIME


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", make_aiohttp_handler(app[RUNTIME].metrics, disable_compression=True))
