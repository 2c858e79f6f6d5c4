"""GET /: the facts a person needs, escaped, cheap to serve, and still useful when the store is down."""

import asyncio
from collections import Counter
from datetime import timedelta

from exporter.web.status_page import CACHE_SEC
from tests.web.conftest import OUTSIDE, call
from tests.web.page import Page


async def fetch(client) -> tuple[str, Page]:
    async with client.get("/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        html = await response.text()
    return html, Page.parse(html)


async def test_the_page_shows_leader_heartbeats_probes_incidents_and_rollups(cluster, leader, client):
    await cluster.run_for(55 * 60)  # 00:05 on 03-02: an hour of heartbeats, the rollup of 03-01
    now = cluster.clock.now()
    await leader.runtime.incidents.open_manual("logged_out", reason="2 of 3 accounts connected",
                                               ts_start=now - timedelta(minutes=20))
    html, page = await fetch(client)

    assert page.title == "longrun: Needs attention" and "1 open incident(s)" in page.summary
    assert {"http-equiv": "refresh", "content": "30"} in page.metas
    assert any(m.get("name") == "viewport" for m in page.metas)
    assert [row[:2] for row in page.rows("Instances")] == [["alpha (this instance)", "leader"]]
    assert "generation 1" in page.rows("Instances")[0][2]
    assert "Last heartbeat 0 s ago" in page.text("Heartbeats") and "every 60 s" in page.text("Heartbeats")
    assert page.rows("Heartbeats") == [
        ["1h", "100.00 %", "60 / 60"],
        ["24h", "4.58 %", "66 / 1440"],  # 23:00 .. 00:05
        ["7d", "100.00 %", "60 / 60"],   # from the rollup of 03-01: history starts at 23:00
    ]
    assert page.rows("Probes") == [
        ["outbound", "PASS", "5 min ago", ""],
        ["queue", "SKIP", "5 min ago", "LONGRUN_TARGET_URL is not set: nothing to read the queue depth from"],
        ["inbound", "SKIP", "5 min ago", "LONGRUN_PROBE_SENDER_URL is not set: no probe sender to send a message"],
    ]
    assert page.rows("Open incidents") == [["P1", "logged_out", "open", "20 min", "—", "2 of 3 accounts connected"]]
    # history started at 23:00 on 03-01: that day expected its last 60 slots and got them all
    assert page.rows("Daily rollups") == [["2026-03-01", "100.00 %", "100.00 %", "60 s", "no"]]


async def test_the_page_is_self_contained(client):
    html, page = await fetch(client)
    assert not page.tags & {"script", "link", "img", "iframe"}
    assert "://" not in html and "<style>" in html


async def test_every_interpolated_value_is_escaped(leader, client):
    runtime = leader.runtime
    await runtime.incidents.open_manual("probe_fail", reason='<script>alert("x")</script>', ts_start=runtime.clock.now(),
                                        owner="<b>me</b>")
    html, page = await fetch(client)
    assert "<script" not in html and "<b>me" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert page.rows("Open incidents")[0][4:] == ["<b>me</b>", '<script>alert("x")</script>']


async def test_a_standby_shows_the_leader_and_itself(cluster, leader, app_for, aiohttp_client):
    standby = await cluster.add("beta")
    await cluster.run_for(60)
    _, page = await fetch(await aiohttp_client(app_for(standby)))
    assert [row[:2] for row in page.rows("Instances")] == [["alpha", "leader"], ["beta (this instance)", "standby"]]


async def test_no_leader_and_an_old_heartbeat_read_as_down(cluster, leader, client):
    cluster.kill(leader)
    await cluster.run_for(600)
    _, page = await fetch(client)
    assert page.title == "longrun: Down"
    assert "no heartbeat for 10 min" in page.summary and "no instance holds the scheduler lock" in page.summary
    assert page.rows("Instances")[0][1] == "no leader"


async def test_a_store_outage_still_renders_and_says_so(cluster, leader, client):
    leader.store.down = True
    _, page = await fetch(client)
    assert page.title == "longrun: Down" and "the store is unreachable" in page.summary
    assert "lock: store unavailable" in page.summary and "rollups: store unavailable" in page.summary


async def test_a_render_costs_a_handful_of_reads_and_is_cached(cluster, leader, client):
    await cluster.run_for(55 * 60)
    usage = leader.runtime.store.usage
    reads, calls = usage.reads, sum(usage.calls.values())
    await fetch(client)
    assert usage.reads - reads <= 30, "a render must not read a day of heartbeats"
    assert sum(usage.calls.values()) - calls <= 10
    reads = usage.reads
    await asyncio.gather(*(fetch(client) for _ in range(10)))
    assert usage.reads == reads, f"served from the {CACHE_SEC:g} s cache"
    cluster.clock.advance_sync(CACHE_SEC)
    await asyncio.gather(*(fetch(client) for _ in range(10)))
    assert 0 < usage.reads - reads <= 30, "ten requests after expiry rebuild the page once"


async def test_the_page_follows_the_read_rule(cluster, app_for, aiohttp_client):
    member = await cluster.add("open", admin_token=None)
    status, body = await call(await aiohttp_client(app_for(member, remote=OUTSIDE)), "GET", "/", auth=False)
    assert status == 403 and "LONGRUN_ADMIN_TOKEN" in body["error"]


async def test_a_fresh_metrics_snapshot_spares_the_counts_and_probe_queries(cluster, leader, app_for, aiohttp_client):
    await cluster.run_for(55 * 60)  # 00:05 on 03-02
    app = app_for(leader)
    assert await leader.runtime.refresh.refresh_once()
    client = await aiohttp_client(app)
    calls = Counter(leader.runtime.store.usage.calls)
    _, page = await fetch(client)
    spent = Counter(leader.runtime.store.usage.calls) - calls
    assert spent == Counter({"get": 1, "query": 3}), "lock, newest heartbeat, open incidents, rollups"
    assert page.rows("Heartbeats") == [
        ["1h", "100.00 %", "60 / 60"],        # 23:05 .. 00:04, whole slots
        # The cluster began at 23:00: longer windows start at its first heartbeat, not before it existed.
        ["24h", "100.00 %", "65 / 65"],
        ["7d", "100.00 %", "65 / 65"],        # from the metrics window, not the rollups
    ]
    assert "from the metrics refresh at 00:05:00 UTC" in page.text("Heartbeats")
    assert page.rows("Probes")[0][:2] == ["outbound", "PASS"]


async def test_a_stale_snapshot_is_not_shown(cluster, leader, app_for, aiohttp_client):
    app = app_for(leader)
    assert await leader.runtime.refresh.refresh_once()
    await cluster.run_for(45 * 60)  # the loop is not running: its figures are 45 min old
    _, page = await fetch(await aiohttp_client(app))
    assert page.rows("Heartbeats")[0] == ["1h", "93.33 %", "56 / 60"], "counted now: 23:00 .. 23:55"
    assert "counted now" in page.text("Heartbeats")
