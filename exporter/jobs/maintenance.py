"""The maintenance job: on the leader, keep windows' silences and announcements up to date.

Every minute while a window waits for something (a silence to retry, one to
expire, an announcement), at each known window's start and end, and every 15
minutes otherwise.

It retries a silence Alertmanager could not create (until the window ends),
expires the silences of a window ended early when that failed before, and
sends the Telegram message of a window that has started or ended since.
"""

from __future__ import annotations

from datetime import datetime

from exporter.services.maintenance import MaintenanceService

INTERVAL = 60.0
IDLE = 900.0  # nothing waiting: read the windows every 15 minutes


class MaintenanceJob:
    name = "maintenance"
    leader_only = True

    def __init__(self, maintenance: MaintenanceService, interval: float = INTERVAL, idle: float = IDLE) -> None:
        self.maintenance = maintenance
        self.interval, self.idle = interval, idle

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        """Every ``interval`` while something waits, at a known window's start or end, else after ``idle``."""
        return self.maintenance.next_reconcile(now, self.interval, self.idle)

    async def run(self, now: datetime) -> None:
        await self.maintenance.reconcile(now)
