"""The admin API's mutations: each needs ``Authorization: Bearer $LONGRUN_ADMIN_TOKEN``.

    H='Authorization: Bearer '"$LONGRUN_ADMIN_TOKEN"; A=127.0.0.1:9469/api/admin/longrun
    curl -X POST -H "$H" $A/probes/outbound/run                    # run a probe now, store it as manual
    curl -X POST -H "$H" $A/rollups/2026-03-01                     # recompute a day, overwriting
    curl -X POST -H "$H" $A/locks/heartbeat-scheduler/release      # runbook Procedure 1, no console
    curl -X PATCH -H "$H" $A/config -d '{"alertThresholds": {"missedHbPerHour": 5}}'
    curl -X POST -H "$H" $A/incidents -d '{"type": "missed_heartbeat", "reason": "host reboot",
         "tsStart": "2026-03-01T08:00:00Z", "tsEnd": "2026-03-01T09:10:00Z"}'   # Procedure 2's gap record
    curl -X PATCH -H "$H" $A/incidents/$ID -d '{"status": "acknowledged", "owner": "ana"}'
    curl -X PATCH -H "$H" $A/incidents/$ID -d '{"status": "resolved", "rootCause": "OOM"}'
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from exporter.domain import lease, runtime_config
from exporter.domain.slots import day_bounds
from exporter.runtime import Runtime
from exporter.store import NotFound
from exporter.web import admin_params as params
from exporter.web.admin_http import ApiError, endpoint, json_object, reply
from exporter.web.admin_read import lock_view, stored_config
from exporter.web.auth import Access

ADMIN = "admin"
MANUAL_INCIDENT_FIELDS = ("type", "reason", "tsStart", "tsEnd", "severity", "owner")
INCIDENT_CHANGE_FIELDS = ("status", "owner", "rootCause", "tsEnd")
ROLLUP_KEPT = ("createdAt", "recomputedAt", "writtenHb", "expectedHb", "uptimePct", "insufficientData", "commitHash")


@endpoint(Access.WRITE)
async def run_probe(request: web.Request, runtime: Runtime) -> web.Response:
    """Run one probe now; the result is stored with ``trigger: manual`` under its own key."""
    params.only_params(request, ())
    doc = await runtime.probes.run(params.probe_type(request.match_info["type"]))
    return reply({"probe": doc}, status=201)


@endpoint(Access.WRITE)
async def recompute_rollup(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Recompute a complete day and overwrite its rollup; says what was there before."""
    params.only_params(request, ())
    day = params.parse_day(request.match_info["day"], "day")
    config = await runtime.config.load()  # as run_day does
    _check_rollup_day(day, runtime.clock.now(), config.get("retention", {}).get("heartbeatsDays"))
    before = await runtime.store.get(runtime.paths.rollup(day.isoformat()))
    doc, _ = await runtime.rollups.run_day(day, force=True)
    overwrote = {key: before.get(key) for key in ROLLUP_KEPT} if before else None
    return {"rollup": doc, "overwrote": overwrote}


def _check_rollup_day(day: date, now: datetime, heartbeats_days: Any) -> None:
    start, end = day_bounds(day)
    if end > now:
        raise ApiError(400, f"day: {day.isoformat()} is not over yet (UTC); only complete days are rolled up")
    if heartbeats_days and start < now - timedelta(days=heartbeats_days):
        raise ApiError(409, f"day: heartbeats older than {heartbeats_days:g} days are deleted by retention; "
                            "recomputing would overwrite the rollup with an empty one")


@endpoint(Access.WRITE)
async def release_lock(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Force a lease to end now (runbook Procedure 1): a standby takes over at its next poll.

    The holder and the generation stay, so the next holder's generation is one
    higher; the write is conditional, so a renewal racing with it answers 409.
    """
    params.only_params(request, ())
    name = params.path_id(request, "lockName", lock=True)
    current = await runtime.store.get(runtime.paths.lock(name))
    if current is None:
        raise NotFound(f"no lock {name}")
    now = runtime.clock.now()
    fields = {**lease.release_fields(now), "releasedBy": ADMIN}
    await runtime.store.update(runtime.paths.lock(name), fields, if_version=current.version)
    return {
        "lock": name,
        "before": lock_view(name, current.data, now),
        "after": lock_view(name, {**current.data, **fields}, now),
    }


@endpoint(Access.WRITE)
async def patch_config(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Validate an edit field by field; all good: write the changed fields, answer the new config."""
    params.only_params(request, ())
    patch = _nested(await json_object(request))
    changes = {path: value for path, value in _leaves(patch) if path not in runtime_config.META}
    current, _ = await stored_config(runtime)
    result = runtime_config.validate_patch(patch, current.config)
    if result.errors:
        raise ApiError(400, "invalid config: " + "; ".join(result.errors), fields=_field_errors(result.errors))
    if not changes:
        raise ApiError(400, "nothing to change: give at least one editable field")
    fields = {**changes, "updatedAt": runtime.clock.now(), "updatedBy": ADMIN}
    try:
        await runtime.store.update(runtime.paths.config, fields)
    except NotFound:
        await runtime.config.ensure()
        await runtime.store.update(runtime.paths.config, fields)
    written, _ = await stored_config(runtime)
    return {"config": written.config, "errors": written.errors, "changed": sorted(changes)}


@endpoint(Access.WRITE)
async def open_incident(request: web.Request, runtime: Runtime) -> web.Response:
    """A manual incident (runbook Procedure 2: a gap with tsStart, tsEnd and reason)."""
    params.only_params(request, ())
    body = await json_object(request)
    params.known_fields(body, MANUAL_INCIDENT_FIELDS)
    now = runtime.clock.now()
    ts_start = _not_future(params.time_field(body, "tsStart", required=True), "tsStart", now)
    ts_end = _not_future(params.time_field(body, "tsEnd"), "tsEnd", now)
    if ts_end is not None and ts_end < ts_start:
        raise ApiError(400, "tsEnd: before tsStart", fields={"tsEnd": "before tsStart"})
    doc = await runtime.incidents.open_manual(
        params.incident_type(body.get("type")),
        reason=params.text_field(body, "reason", required=True),
        ts_start=ts_start, ts_end=ts_end,
        severity=params.severity_field(body),
        owner=params.text_field(body, "owner", max_len=200),
    )
    return reply({"incident": doc}, status=201)


@endpoint(Access.WRITE)
async def change_incident(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Acknowledge, assign, resolve (mttrSec = tsEnd - tsStart) or record a root cause."""
    params.only_params(request, ())
    incident_id = params.path_id(request, "incidentId")
    body = await json_object(request)
    params.known_fields(body, INCIDENT_CHANGE_FIELDS)
    if not body:
        raise ApiError(400, f"nothing to change: give one of {', '.join(INCIDENT_CHANGE_FIELDS)}")
    status = params.choice(body.get("status"), "status", ("acknowledged", "resolved"))
    ts_end = _not_future(params.time_field(body, "tsEnd"), "tsEnd", runtime.clock.now())
    if ts_end is not None and status != "resolved":
        raise ApiError(400, "tsEnd: only with status resolved", fields={"tsEnd": "only with status resolved"})
    doc = await runtime.incidents.change(
        incident_id, status=status, ts_end=ts_end,
        owner=params.text_field(body, "owner", max_len=200),
        root_cause=params.text_field(body, "rootCause"),
    )
    return {"incident": doc}


# ------------------------------------------------------------------ helpers


def _not_future(when: datetime | None, name: str, now: datetime) -> datetime | None:
    if when is not None and when > now:
        raise ApiError(400, f"{name}: in the future", fields={name: "in the future"})
    return when


def _nested(body: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` read as ``{"a": {"b": 1}}``, so a dotted key is validated like a nested one.

    A field given twice (``{"a.b": 1, "a": {"b": 2}}``) or both as a value and
    as an object (``{"a": 1, "a.b": 2}``) is refused rather than guessed.
    """
    out: dict[str, Any] = {}
    for path, value in _leaves(body):
        parts = path.split(".")
        node = out
        for depth, part in enumerate(parts):
            if not part:
                raise ApiError(400, f"{path[:60]}: empty path segment", fields={path[:60]: "empty path segment"})
            last = depth == len(parts) - 1
            if part in node and (last or not isinstance(node[part], dict)):
                raise ApiError(400, f"{path[:60]}: given twice", fields={path[:60]: "given twice"})
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return out


def _leaves(doc: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            found.extend(_leaves(value, f"{prefix}{key}."))
        else:
            found.append((f"{prefix}{key}", value))
    return found


def _field_errors(errors: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        path, _, message = error.partition(": ")
        fields[path[:200]] = message or error
    return fields
