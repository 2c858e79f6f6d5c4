"""A day with a deploy inside a maintenance window and an outage outside it, every number checked by hand.

2026-03-01, the target configured (a missed slot is unknown, not down):
- 08:00-08:30 maintenance window "deploy 0.3", recorded at 07:55.
  The leader stops at 08:04:30 (SIGTERM) and the new version starts at 08:10:00:
  slots 08:05..08:09 (5) are missing, more than the 3 an hour that open an incident.
  The target itself is down 08:12..08:17 (restarting too): 5 slots down.
  None of it counts: the window's 30 slots are neither expected nor up nor down.
- 13:59:30 the leader dies (kill -9); a new instance starts at 14:10:00:
  slots 14:00..14:09 (10) are missing: one missed_heartbeat incident, 14:00 to 14:10.
- 15:00..15:20 the target answers 503: 20 slots down.

Hand-computed rollup: expected 1440 - 30 = 1410, written 1400, missedHb 10,
coverage 1400/1410, down 20, up 1380, uptimePct 100 * 1380/1400, maintenanceSec 1800.
"""

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp import web

from exporter.store import Order

pytestmark = pytest.mark.slow

ROOT = "wa_metrics/longrun"


def at(hh: int, mm: int, ss: float = 0, day: int = 1) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=timezone.utc) + timedelta(seconds=ss)


class Target:
    def __init__(self) -> None:
        self.down = False

    async def status(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response({"connectedCount": 3, "reconnectingCount": 0, "needsQrCount": 0, "queueDepth": 4,
                                  "reconnectsTotal": 0})


async def test_a_deploy_inside_a_window_costs_nothing_and_an_outage_outside_counts(cluster, store, aiohttp_server):
    target = Target()
    app = web.Application()
    app.router.add_get("/status", target.status)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        options = dict(session=session, target_url=str(server.make_url("/status")))
        a = await cluster.add("a", **options)
        await cluster.run_until(at(7, 55))
        window = await a.runtime.maintenance.add(at(8, 0), at(8, 30), "deploy 0.3", created_by="cli:ana")

        await cluster.run_until(at(8, 4, 30))
        await cluster.stop(a)                                   # the deploy: SIGTERM ...
        await cluster.run_until(at(8, 10))
        await cluster.add("b", **options)                       # ... and the new version
        await cluster.run_until(at(8, 11, 59))
        target.down = True
        await cluster.run_until(at(8, 16, 59))
        target.down = False

        await cluster.run_until(at(13, 59, 30))
        cluster.kill(cluster.members[1])                        # the outage
        await cluster.run_until(at(14, 10))
        await cluster.add("c", **options)
        await cluster.run_until(at(14, 59, 59))
        target.down = True
        await cluster.run_until(at(15, 19, 59))
        target.down = False
        await cluster.run_until(at(0, 10, day=2))

    rollup = (await store.get(f"{ROOT}/rollups/2026-03-01")).data
    assert rollup["maintenanceSec"] == 1800
    assert (rollup["expectedHb"], rollup["writtenHb"], rollup["missedHb"]) == (1410, 1400, 10)
    assert rollup["numericCoverage"] == pytest.approx(1400 / 1410)
    assert (rollup["upMinutes"], rollup["downMinutes"], rollup["unknownMinutes"]) == (1380, 20, 10)
    assert rollup["uptimePct"] == pytest.approx(100 * 1380 / 1400)

    incidents = [d.data for d in await store.query(f"{ROOT}/incidents", order_by=[Order("tsStart")])]
    assert [(i["type"], i["status"], i["tsStart"], i["tsEnd"]) for i in incidents] == [
        ("missed_heartbeat", "resolved", at(14, 0), at(14, 10))]

    stored = (await store.get(f"{ROOT}/maintenance/{window['id']}")).data
    assert (stored["announcedStart"], stored["announcedEnd"]) == (at(8, 0), at(8, 30))


async def test_misses_outside_a_window_open_an_incident_even_when_a_larger_gap_lies_inside(cluster, store):
    a = await cluster.add("a")
    await cluster.run_until(at(9, 55))
    await a.runtime.maintenance.add(at(10, 0), at(10, 30), "deploy 0.3", created_by="cli:ana")
    await cluster.run_until(at(10, 4, 30))
    await cluster.stop(a)                                       # 10:05..10:09 missing, inside the window
    await cluster.run_until(at(10, 10))
    b = await cluster.add("b")
    await cluster.run_until(at(10, 39, 30))
    cluster.kill(b)                                             # 10:40..10:43 missing, outside: 4 > 3
    await cluster.run_until(at(10, 44))
    await cluster.add("c")
    await cluster.run_until(at(11, 0, 30))

    incidents = [d.data for d in await store.query(f"{ROOT}/incidents", order_by=[Order("tsStart")])]
    assert [(i["type"], i["tsStart"], i["tsEnd"]) for i in incidents] == [("missed_heartbeat", at(10, 40), at(10, 44))]
    assert incidents[0]["reason"].startswith("4 ")
