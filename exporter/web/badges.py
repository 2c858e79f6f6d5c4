"""Badges for READMEs and wall screens: ``GET /badges/{name}.svg`` and ``GET /badges/{name}.json``.

    add_badge_routes(app, current_view)      # current_view(app) -> the status view (exporter.web.status_view)
    badge("uptime-7d", view)                 # {"schemaVersion": 1, "label": "uptime 7d", "message": "99.98%", "color": "brightgreen"}

The JSON follows the shields.io endpoint schema. Open to all like the status
page, cached for ``MAX_AGE`` seconds, built from the same view as the page, so
a badge never says something the page does not. An unknown name is a 404 in JSON.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping

from aiohttp import web

from exporter.templating import environment

MAX_AGE = 60
NAMES = ("status", "heartbeat", "uptime-24h", "uptime-7d", "uptime-30d", "uptime-90d", "outbound", "queue", "inbound")
COLORS = {"brightgreen": "#4c1", "green": "#97ca00", "yellow": "#dfb317", "red": "#e05d44", "blue": "#007ec6",
          "lightgrey": "#9f9f9f"}
LEVEL_COLORS = {"ok": "brightgreen", "limited": "blue", "maintenance": "blue", "warn": "yellow", "bad": "red"}
PROBE_BADGES = {"pass": ("PASS", "brightgreen"), "fail": ("FAIL", "red"), "not configured": ("not configured", "lightgrey")}
HEARTBEAT_BADGES = {"up": "brightgreen", "late": "red", "no data": "lightgrey"}

ViewSource = Callable[[web.Application], Awaitable[Mapping[str, Any]]]


def _uptime_color(ratio: float | None) -> str:
    if ratio is None:
        return "lightgrey"
    return "brightgreen" if ratio >= 0.999 else "green" if ratio >= 0.995 else "yellow" if ratio >= 0.99 else "red"


def badge(name: str, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """The shields.io endpoint document of badge ``name``; None for an unknown name."""
    if name == "status":
        headline = view["headline"]
        title = "maintenance" if headline["level"] == "maintenance" else headline["title"]
        return _doc("longrun", title, LEVEL_COLORS.get(headline["level"], "lightgrey"))
    if name == "heartbeat":
        state = view["heartbeat"]["state"]
        if view.get("maintenance") and state != "up":
            return _doc("heartbeat", "maintenance", "blue")  # a deploy's gap is planned, not down
        return _doc("heartbeat", state, HEARTBEAT_BADGES.get(state, "lightgrey"))
    if name.startswith("uptime-"):
        period = view["history"]["uptime"].get(name.removeprefix("uptime-"))
        if period is None:
            return None
        return _doc(f"uptime {name.removeprefix('uptime-')}", period["uptimePercent"] or "no data",
                    _uptime_color(period["uptimeRatio"]))
    probe = next((p for p in view["probes"] if p["type"] == name), None)
    if probe is None or name not in NAMES:
        return None
    message, color = PROBE_BADGES.get(probe["state"], ("no data", "lightgrey"))
    return _doc(name, message, color)


def _doc(label: str, message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": label, "message": message, "color": color}


def svg(doc: Mapping[str, Any]) -> str:
    label_width, message_width = 10 + 7 * len(doc["label"]), 10 + 7 * len(doc["message"])
    shape = {**doc, "label_width": label_width, "message_width": message_width, "width": label_width + message_width,
             "hex": COLORS.get(doc["color"], COLORS["lightgrey"])}
    return environment("exporter.web").get_template("badge.svg.j2").render(b=shape)


def _unknown(name: str) -> web.Response:
    return web.json_response({"error": f"no badge named {name!r}; badges: {', '.join(NAMES)}"}, status=404)


def add_badge_routes(app: web.Application, view_source: ViewSource) -> None:
    async def as_json(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        doc = badge(name, await view_source(request.app)) if name in NAMES else None
        if doc is None:
            return _unknown(name)
        return web.json_response(doc, headers={"Cache-Control": f"public, max-age={MAX_AGE}"})

    async def as_svg(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        doc = badge(name, await view_source(request.app)) if name in NAMES else None
        if doc is None:
            return _unknown(name)
        return web.Response(text=svg(doc), content_type="image/svg+xml",
                            headers={"Cache-Control": f"public, max-age={MAX_AGE}", "X-Content-Type-Options": "nosniff"})

    app.router.add_get("/badges/{name:[^/]+}.json", as_json)
    app.router.add_get("/badges/{name:[^/]+}.svg", as_svg)
