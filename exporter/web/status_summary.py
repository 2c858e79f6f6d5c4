"""The store-reading status summary behind the Telegram /status command (``collect``).

    facts = await collect(runtime, usable_snapshot(runtime.refresh, runtime))
    texts.status_text(facts)

Coverage and the newest probe results come from the metrics refresh loop when
it has succeeded recently, else from the store; the lock, the newest heartbeat,
up to ``MAX_INCIDENTS`` open incidents and the last seven rollups are read.
The status page itself reads memory only (``exporter.web.status_page``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Awaitable

from exporter.domain.slots import slot_start, slots_between
from exporter.domain.vocabulary import PROBE_TYPES
from exporter.metrics.refresh import RefreshLoop
from exporter.runtime import Runtime
from exporter.store import Filter, Order, StoreError
from exporter.web.admin_read import lock_view
from exporter.web.status_view import order_incidents
from exporter.web.templates.status import Coverage, StatusFacts

MAX_INCIDENTS = 10
ROLLUP_DAYS = 7
SNAPSHOT_MAX_AGE = 3  # refresh intervals; older figures are read from the store instead


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
        # The refresh loop holds every open incident: the true count, no read (a store list stops at MAX_INCIDENTS).
        "incidents": (_ready(snapshot.incidents.open_docs()) if snapshot
                      else runtime.incidents.list(status=("open", "acknowledged"), limit=MAX_INCIDENTS)),
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
        incidents=order_incidents(values["incidents"] or []), rollups=values["rollups"] or [], problems=problems,
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
    """Whole slots ending where the current one starts, never before the first heartbeat
    ever (README, "How longrun counts"): the same windows the metrics feeds count."""
    interval = runtime.heartbeat.interval
    end = slot_start(now, interval)
    first = await runtime.store.query(runtime.paths.heartbeats, order_by=[Order("ts")], limit=1)
    if not first:
        return {}
    history = slot_start(first[0].get("ts"), interval)
    windows = {name: (min(end, max(end - span, history)), end)
               for name, span in {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}.items()}
    counts = await asyncio.gather(*(
        runtime.store.count(runtime.paths.heartbeats, where=[Filter("ts", ">=", start), Filter("ts", "<", stop)])
        for start, stop in windows.values()
    ))
    return {name: Coverage(min(count, slots_between(start, stop, interval)), slots_between(start, stop, interval))
            for (name, (start, stop)), count in zip(windows.items(), counts)}


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


