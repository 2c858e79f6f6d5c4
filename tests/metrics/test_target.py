"""The monitored service's figures: the leader's own answer, mirrored by a standby from the heartbeats."""

import aiohttp
from aiohttp import web

from tests.metrics.scraping import Exporter, value

STATUS = {"connectedCount": 2, "reconnectingCount": 1, "needsQrCount": 0, "queueDepth": 12, "reconnectsTotal": 40}


async def status(request: web.Request) -> web.Response:
    return web.json_response(STATUS)


async def test_target_figures_on_the_leader_and_on_a_standby(cluster, aiohttp_server):
    app = web.Application()
    app.router.add_get("/status", status)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        a = await cluster.add("a", session=session, target_url=str(server.make_url("/status")), target_timeout=2.0)
        b = await cluster.add("b")
        await cluster.run_for(120)
        leader, standby = Exporter(a.runtime), Exporter(b.runtime)
        await standby.refresh.refresh_once()
        for families in (leader.scrape(), standby.scrape()):
            assert value(families, "longrun_target_up") == 1
            assert value(families, "longrun_connected_accounts") == 2
            assert value(families, "longrun_reconnecting_accounts") == 1
            assert value(families, "longrun_needs_qr_accounts") == 0
            assert value(families, "longrun_queue_depth") == 12
            assert value(families, "longrun_target_reconnects_total") == 40
            assert value(families, "longrun_expected_accounts") == 3
