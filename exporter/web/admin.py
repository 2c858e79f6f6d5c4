"""The admin API under ``/api/admin/longrun/``: the route table.

    app = web.Application()
    app[RUNTIME] = runtime
    add_routes(app)

Reads are in ``admin_read``, mutations in ``admin_write``; access rules in
``auth``; the shared plumbing (JSON, the one exception-to-HTTP mapping) in
``admin_http``. ``docs/openapi.yaml`` describes every route (``exporter.web.openapi``).
"""

from __future__ import annotations

from aiohttp import web

from exporter.web import admin_maintenance, admin_read, admin_write

PREFIX = "/api/admin/longrun"

ROUTES = (
    ("GET", "/heartbeats", admin_read.heartbeats),
    ("GET", "/config", admin_read.config),
    ("GET", "/probes", admin_read.probes),
    ("GET", "/locks", admin_read.locks),
    ("GET", "/incidents", admin_read.incidents),
    ("GET", "/rollups", admin_read.rollups),
    ("POST", "/probes/{type}/run", admin_write.run_probe),
    ("POST", "/rollups/{day}", admin_write.recompute_rollup),
    ("POST", "/locks/{lockName}/release", admin_write.release_lock),
    ("PATCH", "/config", admin_write.patch_config),
    ("POST", "/incidents", admin_write.open_incident),
    ("PATCH", "/incidents/{incidentId}", admin_write.change_incident),
    ("GET", "/maintenance", admin_maintenance.list_windows),
    ("POST", "/maintenance", admin_maintenance.create_window),
    ("POST", "/maintenance/{id}/end", admin_maintenance.end_window),
)


def add_routes(app: web.Application) -> None:
    for method, path, handler in ROUTES:
        app.router.add_route(method, PREFIX + path, handler)
