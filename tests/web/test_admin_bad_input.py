"""Bad input gets a JSON 4xx that names what is wrong; a store outage a 503 with Retry-After; never a 500."""

import json

import pytest
from yarl import URL

from exporter.web.admin_http import MAX_ADMIN_BODY
from exporter.web.app import MAX_BODY
from tests.web.conftest import API, AUTH, call


async def test_unknown_routes_and_methods_answer_json_404_and_405(client):
    status, body = await call(client, "GET", f"{API}/nope")
    assert status == 404 and "no route" in body["error"]
    status, body = await call(client, "DELETE", f"{API}/config")
    assert status == 405 and "DELETE" in body["error"]
    async with client.delete(f"{API}/config", headers=AUTH) as response:
        assert set(response.headers["Allow"].split(",")) >= {"GET", "PATCH"}


# One test per kind of mistake, looping over the cases: a cluster per case would only slow the suite.


async def test_a_bad_limit_is_a_400_naming_limit(client):
    for value in ("-1", "0", "abc", "1.5", "", "1e3", "9" * 41, " 5"):
        for route in ("heartbeats", "probes", "incidents", "rollups"):
            status, body = await call(client, "GET", f"{API}/{route}", params={"limit": value})
            assert status == 400 and body["error"].startswith("limit"), (route, value, body)


async def test_any_whole_limit_above_the_maximum_reads_as_the_maximum(client):
    """As docs/openapi.yaml says (issue 18, item 13): 5000 and a 40-digit number alike, not one capped
    and the other refused."""
    for value in ("1001", "5000", "9" * 19, "9" * 40):
        status, body = await call(client, "GET", f"{API}/heartbeats", params={"limit": value})
        assert status == 200 and body["limit"] == 1000, (value, body)


BAD_PARAMETERS = [
    ("heartbeats", "since", "yesterday"), ("heartbeats", "until", "2026-02-30T00:00:00Z"),
    ("heartbeats", "since", "0001-01-01T00:00:00Z"), ("heartbeats", "since", "2" * 100),
    ("rollups", "from", "2026-13-01"), ("rollups", "to", "20260301"), ("rollups", "from", "2026-03-01T00:00:00Z"),
    ("probes", "type", "sideways"), ("probes", "result", "pass"),
    ("incidents", "status", "closed"), ("incidents", "status", ",,"), ("incidents", "type", "Bad Type"),
]


async def test_a_bad_parameter_is_a_400_naming_it(client):
    for route, name, value in BAD_PARAMETERS:
        status, body = await call(client, "GET", f"{API}/{route}", params={name: value})
        assert status == 400 and body["error"].startswith(name), (route, name, value, body)


async def test_inverted_ranges_unknown_and_repeated_parameters_are_refused(client):
    cases = [f"heartbeats?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "rollups?from=2026-03-02&to=2026-03-01",
             "heartbeats?limt=5", "config?x=1", "probes?limit=1&limit=2"]
    for path in cases:
        status, body = await call(client, "GET", f"{API}/{path}")
        assert status == 400, path


async def test_an_unknown_probe_type_lists_the_valid_ones(client):
    status, body = await call(client, "POST", f"{API}/probes/sideways/run")
    assert status == 400
    assert all(kind in body["error"] for kind in ("outbound", "queue", "inbound"))


async def test_a_bad_rollup_day_is_a_400_naming_day(client):
    for day in ("2026-3-1", "yesterday", "2026-02-30", "2026-03-01T00:00:00Z", "%2E%2E"):
        status, body = await call(client, "POST", URL(f"{API}/rollups/{day}", encoded=True))
        assert status == 400 and body["error"].startswith("day"), (day, body)


@pytest.mark.parametrize("size", [MAX_ADMIN_BODY + 1, MAX_BODY + 1])
async def test_an_oversized_body_is_a_json_413(client, size):
    payload = json.dumps({"expectedAccounts": 4, "pad": "x" * size}).encode()
    status, body = await call(client, "PATCH", f"{API}/config", data=payload)
    assert status == 413 and "larger than" in body["error"]


MALFORMED = [
    b"{", b"not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"expectedAccounts": NaN}',
    b'{"expectedAccounts": 1e999}', b'{"expectedAccounts": 123456789012345678901234567890}',
    b"[" * 5000 + b"]" * 5000, b'{"a":' * 20 + b"1" + b"}" * 20, b'{"": 1}',
]


async def test_malformed_json_is_a_400(client):
    for payload in MALFORMED:
        for method, path in (("PATCH", f"{API}/config"), ("POST", f"{API}/incidents"), ("PATCH", f"{API}/incidents/x")):
            status, body = await call(client, method, path, data=payload)
            assert status == 400, (method, path, payload[:40], body)


PATH_LIKE_IDS = ["%2E%2E", "..", ".", "a" * 1000, "%07bell", "%E2%80%AEevil", "%00", "a%2Fb", "%20", "%F0%9F%94%A5",
                 "..%2F..%2Fconfig%2Fcurrent", "__reserved__"]


async def test_path_like_ids_are_400_or_404_never_500(client):
    for raw_id in PATH_LIKE_IDS:
        for method, template in (("PATCH", f"{API}/incidents/{{}}"), ("POST", f"{API}/locks/{{}}/release"),
                                 ("POST", f"{API}/rollups/{{}}"), ("POST", f"{API}/probes/{{}}/run")):
            url = URL(template.format(raw_id), encoded=True)
            async with client.request(method, url, headers=AUTH, json={"status": "resolved"}) as response:
                text = await response.text()
                assert response.status in (400, 404), (method, raw_id, response.status, text[:200])
                assert response.content_type == "application/json" and "error" in json.loads(text)


async def test_an_id_the_api_admits_but_the_store_reserves_is_not_found(client):
    """``_____`` fits the documented id pattern, so it is a 404 (no such thing), not a 400 quoting the
    store's rule (schemathesis found the 400 on POST /maintenance/{id}/end)."""
    for raw_id in ("_____", "__x__"):
        for method, template in (("PATCH", f"{API}/incidents/{{}}"), ("POST", f"{API}/maintenance/{{}}/end"),
                                 ("POST", f"{API}/locks/{{}}/release")):
            async with client.request(method, template.format(raw_id), headers=AUTH, json={"status": "resolved"}) as response:
                text = await response.text()
                assert response.status == 404, (method, raw_id, response.status, text[:200])
                assert "reserved" not in text and "error" in json.loads(text)


async def test_a_store_outage_is_a_503_with_retry_after(leader, client):
    leader.store.down = True
    for method, path in (("GET", "heartbeats"), ("GET", "probes"), ("GET", "locks"), ("GET", "incidents"),
                         ("GET", "rollups"), ("POST", "probes/outbound/run"), ("POST", "locks/heartbeat-scheduler/release"),
                         ("POST", "rollups/2026-02-28"), ("PATCH", "incidents/some-id"), ("GET", "config"),
                         ("PATCH", "config")):
        body = {"expectedAccounts": 4} if path == "config" else {"status": "resolved"}
        async with client.request(method, f"{API}/{path}", headers=AUTH, json=body) as response:
            assert response.status == 503, (method, path)
            assert await response.json() == {"error": "store unavailable, retry"}
            assert int(response.headers["Retry-After"]) > 0


async def test_a_lone_surrogate_in_a_body_is_a_400_that_can_be_sent(client):
    """Valid JSON (``"\\ud800"``), invalid Unicode: refused with a 400 naming the place, never a 500
    because the answer that quotes it cannot be encoded (issue 18, item 3)."""
    for body in ('{"\\ud800": 1}', '{"missedHbPerHour": "\\udfff"}', '{"a": {"b\\ud800c": 1}}'):
        async with client.patch(f"{API}/config", data=body.encode(), headers={**AUTH, "Content-Type": "application/json"}) as response:
            assert response.status == 400, (body, response.status, await response.text())
            answer = await response.json()
            assert "surrogate" in answer["error"], answer
    for body in ('{"owner": "\\ud800", "reason": "x"}',):
        async with client.patch(f"{API}/incidents/abc", data=body.encode(), headers={**AUTH, "Content-Type": "application/json"}) as response:
            assert response.status in (400, 404), (body, response.status, await response.text())
