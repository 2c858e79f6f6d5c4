"""The aiohttp application: one port for health, metrics, the admin API and the status page.

    app = create_app(runtime)
    web.run_app(app)

Every error leaves as JSON ``{"error": "..."}``; a stack trace never reaches a client.
"""

from __future__ import annotations

import logging

from aiohttp import web

from exporter.runtime import Runtime
from exporter.web.admin_http import MALFORMED_BODY
from exporter.web.auth import RedactingLog
from exporter.web.host_check import guarded, host_check
from exporter.web.keys import RUNTIME
from exporter.web.connections import CONNECTIONS, ConnectionGuard, limits_from, track_connection

log = logging.getLogger("longrun.web")

MAX_BODY = 1024 * 1024


@web.middleware
async def json_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        message = exc.reason if exc.status != 404 else f"no route {request.method} {request.path}"
        if exc.status == 405:
            message = f"method {request.method} not allowed on {request.path}"
        if exc.status == 413:
            message = f"request body larger than {MAX_BODY} bytes"
        return _json_error(exc.status, message, exc.headers)
    except web.RequestPayloadError:  # a body that does not decode (Content-Encoding: gzip that is not gzip...)
        return _json_error(400, MALFORMED_BODY)
    except ConnectionError:  # the client left (or the server gave up on it) before its body was complete
        log.debug("client left during %s %s", request.method, request.path)
        return _json_error(400, "connection closed before the request body was complete")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error; see the server log"}, status=500)


def _json_error(status: int, message: str, headers=None) -> web.Response:
    extra = {k: v for k, v in (headers or {}).items() if k.lower() in ("allow", "retry-after")}
    return web.json_response({"error": message}, status=status, headers=extra)


async def health(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    now = runtime.clock.now()
    usage = runtime.store.usage
    last = runtime.heartbeat.state.last_written
    up, stalled = usage.is_up(now), usage.stalled_for(now)
    body = {
        "status": "ok" if up else "degraded",
        "uptime": round((now - runtime.started_at).total_seconds(), 3),
        "instanceId": runtime.identity.instance_id,
        "serviceVersion": runtime.identity.service_version,
        "commitHash": runtime.identity.commit,
        "leader": runtime.leadership.holds(now),
        "lockGeneration": runtime.leadership.generation,
        "store": {
            "kind": runtime.store.kind,
            "up": up,
            "lastOkAt": usage.last_ok.isoformat() if usage.last_ok else None,
            "lastError": (f"a store call has waited {stalled:.0f} s without an answer"
                          if stalled is not None else usage.last_error),
        },
        "lastHeartbeat": last["tsIso"] if last else None,
    }
    return web.json_response(body)


def _connection_limits(settings):
    limits = limits_from(settings)
    if limits.max_connections < settings.http_max_connections:
        log.warning("HTTP connections capped at %d, below LONGRUN_HTTP_MAX_CONNECTIONS=%d, to keep file descriptors "
                    "for the store and the jobs under the open-file limit (ulimit -n); raise the limit for more",
                    limits.max_connections, settings.http_max_connections)
    return limits


def create_app(runtime: Runtime) -> web.Application:
    from alerting import webhook
    from exporter.web import admin, inbound, metrics, status_page

    settings = runtime.settings
    secrets = (settings.admin_token, settings.webhook_token, settings.telegram_bot_token)
    server_log = RedactingLog(logging.getLogger("aiohttp.server"), secrets)
    # A loopback listener answers only requests naming it (DNS rebinding): exporter/web/host_check.py.
    hosts = [host_check(settings.allowed_hosts, runtime.http)] if guarded(settings.listen_host) else []
    app = web.Application(middlewares=[track_connection, *hosts, json_errors], client_max_size=MAX_BODY,
                          handler_args={"logger": server_log})
    app[RUNTIME] = runtime
    app[CONNECTIONS] = ConnectionGuard(_connection_limits(settings), runtime.http)
    app.router.add_get("/health", health)
    metrics.add_routes(app)
    admin.add_routes(app)
    inbound.add_routes(app)
    status_page.add_routes(app)
    webhook.add_routes(app, runtime.alerts, runtime.settings)
    return app
