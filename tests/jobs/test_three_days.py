"""Three days of operation on a fake clock, with every number checked by hand.

Day 1 (03-01): the leader dies at 09:59:30 and a new instance starts at 10:45:00,
    so the slots 10:00..10:44 (45) are missing.
Day 2 (03-02): the target answers 503 from 14:00 to 14:20 while heartbeats go
    on (20 slots down); the outbound send fails at 06:00 and 12:00 and passes at
    18:00; the leader dies at 23:58:30...
Day 3 (03-03): ...and a new instance starts at 00:03:00, past midnight: the day-2
    rollup is caught up at start; slots 23:59, 00:00, 00:01, 00:02 are missing.
"""

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp import web

from exporter.store import Order

pytestmark = pytest.mark.slow

ROOT = "wa_metrics/longrun"


def at(day: int, hh: int, mm: int, ss: float = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=timezone.utc) + timedelta(seconds=ss)


class Target:
    """The monitored service: status JSON and a send endpoint, both switchable."""

    def __init__(self) -> None:
        self.down = False
        self.send_fails = False

    async def status(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response({"connectedCount": 3, "reconnectingCount": 0, "needsQrCount": 0, "queueDepth": 4, "reconnectsTotal": 0})

    async def send(self, request: web.Request) -> web.Response:
        return web.Response(status=500 if self.send_fails else 202)


async def test_three_days_of_operation(cluster, store, aiohttp_server):
    target = Target()
    app = web.Application()
    app.router.add_get("/status", target.status)
    app.router.add_post("/send", target.send)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        options = dict(session=session, target_url=str(server.make_url("/status")), target_send_url=str(server.make_url("/send")))

        a = await cluster.add("a", **options)
        await cluster.run_until(at(1, 9, 59, 30))
        cluster.kill(a)
        await cluster.run_until(at(1, 10, 45))
        await cluster.add("a2", **options)

        await cluster.run_until(at(2, 5, 59))
        target.send_fails = True
        await cluster.run_until(at(2, 13, 59, 59))
        target.down = True
        await cluster.run_until(at(2, 14, 19, 59))
        target.down = False
        await cluster.run_until(at(2, 17, 59))
        target.send_fails = False
        await cluster.run_until(at(2, 23, 58, 30))
        cluster.kill(cluster.members[1])
        await cluster.run_until(at(3, 0, 3))
        a3 = await cluster.add("a3", **options)
        await cluster.run_until(at(3, 0, 3, 1))
        assert (await store.get(f"{ROOT}/rollups/2026-03-02")) is not None, "the missed midnight is caught up at start"
        caught_up_at = (await store.get(f"{ROOT}/rollups/2026-03-02")).get("createdAt")
        assert caught_up_at == at(3, 0, 3)
        await cluster.run_until(at(4, 0, 10))

    rollups = {d.id: d.data for d in await store.query(f"{ROOT}/rollups", order_by=[Order("date")])}
    assert sorted(rollups) == ["2026-03-01", "2026-03-02", "2026-03-03"]

    day1, day2, day3 = rollups["2026-03-01"], rollups["2026-03-02"], rollups["2026-03-03"]
    assert (day1["writtenHb"], day1["missedHb"], day1["expectedHb"]) == (1395, 45, 1440)
    assert day1["numericCoverage"] == pytest.approx(1395 / 1440)
    assert day1["maxGapSec"] == 46 * 60  # from the 09:59 heartbeat to the 10:45 one
    assert day1["uptimePct"] == pytest.approx(100.0)  # unknown minutes are not counted as up or down
    assert day1["unknownMinutes"] == 45
    assert day1["probePassRates"]["outbound"] == 100.0 and day1["probePassRates"]["inbound"] is None
    assert day1["restarts"] == 1
    assert day1["mttrP50"] == 45 * 60  # the missed-heartbeat incident: 10:00 to 10:45

    assert (day2["writtenHb"], day2["missedHb"]) == (1439, 1)
    assert day2["downMinutes"] == 20
    assert day2["uptimePct"] == pytest.approx(100 * (1439 - 20) / 1439)
    assert day2["maxGapSec"] == 120  # the 23:58 heartbeat to the end of the day
    assert day2["probePassRates"]["outbound"] == 50.0  # 00 PASS, 06 FAIL, 12 FAIL, 18 PASS
    assert day2["probeCounts"]["outbound"] == {"PASS": 2, "FAIL": 2, "SKIP": 0}
    assert day2["probePassRates"]["queue"] == 100.0
    assert day2["mttrP50"] == 12 * 3600  # probe_fail: first failure 06:00, the pass at 18:00
    assert day2["insufficientData"] is False

    assert (day3["writtenHb"], day3["missedHb"]) == (1437, 3)
    assert day3["maxGapSec"] == 300  # the 23:58 heartbeat of the day before to the 00:03 one: one gap across midnight
    assert day3["restarts"] == 1
    assert day3["mttrP50"] == 240  # the restart across midnight: 23:59 to 00:03

    incidents = [d.data for d in await store.query(f"{ROOT}/incidents", order_by=[Order("tsStart")])]
    assert [(i["type"], i["status"]) for i in incidents] == [
        ("missed_heartbeat", "resolved"), ("probe_fail", "resolved"), ("missed_heartbeat", "resolved"),
    ]
    missed, probe, midnight = incidents
    # 4 slots missed across midnight (23:59..00:02) is over 3 in an hour: the new leader's first
    # check, from where the dead leader's last check ended, sees them together.
    assert (midnight["tsStart"], midnight["tsEnd"], midnight["mttrSec"]) == (at(2, 23, 59), at(3, 0, 3), 240)
    assert (missed["tsStart"], missed["tsEnd"], missed["mttrSec"]) == (at(1, 10, 0), at(1, 10, 45), 2700)
    assert missed["severity"] == "P2"
    assert (probe["tsStart"].replace(second=0, microsecond=0), probe["tsEnd"].replace(second=0, microsecond=0)) == (at(2, 6, 0), at(2, 18, 0))
    assert probe["severity"] == "P3" and probe["subject"] == "outbound"

    probes = [d.id for d in await store.query(f"{ROOT}/probes")]
    assert len(probes) == len(set(probes))
    assert sum(p.startswith("OUT_") for p in probes) == 4 * 3 + 1  # 4 slots a day, and 00:00 of day 4
    assert a3.runtime.leadership.generation == 3
