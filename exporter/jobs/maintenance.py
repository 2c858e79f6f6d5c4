"""The maintenance job: on the leader, every minute, keep windows' silences and announcements up to date.

It retries a silence Alertmanager could not create (until the window ends),
expires the silences of a window ended early when that failed before, and
sends the Telegram message of a window that has started or ended since.
"""

from __future__ import annotations

from datetime import datetime

from exporter.domain.slots import next_slot
from exporter.services.maintenance import MaintenanceService

INTERVAL = 60.0


class MaintenanceJob:
    name = "maintenance"
    leader_only = True

    def __init__(self, maintenance: MaintenanceService, interval: float = INTERVAL) -> None:
        self.maintenance = maintenance
        self.interval = interval

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, self.interval)

    async def run(self, now: datetime) -> None:
        await self.maintenance.reconcile(now)
