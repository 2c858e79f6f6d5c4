"""A rollup that fails at midnight is retried within the hour, not at the next midnight."""

from datetime import datetime, timedelta, timezone

import pytest

from exporter.jobs.daily import RollupJob

MIDNIGHT = datetime(2026, 3, 2, tzinfo=timezone.utc)


class Rollups:
    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def catch_up(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("store unavailable")
        return []


async def test_a_failed_midnight_rollup_is_retried_every_15_minutes_until_it_succeeds():
    rollups = Rollups(failures=2)
    job = RollupJob(rollups)
    now = MIDNIGHT
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await job.run(now)
        now = job.next_due(now)
        assert now - MIDNIGHT <= timedelta(hours=1)
    await job.run(now)
    assert rollups.calls == 3 and now == MIDNIGHT + timedelta(minutes=30)
    assert job.next_due(now) == MIDNIGHT + timedelta(days=1)  # back to the nightly schedule
