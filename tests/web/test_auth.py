"""Who may call what: the pure decision, then the same rules over real HTTP."""

import pytest

from exporter.web.auth import Access, Caller, bearer_token, decide, is_loopback
from tests.web.conftest import API, AUTH, OUTSIDE, TOKEN, call

HINT_PARTS = ("LONGRUN_ADMIN_TOKEN", "Authorization: Bearer")


# ------------------------------------------------------------------ the pure decision


@pytest.mark.parametrize("remote, expected", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("0.0.0.0", False), ("::ffff:10.0.0.1", False), ("", False), (None, False),
    ("localhost", False), ("not an address", False),
])
def test_loopback_means_127_0_0_0_8_and_ipv6_one(remote, expected):
    assert is_loopback(remote) is expected


@pytest.mark.parametrize("header, token", [
    (f"Bearer {TOKEN}", TOKEN), (f"bearer {TOKEN}", TOKEN), (f"  Bearer   {TOKEN}  ", TOKEN),
    ("Bearer", None), ("Bearer ", None), (f"Basic {TOKEN}", None), ("Bearer a b", None), (TOKEN, None), (None, None),
])
def test_bearer_token_parsing(header, token):
    assert bearer_token(header) == token


LOCAL, REMOTE = "127.0.0.1", OUTSIDE


@pytest.mark.parametrize("access, caller, configured, status", [
    # no token configured: mutations off, reads loopback-only
    (Access.WRITE, Caller(LOCAL), None, 403),
    (Access.WRITE, Caller(LOCAL, f"Bearer {TOKEN}"), None, 403),
    (Access.READ, Caller(LOCAL), None, None),
    (Access.READ, Caller(REMOTE), None, 403),
    (Access.READ, Caller(REMOTE, f"Bearer {TOKEN}"), None, 403),
    (Access.READ, Caller(LOCAL, proxied=True), None, 403),
    # token configured
    (Access.READ, Caller(LOCAL), TOKEN, None),
    (Access.READ, Caller(REMOTE), TOKEN, 401),
    (Access.READ, Caller(REMOTE, f"Bearer {TOKEN}"), TOKEN, None),
    (Access.READ, Caller(LOCAL, "Bearer wrong"), TOKEN, 401),
    (Access.READ, Caller(LOCAL, proxied=True), TOKEN, 401),
    (Access.WRITE, Caller(LOCAL), TOKEN, 401),
    (Access.WRITE, Caller(LOCAL, "Bearer wrong"), TOKEN, 401),
    (Access.WRITE, Caller(LOCAL, f"Basic {TOKEN}"), TOKEN, 401),
    (Access.WRITE, Caller(LOCAL, "Bearer " + TOKEN[:-1]), TOKEN, 401),
    (Access.WRITE, Caller(LOCAL, "Bearer ü\udcff"), TOKEN, 401),
    (Access.WRITE, Caller(REMOTE, f"Bearer {TOKEN}"), TOKEN, None),
])
def test_access_decision(access, caller, configured, status):
    verdict = decide(access, caller, configured)
    assert (verdict.status if verdict else None) == status
    if verdict is not None:
        assert TOKEN not in verdict.message
    if status == 401:
        assert verdict.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 403:
        assert all(part in verdict.message for part in HINT_PARTS)


# ------------------------------------------------------------------ over HTTP


async def test_mutations_need_the_right_bearer_token(client):
    path = f"{API}/probes/outbound/run"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": "Bearer"}, {"Authorization": f"Bearer {TOKEN} extra"}):
        async with client.post(path, headers=headers) as response:
            assert response.status == 401, headers
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.json()
            assert "error" in body and TOKEN not in await response.text()
    status, body = await call(client, "POST", path)
    assert status == 201 and body["probe"]["trigger"] == "manual"


async def test_a_token_in_the_query_string_is_never_accepted(client, leader):
    before = await leader.runtime.store.count(leader.runtime.paths.probes)
    for key in ("access_token", "token"):
        path = f"{API}/probes/outbound/run?{key}={TOKEN}"
        status, _ = await call(client, "POST", path, auth=False)
        assert status == 401, "a token in the URL authenticates nothing"
        status, body = await call(client, "POST", path)
        assert status == 400 and "query string" in body["error"], "and is refused even with a good header"
    assert await leader.runtime.store.count(leader.runtime.paths.probes) == before


async def test_without_a_token_mutations_answer_403_with_the_fix(cluster, app_for, aiohttp_client):
    member = await cluster.add("open", admin_token=None)
    client = await aiohttp_client(app_for(member))
    for method, path, body in ((("POST", f"{API}/probes/outbound/run", None)),
                               ("PATCH", f"{API}/config", {"expectedAccounts": 4}),
                               ("POST", f"{API}/incidents", {"type": "x", "reason": "y", "tsStart": "2026-03-01T00:00:00Z"}),
                               ("PATCH", f"{API}/incidents/some-id", {"status": "resolved"}),
                               ("POST", f"{API}/locks/heartbeat-scheduler/release", None),
                               ("POST", f"{API}/rollups/2026-02-27", None)):
        for auth in (True, False):
            status, answer = await call(client, method, path, auth=auth, json=body)
            assert status == 403, (method, path)
            assert all(part in answer["error"] for part in HINT_PARTS)
    status, _ = await call(client, "GET", f"{API}/heartbeats", auth=False)
    assert status == 200


async def test_without_a_token_reads_are_for_loopback_only(cluster, app_for, aiohttp_client):
    member = await cluster.add("open", admin_token=None)
    outside = await aiohttp_client(app_for(member, remote=OUTSIDE))
    for path in ("heartbeats", "config", "probes", "locks", "incidents", "rollups"):
        status, body = await call(outside, "GET", f"{API}/{path}", auth=False)
        assert status == 403 and all(part in body["error"] for part in HINT_PARTS)
    for public in ("/", "/api/status", "/badges/status.json"):  # the status surfaces are public in 0.3
        async with outside.get(public) as response:
            assert response.status == 200, public
    local = await aiohttp_client(app_for(member))
    status, _ = await call(local, "GET", f"{API}/locks", auth=False, headers={"X-Forwarded-For": OUTSIDE})
    assert status == 403, "a proxied request is not a loopback request"


async def test_with_a_token_reads_from_elsewhere_need_it_and_loopback_stays_open(leader, app_for, aiohttp_client):
    outside = await aiohttp_client(app_for(leader, remote=OUTSIDE))
    status, _ = await call(outside, "GET", f"{API}/heartbeats", auth=False)
    assert status == 401
    status, body = await call(outside, "GET", f"{API}/heartbeats")
    assert status == 200 and body["count"] == 11
    async with outside.get("/") as response:  # the status page is public, like /api/status and the badges
        assert response.status == 200
    local = await aiohttp_client(app_for(leader))
    status, _ = await call(local, "GET", f"{API}/heartbeats", auth=False)
    assert status == 200
    status, _ = await call(local, "GET", f"{API}/heartbeats", auth=False, headers={"Authorization": "Bearer stale"})
    assert status == 401, "a loopback script with a stale token learns it on its first read"


async def test_no_answer_ever_contains_the_admin_token(client, leader):
    runtime = leader.runtime
    incident = await runtime.incidents.open_manual("missed_heartbeat", reason="r", ts_start=runtime.clock.now())
    requests = [
        ("GET", "/"), ("GET", "/health"), ("GET", "/metrics"), ("GET", f"{API}/config"), ("GET", f"{API}/heartbeats"),
        ("GET", f"{API}/probes"), ("GET", f"{API}/locks"), ("GET", f"{API}/incidents"), ("GET", f"{API}/rollups"),
        ("POST", f"{API}/probes/queue/run"), ("POST", f"{API}/probes/nope/run"), ("PATCH", f"{API}/config"),
        ("POST", f"{API}/incidents"), ("PATCH", f"{API}/incidents/{incident['incidentId']}"),
        ("POST", f"{API}/locks/heartbeat-scheduler/release"), ("POST", f"{API}/rollups/2026-02-28"),
        ("GET", f"{API}/nope"), ("DELETE", f"{API}/config"), ("GET", f"{API}/heartbeats?token={TOKEN}"),
    ]
    bodies = (None, {"owner": TOKEN, "status": "nonsense"}, {TOKEN: 1})
    headers_variants = ({}, AUTH, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"})
    for method, path in requests:
        for headers in headers_variants:
            for body in bodies:
                async with client.request(method, path, headers=headers, json=body) as response:
                    text = await response.text()
                    assert TOKEN not in text, (method, path, headers, body, response.status)
                    assert "Traceback" not in text
