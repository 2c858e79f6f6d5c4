"""Probes against real servers on loopback: PASS only when something was really tested."""

import asyncio
from datetime import datetime, timezone

import aiohttp
import pytest
from aiohttp import web

from exporter.clock import RealClock
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.web.app import create_app

ROOT = "wa_metrics/longrun"


class Service:
    """The monitored service and its probe sender, each answer switchable by the test."""

    def __init__(self) -> None:
        self.status: object = {"connectedCount": 3, "queueDepth": 4}
        self.send_status = 202
        self.send_delay = 0.0
        self.sender_status = 200
        self.report_to: str | None = None  # where the sender reports the token it "received"
        self.tokens: list[str] = []

    async def get_status(self, request):
        if isinstance(self.status, str):
            return web.Response(text=self.status)
        return web.json_response(self.status)

    async def send(self, request):
        await asyncio.sleep(self.send_delay)
        return web.Response(status=self.send_status)

    async def sender(self, request):
        body = await request.json()
        self.tokens.append(body["token"])
        if self.report_to and self.sender_status < 300:
            async def deliver():
                async with aiohttp.ClientSession() as session:
                    await session.post(f"{self.report_to}/api/probes/inbound/{body['token']}")
            asyncio.get_running_loop().create_task(deliver())
        return web.Response(status=self.sender_status)


@pytest.fixture
async def service(aiohttp_server):
    svc = Service()
    app = web.Application()
    app.router.add_get("/status", svc.get_status)
    app.router.add_post("/send", svc.send)
    app.router.add_post("/sender", svc.sender)
    svc.server = await aiohttp_server(app)
    return svc


@pytest.fixture
async def runtime_for(store, service):
    """A leading Runtime on the test's store, with the probe settings a test asks for."""
    sessions = []

    async def build(**settings) -> Runtime:
        session = aiohttp.ClientSession()
        sessions.append(session)
        base = Settings(store_url="sqlite:///unused", instance_id="p", probe_timeout=2.0, target_timeout=2.0)
        runtime = Runtime.build(base.with_(**settings), clock=RealClock(), store=store, session=session)
        await runtime.start()
        await runtime.leadership.maintain()
        assert runtime.leadership.holds(runtime.clock.now())
        return runtime

    yield build
    for session in sessions:
        await session.close()


def url(service, path):
    return str(service.server.make_url(path))


async def test_outbound_without_send_endpoint_is_a_real_store_round_trip(runtime_for):
    runtime = await runtime_for()
    doc = await runtime.probes.run("outbound")
    assert doc["result"] == "PASS" and doc["error"] is None
    assert doc["details"]["storeRoundTripMs"] > 0 and doc["latencyMs"] > 0
    stored = await runtime.store.get(f"{ROOT}/probes/{doc['probeKey']}")
    assert stored.get("result") == "PASS" and stored.get("trigger") == "manual"
    for key in ("ts", "tsIso", "type", "latencyMs", "error", "details", "instanceId", "commitHash", "serviceVersion"):
        assert key in stored.data


@pytest.mark.parametrize(
    "send_status, send_delay, result, error",
    [(202, 0, "PASS", None), (500, 0, "FAIL", "answered HTTP 500"), (202, 3, "FAIL", "did not answer within 0.5s")],
    ids=["2xx", "non-2xx", "timeout"],
)
async def test_outbound_send_must_answer_2xx_in_time(runtime_for, service, send_status, send_delay, result, error):
    service.send_status, service.send_delay = send_status, send_delay
    runtime = await runtime_for(target_send_url=url(service, "/send"), probe_timeout=0.5)
    doc = await runtime.probes.run("outbound")
    assert doc["result"] == result
    assert (doc["error"] is None) if error is None else (error in doc["error"])


@pytest.mark.parametrize(
    "status, result, error",
    [
        ({"queueDepth": 4}, "PASS", None),
        ({"queueDepth": 150}, "FAIL", "queue depth 150 is over the threshold 100"),
        ({"connectedCount": 3}, "FAIL", "did not report queueDepth"),
        ("{not json", "FAIL", "answered with invalid JSON"),
    ],
    ids=["under", "over", "missing", "garbage"],
)
async def test_queue_depth_against_the_threshold(runtime_for, service, status, result, error):
    service.status = status
    runtime = await runtime_for(target_url=url(service, "/status"))
    doc = await runtime.probes.run("queue")
    assert doc["result"] == result
    assert (doc["error"] is None) if error is None else (error in doc["error"])


async def test_queue_threshold_edit_applies_on_the_next_run(runtime_for, service):
    service.status = {"queueDepth": 150}
    runtime = await runtime_for(target_url=url(service, "/status"))
    await runtime.store.update(f"{ROOT}/config/current", {"alertThresholds.queueDepthThreshold": 200})
    await runtime.config.load()
    assert (await runtime.probes.run("queue"))["result"] == "PASS"


async def test_unconfigured_probes_skip_and_never_pass(runtime_for):
    runtime = await runtime_for()
    queue, inbound = await runtime.probes.run("queue"), await runtime.probes.run("inbound")
    assert (queue["result"], inbound["result"]) == ("SKIP", "SKIP")
    assert "LONGRUN_TARGET_URL" in queue["error"] and "LONGRUN_PROBE_SENDER_URL" in inbound["error"]


async def test_inbound_round_trip_through_the_http_route(runtime_for, service, aiohttp_server):
    runtime = await runtime_for(probe_sender_url=url(service, "/sender"))
    ours = await aiohttp_server(create_app(runtime))
    service.report_to = str(ours.make_url("")).rstrip("/")
    doc = await runtime.probes.run("inbound")
    assert doc["result"] == "PASS", doc["error"]
    assert doc["latencyMs"] > 0
    token = service.tokens[-1]
    assert len(token) >= 24
    async with aiohttp.ClientSession() as session:  # a token is good for one report
        async with session.post(f"{service.report_to}/api/probes/inbound/{token}") as again:
            assert again.status == 404


async def test_inbound_fails_when_the_message_never_arrives(runtime_for, service):
    runtime = await runtime_for(probe_sender_url=url(service, "/sender"), probe_timeout=0.5)
    doc = await runtime.probes.run("inbound")  # the sender accepts but nobody reports
    assert doc["result"] == "FAIL"
    assert "did not report the message within 0.5s" in doc["error"]


async def test_inbound_fails_when_the_sender_refuses(runtime_for, service):
    service.sender_status = 500
    runtime = await runtime_for(probe_sender_url=url(service, "/sender"))
    doc = await runtime.probes.run("inbound")
    assert doc["result"] == "FAIL" and "probe sender refused" in doc["error"]


async def test_unknown_tokens_are_refused_alike(runtime_for, aiohttp_client):
    runtime = await runtime_for()
    client = await aiohttp_client(create_app(runtime))
    for token in ("x" * 32, "short", "../../etc", "ü" * 20):
        response = await client.post(f"/api/probes/inbound/{token}")
        assert response.status == 404
        assert "error" in await response.json()


async def test_an_on_demand_run_does_not_take_the_scheduled_slot(runtime_for):
    runtime = await runtime_for()
    manual = await runtime.probes.run("outbound")
    slot = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
    scheduled = await runtime.probes.run("outbound", slot=slot)
    assert manual["probeKey"] != scheduled["probeKey"] == "OUT_2026010106"
    assert "_MANUAL_" in manual["probeKey"]


async def test_an_unknown_probe_type_is_refused(runtime_for):
    runtime = await runtime_for()
    with pytest.raises(ValueError, match="unknown probe type 'sideways'"):
        await runtime.probes.run("sideways")


async def test_a_probe_schedule_edit_applies_from_the_next_slot(cluster, store):
    member = await cluster.add("a")
    await cluster.run_for(60)
    await store.update(f"{ROOT}/config/current", {"probeSchedules.outboundHours": 1})
    await cluster.run_until(cluster.clock.now().replace(hour=2, minute=0, second=1))
    keys = sorted(d.id for d in await store.query(f"{ROOT}/probes") if d.id.startswith("OUT_"))
    # 00:00 ran under the 6 h schedule; the edit was read at the next run, and hourly slots followed.
    assert keys == ["OUT_2026030100", "OUT_2026030101", "OUT_2026030102"]
    assert member.runtime.scheduler.stats["outbound_probe"].failures == 0


async def test_an_inbound_report_that_reaches_the_standby_counts(runtime_for, service, aiohttp_server, store_factory):
    leader = await runtime_for(probe_sender_url=url(service, "/sender"), probe_timeout=5.0)
    standby = Runtime.build(Settings(store_url="sqlite:///unused", instance_id="s"), clock=RealClock(), store=store_factory())
    await standby.start()
    assert not standby.leadership.holds(standby.clock.now())
    theirs = await aiohttp_server(create_app(standby))
    service.report_to = str(theirs.make_url("")).rstrip("/")  # the load balancer sent the report to the standby
    doc = await leader.probes.run("inbound")
    assert doc["result"] == "PASS", doc["error"]
    token = service.tokens[-1]
    async with aiohttp.ClientSession() as session:  # still good for one report only, on any instance
        async with session.post(f"{service.report_to}/api/probes/inbound/{token}") as again:
            assert again.status == 404
    assert [d async for d in leader.store.stream(f"{ROOT}/inbound_tokens")] == []  # nothing left behind
