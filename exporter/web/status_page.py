"""``GET /``: the human status page, cheap enough to leave open on a wall screen.

    app[RUNTIME] = runtime
    add_routes(app)          # GET / ; same access rule as the admin API's reads

Where the figures come from:

- Coverage and the newest probe results come from the metrics refresh loop
  (``exporter.metrics.refresh``) when it has succeeded recently: no store
  read at all. Otherwise (loop not started, or failing) from two counts and
  one ``limit=1`` query per probe type, with the 7-day coverage summed from
  the daily rollups rather than by counting a week of heartbeats.
- Always read, in parallel: the lock document, the newest heartbeat, up to
  ``MAX_INCIDENTS`` open incidents and the last seven rollups.

That is 4 store calls (at most 19 document reads on Firestore) per render
with a fresh snapshot, 9 (at most 25 reads) without; the page is cached for ``CACHE_SEC`` seconds and only one request
rebuilds it, however many arrive at once. A store outage does not break the
page: the sections it could not read say so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable

from aiohttp import web

from exporter.domain.slots import slots_between
from exporter.metrics.refresh import RefreshLoop
from exporter.runtime import Runtime
from exporter.domain.vocabulary import PROBE_TYPES
from exporter.store import Filter, Order, StoreError
from exporter.web.admin_read import lock_view
from exporter.web.auth import Access, redact, refusal
from exporter.web.keys import RUNTIME
from exporter.web.templates.status import Coverage, StatusFacts, render

CACHE_SEC = 5.0
MAX_INCIDENTS = 10
ROLLUP_DAYS = 7
SNAPSHOT_MAX_AGE = 3  # refresh intervals; older figures are read from the store instead


@dataclass
class PageCache:
    """The last rendered page and when it was built (on the runtime's clock)."""

    ttl: float = CACHE_SEC
    html: str | None = None
    built_at: datetime | None = None

    def __post_init__(self) -> None:
        self.lock = asyncio.Lock()

    def fresh(self, now: datetime) -> str | None:
        if self.html is None or self.built_at is None:
            return None
        return self.html if (now - self.built_at).total_seconds() < self.ttl else None


PAGE_CACHE = web.AppKey("status_page_cache", PageCache)


async def status_page(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    refused = refusal(request, Access.READ, runtime.settings.admin_token)
    if refused is not None:
        return refused
    page = await cached_page(request.app[PAGE_CACHE], runtime, runtime.refresh)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def cached_page(cache: PageCache, runtime: Runtime, refresh: RefreshLoop | None = None) -> str:
    page = cache.fresh(runtime.clock.now())
    if page is not None:
        return page
    async with cache.lock:
        page = cache.fresh(runtime.clock.now())  # built by whoever held the lock before us
        if page is None:
            facts = await collect(runtime, usable_snapshot(refresh, runtime))
            page = redact(render(facts), runtime.settings.admin_token)
            cache.html, cache.built_at = page, runtime.clock.now()
    return page


def usable_snapshot(refresh: RefreshLoop | None, runtime: Runtime) -> RefreshLoop | None:
    """The refresh loop when its last full success is recent enough to show, else None."""
    if refresh is None or refresh.stats.last_success is None or not refresh.heartbeats.windows:
        return None
    age = (runtime.clock.now() - refresh.stats.last_success).total_seconds()
    return refresh if age <= SNAPSHOT_MAX_AGE * runtime.settings.refresh_interval else None


# ------------------------------------------------------------------ gathering the facts


async def collect(runtime: Runtime, snapshot: RefreshLoop | None = None) -> StatusFacts:
    """Read what the page shows; each section that fails reads as empty and is named in ``problems``."""
    now = runtime.clock.now()
    sections: dict[str, Awaitable[Any]] = {
        "lock": _lock(runtime, now),
        "last heartbeat": _last_heartbeat(runtime),
        "coverage": _ready(_snapshot_coverage(snapshot)) if snapshot else _coverage(runtime, now),
        "probes": _ready(_snapshot_probes(snapshot)) if snapshot else _probes(runtime),
        "incidents": runtime.incidents.list(status=("open", "acknowledged"), limit=MAX_INCIDENTS),
        "rollups": runtime.rollups.list(limit=ROLLUP_DAYS),
    }
    values, problems = await _gather(sections)
    coverage = dict(values["coverage"] or {})
    if snapshot is None:
        coverage["7d"] = _week_from_rollups(values["rollups"] or [], now)
    return StatusFacts(
        now=now, instance_id=runtime.identity.instance_id, service_version=runtime.identity.service_version,
        commit=runtime.identity.commit, store_kind=runtime.store.kind,
        store_up=runtime.store.usage.is_up(now) and "lock: store unavailable" not in problems,
        this_leads=runtime.leadership.holds(now), interval=runtime.heartbeat.interval,
        lock=values["lock"], last_heartbeat=values["last heartbeat"], coverage=coverage,
        coverage_note=_coverage_note(snapshot), probes=values["probes"] or {},
        incidents=values["incidents"] or [], rollups=values["rollups"] or [], problems=problems,
    )


async def _gather(sections: dict[str, Awaitable[Any]]) -> tuple[dict[str, Any], list[str]]:
    """Run the reads together; a StoreError empties its section and names it, anything else raises."""
    results = await asyncio.gather(*sections.values(), return_exceptions=True)
    values, problems = {}, []
    for name, result in zip(sections, results):
        if isinstance(result, StoreError):
            problems.append(f"{name}: store unavailable")
            result = None
        elif isinstance(result, BaseException):
            raise result
        values[name] = result
    return values, problems


async def _ready(value: Any) -> Any:
    return value


def _coverage_note(snapshot: RefreshLoop | None) -> str:
    if snapshot is None:
        return "1 h and 24 h counted now; 7 d summed from the last seven daily rollups."
    return f"Whole slots, from the metrics refresh at {snapshot.stats.last_success:%H:%M:%S} UTC."


def _snapshot_coverage(snapshot: RefreshLoop) -> dict[str, Coverage]:
    return {name: Coverage(result.written, result.expected) for name, result in snapshot.heartbeats.windows.items()}


def _snapshot_probes(snapshot: RefreshLoop) -> dict[str, Any]:
    return {t: snapshot.probes.history.newest(t) for t in PROBE_TYPES}


async def _lock(runtime: Runtime, now: datetime) -> dict[str, Any] | None:
    doc = await runtime.store.get(runtime.paths.lock())
    return lock_view(doc.id, doc.data, now) if doc else None


async def _last_heartbeat(runtime: Runtime) -> dict[str, Any] | None:
    docs = await runtime.store.query(runtime.paths.heartbeats, order_by=[Order("ts", descending=True)], limit=1)
    return docs[0].data if docs else None


async def _coverage(runtime: Runtime, now: datetime) -> dict[str, Coverage]:
    windows = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
    counts = await asyncio.gather(*(
        runtime.store.count(runtime.paths.heartbeats, where=[Filter("ts", ">", now - span), Filter("ts", "<=", now)])
        for span in windows.values()
    ))
    interval = runtime.heartbeat.interval
    return {name: Coverage(count, slots_between(now - span, now, interval)) for (name, span), count in zip(windows.items(), counts)}


async def _probes(runtime: Runtime) -> dict[str, dict[str, Any] | None]:
    newest = [Order("ts", descending=True)]
    pages = await asyncio.gather(*(
        runtime.store.query(runtime.paths.probes, where=[Filter("type", "==", t)], order_by=newest, limit=1)
        for t in PROBE_TYPES
    ))
    return {t: (page[0].data if page else None) for t, page in zip(PROBE_TYPES, pages)}


def _week_from_rollups(rollups: list[dict[str, Any]], now: datetime) -> Coverage | None:
    first = (now - timedelta(days=ROLLUP_DAYS)).date().isoformat()
    days = [r for r in rollups if isinstance(r.get("date"), str) and r["date"] >= first]
    written = sum(r["writtenHb"] for r in days if isinstance(r.get("writtenHb"), int))
    expected = sum(r["expectedHb"] for r in days if isinstance(r.get("expectedHb"), int))
    return Coverage(written, expected) if expected else None


def add_routes(app: web.Application) -> None:
    app[PAGE_CACHE] = PageCache()
    app.router.add_get("/", status_page)
