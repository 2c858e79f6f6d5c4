from datetime import datetime, timezone

import pytest

from exporter.clock import FakeClock
from exporter.settings import Settings
from tests.jobs.cluster import Cluster
from tests.support import at_most_one_leader

START = datetime(2026, 3, 1, 0, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def cluster(clock, store_factory):
    """Instances at the runbook's defaults (60 s heartbeats, 120 s lease, 60 s renew, 5 s standby poll)."""
    settings = Settings(store_url="sqlite:///unused", instance_id="unset")
    group = Cluster(clock, settings, store_factory)
    group.checks.append(at_most_one_leader)
    return group
