"""Reads what verify and report need from the store, page by page, so memory stays flat.

    result = await scan_heartbeats(store, paths, start, end, 60)       # HeartbeatResult
    results = await probe_results(store, paths, start, end + slack)    # {probeKey: "PASS"}
    incidents = await incidents_touching(store, paths, start, end)
    rows = await daily_rows(runtime.rollups, days)                     # [DayRow], oldest first
    first = await history_start(store, paths, 60)                      # the first heartbeat ever

``progress(done, total)`` callbacks report days finished, for a progress line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

from exporter.domain.heartbeats import HeartbeatAccumulator, HeartbeatResult
from exporter.domain.incidents import ACTIVE_STATUSES
from exporter.domain.maintenance import Spans
from exporter.domain.maintenance_heartbeats import OutsideWindows
from exporter.domain.slots import slot_start
from exporter.reports.model import COMPUTED, MISSING, ROLLUP, DayRow
from exporter.services.rollups import RollupService
from exporter.store import DocumentStore, Filter, Order, Paths

PAGE = 1000
CHUNK = timedelta(days=1)
Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    """The default progress callback: says nothing."""


async def scan_heartbeats(store: DocumentStore, paths: Paths, start: datetime, end: datetime, interval: float,
                          *, progress: Progress = _quiet, maintenance: Spans = Spans()) -> HeartbeatResult:
    """Heartbeats with ts in [start, end) through one HeartbeatAccumulator, seeded
    with the heartbeat before ``start`` so a restart across it counts.

    Read a day at a time: each query's range stays small, so the time to page
    through it does not grow with the window (a cursor deep into one long range
    costs more on both backends), while the accumulator spans the whole window.
    Slots in the ``maintenance`` windows are left out (``OutsideWindows``).
    """
    acc = OutsideWindows(start, end, interval, maintenance) if maintenance else HeartbeatAccumulator(start, end, interval)
    before = await store.query(paths.heartbeats, where=[Filter("ts", "<", start)],
                               order_by=[Order("ts", descending=True)], limit=1)
    if before:
        acc.seed(before[0].data)
    chunks = _chunks(start, end, CHUNK)
    for number, (chunk_start, chunk_end) in enumerate(chunks, start=1):
        window = [Filter("ts", ">=", chunk_start), Filter("ts", "<", chunk_end)]
        async for doc in store.stream(paths.heartbeats, where=window, order_by=[Order("ts")], page_size=PAGE):
            acc.add(doc.data)
        progress(number, len(chunks))
    return acc.result()


def _chunks(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive pieces of ``size`` (the last one shorter)."""
    edges = []
    while start < end:
        edges.append((start, min(end, start + size)))
        start += size
    return edges


async def probe_results(store: DocumentStore, paths: Paths, start: datetime, end: datetime) -> dict[str, Any]:
    """{probeKey: result} of the probes with ts in [start, end)."""
    window = [Filter("ts", ">=", start), Filter("ts", "<", end)]
    found = {}
    async for doc in store.stream(paths.probes, where=window, order_by=[Order("ts")], page_size=PAGE):
        found[doc.get("probeKey") or doc.id] = doc.get("result")
    return found


async def incidents_touching(store: DocumentStore, paths: Paths, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Incidents that started, were acknowledged or ended in [start, end), and those still active, each once."""
    found: dict[str, dict[str, Any]] = {}
    for field in ("tsStart", "tsEnd", "tsAck"):
        where = [Filter(field, ">=", start), Filter(field, "<", end)]
        async for doc in store.stream(paths.incidents, where=where, order_by=[Order(field)], page_size=PAGE):
            found[doc.id] = doc.data
    active = Filter("status", "in", list(ACTIVE_STATUSES))
    async for doc in store.stream(paths.incidents, where=[active], page_size=PAGE):
        start_ts = doc.get("tsStart")
        if not isinstance(start_ts, datetime) or start_ts < end:
            found[doc.id] = doc.data
    return list(found.values())


async def daily_rows(rollups: RollupService, days: Sequence[date], *, progress: Progress = _quiet) -> list[DayRow]:
    """Each day from its stored rollup; without one, computed from the raw documents
    (nothing is written); with no heartbeat at all, missing. ``days`` oldest first."""
    if not days:
        return []
    stored = {doc.get("date"): doc for doc in await rollups.list(days[0], days[-1], limit=len(days) + 1)}
    rows = []
    for number, day in enumerate(days, start=1):
        doc = stored.get(day.isoformat())
        if doc is not None:
            rows.append(DayRow(day, ROLLUP, doc))
        else:
            computed = await rollups.compute(day, from_store=True)
            rows.append(DayRow(day, COMPUTED, computed) if _has_data(computed) else DayRow(day, MISSING))
        progress(number, len(days))
    return rows


def _has_data(rollup: Mapping[str, Any]) -> bool:
    """Whether a computed rollup saw any heartbeat document at all. Probes alone do
    not count: a day whose heartbeats retention deleted (probes live longer) is
    missing, not a day of zero coverage."""
    return any(rollup.get(key) for key in ("writtenHb", "duplicateHb", "misalignedHb", "malformedHb"))



async def history_start(store: DocumentStore, paths: Paths, interval: float) -> datetime | None:
    """The first heartbeat ever: the oldest stored heartbeat, or an older rollup's
    record of one (retention deletes heartbeats long before rollups)."""
    found = []
    first = await store.query(paths.heartbeats, order_by=[Order("ts")], limit=1)
    ts = first[0].get("ts") if first else None
    if isinstance(ts, datetime):
        found.append(slot_start(ts, interval))
    oldest = await store.query(paths.rollups, order_by=[Order("date")], limit=5)
    for doc in oldest:
        if isinstance(doc.get("writtenHb"), (int, float)) and doc.get("writtenHb"):
            found.append(_rollup_history_start(doc.data))
            break
    found = [when for when in found if when is not None]
    return min(found) if found else None


def _rollup_history_start(doc: Mapping[str, Any]) -> datetime | None:
    for key in ("historyStart", "firstSlot"):
        value = doc.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
    try:
        return datetime.fromisoformat(str(doc.get("date"))).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
