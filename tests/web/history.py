"""Simulated history before a test's clock, as ``longrun simulate`` writes it: raw documents, then each day's rollup.

    await simulate_days(runtime, now, days=30)     # 30 whole UTC days ending the day before ``now``
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exporter.cli.simulate import write_documents
from exporter.domain.slots import day_bounds
from exporter.simulate import Episode, SimulationSpec, generate


async def simulate_days(runtime, now: datetime, *, days: int) -> SimulationSpec:
    """History from ``days`` whole days before today (UTC) up to ``now``, with one 45-minute outage and an hour of target down."""
    end = day_bounds(now.date())[0]
    start = end - timedelta(days=days)
    # The history runs up to ``now`` (today's part too), so the running instance simply carries on.
    spec = SimulationSpec(start, now, seed=1,
                          outages=(Episode(end - timedelta(days=3, hours=-10), 45 * 60),),
                          target_down=(Episode(end - timedelta(days=12, hours=-2), 3600),))
    await write_documents(runtime.store, runtime.paths, generate(spec), start=start, days=days)
    day = start.date()
    while day < end.date():
        await runtime.rollups.run_day(day)
        day += timedelta(days=1)
    return spec
