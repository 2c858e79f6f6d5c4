"""The status page, /api/status and the badges during a maintenance window: planned work reads as maintenance."""

import json
from datetime import timedelta

from exporter.web.status_page import CACHE_SEC



async def get_json(client, path: str) -> dict:
    async with client.get(path) as response:
        assert response.status == 200
        return json.loads(await response.text())


async def test_a_deploy_inside_a_window_reads_as_maintenance_not_down(cluster, leader, client):
    now = cluster.clock.now()
    window = await leader.runtime.maintenance.start(timedelta(minutes=30), "deploy <0.3>", created_by="cli:ana")
    leader.alive = False                                    # the deploy: no heartbeat for 5 minutes
    await cluster.run_for(300)
    assert await leader.runtime.refresh.refresh_once()

    view = await get_json(client, "/api/status")
    assert view["maintenance"] == {"id": window["id"], "start": now.isoformat(),
                                   "end": (now + timedelta(minutes=30)).isoformat(), "reason": "deploy <0.3>",
                                   "createdBy": "cli:ana"}
    assert view["heartbeat"]["state"] == "late"
    assert (view["headline"]["level"], view["headline"]["title"]) == ("maintenance", "Maintenance")
    assert view["headline"]["reasons"][0].startswith("planned work: deploy <0.3>, started by cli:ana, until ")
    assert any(r.startswith("no heartbeat for") for r in view["headline"]["reasons"])   # listed, not alarmed

    async with client.get("/") as response:
        html = await response.text()
    assert "<title>longrun: Maintenance</title>" in html and 'data-level="maintenance"' in html
    assert "deploy &lt;0.3&gt; · started by cli:ana · until" in html and "<0.3>" not in html

    assert await get_json(client, "/badges/status.json") == {
        "schemaVersion": 1, "label": "longrun", "message": "maintenance", "color": "blue"}
    assert await get_json(client, "/badges/heartbeat.json") == {
        "schemaVersion": 1, "label": "heartbeat", "message": "maintenance", "color": "blue"}

    await leader.runtime.maintenance.end(window["id"], ended_by="admin")
    await cluster.run_for(CACHE_SEC + 1)                   # past the page cache
    assert await leader.runtime.refresh.refresh_once()
    view = await get_json(client, "/api/status")
    assert view["maintenance"] is None and view["headline"]["level"] == "bad"     # the same gap, unplanned now
    assert (await get_json(client, "/badges/heartbeat.json"))["message"] == "late"


async def test_an_open_p1_still_reads_as_bad_during_a_window(cluster, leader, client):
    await leader.runtime.maintenance.start(timedelta(minutes=30), "deploy", created_by="cli:ana")
    await leader.runtime.incidents.open_manual("logged_out", reason="0 of 3 connected",
                                               ts_start=cluster.clock.now(), severity="P1")
    assert await leader.runtime.refresh.refresh_once()
    view = await get_json(client, "/api/status")
    assert view["headline"]["level"] == "bad" and view["maintenance"] is not None
