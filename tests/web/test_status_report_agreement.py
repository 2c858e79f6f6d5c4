"""The status page and ``longrun report`` agree on every figure for the same window (30 simulated days)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exporter.domain.slots import day_bounds
from exporter.reports import formatting as fmt
from exporter.reports.gather import daily_rows, incidents_touching
from exporter.reports.model import build_long_run_report, window_days
from exporter.web.status_facts import facts_from_memory
from exporter.web.status_view import PERIODS, build_view
from tests.web.history import simulate_days

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_backend", ["sqlite"])]


async def test_uptime_and_coverage_per_period_match_the_report(cluster, store_backend):
    member = await cluster.add("alpha")
    runtime = member.runtime
    await simulate_days(runtime, cluster.clock.now(), days=30)
    await cluster.run_for(60)
    assert await runtime.refresh.refresh_once()
    view = build_view(facts_from_memory(runtime, runtime.refresh))

    # What `longrun report --window 1,7,30,90` reads and computes (exporter/cli/report.py: build).
    last = cluster.clock.now().date() - timedelta(days=1)
    windows = tuple(days for _, days in PERIODS)
    days = window_days(last, max(windows))
    rows = await daily_rows(runtime.rollups, days)
    incidents = await incidents_touching(runtime.store, runtime.paths, day_bounds(days[0])[0], day_bounds(last)[1])
    report = build_long_run_report(last, windows, rows, incidents, generated_at=cluster.clock.now(), interval=60)

    by_days = {w.days: w for w in report.windows}
    for name, period_days in PERIODS:
        page, window = view["history"]["uptime"][name], by_days[period_days]
        assert (page["firstDay"], page["lastDay"]) == (window.first_day.isoformat(), window.last_day.isoformat())
        assert page["uptimeRatio"] == pytest.approx(window.uptime_pct / 100, abs=1e-12), name
        assert page["coverageRatio"] == window.coverage, name
        assert page["uptimePercent"] == fmt.pct(window.uptime_pct), name       # the same text, floored alike
        assert page["coveragePercent"] == fmt.ratio(window.coverage), name
        assert page["daysWithData"] == len(window.days_with_data)
    assert view["history"]["uptime"]["30d"]["uptimeRatio"] < 1  # the outage and the target down are counted
    per_day = {d["date"]: d for d in view["history"]["days"]}
    for row in report.days:
        if row.rollup is not None:
            assert per_day[row.day.isoformat()]["uptimePercent"] == fmt.pct(row.uptime_pct)
            assert per_day[row.day.isoformat()]["coveragePercent"] == fmt.ratio(row.coverage)
