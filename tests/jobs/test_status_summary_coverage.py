"""The Telegram /status fallback (no fresh refresh loop) counts coverage as the README defines it."""

from exporter.web.status_summary import collect


async def test_ten_minutes_after_a_first_start_coverage_is_ten_of_ten_not_ten_of_sixty(cluster):
    a = await cluster.add("a")
    await cluster.run_for(600 + 5)  # heartbeats 00:00 .. 00:10; the current slot (00:10) is not complete
    facts = await collect(a.runtime, None)
    hour = facts.coverage["1h"]
    assert (hour.written, hour.expected) == (10, 10)
    assert (facts.coverage["24h"].written, facts.coverage["24h"].expected) == (10, 10)
