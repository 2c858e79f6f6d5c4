"""The admin API's maintenance windows: list them, record one, end one early.

    H='Authorization: Bearer '"$LONGRUN_ADMIN_TOKEN"; A=127.0.0.1:9469/api/admin/longrun
    curl $A/maintenance | jq '.windows[] | {id, state, reason}'
    curl -X POST -H "$H" $A/maintenance -d '{"durationSec": 1800, "reason": "deploy 0.3"}'
    curl -X POST -H "$H" $A/maintenance -d '{"from": "2026-03-01T08:00:00Z", "until": "2026-03-01T08:20:00Z",
                                            "reason": "deploy we forgot to announce"}'
    curl -X POST -H "$H" $A/maintenance/$ID/end

Bad input is a 400 naming the field (``from``, ``until``, ``durationSec``,
``reason``); an unknown id a 404; a window that is over already a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from aiohttp import web

from exporter.domain.maintenance import Window, WindowError, check_duration
from exporter.runtime import Runtime
from exporter.web import admin_params as params
from exporter.web.admin_http import ApiError, endpoint, json_object, reply
from exporter.web.auth import Access

CREATED_BY = "admin"  # the admin token's caller
FIELDS = ("from", "until", "durationSec", "reason")


def view(doc: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The stored document plus ``state`` (planned, active, over) and ``until`` (when it really ends)."""
    out = dict(doc)
    try:
        window = Window.from_doc(doc)
    except WindowError:
        return out
    out.update(state=window.state(now), until=window.until)
    return out


@endpoint(Access.READ)
async def list_windows(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Windows, the latest start first."""
    params.only_params(request, ("limit",))
    docs = await runtime.maintenance.list(limit=params.query_limit(request))
    now = runtime.clock.now()
    return {"count": len(docs), "windows": [view(doc, now) for doc in docs]}


@endpoint(Access.WRITE)
async def create_window(request: web.Request, runtime: Runtime) -> web.Response:
    """Record a window: ``{durationSec, reason}`` from now, or ``{from?, until, reason}``."""
    params.only_params(request, ())
    body = await json_object(request)
    params.known_fields(body, FIELDS)
    now = runtime.clock.now()
    start = params.time_field(body, "from") or now
    until = params.time_field(body, "until")
    duration = body.get("durationSec")
    if until is not None and duration is not None:
        raise ApiError(400, "until: give until or durationSec, not both", fields={"until": "give until or durationSec, not both"})
    try:
        if until is None:
            if duration is None:
                raise WindowError("until", "required (or durationSec)")
            until = start + check_duration(duration)
        doc = await runtime.maintenance.add(start, until, body.get("reason"), created_by=CREATED_BY)
    except WindowError as exc:
        raise ApiError(400, str(exc), fields={exc.field: exc.message}) from None
    return reply({"window": view(doc, runtime.clock.now())}, status=201)


@endpoint(Access.WRITE)
async def end_window(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """End a running window now (a planned one is cancelled); its silences are expired."""
    params.only_params(request, ())
    window_id = params.path_id(request, "id")
    try:
        doc = await runtime.maintenance.end(window_id, ended_by=CREATED_BY)
    except WindowError as exc:
        raise ApiError(409, str(exc)) from None
    return {"window": view(doc, runtime.clock.now())}
