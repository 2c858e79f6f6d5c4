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

from contextlib import contextmanager
from typing import Any, Iterator

from aiohttp import web

from exporter.runtime import Runtime
from exporter.services.config_edit import NOTHING_TO_CHANGE, InvalidConfigEdit
from exporter.services.incidents import IncidentInputError
from exporter.services.rollups import DayNotOver, DayPastRetention
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
    """Recompute a complete day and overwrite its rollup (``RollupService.recompute``); says what was there before."""
    params.only_params(request, ())
    day = params.parse_day(request.match_info["day"], "day")
    try:
        doc, before = await runtime.rollups.recompute(day)
    except DayNotOver as exc:
        raise ApiError(400, f"day: {exc}") from None
    except DayPastRetention as exc:
        raise ApiError(409, f"day: {exc}") from None
    overwrote = {key: before.get(key) for key in ROLLUP_KEPT} if before else None
    return {"rollup": doc, "overwrote": overwrote}


@endpoint(Access.WRITE)
async def release_lock(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Force a lease to end now (runbook Procedure 1, ``LockService.release``): a standby takes over at its next poll.

    The holder and the generation stay, so the next holder's generation is one
    higher; the write is conditional, so a renewal racing with it answers 409.
    """
    params.only_params(request, ())
    name = params.path_id(request, "lockName", lock=True)
    done = await runtime.locks.release(name, by=ADMIN)
    return {"lock": name, "before": lock_view(name, done.before, done.at), "after": lock_view(name, done.after, done.at)}


@endpoint(Access.WRITE)
async def patch_config(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """Validate an edit field by field; all good: write the changed fields (``ConfigEditor``), answer the new config.

    The write is conditional on the version validated against: an edit that lands in between answers 409.
    """
    params.only_params(request, ())
    patch = _nested(await json_object(request))
    try:
        edit, _ = await runtime.config_edit.update(patch, by=ADMIN)
    except InvalidConfigEdit as exc:
        if exc.errors == [NOTHING_TO_CHANGE]:
            raise ApiError(400, NOTHING_TO_CHANGE) from None
        raise ApiError(400, "invalid config: " + "; ".join(exc.errors), fields=_field_errors(exc.errors)) from None
    written, _ = await stored_config(runtime)
    return {"config": written.config, "errors": written.errors, "changed": sorted(edit.changes)}


@endpoint(Access.WRITE)
async def open_incident(request: web.Request, runtime: Runtime) -> web.Response:
    """A manual incident (runbook Procedure 2: a gap with tsStart, tsEnd and reason)."""
    params.only_params(request, ())
    body = await json_object(request)
    params.known_fields(body, MANUAL_INCIDENT_FIELDS)
    ts_start = params.time_field(body, "tsStart", required=True)
    ts_end = params.time_field(body, "tsEnd")
    with _field_error():
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
    ts_end = params.time_field(body, "tsEnd")
    with _field_error():
        doc = await runtime.incidents.change(
            incident_id, status=status, ts_end=ts_end,
            owner=params.text_field(body, "owner", max_len=200),
            root_cause=params.text_field(body, "rootCause"),
        )
    return {"incident": doc}


# ------------------------------------------------------------------ helpers


@contextmanager
def _field_error() -> Iterator[None]:
    """The service's refusal of a field, as a 400 naming it."""
    try:
        yield
    except IncidentInputError as exc:
        raise ApiError(400, str(exc), fields={exc.field: exc.problem}) from None


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
    """Every (dotted path, value), repeats kept: ``_nested`` refuses a field given twice."""
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
