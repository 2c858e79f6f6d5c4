"""``GET /`` (the status page), ``GET /api/status`` (its data as JSON) and the badges: open to all, read-only.

    app[RUNTIME] = runtime
    add_routes(app)      # GET / ; GET /api/status ; GET /badges/{name}.svg ; GET /badges/{name}.json

Every figure comes from memory: the refresh loop's view of the store
(``exporter.metrics.refresh``), which the leader's own writes update at once,
and the runtime's own state. A request reads nothing from the store. The view
(``exporter.web.status_view``) is built at most once every ``CACHE_SEC``
seconds and shared by the page, the JSON and the badges, so they always agree.
The page is rendered by Jinja2 with autoescaping on; no script, no external
asset, and a Content-Security-Policy that forbids scripts anyway.

``collect`` (below) is the older store-reading summary the Telegram /status
command still uses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from exporter.web.auth import redact
from exporter.web.badges import add_badge_routes
from exporter.web.keys import RUNTIME
from exporter.web.status_facts import facts_from_memory
from exporter.web.status_render import render_page
from exporter.web.status_summary import collect, usable_snapshot  # noqa: F401  (the Telegram /status command)
from exporter.web.status_view import build_view

CACHE_SEC = 5.0
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class ViewCache:
    """The last view built and when (on the runtime's clock); one build at a time."""

    ttl: float = CACHE_SEC
    view: dict[str, Any] | None = None
    built_at: datetime | None = None

    def __post_init__(self) -> None:
        self.lock = asyncio.Lock()

    def fresh(self, now: datetime) -> dict[str, Any] | None:
        if self.view is None or self.built_at is None:
            return None
        return self.view if (now - self.built_at).total_seconds() < self.ttl else None


VIEW_CACHE = web.AppKey("status_view_cache", ViewCache)


async def current_view(app: web.Application) -> dict[str, Any]:
    """The shared view, rebuilt from memory when older than the cache allows."""
    runtime, cache = app[RUNTIME], app[VIEW_CACHE]
    view = cache.fresh(runtime.clock.now())
    if view is None:
        async with cache.lock:
            view = cache.fresh(runtime.clock.now())
            if view is None:
                view = build_view(facts_from_memory(runtime, runtime.refresh))
                cache.view, cache.built_at = view, runtime.clock.now()
    return view


def invalidate(app: web.Application) -> None:
    app[VIEW_CACHE].view = None


async def status_page(request: web.Request) -> web.Response:
    view = await current_view(request.app)
    page = redact(render_page(view), request.app[RUNTIME].settings.admin_token)
    return web.Response(text=page, content_type="text/html", headers=HEADERS)


async def api_status(request: web.Request) -> web.Response:
    if request.query:
        unknown = ", ".join(sorted(request.query))
        return web.json_response({"error": f"GET /api/status takes no query parameters (got: {unknown})"}, status=400)
    return web.json_response(await current_view(request.app), headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app[VIEW_CACHE] = ViewCache()
    app.router.add_get("/", status_page)
    app.router.add_get("/api/status", api_status)
    add_badge_routes(app, current_view)
