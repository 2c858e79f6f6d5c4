"""Builds the running service from settings: one object holding every part.

    runtime = Runtime.build(settings, clock=RealClock(), session=session)
    await runtime.start()           # config document, lease watch
    await runtime.scheduler.run(stop)

The HTTP routes, the CLI and the tests all reach the parts through a Runtime,
so nothing is created at import and every part can be replaced in a test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from prometheus_client.registry import CollectorRegistry

from alerting.alertmanager.silences import SilenceClient, parse_matchers
from alerting.bridge import AlertBridge
from alerting.chatops import ChatOps
from alerting.delivery import TelegramDelivery
from alerting.watchdog import WatchdogMonitor

from exporter.clock import Clock
from exporter.domain import runtime_config
from exporter.domain.documents import Identity
from exporter.jobs.daily import RetentionJob, RollupJob
from exporter.domain.lease_heartbeats import carry
from exporter.jobs.heartbeat import HeartbeatJob
from exporter.jobs.leadership import Leadership
from exporter.jobs.maintenance import MaintenanceJob
from exporter.jobs.monitor import MonitorJob
from exporter.jobs.probes import probe_jobs
from exporter.jobs.scheduler import Scheduler
from exporter.metrics.collector import build_registry
from exporter.metrics.refresh import RefreshLoop
from exporter.metrics.sources import MetricSources
from exporter.services.config import ConfigSource
from exporter.services.config_edit import ConfigEditor
from exporter.services.incidents import IncidentService, Notifier
from exporter.services.locks import LockService
from exporter.services.maintenance import MaintenanceService
from exporter.services.maintenance_gate import MaintenanceGate
from exporter.services.probes import InboundRegistry, ProbeRunner
from exporter.services.retention import RetentionService
from exporter.services.rollups import RollupService
from exporter.settings import Settings
from exporter.store import DocumentStore, Paths, StoreError, open_store
from exporter.store.instrumented import InstrumentedStore
from exporter.target import TargetClient
from exporter.web.http_stats import HttpStats

log = logging.getLogger("longrun")


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: InstrumentedStore
    paths: Paths
    identity: Identity
    config: ConfigSource
    leadership: Leadership
    heartbeat: HeartbeatJob
    probes: ProbeRunner
    inbound: InboundRegistry
    incidents: IncidentService
    rollups: RollupService
    retention: RetentionService
    monitor: MonitorJob
    scheduler: Scheduler
    started_at: datetime
    session: aiohttp.ClientSession | None = None
    telegram: TelegramDelivery | None = None
    alerts: AlertBridge | None = None
    watchdog: WatchdogMonitor | None = None
    maintenance: MaintenanceService | None = None
    chatops: ChatOps | None = None
    http: HttpStats = field(default_factory=HttpStats)  # what the HTTP server refused or closed
    # Operator procedures over the parts above, for the admin API and the CLI alike.
    locks: LockService = field(init=False)
    config_edit: ConfigEditor = field(init=False)
    # The metrics: the loop that keeps their store-derived part current, and the registry /metrics serves.
    refresh: RefreshLoop = field(init=False)
    metrics: CollectorRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.locks = LockService(self.store, self.paths, self.clock)
        self.config_edit = ConfigEditor(self.store, self.paths, self.clock, self.config)
        self.refresh = RefreshLoop(self)
        self.metrics = build_registry(MetricSources.of(self), self.refresh)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        store: DocumentStore | None = None,
        session: aiohttp.ClientSession | None = None,
        notifier: Notifier | None = None,
    ) -> "Runtime":
        inner = store if store is not None else open_store(settings)
        instrumented = inner if isinstance(inner, InstrumentedStore) else InstrumentedStore(inner, clock)
        paths = Paths(settings.root)
        identity = Identity(settings.instance_id, settings.deployment_id, settings.commit, settings.service_version)
        seed = runtime_config.defaults(
            heartbeat_interval=settings.heartbeat_interval,
            lease=settings.lease,
            renew=settings.renew,
            outbound_interval=settings.outbound_interval,
            queue_interval=settings.queue_interval,
            inbound_interval=settings.inbound_interval,
        )
        config = ConfigSource(instrumented, paths, seed, clock)
        leadership = Leadership(
            instrumented, paths, clock,
            instance_id=settings.instance_id, deployment_id=settings.deployment_id,
            lease=settings.lease, renew=settings.renew, standby_poll=settings.standby_poll,
        )
        target = TargetClient(session, settings.target_url, settings.target_timeout) if settings.target_url and session else None
        started_at = clock.now()
        heartbeat = HeartbeatJob(instrumented, paths, clock, leadership, identity, settings.heartbeat_interval, target, started_at)
        leadership.carry = lambda: carry(heartbeat.state.recent)
        inbound = InboundRegistry()
        probes = ProbeRunner(instrumented, paths, clock, identity, settings, config,
                             generation=lambda: leadership.generation, session=session, inbound=inbound, target=target)
        telegram = TelegramDelivery.from_settings(settings, instrumented, paths, clock, session)
        incidents = IncidentService(instrumented, paths, clock, config, notifier or telegram.notifier)
        alerts = AlertBridge(incidents, telegram, clock)
        # The Watchdog dead man's switch, on every instance that accepts Alertmanager's webhook.
        watchdog = (WatchdogMonitor(alerts, incidents, clock, started_at=started_at)
                    if settings.webhook_token or settings.webhook_open else None)
        silences = SilenceClient(session, settings.alertmanager_url) if settings.alertmanager_url and session else None
        maintenance = MaintenanceService(instrumented, paths, clock, silences=silences,
                                         matchers=parse_matchers(settings.silence_matchers), telegram=telegram)
        rollups = RollupService(
            instrumented, paths, clock, config, identity, settings.heartbeat_interval,
            known_day=lambda day: heartbeat.ledger.result_for(day, leadership.leading_since),
            maintenance=maintenance.spans,
        )
        maintenance.refresh_day = rollups.refresh_day  # the two need each other: set after both exist
        retention = RetentionService(instrumented, paths, clock, config)
        planned = MaintenanceGate(incidents, maintenance.spans, clock)  # the monitor pages nobody for planned work
        monitor = MonitorJob(instrumented, paths, config, planned, heartbeat, probes, rollups, settings.monitor_interval,
                             maintenance=maintenance.spans)
        chatops = ChatOps.build(settings, instrumented, paths, clock, session, leadership, incidents, config, telegram,
                                silences=silences, maintenance=maintenance)
        jobs = [heartbeat, *probe_jobs(probes, config, leadership, settings), monitor, RollupJob(rollups), RetentionJob(retention),
                MaintenanceJob(maintenance, min(60.0, settings.heartbeat_interval)), *chatops.jobs]
        scheduler = Scheduler(clock, leadership, jobs)
        return cls(
            settings=settings, clock=clock, store=instrumented, paths=paths, identity=identity, config=config,
            leadership=leadership, heartbeat=heartbeat, probes=probes, inbound=inbound, incidents=incidents,
            rollups=rollups, retention=retention, monitor=monitor, scheduler=scheduler, started_at=started_at,
            session=session, telegram=telegram, alerts=alerts, watchdog=watchdog, maintenance=maintenance,
            chatops=chatops,
        )

    async def start(self) -> None:
        """Create the config document when missing; a store outage here is logged, not fatal."""
        log.info("🔧 Initializing long-run jobs (instanceId: %s, store: %s)", self.identity.instance_id, self.store.kind)
        try:
            await self.config.ensure()
        except StoreError as exc:
            log.error("store unreachable at start (%s: %s); standing by and retrying", exc.__class__.__name__, exc)

    async def close(self) -> None:
        await self.scheduler.shutdown()
        await self.store.close()
