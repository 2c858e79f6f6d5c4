"""The OpenAPI 3 description of every HTTP route, built from the same constants the routes check.

``docs/openapi.yaml`` is its dump, for readers and the fuzzing suite; a test
fails when the file is stale or when a registered route is not described.

    python -m exporter.web.openapi > docs/openapi.yaml     # after changing a route
    spec = build()                                          # a dict, OpenAPI 3.0.3
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from exporter import __version__
from exporter.web import admin_params as p
from exporter.web.admin_http import MAX_ADMIN_BODY
from exporter.web.inbound import TOKEN as INBOUND_TOKEN
from exporter.web.status_view import LEVELS

ADMIN = "/api/admin/longrun"
JSON = "application/json"
ANY_OBJECT = {"type": "object", "additionalProperties": True}
READ_SECURITY = [{}, {"bearerAuth": []}]  # loopback without a token, elsewhere with it
WRITE_SECURITY = [{"bearerAuth": []}]


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def listing(key: str, item: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {"count": {"type": "integer", "minimum": 0}, "limit": {"type": "integer"},
             key: {"type": "array", "items": ref("schemas", item)}, **(extra or {})}
    return {"type": "object", "required": ["count", key], "properties": props}


def errors(*codes: int) -> dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
             409: "Conflict", 413: "PayloadTooLarge", 503: "Unavailable"}
    return {str(code): ref("responses", names[code]) for code in codes}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def read(summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "security": READ_SECURITY, "parameters": parameters,
                    "responses": {"200": json_body(ok), **errors(400, 401, 403, 503)}}}


def write(summary: str, ok: dict[str, Any], *, body: dict[str, Any] | None = None, status: int = 200,
          extra: tuple[int, ...] = ()) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "security": WRITE_SECURITY,
                                 "responses": {str(status): json_body(ok), **errors(400, 401, 403, 413, 503, *extra)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return operation


# ------------------------------------------------------------------ components

LIMIT = query("limit", {"type": "integer", "minimum": 1, "default": p.DEFAULT_LIMIT},
              f"At most this many items: any whole number from 1 (up to 40 digits); above {p.MAX_LIMIT} reads as {p.MAX_LIMIT}.")
# What parse_time takes: RFC 3339 from 1970 up to 9998 (a year outside is a 400).
TIME = {"type": "string", "format": "date-time", "pattern": r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2})-"}
DAY = {"type": "string", "format": "date", "pattern": p.DAY_PATTERN}
TYPE = {"type": "string", "pattern": p.TYPE_PATTERN}
NULLABLE_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000, "nullable": True}
OWNER = {"type": "string", "minLength": 1, "maxLength": 200, "nullable": True}


def components() -> dict[str, Any]:
    def error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        response = json_body(ref("schemas", "Error"), description)
        if headers:
            response["headers"] = headers
        return response

    return {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "LONGRUN_ADMIN_TOKEN; never in the query string."},
            "webhookAuth": {"type": "http", "scheme": "bearer", "description": "LONGRUN_WEBHOOK_TOKEN (Alertmanager's http_config)."},
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Field path to what is wrong with it."}}},
            "Heartbeat": ANY_OBJECT, "Probe": ANY_OBJECT, "Incident": ANY_OBJECT, "Rollup": ANY_OBJECT,
            "Config": ANY_OBJECT,
            "MaintenanceWindow": {"type": "object", "additionalProperties": True, "properties": {
                "id": {"type": "string"}, "start": TIME, "end": TIME, "until": TIME, "reason": {"type": "string"},
                "state": {"type": "string", "enum": ["planned", "active", "over"]},
                "createdBy": {"type": "string"}, "createdAt": TIME, "endedAt": {**TIME, "nullable": True},
                "silenceIds": {"type": "array", "items": {"type": "string"}}}},
            "Lock": {"type": "object", "additionalProperties": True, "properties": {
                "name": {"type": "string"}, "holderInstanceId": {"type": "string", "nullable": True},
                "leaseUntil": TIME, "generation": {"type": "integer"}, "expired": {"type": "boolean"},
                "secondsLeft": {"type": "number"}, "releasedAt": {**TIME, "nullable": True},
                "releasedBy": {"type": "string", "nullable": True}}},
        },
        "responses": {
            "BadRequest": error("Malformed input; the message names the parameter or field."),
            "Unauthorized": error("Missing, malformed or wrong bearer token.",
                                  {"WWW-Authenticate": {"schema": {"type": "string"}}}),
            "Forbidden": error("No LONGRUN_ADMIN_TOKEN configured: mutations are off, reads loopback-only."),
            "NotFound": error("No such route or document."),
            "MethodNotAllowed": error("Method not allowed on this route.", {"Allow": {"schema": {"type": "string"}}}),
            "Conflict": error("The state forbids it (incident transition, concurrent lock change, retention)."),
            "PayloadTooLarge": error(f"Body larger than {MAX_ADMIN_BODY} bytes."),
            "Unavailable": error("The store is unavailable; retry.", {"Retry-After": {"schema": {"type": "integer"}}}),
            "Misdirected": error("A Host other than localhost, 127.0.0.1, [::1] or LONGRUN_ALLOWED_HOSTS, "
                                 "on a loopback listener (DNS rebinding)."),
        },
    }


# ------------------------------------------------------------------ paths


def admin_reads() -> dict[str, Any]:
    return {
        f"{ADMIN}/heartbeats": read("Heartbeats in [since, until], newest first; count is all of them.", [
            query("since", TIME, "Default: until minus one hour; not after until."), query("until", TIME, "Default: now."),
            LIMIT],
            listing("heartbeats", "Heartbeat", {"since": TIME, "until": TIME})),
        f"{ADMIN}/config": read("The validated config the next job run uses, and the stored document's errors.", [],
            {"type": "object", "required": ["config", "errors"], "properties": {
                "config": ref("schemas", "Config"), "errors": {"type": "array", "items": {"type": "string"}},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "updatedAt": {**TIME, "nullable": True}, "updatedBy": {"type": "string", "nullable": True}}}),
        f"{ADMIN}/probes": read("Probe results, newest first.", [
            query("type", {"type": "string", "enum": list(p.PROBE_TYPES)}, "Probe type."),
            query("result", {"type": "string", "enum": list(p.PROBE_RESULTS)}, "Result."), LIMIT],
            listing("probes", "Probe")),
        f"{ADMIN}/locks": read("Every lease lock with expired and secondsLeft.", [],
            {"type": "object", "required": ["locks"], "properties": {
                "locks": {"type": "array", "items": ref("schemas", "Lock")}}}),
        f"{ADMIN}/incidents": read("Incidents, newest first.", [
            query("status", {"type": "string", "pattern": r"^(open|acknowledged|resolved)(,(open|acknowledged|resolved))*$"},
                  "Comma list of statuses."),
            query("type", TYPE, "Incident type."), LIMIT],
            listing("incidents", "Incident")),
        f"{ADMIN}/rollups": read("Daily rollups, newest first.", [
            query("from", DAY, "First day (UTC); not after to."), query("to", DAY, "Last day (UTC)."), LIMIT],
            listing("rollups", "Rollup")),
    }


def admin_writes() -> dict[str, Any]:
    manual = {"type": "object", "additionalProperties": False, "required": ["type", "reason", "tsStart"], "properties": {
        "type": TYPE, "reason": NULLABLE_TEXT | {"nullable": False}, "tsStart": TIME,
        "tsEnd": {**TIME, "nullable": True, "description": "After tsStart; null or absent: still open."},
        "severity": {"type": "string", "enum": [*p.SEVERITIES, None], "nullable": True,
                     "description": "Null or absent: the type's configured severity."}, "owner": OWNER}}
    change = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
        "status": {"type": "string", "enum": ["acknowledged", "resolved"]},
        "owner": OWNER, "rootCause": NULLABLE_TEXT,
        "tsEnd": {**TIME, "nullable": True, "description": "With status resolved only; after tsStart."}}}
    incident = {"type": "object", "required": ["incident"], "properties": {"incident": ref("schemas", "Incident")}}
    return {
        f"{ADMIN}/probes/{{type}}/run": {"post": {
            **write("Run a probe now; stored with trigger manual.", {"type": "object", "properties": {
                "probe": ref("schemas", "Probe")}}, status=201),
            "parameters": [path_param("type", {"type": "string", "enum": list(p.PROBE_TYPES)}, "Probe type.")]}},
        f"{ADMIN}/rollups/{{day}}": {"post": {
            **write("Recompute a complete day's rollup, overwriting it.", {"type": "object", "properties": {
                "rollup": ref("schemas", "Rollup"), "overwrote": {**ANY_OBJECT, "nullable": True}}}, extra=(409,)),
            "parameters": [path_param("day", DAY, "The day (UTC), before today.")]}},
        f"{ADMIN}/locks/{{lockName}}/release": {"post": {
            **write("Force a lease to end now (runbook Procedure 1).", {"type": "object", "properties": {
                "lock": {"type": "string"}, "before": ref("schemas", "Lock"), "after": ref("schemas", "Lock")}},
                extra=(404, 409)),
            "parameters": [path_param("lockName", {"type": "string", "pattern": p.LOCK_PATTERN}, "Lock name.")]}},
        f"{ADMIN}/config": {"patch": write(
            "Change config fields (nested objects or dotted keys); 400 lists every bad field; "
            "409 when another edit landed after this one was validated (nothing written).",
            {"type": "object", "properties": {"config": ref("schemas", "Config"),
                                              "changed": {"type": "array", "items": {"type": "string"}}}},
            body={"type": "object", "minProperties": 1, "additionalProperties": True}, extra=(409,))},
        f"{ADMIN}/incidents": {"post": write("Open a manual incident (with tsEnd: already resolved).", incident,
                                              body=manual, status=201, extra=(409,))},
        f"{ADMIN}/incidents/{{incidentId}}": {"patch": {
            **write("Acknowledge, assign, resolve or record a root cause.", incident, body=change, extra=(404, 409)),
            "parameters": [path_param("incidentId", {"type": "string", "pattern": p.ID_PATTERN}, "Incident id.")]}},
    }


def maintenance_routes() -> dict[str, Any]:
    from exporter.domain.maintenance import MAX_REASON, MAX_SPAN

    window = {"type": "object", "required": ["window"], "properties": {"window": ref("schemas", "MaintenanceWindow")}}
    body = {"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {
        "from": {**TIME, "description": "Default: now. May lie in the past (a deploy you forgot to announce)."},
        "until": {**TIME, "description": "The end; or give durationSec instead."},
        "durationSec": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_SPAN.total_seconds()},
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON}}}
    listed = {"type": "object", "required": ["count", "windows"], "properties": {
        "count": {"type": "integer", "minimum": 0},
        "windows": {"type": "array", "items": ref("schemas", "MaintenanceWindow")}}}
    return {
        f"{ADMIN}/maintenance": {
            **read("Maintenance windows, the latest start first.", [LIMIT], listed),
            "post": write(f"Record a maintenance window (at most {MAX_SPAN.days} days); silenced in Alertmanager "
                          "when LONGRUN_ALERTMANAGER_URL is set.", window, body=body, status=201)},
        f"{ADMIN}/maintenance/{{id}}/end": {"post": {
            **write("End a running window now (a planned one is cancelled); its silences expire.", window,
                    extra=(404, 409)),
            "parameters": [path_param("id", {"type": "string", "pattern": p.ID_PATTERN}, "Window id.")]}},
    }


def webhook_payload() -> dict[str, Any]:
    """Alertmanager's webhook body as alerting/alertmanager/payload.py parses it (its Limits)."""
    from alerting.alertmanager.payload import AHEAD, STATUSES, Limits

    limits = Limits()
    text = {"type": "string", "maxLength": limits.max_text_chars}
    strings = lambda most: {"type": "object", "maxProperties": limits.max_labels, "nullable": True,  # noqa: E731
                            "additionalProperties": {"type": "string", "maxLength": most}}
    alert = {"type": "object", "required": ["status", "labels", "startsAt", "fingerprint"], "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "labels": {**strings(limits.max_label_value_chars), "nullable": False},
        "annotations": strings(limits.max_annotation_value_chars),
        "startsAt": {"type": "string", "format": "date-time", "pattern": r"^2[0-9]{3}-",
                     "description": f"From 2000 to now + {AHEAD.days} day (later is a 400)."},
        "endsAt": {"type": "string", "nullable": True, "pattern": r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]",
                   "description": "RFC 3339; read as unset when empty, Go's zero time, or outside 2000 .. now + 1 day."},
        "generatorURL": {**text, "nullable": True}, "fingerprint": {**text, "minLength": 1}}}
    return {"type": "object", "required": ["version", "groupKey", "status", "receiver", "alerts"], "properties": {
        "version": {"type": "string", "enum": ["4"]}, "groupKey": text, "receiver": text,
        "externalURL": {**text, "nullable": True},
        "status": {"type": "string", "enum": list(STATUSES)},
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "groupLabels": strings(limits.max_label_value_chars), "commonLabels": strings(limits.max_label_value_chars),
        "commonAnnotations": strings(limits.max_annotation_value_chars),
        "alerts": {"type": "array", "minItems": 1, "maxItems": limits.max_alerts, "items": alert}},
        "description": "Strings hold valid Unicode only (a lone surrogate is a 400)."}


def public_routes() -> dict[str, Any]:
    text = {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    return {
        "/health": {"get": {"summary": "Liveness with uptime.", "security": [{}],
                            "responses": {"200": json_body(ANY_OBJECT)}}},
        "/metrics": {"get": {"summary": "Prometheus exposition, from memory.", "security": [{}], "responses": text}},
        "/": {"get": {"summary": "Human status page (HTML, reloads every 30 s; from memory, open to all).",
                      "security": [{}],
                      "responses": {"200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
        "/api/alertmanager": {"post": {
            "summary": "Alertmanager webhook (payload version 4).", "security": [{"webhookAuth": []}, {}],
            "requestBody": {"required": True, "content": {JSON: {"schema": webhook_payload()}}},
            "responses": {"200": json_body(ANY_OBJECT), **errors(400, 401, 403, 413, 503)}}},
        "/api/probes/inbound/{token}": {"post": {
            "summary": "The monitored service reports an inbound probe message; the token is the secret.",
            "security": [{}],
            "parameters": [path_param("token", {"type": "string", "pattern": INBOUND_TOKEN.pattern}, "One-use token.")],
            "responses": {"200": json_body(ANY_OBJECT), **errors(404, 413, 503)}}},
    }


def status_routes() -> dict[str, Any]:
    """GET /api/status and the badges (exporter.web.status_page, exporter.web.badges): open to all, from memory."""
    from exporter.web.badges import NAMES

    ratio = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True,
             "description": "0-1, as computed (null: nothing to compute it from)"}
    percent = {"type": "string", "nullable": True, "description": "ratio x 100 floored to 2 decimals, e.g. '99.99%'"}
    period = {"type": "object", "properties": {"days": {"type": "integer"}, "uptimeRatio": ratio, "uptimePercent": percent,
                                               "coverageRatio": ratio, "coveragePercent": percent}}
    view = {"type": "object", "required": ["generatedAt", "headline", "heartbeat", "probes", "incidents", "history",
                                           "maintenance", "configuration"], "properties": {
        "generatedAt": {"type": "string", "format": "date-time"},
        "headline": {"type": "object", "properties": {
            "level": {"type": "string", "enum": list(LEVELS)}, "title": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}}, "checked": {"type": "array", "items": {"type": "string"}}}},
        "heartbeat": ANY_OBJECT, "probes": {"type": "array", "items": ANY_OBJECT},
        "incidents": {"type": "object", "properties": {"openCount": {"type": "integer", "minimum": 0},
                                                       "open": {"type": "array", "items": ANY_OBJECT},
                                                       "recentlyResolved": {"type": "array", "items": ANY_OBJECT}}},
        "history": {"type": "object", "properties": {"days": {"type": "array", "items": ANY_OBJECT},
                                                     "uptime": {"type": "object", "additionalProperties": period}}},
        "maintenance": {"type": "object", "nullable": True}, "configuration": ANY_OBJECT,
    }}
    shield = {"type": "object", "required": ["schemaVersion", "label", "message", "color"], "properties": {
        "schemaVersion": {"type": "integer", "enum": [1]}, "label": {"type": "string"}, "message": {"type": "string"},
        "color": {"type": "string"}}}
    name = path_param("name", {"type": "string", "enum": list(NAMES)}, "Which badge.")
    return {
        "/api/status": {"get": {"summary": "The status page's data as JSON (ratio and percent fields named as such).",
                                "security": [{}], "responses": {"200": json_body(view), **errors(400)}}},
        "/badges/{name}.json": {"get": {"summary": "A badge in the shields.io endpoint schema (Cache-Control max-age=60).",
                                        "security": [{}], "parameters": [name],
                                        "responses": {"200": json_body(shield), **errors(404)}}},
        "/badges/{name}.svg": {"get": {"summary": "A badge as SVG (Cache-Control max-age=60).", "security": [{}],
                                       "parameters": [name],
                                       "responses": {"200": {"description": "OK", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                                                     **errors(404)}}},
    }


def build() -> dict[str, Any]:
    paths = {**public_routes(), **admin_reads(), **maintenance_routes(), **status_routes()}
    for path, operations in admin_writes().items():
        paths.setdefault(path, {}).update(operations)
    for operations in paths.values():  # what the server answers before any route (exporter/web/host_check.py)
        for operation in operations.values():
            operation["responses"]["421"] = ref("responses", "Misdirected")
    return {
        "openapi": "3.0.3",
        "info": {"title": "longrun", "version": __version__,
                 "description": "Heartbeats, probes, incidents and rollups of a long-running service. "
                                "Every error is JSON {\"error\": \"...\"}; see docs/CONTRACT.md."},
        "servers": [{"url": "http://127.0.0.1:9469"}],
        "paths": paths,
        "components": components(),
    }


class _PlainDumper(yaml.SafeDumper):
    """No ``&id001`` anchors for the shared pieces: every tool reads the file the same way."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump() -> str:
    header = "# Generated by `python -m exporter.web.openapi > docs/openapi.yaml`; do not edit by hand.\n"
    return header + yaml.dump(build(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    sys.stdout.write(dump())
