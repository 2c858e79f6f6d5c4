"""The status page, /api/status and the badges during a maintenance window: planned work reads as maintenance."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import yaml

from exporter.web.status_page import CACHE_SEC

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def json_schema(schema):
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes a type that admits null."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in schema:
        converted["type"] = [schema["type"], "null"]
        if "enum" in schema:
            converted["enum"] = [*schema["enum"], None]
    return converted



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
    # ... and the answer is what docs/openapi.yaml promises (its level enum once lacked "maintenance")
    operation = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]["/api/status"]["get"]
    jsonschema.validate(view, json_schema(operation["responses"]["200"]["content"]["application/json"]["schema"]))

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
