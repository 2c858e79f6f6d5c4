"""GET /metrics over HTTP: format negotiation as the client library does it, and no store reads."""

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from exporter.web.app import create_app
from tests.metrics.scraping import parse, value

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


async def leader_app(cluster, aiohttp_client):
    a = await cluster.add("a")
    await cluster.run_for(180)
    app = create_app(a.runtime)
    await a.runtime.refresh.refresh_once()
    return a, await aiohttp_client(app)


async def test_plain_scrape_gets_the_text_format(cluster, aiohttp_client):
    a, client = await leader_app(cluster, aiohttp_client)
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = parse(await response.text())
    assert value(families, "longrun_leader") == 1
    assert value(families, "longrun_heartbeats_written_total") == 4


async def test_openmetrics_is_negotiated_from_the_accept_header(cluster, aiohttp_client):
    a, client = await leader_app(cluster, aiohttp_client)
    accept = f"{OPENMETRICS};q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"  # what Prometheus sends
    response = await client.get("/metrics", headers={"Accept": accept})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = await response.text()
    assert text.endswith("# EOF\n")
    assert " # {" not in text  # no exemplars
    families = {f.name: f for f in parse_openmetrics(text)}
    assert families["longrun_build"].type == "info"
    assert families["longrun_heartbeats_written"].samples[0].value == 4


async def test_a_hundred_scrapes_read_nothing_from_the_store(cluster, aiohttp_client):
    a, client = await leader_app(cluster, aiohttp_client)
    usage = a.runtime.store.usage
    before = (dict(usage.calls), usage.reads, usage.writes)
    for n in range(100):
        accept = OPENMETRICS if n % 2 else ""
        response = await client.get("/metrics", headers={"Accept": accept})
        assert response.status == 200
        await response.read()
    assert (dict(usage.calls), usage.reads, usage.writes) == before
