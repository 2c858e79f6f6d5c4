"""The one safety property every cluster test checks after each step."""

from __future__ import annotations

from typing import Any


def at_most_one_leader(cluster: Any) -> None:
    """Never two instances acting as leader at one moment (``tests.jobs.cluster.Cluster``)."""
    leaders = cluster.leaders()
    assert len(leaders) <= 1, f"two leaders at {cluster.clock.now()}: {leaders}"
