"""The daily jobs: the rollup at 00:00 UTC (with catch-up at start) and retention.

Both run only on the leader. The rollup job's first run, at start or on
taking over, rolls up every missing day of the last seven that has data;
after that it runs at each midnight for the day before. A run that fails
(the store down at midnight) is retried every 15 minutes until it succeeds,
not a day later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exporter.domain.slots import next_slot
from exporter.services.retention import RetentionService
from exporter.services.rollups import RollupService

DAY = 86400.0
RETRY = timedelta(minutes=15)


class RollupJob:
    name = "rollup"
    leader_only = True

    def __init__(self, rollups: RollupService) -> None:
        self.rollups = rollups
        self.failed = False

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        midnight = next_slot(now, DAY)
        return min(midnight, now + RETRY) if self.failed else midnight

    async def run(self, now: datetime) -> None:
        self.failed = True  # until catch-up finishes: an exception leaves it set, so the retry comes soon
        await self.rollups.catch_up()
        self.failed = False


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
