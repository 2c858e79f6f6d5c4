"""What each catalog metric reads, from memory only: the service's MetricSources and the refresh loop.

    scene = Scene(MetricSources.of(runtime), refresh, clock.now())
    READERS["probe_success"](scene)            # {("outbound",): 1.0, ("queue",): 0.0, ...}
    READERS["leader"](scene)                   # 1.0
    READERS["target_up"](scene)                # None: unknown, no sample

A reader returns a number (an unlabelled metric), a mapping from label values
(in the catalog's label order) to numbers, or None when the value is unknown
and the metric has no sample. Labelled series the reader does not mention are
exported as 0 (see ``collector.initial_label_values``). Units are the catalog's:
seconds, epoch-second timestamps, 0-1 ratios.

Figures of the whole deployment (heartbeats, probes, incidents, rollups, the
lock, the monitored target) read the same on every instance: the refresh
loop's view of the store, or this instance's own newer record (a leader's last
heartbeat, its lease). Figures of this process (leader, jobs, store, counters
of what it did) come from this instance's sources alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping, Union

from exporter.domain.runtime_config import thresholds
from exporter.metrics.catalog import PROBE_TYPES, WINDOWS
from exporter.metrics.refresh import RefreshLoop
from exporter.metrics.sources import MetricSources

Reading = Union[float, Mapping[tuple[str, ...], float], None]
Reader = Callable[["Scene"], Reading]


@dataclass(frozen=True)
class Scene:
    """Everything one scrape reads."""

    parts: MetricSources
    refresh: RefreshLoop
    now: datetime
    # Families left out of earlier scrapes because their reader raised, by metric name.
    scrape_errors: Mapping[str, int] = field(default_factory=dict)


def epoch(value: Any) -> float:
    """Epoch seconds of a datetime; 0 for anything else (never happened)."""
    return value.timestamp() if isinstance(value, datetime) else 0.0


def number(value: Any) -> float | None:
    """A stored number (or bool) as a float; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) else None


# ------------------------------------------------------------------ heartbeats


def _newest_heartbeat(scene: Scene) -> Mapping[str, Any] | None:
    """The newest heartbeat of any instance: the refresh loop's, or this leader's own if newer."""
    seen = scene.refresh.heartbeats.index.newest
    own = scene.parts.heartbeat.last_written
    candidates = [doc for doc in (seen, own) if doc is not None and isinstance(doc.get("ts"), datetime)]
    return max(candidates, key=lambda doc: doc["ts"], default=None)


def heartbeat_last_timestamp(scene: Scene) -> float:
    newest = _newest_heartbeat(scene)
    return epoch(newest["ts"]) if newest else 0.0


def _per_window(scene: Scene, figure: Callable[[Any], float | None]) -> dict[tuple[str, ...], float]:
    out = {}
    for window, result in scene.refresh.heartbeats.windows.items():
        value = figure(result)
        if value is not None:
            out[(window,)] = float(value)
    return out


NAN = float("nan")


def heartbeat_coverage(scene: Scene) -> dict[tuple[str, ...], float]:
    """0-1 per window; NaN (no figure) for a window with no expected slot or not computed yet, never 0."""
    windows = scene.refresh.heartbeats.windows
    out = {}
    for window in WINDOWS:
        result = windows.get(window)
        out[(window,)] = float(result.coverage) if result is not None and result.expected and result.coverage is not None else NAN
    return out


def heartbeat_max_gap(scene: Scene) -> dict[tuple[str, ...], float]:
    """Seconds per window; NaN while the window holds no expected slot."""
    windows = scene.refresh.heartbeats.windows
    return {(w,): float(r.max_gap_sec) if (r := windows.get(w)) is not None and r.expected else NAN for w in WINDOWS}


def heartbeat_drift(scene: Scene) -> float:
    own = scene.parts.heartbeat.last_written
    drift = number(own.get("driftSec")) if own else None
    return drift if drift is not None else 0.0


# ------------------------------------------------------------------ probes


def _probe_types(scene: Scene) -> list[str]:
    """The catalog's probe types, then any other type found in the store."""
    return list(dict.fromkeys([*PROBE_TYPES, *scene.refresh.probes.history.types()]))


def _per_probe(scene: Scene, figure: Callable[[Mapping[str, Any]], float | None]) -> dict[tuple[str, ...], float]:
    """``figure`` of each type's newest result."""
    history = scene.refresh.probes.history
    out = {}
    for probe_type in _probe_types(scene):
        newest = history.newest(probe_type)
        value = figure(newest) if newest is not None else None
        if value is not None:
            out[(probe_type,)] = value
    return out


def probe_success(scene: Scene) -> dict[tuple[str, ...], float]:
    """1 PASS, 0 FAIL, per the newest scheduled run; NaN while never run or when it was SKIP
    (not configured: ``probe_skipped`` says so). Manual runs never count here."""
    verdict = {"PASS": 1.0, "FAIL": 0.0}
    return {(t,): verdict.get(doc.get("result"), NAN) if (doc := scene.refresh.probes.history.newest(t)) else NAN
            for t in _probe_types(scene)}


def probe_skipped(scene: Scene) -> dict[tuple[str, ...], float]:
    """1 when the newest scheduled run was SKIP, 0 when it ran; NaN while never run."""
    return {(t,): float(doc.get("result") == "SKIP") if (doc := scene.refresh.probes.history.newest(t)) else NAN
            for t in _probe_types(scene)}


def probe_latency(doc: Mapping[str, Any]) -> float | None:
    millis = number(doc.get("latencyMs"))
    return millis / 1000 if millis is not None else None


def probe_consecutive_failures(scene: Scene) -> dict[tuple[str, ...], float]:
    history = scene.refresh.probes.history
    return {(t,): float(history.consecutive_failures(t)) for t in _probe_types(scene)}


# ------------------------------------------------------------------ leadership, jobs


def lock_generation(scene: Scene) -> float:
    lead = scene.parts.lease
    if lead.holds(scene.now) or lead.observed is None:
        return float(lead.generation)
    return float(lead.observed.generation)


def _job_stats(scene: Scene) -> dict[str, Any]:
    return {**scene.parts.jobs, "refresh": scene.refresh.stats}


def _per_job(scene: Scene, figure: Callable[[Any], float | None]) -> dict[tuple[str, ...], float]:
    return {(name,): value for name, stats in _job_stats(scene).items() if (value := figure(stats)) is not None}


# ------------------------------------------------------------------ rollups, target


def _newest_rollup(scene: Scene) -> Mapping[str, Any] | None:
    candidates = [d for d in (scene.refresh.rollups.newest, scene.parts.last_rollup())
                  if d is not None and isinstance(d.get("date"), str)]
    return max(candidates, key=lambda doc: doc["date"], default=None)


def rollup_last_day(scene: Scene) -> float:
    newest = _newest_rollup(scene)
    if newest is None:
        return 0.0
    day = date.fromisoformat(newest["date"])
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def rollup_uptime(scene: Scene) -> float | None:
    """0-1 uptime of the newest rolled-up day; None (no sample) when the day had no known slot."""
    newest = _newest_rollup(scene)
    if newest is None:
        return None
    ratio, percent = number(newest.get("uptimeRatio")), number(newest.get("uptimePct"))
    return ratio if ratio is not None else percent / 100 if percent is not None else None


def _target_field(doc_field: str, status_field: str) -> Reader:
    """A figure the monitored service reported, None when unknown: the leader's own last
    answer, on any other instance the one recorded in the newest heartbeat."""

    def read(scene: Scene) -> float | None:
        own = scene.parts.heartbeat.last_target
        if own is not None and scene.parts.lease.holds(scene.now):
            return number(getattr(own, status_field))
        newest = _newest_heartbeat(scene)
        return number(newest.get(doc_field)) if newest else None

    return read


# ------------------------------------------------------------------ alerting
# The outbox worker's stats and the webhook's receipts.


def _outbox(scene: Scene) -> Any:
    return scene.parts.outbox()


def _poller(scene: Scene) -> Any:
    chatops = scene.parts.chatops
    return chatops.poller if chatops is not None else None


def _reminders(scene: Scene) -> Any:
    chatops = scene.parts.chatops
    return chatops.reminders if chatops is not None else None


def telegram_messages(scene: Scene) -> dict[tuple[str, ...], float]:
    stats = _outbox(scene)
    if stats is None:
        return {}
    return {("sent",): float(stats.sent), ("retried",): float(stats.retried), ("failed",): float(stats.failed)}


def alertmanager_alerts(scene: Scene) -> dict[tuple[str, ...], float]:
    received = scene.parts.alerts.alerts_received if scene.parts.alerts is not None else {}
    return {(status,): float(n) for status, n in received.items()}


def alertmanager_webhook_errors(scene: Scene) -> dict[tuple[str, ...], float]:
    refused = scene.parts.alerts.webhook_errors if scene.parts.alerts is not None else {}
    return {(code,): float(n) for code, n in refused.items()}


# ------------------------------------------------------------------ the table


def _labelled(counter: Mapping[Any, int]) -> dict[tuple[str, ...], float]:
    return {(key if isinstance(key, tuple) else (key,)): float(n) for key, n in counter.items()}


READERS: dict[str, Reader] = {
    # heartbeats
    "heartbeat_last_timestamp_seconds": heartbeat_last_timestamp,
    "heartbeat_interval_seconds": lambda s: s.parts.heartbeat_interval,
    "heartbeat_max_gap_seconds": heartbeat_max_gap,
    "heartbeat_coverage_ratio": heartbeat_coverage,
    "heartbeat_missed": lambda s: _per_window(s, lambda r: r.missed),
    "heartbeat_drift_seconds": heartbeat_drift,
    "heartbeats_written": lambda s: s.parts.heartbeat.written_total,
    # probes
    "probe_success": probe_success,
    "probe_skipped": probe_skipped,
    "probe_last_run_timestamp_seconds": lambda s: _per_probe(s, lambda d: epoch(d.get("ts"))),
    "probe_latency_seconds": lambda s: _per_probe(s, probe_latency),
    "probe_consecutive_failures": probe_consecutive_failures,
    "probe_runs": lambda s: _labelled(s.refresh.probes.own_runs),
    # incidents
    "incidents_open": lambda s: _labelled(s.refresh.incidents.open_counts()),
    "incidents": lambda s: _labelled(s.refresh.incidents.opened),
    "incidents_last_24h": lambda s: s.refresh.incidents.started_within(s.now),
    "incidents_opened": lambda s: _labelled(s.parts.incidents.opened),
    "incidents_resolved": lambda s: _labelled(s.parts.incidents.resolved),
    # leadership and store
    "leader": lambda s: float(s.parts.lease.holds(s.now)),
    "lock_generation": lock_generation,
    "lock_lease_expiry_timestamp_seconds": lambda s: epoch(s.parts.lease.lease_until),
    "store_up": lambda s: float(s.parts.store.is_up(s.now)),
    "store_errors": lambda s: _labelled(s.parts.store.errors),
    "config_errors": lambda s: s.parts.config.errors_total,
    # jobs
    "job_last_success_timestamp_seconds": lambda s: _per_job(s, lambda j: epoch(j.last_success)),
    "job_last_duration_seconds": lambda s: _per_job(s, lambda j: j.last_duration),
    "job_runs": lambda s: _per_job(s, lambda j: j.runs),
    "job_failures": lambda s: _per_job(s, lambda j: j.failures),
    "rollup_last_day_timestamp_seconds": rollup_last_day,
    "rollup_uptime_ratio": rollup_uptime,
    # monitored target
    "target_up": _target_field("targetUp", "up"),
    "connected_accounts": _target_field("connectedCount", "connected_count"),
    "expected_accounts": lambda s: number(s.parts.config.current.get("expectedAccounts")),
    "reconnecting_accounts": _target_field("reconnectingCount", "reconnecting_count"),
    "needs_qr_accounts": _target_field("needsQrCount", "needs_qr_count"),
    "queue_depth": _target_field("queueDepth", "queue_depth"),
    "target_reconnects": _target_field("reconnectsTotal", "reconnects_total"),
    # thresholds
    "alert_threshold": lambda s: {(name,): value for name, value in thresholds(s.parts.config.current).items()},
    # alert bridge and Telegram
    "alertmanager_alerts": alertmanager_alerts,
    "alertmanager_webhook_errors": alertmanager_webhook_errors,
    "alertmanager_watchdog_last_seen_timestamp_seconds":
        lambda s: epoch(s.parts.alerts.watchdog_last_seen) if s.parts.alerts is not None else 0.0,
    "telegram_messages": telegram_messages,
    "outbox_depth": lambda s: float(_outbox(s).depth) if _outbox(s) else 0.0,
    "outbox_oldest_timestamp_seconds": lambda s: epoch(_outbox(s).oldest_created_at) if _outbox(s) else 0.0,
    # Exported once the catalog names it: MetricSpec("scrape_errors", "counter", ..., ("metric",)).
    "scrape_errors": lambda s: _labelled(s.scrape_errors),
    # chat-ops
    "telegram_updates": lambda s: {(k,): float(v) for k, v in _poller(s).results.items()} if _poller(s) else {},
    "telegram_poll_errors": lambda s: {(k,): float(v) for k, v in _poller(s).errors.items()} if _poller(s) else {},
    "incident_reminders": lambda s: float(_reminders(s).sent) if _reminders(s) else 0.0,
    # response times
    "incident_ack_seconds": lambda s: s.refresh.acks.histograms(),
    # maintenance windows
    "maintenance_active": lambda s: s.refresh.maintenance.active(s.now),
    "maintenance_seconds": lambda s: s.refresh.maintenance.seconds(s.now),
    "maintenance_silence_failures":
        lambda s: float(s.parts.silences.failures) if s.parts.silences is not None else 0.0,
    # the HTTP server
    "http_connections": lambda s: float(s.parts.http.open),
    "http_connection_limit": lambda s: float(s.parts.http.limit),
    "http_connections_closed": lambda s: _labelled(s.parts.http.closed),
    "http_requests_refused": lambda s: _labelled(s.parts.http.refused),
    "http_accept_errors": lambda s: float(s.parts.http.accept_errors),
    # identity
    "build": lambda s: {(s.parts.identity.service_version, s.parts.identity.commit, s.parts.identity.instance_id): 1.0},
}
