"""The admin API's read-only routes, shaped as the runbook's curl examples.

    curl -s 127.0.0.1:9469/api/admin/longrun/heartbeats | jq '.count'          # last hour
    curl -s '127.0.0.1:9469/api/admin/longrun/heartbeats?since=2026-03-01T00:00:00Z&limit=10'
    curl -s 127.0.0.1:9469/api/admin/longrun/config | jq '.config'
    curl -s '127.0.0.1:9469/api/admin/longrun/probes?type=outbound&result=FAIL' | jq '.probes[]'
    curl -s 127.0.0.1:9469/api/admin/longrun/locks | jq '.locks'
    curl -s '127.0.0.1:9469/api/admin/longrun/incidents?status=open,acknowledged'
    curl -s '127.0.0.1:9469/api/admin/longrun/rollups?from=2026-03-01&to=2026-03-07'

Open to loopback clients; others send ``Authorization: Bearer $LONGRUN_ADMIN_TOKEN``.
Every list is newest first and bounded by ``limit`` (default 100, at most 1000).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from exporter.domain import lease, runtime_config
from exporter.domain.incidents import STATUSES
from exporter.runtime import Runtime
from exporter.store import Filter, Order
from exporter.web import admin_params as params
from exporter.web.admin_http import ApiError, endpoint
from exporter.web.auth import Access

DEFAULT_WINDOW = timedelta(hours=1)


def lock_view(name: str, data: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """One lock as the API shows it: the stored fields plus ``expired`` and ``secondsLeft``."""
    view = lease.parse_lock(data)
    if view is None:
        return {"name": name, "exists": False}
    left = (view.lease_until - now).total_seconds()
    return {
        **(data or {}),
        "name": name,
        "holderInstanceId": view.holder,
        "leaseUntil": view.lease_until,
        "generation": view.generation,
        "expired": left <= 0,
        "secondsLeft": round(max(0.0, left), 3),
    }


@endpoint(Access.READ)
async def heartbeats(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``count`` is every heartbeat in [since, until] (the runbook's ~60 an hour); the list holds the newest ``limit``."""
    params.only_params(request, ("since", "until", "limit"))
    now = runtime.clock.now()
    until = params.query_time(request, "until") or now
    since = params.query_time(request, "since") or until - DEFAULT_WINDOW
    if since > until:
        raise ApiError(400, "since: must not be after until")
    limit = params.query_limit(request)
    where = [Filter("ts", ">=", since), Filter("ts", "<=", until)]
    docs = await runtime.store.query(runtime.paths.heartbeats, where=where, order_by=[Order("ts", descending=True)], limit=limit)
    count = await runtime.store.count(runtime.paths.heartbeats, where=where)
    return {"count": count, "since": since, "until": until, "limit": limit, "heartbeats": [d.data for d in docs]}


async def stored_config(runtime: Runtime) -> tuple[runtime_config.Validation, dict[str, Any]]:
    """The config document as the jobs will read it on their next run, without touching their state.

    Invalid fields keep this instance's last good values and are listed in the
    validation's errors; a missing document reads as the current config.
    """
    doc = await runtime.store.get(runtime.paths.config)
    raw = doc.data if doc is not None else {}
    return runtime_config.validate(raw, last_good=runtime.config.current), raw


@endpoint(Access.READ)
async def config(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """The validated config the next job run will use, and what is wrong with the stored document."""
    params.only_params(request, ())
    result, raw = await stored_config(runtime)
    return {
        "config": result.config,
        "errors": result.errors,
        "warnings": result.warnings,
        "updatedAt": raw.get("updatedAt"),
        "updatedBy": raw.get("updatedBy"),
    }


@endpoint(Access.READ)
async def probes(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    params.only_params(request, ("type", "result", "limit"))
    probe_type = params.choice(request.query.get("type"), "type", params.PROBE_TYPES)
    result = params.choice(request.query.get("result"), "result", params.PROBE_RESULTS)
    limit = params.query_limit(request)
    where = [Filter(name, "==", value) for name, value in (("type", probe_type), ("result", result)) if value]
    docs = await runtime.store.query(runtime.paths.probes, where=where, order_by=[Order("ts", descending=True)], limit=limit)
    return {"count": len(docs), "limit": limit, "probes": [d.data for d in docs]}


@endpoint(Access.READ)
async def locks(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    params.only_params(request, ())
    now = runtime.clock.now()
    docs = await runtime.store.query(runtime.paths.locks, limit=params.MAX_LIMIT)
    return {"now": now, "locks": [lock_view(d.id, d.data, now) for d in docs]}


@endpoint(Access.READ)
async def incidents(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    params.only_params(request, ("status", "type", "limit"))
    status = params.choices(request.query.get("status"), "status", STATUSES)
    kind = request.query.get("type")
    if kind is not None:
        params.incident_type(kind)
    limit = params.query_limit(request)
    found = await runtime.incidents.list(status=status, incident_type=kind, limit=limit)
    return {"count": len(found), "limit": limit, "incidents": found}


@endpoint(Access.READ)
async def rollups(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    params.only_params(request, ("from", "to", "limit"))
    start, end = params.query_day(request, "from"), params.query_day(request, "to")
    if start and end and start > end:
        raise ApiError(400, "from: must not be after to")
    limit = params.query_limit(request)
    found = await runtime.rollups.list(start, end, limit=limit)
    return {"count": len(found), "limit": limit, "rollups": found}
