"""GET /, GET /api/status and the badges: honest figures, from memory, escaped, open to all."""

import asyncio
import json
from datetime import timedelta

import pytest

from exporter.web.status_page import CACHE_SEC
from tests.web.conftest import OUTSIDE, TOKEN
from tests.web.page import Page


@pytest.fixture
async def client_on_fresh(cluster, app_for, aiohttp_client):
    member = await cluster.add("fresh")
    return await aiohttp_client(app_for(member)), member


async def fetch(client) -> tuple[str, Page]:
    async with client.get("/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none': no script at all
        html = await response.text()
    return html, Page.parse(html)


async def api(client) -> dict:
    async with client.get("/api/status") as response:
        assert response.status == 200 and response.content_type == "application/json"
        return await response.json()


def heading(page: Page, prefix: str) -> str:
    return next(h for h in page.sections if h.startswith(prefix))


async def test_the_page_shows_heartbeats_probes_incidents_and_history(cluster, leader, client):
    await cluster.run_for(55 * 60)  # 00:05 on 03-02: an hour of heartbeats, the rollup of 03-01
    now = cluster.clock.now()
    await leader.runtime.incidents.open_manual("logged_out", reason="2 of 3 accounts connected",
                                               ts_start=now - timedelta(minutes=20), severity="P3")
    assert await leader.runtime.refresh.refresh_once()
    html, page = await fetch(client)

    assert page.title == "longrun: Needs attention" and "1 open incident (1 P3)" in page.summary
    assert {"http-equiv": "refresh", "content": "30"} in page.metas
    assert "Last heartbeat 0 s ago" in page.text("Heartbeats") and "every 60 s" in page.text("Heartbeats")
    assert page.rows("Heartbeats") == [
        ["1h", "100.00%", "60 / 60", "60 s"],
        ["24h", "100.00%", "65 / 65", "60 s"],  # from the first heartbeat at 23:00, whole slots
        ["7d", "100.00%", "65 / 65", "60 s"],
    ]
    probes = page.rows("Probes")
    assert [row[:3] for row in probes] == [
        ["outbound", "pass", "5 min ago"],
        ["queue", "not configured", "5 min ago"],
        ["inbound", "not configured", "5 min ago"],
    ]
    assert probes[1][-1] == "LONGRUN_TARGET_URL is not set: nothing to read the queue depth from"
    assert page.rows(heading(page, "Open incidents")) == [
        ["P3", "logged_out", page.rows(heading(page, "Open incidents"))[0][2], "open", "20 min", "—", "2 of 3 accounts connected"]]
    assert ["target", "not configured", "LONGRUN_TARGET_URL is not set: the monitored service is not checked"] in page.rows("Configuration")
    assert ["telegram", "not configured",
            "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are not both set: incidents are not announced"] in page.rows("Configuration")
    view = await api(client)
    day = view["history"]["days"][-1]
    # The rollup of 03-01: history began at 23:00, so the day expected its last 60 slots and got them all.
    assert day["date"] == "2026-03-01" and day["coverageRatio"] == 1.0 and day["coveragePercent"] == "100.00%"
    assert view["history"]["uptime"]["24h"]["firstDay"] == "2026-03-01"


async def test_the_page_is_self_contained(cluster, leader, client):
    assert await leader.runtime.refresh.refresh_once()
    html, page = await fetch(client)
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert "://" not in html.replace("http://www.w3.org/2000/svg", "") and "<style>" in html


async def test_an_open_p1_turns_the_headline_red_and_is_listed_before_an_older_p3(cluster, leader, client):
    runtime, now = leader.runtime, cluster.clock.now()
    await runtime.incidents.open_manual("queue_depth", reason="older P3", ts_start=now - timedelta(hours=2), severity="P3",
                                        subject="q")
    await runtime.incidents.open_manual("logged_out", reason="newer P1", ts_start=now - timedelta(minutes=5), severity="P1",
                                        subject="t")
    # No refresh: the leader's own writes show at once.
    _, page = await fetch(client)
    assert page.title == "longrun: P1 open"
    assert "1 open P1 incident" in page.summary
    rows = page.rows(heading(page, "Open incidents"))
    assert [row[0] for row in rows] == ["P1", "P3"]
    assert heading(page, "Open incidents") == "Open incidents (2)"
    view = await api(client)
    assert view["headline"]["level"] == "bad" and view["incidents"]["openBySeverity"] == {"P1": 1, "P2": 0, "P3": 1}


async def test_the_true_open_count_is_shown_when_more_are_open_than_listed(cluster, leader, client):
    runtime, now = leader.runtime, cluster.clock.now()
    for n in range(25):
        await runtime.incidents.open_manual("probe_fail", reason=f"newer P3 {n}", ts_start=now - timedelta(minutes=n),
                                            severity="P3", subject=f"s{n}")
    await runtime.incidents.open_manual("logged_out", reason="old P1", ts_start=now - timedelta(days=3), severity="P1",
                                        subject="t")
    assert await runtime.refresh.refresh_once()
    _, page = await fetch(client)
    assert heading(page, "Open incidents") == "Open incidents (26)"
    rows = page.rows("Open incidents (26)")
    assert len(rows) == 20 and rows[0][0] == "P1" and rows[0][-1] == "old P1"
    assert rows[1][-1] == "newer P3 24"  # then the oldest P3 first
    assert "of 26 open incidents" in page.text("Open incidents (26)")


async def test_a_fresh_start_without_a_target_says_only_longrun_itself_is_checked(cluster, client_on_fresh):
    client, member = client_on_fresh
    await cluster.run_for(61)
    assert await member.runtime.refresh.refresh_once()
    _, page = await fetch(client)
    assert page.title == "longrun: Only longrun itself is checked"
    assert "All good" not in page.summary and "All checks pass" not in page.summary
    assert "no target configured" in page.summary


async def test_a_manual_run_shows_apart_and_never_replaces_the_scheduled_state(cluster, leader, client):
    leader.store.fail_writes_under = f"{leader.runtime.paths.root}/state"
    manual = await leader.runtime.probes.run("outbound")
    leader.store.fail_writes_under = None
    assert await leader.runtime.refresh.refresh_once()
    _, page = await fetch(client)
    outbound = page.rows("Probes")[0]
    assert outbound[1] == "pass" and outbound[4].startswith("manual FAIL")
    view = await api(client)
    assert view["probes"][0]["manual"] == {"result": "FAIL", "at": manual["tsIso"], "error": manual["error"], "trigger": "manual"}


async def test_hostile_incident_text_is_escaped_in_page_json_and_badges(cluster, leader, client):
    runtime = leader.runtime
    hostile = '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'
    await runtime.incidents.open_manual("probe_fail", reason=hostile, ts_start=runtime.clock.now(), owner="<b>me</b>",
                                        subject='"><script>alert(3)</script>')
    html, page = await fetch(client)
    assert "<img" not in html and "<script" not in html and "<b>me" not in html and 'href="javascript' not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    row = page.rows(heading(page, "Open incidents"))[0]
    assert row[2] == '"><script>alert(3)</script>' and row[-1] == hostile


async def test_a_request_reads_nothing_from_the_store_and_views_are_cached(cluster, leader, client):
    await cluster.run_for(55 * 60)
    assert await leader.runtime.refresh.refresh_once()
    usage = leader.runtime.store.usage
    reads, calls = usage.reads, sum(usage.calls.values())
    await asyncio.gather(*(fetch(client) for _ in range(5)), *(api(client) for _ in range(5)),
                         *(client.get(f"/badges/{name}.svg") for name in ("status", "uptime-7d", "queue")))
    cluster.clock.advance_sync(CACHE_SEC)
    await fetch(client)
    assert (usage.reads, sum(usage.calls.values())) == (reads, calls)


async def test_a_store_outage_still_renders_from_memory_and_says_so(cluster, leader, client):
    assert await leader.runtime.refresh.refresh_once()
    leader.store.down = True
    await cluster.run_for(60)  # the heartbeat write fails: the store reads as down
    _, page = await fetch(client)
    assert page.title == "longrun: Down" and "the store is unreachable" in page.summary
    assert page.rows("Probes")[0][:2] == ["outbound", "pass"]  # what was known stays shown


async def test_the_page_the_json_and_the_badges_are_open_to_anyone(cluster, leader, app_for, aiohttp_client):
    assert await leader.runtime.refresh.refresh_once()
    outside = await aiohttp_client(app_for(leader, remote=OUTSIDE))
    for path in ("/", "/api/status", "/badges/status.json", "/badges/uptime-90d.svg"):
        async with outside.get(path) as response:
            assert response.status == 200, path
            assert TOKEN not in await response.text()


async def test_api_status_names_ratios_and_percentages_and_refuses_query_parameters(cluster, leader, client):
    await cluster.run_for(55 * 60)
    assert await leader.runtime.refresh.refresh_once()
    view = await api(client)
    hour = view["heartbeat"]["windows"]["1h"]
    assert hour["coverageRatio"] == 1.0 and hour["coveragePercent"] == "100.00%"
    assert view["precision"] == {"percentDecimals": 2, "rounding": "floor"}
    assert view["maintenance"] is None
    assert len(view["history"]["days"]) == 90 and set(view["history"]["uptime"]) == {"24h", "7d", "30d", "90d"}
    async with client.get("/api/status?days=100000") as response:
        assert response.status == 400 and "no query parameters" in (await response.json())["error"]


async def test_badges_follow_the_shields_schema_with_a_short_cache(cluster, leader, client):
    assert await leader.runtime.refresh.refresh_once()
    expected = {"status": "Only longrun itself is checked", "heartbeat": "up", "outbound": "PASS",
                "queue": "not configured", "inbound": "not configured"}
    for name in ("status", "heartbeat", "uptime-24h", "uptime-7d", "uptime-30d", "uptime-90d", "outbound", "queue", "inbound"):
        async with client.get(f"/badges/{name}.json") as response:
            assert response.status == 200 and response.headers["Cache-Control"] == "public, max-age=60"
            doc = await response.json()
        assert set(doc) == {"schemaVersion", "label", "message", "color"} and doc["schemaVersion"] == 1
        if name in expected:
            assert doc["message"] == expected[name], name
        async with client.get(f"/badges/{name}.svg") as response:
            assert response.status == 200 and response.content_type == "image/svg+xml"
            assert f">{doc['message']}</text>" in await response.text()
    uptime = json.loads(await (await client.get("/badges/uptime-90d.json")).text())
    assert uptime["message"] == "no data" and uptime["color"] == "lightgrey"  # no rollup yet: never 0% nor 100%


async def test_an_unknown_badge_is_a_json_404(client):
    for path in ("/badges/nope.svg", "/badges/nope.json", "/badges/uptime-1y.json", "/badges/%3Cimg%3E.svg"):
        async with client.get(path) as response:
            assert response.status == 404 and response.content_type == "application/json", path
            assert "no badge named" in (await response.json())["error"]
