"""The status view's facts, taken from memory only: the refresh loop and the runtime's own state.

    facts = facts_from_memory(runtime, runtime.refresh)     # no store read
    view = build_view(facts)

"Not configured" comes from the settings: no target (``LONGRUN_TARGET_URL``),
no probe sender (``LONGRUN_PROBE_SENDER_URL``), no Telegram bot or chat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from exporter.domain.vocabulary import PROBE_TYPES
from exporter.web.status_view import StatusFacts

if TYPE_CHECKING:
    from exporter.metrics.refresh import RefreshLoop
    from exporter.runtime import Runtime
    from exporter.settings import Settings

DAY = timedelta(hours=24)


def not_configured(settings: Settings) -> dict[str, str]:
    """What is not configured, and the setting that would configure it."""
    missing = {}
    if not settings.target_url:
        missing["target"] = "LONGRUN_TARGET_URL is not set: the monitored service is not checked"
        missing["queue"] = "LONGRUN_TARGET_URL is not set: nothing to read the queue depth from"
    if not settings.probe_sender_url:
        missing["inbound"] = "LONGRUN_PROBE_SENDER_URL is not set: no probe sender to send a message"
    if not settings.telegram_bot_token or not settings.telegram_chat_ids:
        missing["telegram"] = "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are not both set: incidents are not announced"
    return missing


def newest_heartbeat(runtime: Runtime, refresh: RefreshLoop) -> Mapping[str, Any] | None:
    candidates = [d for d in (refresh.heartbeats.index.newest, runtime.heartbeat.state.last_written)
                  if d is not None and isinstance(d.get("ts"), datetime)]
    return max(candidates, key=lambda d: d["ts"], default=None)


def heartbeat_slots(refresh: RefreshLoop, now: datetime) -> list[tuple[datetime, str]]:
    """Each slot of the last 24 h (whole slots, from the first heartbeat ever): up, missed or maintenance."""
    feed = refresh.heartbeats
    start, end = feed.bounds(now, "24h")
    if end <= start:
        return []
    written = feed.index.written_between(start, end)
    planned = feed.maintenance()
    step = timedelta(seconds=feed.interval)
    slots, slot = [], start
    while slot < end:
        state = "up" if slot in written else "maintenance" if planned.covers(slot) else "missed"
        slots.append((slot, state))
        slot += step
    return slots


def lock_facts(runtime: Runtime, now: datetime) -> dict[str, Any] | None:
    lead = runtime.leadership
    seen = lead.observed
    if seen is None:
        return None
    return {"holder": seen.holder, "leaseUntil": seen.lease_until if not seen.released else now,
            "generation": seen.generation}


def active_maintenance(refresh: RefreshLoop, now: datetime) -> dict[str, Any] | None:
    windows = [w for w in refresh.maintenance.windows() if w.active(now)]
    if not windows:
        return None
    window = max(windows, key=lambda w: w.until)  # overlapping windows: planned work lasts until the last one ends
    return {"id": window.id, "start": window.start.isoformat(), "end": window.until.isoformat(), "reason": window.reason,
            "createdBy": window.created_by}


def facts_from_memory(runtime: Runtime, refresh: RefreshLoop) -> StatusFacts:
    now = runtime.clock.now()
    probes = refresh.probes
    stats = refresh.stats
    problems = []
    if stats.last_error and (stats.last_success is None or stats.last_success < now - timedelta(seconds=3 * refresh.interval.total_seconds())):
        problems.append("figures from the store may be stale: the last refresh failed (see longrun_job_failures_total{job=\"refresh\"})")
    return StatusFacts(
        now=now, instance_id=runtime.identity.instance_id, service_version=runtime.identity.service_version,
        commit=runtime.identity.commit, store_kind=runtime.store.kind, store_up=runtime.store.usage.is_up(now),
        this_leads=runtime.leadership.holds(now), interval=runtime.heartbeat.interval,
        lock=lock_facts(runtime, now), last_heartbeat=newest_heartbeat(runtime, refresh),
        windows=dict(refresh.heartbeats.windows), heartbeat_slots=heartbeat_slots(refresh, now),
        probes={t: probes.history.newest(t) for t in PROBE_TYPES}, manual=dict(probes.manual),
        probe_runs={t: [r for r in probes.day.get(t, {}).values() if r["ts"] >= now - DAY] for t in PROBE_TYPES},
        not_configured=not_configured(runtime.settings),
        open_incidents=refresh.incidents.open_docs(), recent_incidents=refresh.incidents.recent_docs(),
        rollups=refresh.rollups.held(), maintenance=active_maintenance(refresh, now),
        loaded=stats.last_success is not None, problems=problems,
    )
