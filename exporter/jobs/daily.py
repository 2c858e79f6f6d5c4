"""The daily jobs: the rollup at 00:00 UTC (with catch-up at start) and retention.

Both run only on the leader. The rollup job's first run, at start or on
taking over, rolls up every missing day of the last seven that has data;
after that it runs at each midnight for the day before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exporter.domain.slots import next_slot
from exporter.services.retention import RetentionService
from exporter.services.rollups import RollupService

DAY = 86400.0


class RollupJob:
    name = "rollup"
    leader_only = True

    def __init__(self, rollups: RollupService) -> None:
        self.rollups = rollups

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, DAY)

    async def run(self, now: datetime) -> None:
        await self.rollups.catch_up()


class RetentionJob:
    """Daily at 00:30 UTC, after the rollup has read the day it needs."""

    name = "retention"
    leader_only = True
    offset = timedelta(minutes=30)

    def __init__(self, retention: RetentionService) -> None:
        self.retention = retention

    def first_due(self, now: datetime) -> datetime:
        return self.next_due(now)

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now - self.offset, DAY) + self.offset

    async def run(self, now: datetime) -> None:
        await self.retention.run()
