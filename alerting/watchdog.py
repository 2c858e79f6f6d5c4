"""The dead man's switch: an alarm when Alertmanager's Watchdog stops arriving.

The shipped rules fire ``Watchdog`` always and Alertmanager sends it every
minute; the bridge notes when it arrived (``AlertBridge.watchdog_last_seen``).
When no instance has received it for longer than ``limit`` (10 minutes),
Prometheus, its rules, Alertmanager or the route to longrun is broken and
every other alert is silent too, so longrun itself opens an incident of type
``alert``, subject ``watchdog`` (P1, announced on Telegram by the incident
service) and resolves it when the Watchdog is back.

    watchdog_decision(last_seen, now, started_at, limit=600)   # WatchdogAction.OPEN / RESOLVE / HOLD
    monitor = WatchdogMonitor(bridge, incidents, clock, started_at=runtime.started_at)
    await monitor.run(stop)                                     # check() every minute until stop

Every instance that serves the webhook runs a monitor. Alertmanager calls one
address, which may reach any instance (and keeps reaching the same one over a
kept-alive connection), so an instance that has not heard the Watchdog itself
asks the others before it alarms: a receiving instance shares its newest
arrival in ``{root}/state/watchdog``, rewritten once it is ``limit / 2`` newer
than what it last wrote; an instance reads it only when everything it knows
is older than the limit. Opening is idempotent per (type, subject), so
instances that alarm together open one incident.

A monitor acts only when its decision changes (HOLD does nothing), so a
process that restarted during an outage of the pipeline clears the incident
the first time it hears the Watchdog again.

Costs and bounds at the defaults: a receiving instance writes the shared
arrival every 5 minutes (288 writes a day); an instance that receives nothing
reads it about as often; in between a monitor touches the store only when its
decision changes. As the shared arrival may lag by up to ``limit / 2 + every``,
an instance that does not receive the Watchdog itself can alarm after
``limit / 2 - every`` (4 minutes) of silence at the earliest.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from datetime import datetime, timedelta

from alerting.bridge import AlertBridge
from exporter.clock import Clock
from exporter.services.incidents import IncidentService
from exporter.store import StoreError

log = logging.getLogger("longrun.alerts")

INCIDENT_TYPE = "alert"
SUBJECT = "watchdog"
SOURCE = "monitor"
LIMIT = 600.0  # Alertmanager sends the Watchdog every minute: ten in a row missing
EVERY = 60.0


class WatchdogAction(enum.Enum):
    OPEN = "open"  # silent for longer than the limit: raise the alarm
    RESOLVE = "resolve"  # heard within the limit: no alarm
    HOLD = "hold"  # not heard, but this process has not run for the limit yet: too early to tell


def watchdog_decision(last_seen: datetime | None, now: datetime, started_at: datetime, limit: float) -> WatchdogAction:
    """What the Watchdog's silence means at ``now``; ``last_seen`` None: not heard since ``started_at``."""
    window = timedelta(seconds=limit)
    if last_seen is not None and now - last_seen <= window:
        return WatchdogAction.RESOLVE
    if now - started_at <= window:
        return WatchdogAction.HOLD
    return WatchdogAction.OPEN


class WatchdogMonitor:
    """Checks the Watchdog's silence every ``every`` seconds on ``clock`` (see the module docstring).

        monitor = WatchdogMonitor(bridge, incidents, clock, started_at=started_at, limit=600, every=60)
        await monitor.check()       # WatchdogAction.HOLD, or None when the store failed (tried again next time)
    """

    def __init__(self, bridge: AlertBridge, incidents: IncidentService, clock: Clock, *, started_at: datetime,
                 limit: float = LIMIT, every: float = EVERY, severity: str = "P1") -> None:
        self.bridge, self.incidents, self.clock = bridge, incidents, clock
        self.started_at, self.limit, self.every, self.severity = started_at, limit, every, severity
        self.decision: WatchdogAction | None = None  # the last one acted on
        self.last_seen: datetime | None = None  # the newest arrival known to this instance, as of the last check
        self._shared: datetime | None = None  # the arrival this instance last wrote to the store
        self._elsewhere: datetime | None = None  # the newest arrival another instance wrote, as last read
        self._path = incidents.paths.watchdog_state

    async def run(self, stop: asyncio.Event) -> None:
        """``check()`` now and then every ``every`` seconds until ``stop``; failures are logged, never fatal."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # a bug here must not end the dead man's switch for good
                log.exception("watchdog: check failed; trying again in %ss", self.every)
            await self.clock.wait_until(self.clock.now() + timedelta(seconds=self.every), stop)

    async def check(self) -> WatchdogAction | None:
        """Decide, and open or resolve the incident when the decision changed; None when the store failed."""
        now = self.clock.now()
        try:
            await self._share(self.bridge.watchdog_last_seen)
            decision = self._decide(now)
            if decision is WatchdogAction.OPEN:  # before alarming: did another instance hear it?
                self._elsewhere = await self._shared_arrival()
                decision = self._decide(now)
            if decision is not self.decision:
                await self._act(decision, now)
                self.decision = decision
        except StoreError as exc:
            log.warning("watchdog: store unavailable (%s: %s); checking again in %ss",
                        type(exc).__name__, exc, self.every)
            return None
        return decision

    def _decide(self, now: datetime) -> WatchdogAction:
        self.last_seen = _newest(self.bridge.watchdog_last_seen, self._elsewhere)
        return watchdog_decision(self.last_seen, now, self.started_at, self.limit)

    async def _act(self, decision: WatchdogAction, now: datetime) -> None:
        if decision is WatchdogAction.OPEN:
            doc, change = await self.incidents.detect(
                INCIDENT_TYPE, SUBJECT, source=SOURCE, severity=self.severity, at=now,
                reason=_reason(self.last_seen, now, self.started_at, self.limit),
                details={"lastSeen": self.last_seen, "limitSec": self.limit},
            )
            log.error("🚨 Watchdog silent: incident %s %s", doc["incidentId"], change)
        elif decision is WatchdogAction.RESOLVE:
            doc = await self.incidents.clear(INCIDENT_TYPE, SUBJECT, source=SOURCE, at=self.last_seen)
            if doc is not None:
                log.info("Watchdog back: incident %s resolved", doc["incidentId"])

    async def _share(self, heard: datetime | None) -> None:
        """Tell the other instances, at most every limit / 2, that the Watchdog reached this one."""
        if heard is None or (self._shared is not None and heard - self._shared < timedelta(seconds=self.limit / 2)):
            return
        await self.incidents.store.set(self._path, {"lastSeen": heard, "updatedAt": self.clock.now()})
        self._shared = heard

    async def _shared_arrival(self) -> datetime | None:
        doc = await self.incidents.store.get(self._path)
        seen = doc.get("lastSeen") if doc is not None else None
        return seen if isinstance(seen, datetime) else None


def _newest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _reason(heard: datetime | None, now: datetime, started_at: datetime, limit: float) -> str:
    since = f"for {_minutes(now - heard)}" if heard else f"since this instance started {_minutes(now - started_at)} ago"
    return (f"Alertmanager's Watchdog has not reached longrun {since} (limit {_minutes(timedelta(seconds=limit))}): "
            "Prometheus, its rules, Alertmanager or the webhook route is broken, so every other alert is silent too")


def _minutes(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
