"""Maintenance windows through the admin API: record, list, end; every bad input a 400/404/409 naming the field."""

from datetime import timedelta

import pytest

from tests.web.conftest import API, call
from tests.support import iso_ms as iso


async def test_record_list_and_end_a_window(cluster, client):
    now = cluster.clock.now()
    status, body = await call(client, "POST", f"{API}/maintenance", json={"durationSec": 1800, "reason": "deploy 0.3"})
    assert status == 201
    window = body["window"]
    assert (window["start"], window["end"], window["reason"]) == (iso(now), iso(now + timedelta(minutes=30)), "deploy 0.3")
    assert (window["createdBy"], window["state"], window["endedAt"], window["silenceIds"]) == ("admin", "active", None, [])

    past = {"from": iso(now - timedelta(hours=5)), "until": iso(now - timedelta(hours=4, minutes=40)),
            "reason": "forgot to announce"}
    status, body = await call(client, "POST", f"{API}/maintenance", json=past)
    assert status == 201 and body["window"]["state"] == "over"

    status, body = await call(client, "GET", f"{API}/maintenance")
    assert status == 200 and body["count"] == 2
    assert [w["reason"] for w in body["windows"]] == ["deploy 0.3", "forgot to announce"]

    await cluster.run_for(300)
    status, body = await call(client, "POST", f"{API}/maintenance/{window['id']}/end")
    assert status == 200
    assert body["window"]["endedAt"] == iso(now + timedelta(minutes=5)) and body["window"]["state"] == "over"
    status, body = await call(client, "POST", f"{API}/maintenance/{window['id']}/end")
    assert status == 409 and "over already" in body["error"]


@pytest.mark.parametrize("payload, field", [
    ({"durationSec": 600}, "reason"),
    ({"durationSec": 600, "reason": ""}, "reason"),
    ({"durationSec": 600, "reason": "   "}, "reason"),
    ({"reason": "x"}, "until"),
    ({"from": "yesterday", "durationSec": 60, "reason": "x"}, "from"),
    ({"until": "2026-13-01T00:00:00Z", "reason": "x"}, "until"),
    ({"from": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z", "reason": "x"}, "until"),
    ({"from": "2026-03-02T10:00:00Z", "until": "2026-03-09T10:00:01Z", "reason": "x"}, "until"),
    ({"durationSec": 8 * 86400, "reason": "x"}, "durationSec"),
    ({"durationSec": -5, "reason": "x"}, "durationSec"),
    ({"durationSec": "1h", "reason": "x"}, "durationSec"),
    ({"durationSec": 60, "until": "2026-03-02T10:00:00Z", "reason": "x"}, "until"),
    ({"durationSec": 60, "reason": "x", "silence": False}, "silence"),
])
async def test_bad_windows_are_a_400_naming_the_field(client, payload, field):
    status, body = await call(client, "POST", f"{API}/maintenance", json=payload)
    assert status == 400, body
    assert body["error"].startswith(f"{field}: ") or field in body.get("fields", {})
    status, body = await call(client, "GET", f"{API}/maintenance")
    assert body["count"] == 0


async def test_ending_an_unknown_window_is_a_404(client):
    status, body = await call(client, "POST", f"{API}/maintenance/mw-20260301T0800-nope/end")
    assert status == 404 and body["error"] == "id: no maintenance window mw-20260301T0800-nope"


async def test_changes_need_the_admin_token(client):
    status, _ = await call(client, "POST", f"{API}/maintenance", json={"durationSec": 60, "reason": "x"}, auth=False)
    assert status == 401
