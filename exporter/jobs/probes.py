"""The probe jobs: each probe type once per slot, only on the leader.

Slots are aligned (outbound and inbound every 6 h at 00/06/12/18 UTC, queue
daily) and their length comes from the config document's ``probeSchedules``,
so an edit applies from the next slot. A slot whose result is already stored
(a restart, a takeover) is not run again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from exporter.domain.slots import next_slot, probe_key, slot_start
from exporter.domain.vocabulary import PROBE_TYPES, SCHEDULE_KEY
from exporter.jobs.leadership import Leadership
from exporter.services.config import ConfigSource
from exporter.services.probes import ProbeRunner
from exporter.settings import Settings
from exporter.store import AlreadyExists

log = logging.getLogger("longrun.probes")

class ProbeJob:
    """Runs one probe type once per slot; the slot length comes from the config document."""

    leader_only = True

    def __init__(
        self, probe_type: str, runner: ProbeRunner, config: ConfigSource, leadership: Leadership, default_interval: float,
    ) -> None:
        self.probe_type = probe_type
        self.name = f"{probe_type}_probe"
        self.runner, self.config, self.leadership = runner, config, leadership
        self.default_interval = default_interval

    @property
    def interval(self) -> float:
        hours = self.config.current.get("probeSchedules", {}).get(SCHEDULE_KEY[self.probe_type])
        return hours * 3600 if hours else self.default_interval

    def first_due(self, now: datetime) -> datetime:
        # The current slot may not have run yet (a restart, a takeover): check at once.
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, self.interval)

    async def run(self, now: datetime) -> None:
        await self.config.load()
        slot = slot_start(now, self.interval)
        key = probe_key(self.probe_type, slot)
        if await self.runner.store.get(self.runner.paths.probe(key)) is not None:
            return
        if not self.leadership.holds(self.runner.clock.now()):
            return
        try:
            await self.runner.run(self.probe_type, slot=slot)
        except AlreadyExists:
            log.info("probe %s already written by another run; not writing it twice", key)


def probe_jobs(runner: ProbeRunner, config: ConfigSource, leadership: Leadership, settings: Settings) -> list[ProbeJob]:
    defaults = {"outbound": settings.outbound_interval, "queue": settings.queue_interval, "inbound": settings.inbound_interval}
    return [ProbeJob(t, runner, config, leadership, defaults[t]) for t in PROBE_TYPES]
