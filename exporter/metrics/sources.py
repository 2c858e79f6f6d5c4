"""What the metric readers may read of the running service: a narrow view, not the Runtime.

    sources = MetricSources.of(runtime)             # picked once, when the registry is built
    scene = Scene(sources, refresh, clock.now())    # what one scrape reads

Each field is a live object the service keeps updating (a counter, a stats
record, the lease); a reader reads it, never the parts around it. A new metric
that needs something else adds it here, where it is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

if TYPE_CHECKING:
    from alerting.bridge import AlertBridge
    from alerting.outbox import OutboxStats
    from exporter.domain.documents import Identity
    from exporter.jobs.heartbeat import HeartbeatState
    from exporter.jobs.leadership import Leadership
    from exporter.jobs.scheduler import JobStats
    from exporter.services.config import ConfigSource
    from exporter.services.incidents import IncidentCounters
    from exporter.services.maintenance import SilenceStats
    from exporter.store.instrumented import Usage


class ConnectionCounts(Protocol):
    """The HTTP server's figures (``exporter.web.http_stats.HttpStats``); metrics do not import web."""

    open: int
    limit: int
    closed: Mapping[str, int]
    refused: Mapping[str, int]
    accept_errors: int


@dataclass(frozen=True)
class MetricSources:
    identity: Identity
    heartbeat_interval: float
    heartbeat: HeartbeatState  # this instance's heartbeats: last written, last target reading, counts
    lease: Leadership  # holds(now), generation, lease_until
    jobs: Mapping[str, JobStats]  # the scheduler's, by job name
    last_rollup: Callable[[], dict[str, Any] | None]  # the newest rollup this instance wrote
    store: Usage  # store calls, errors, up or down
    config: ConfigSource  # the config the jobs use, and its errors
    incidents: IncidentCounters  # opened and resolved by this instance, by source
    outbox: Callable[[], OutboxStats | None]  # the Telegram outbox worker's stats (None: no Telegram)
    alerts: AlertBridge | None  # the webhook's receipts and refusals, the Watchdog's last arrival
    chatops: Any  # the Telegram update poller and reminders (None: chat-ops off)
    silences: SilenceStats | None  # maintenance windows' silence failures
    http: ConnectionCounts  # what the HTTP server refused or closed

    @classmethod
    def of(cls, runtime: Any) -> "MetricSources":
        """Pick the readable parts of a Runtime (taken by attribute: no import of the Runtime here)."""
        return cls(
            identity=runtime.identity,
            heartbeat_interval=runtime.settings.heartbeat_interval,
            heartbeat=runtime.heartbeat.state,
            lease=runtime.leadership,
            jobs=runtime.scheduler.stats,
            last_rollup=lambda: runtime.rollups.last_written,
            store=runtime.store.usage,
            config=runtime.config,
            incidents=runtime.incidents.counters,
            outbox=lambda: runtime.telegram.stats if runtime.telegram is not None else None,
            alerts=runtime.alerts,
            chatops=runtime.chatops,
            silences=runtime.maintenance.stats if runtime.maintenance is not None else None,
            http=runtime.http,
        )
