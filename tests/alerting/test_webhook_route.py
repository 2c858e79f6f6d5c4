"""POST /api/alertmanager: who may call it, what it refuses, and what it answers when the store fails."""

from __future__ import annotations

import json

import pytest

from alerting.webhook import WebhookAuth
from exporter.store.base import StoreUnavailable
from tests.alerting.builders import alert, webhook
from tests.alerting.conftest_bridge import CHAT, TOKEN, bridge, make_bridge  # noqa: F401

# ---------------------------------------------------------------- authentication (pure)


@pytest.mark.parametrize("header, status", [
    (None, 401), ("", 401), ("Bearer", 401), ("Basic dXNlcjpwYXNz", 401), (f"Bearer {TOKEN}x", 401),
    ("Bearer wrong", 401), (f"Bearer {TOKEN}", None), (f"bearer {TOKEN}", None),
])
def test_only_the_configured_bearer_token_passes(header, status):
    refusal = WebhookAuth(TOKEN).refusal(header)
    assert (refusal[0] if refusal else None) == status


def test_without_a_token_the_webhook_refuses_and_says_how_to_set_one():
    status, message = WebhookAuth(None).refusal(f"Bearer {TOKEN}")
    assert status == 403 and "LONGRUN_WEBHOOK_TOKEN" in message and "LONGRUN_WEBHOOK_OPEN" in message
    assert WebhookAuth(None, open=True).refusal(None) is None


# ---------------------------------------------------------------- refusals over HTTP


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
async def test_a_missing_or_wrong_token_is_401_and_stores_nothing(bridge, token):
    response = await bridge.post(webhook(alert(1)), token=token)

    assert response.status == 401 and "token" in (await response.json())["error"]
    assert await bridge.incidents_stored() == [] and await bridge.outbox() == []


async def test_an_unconfigured_webhook_is_403_unless_opened_on_purpose(make_bridge):
    closed = await make_bridge(webhook_token=None)
    response = await closed.post(webhook(alert(1)), token=None)
    assert response.status == 403 and "LONGRUN_WEBHOOK_TOKEN" in (await response.json())["error"]

    opened = await make_bridge(webhook_token=None, webhook_open=True)
    assert (await opened.post(webhook(alert(1)), token=None)).status == 200


@pytest.mark.parametrize("raw, field", [
    (b"{not json", "body"),
    (b"", "body"),
    ("\udcff".encode("utf-8", "surrogatepass"), "body"),
    (json.dumps(webhook(alert(1), version="3")).encode(), "version"),
    (json.dumps({k: v for k, v in webhook(alert(1)).items() if k != "groupKey"}).encode(), "groupKey"),
    (json.dumps(webhook({k: v for k, v in alert(1).items() if k != "startsAt"})).encode(), "alerts[0].startsAt"),
    (json.dumps(webhook(alert(1, status="pending"))).encode(), "alerts[0].status"),
    (json.dumps(webhook(alert(1), alerts=[])).encode(), "alerts"),
    (json.dumps([1, 2]).encode(), "payload"),
], ids=["malformed", "empty", "not-utf8", "version", "group-key", "starts-at", "status", "no-alerts", "not-object"])
async def test_a_body_that_can_never_be_valid_is_400_naming_the_field(bridge, raw, field):
    response = await bridge.post(None, raw=raw, headers={"Content-Type": "application/json"})

    assert response.status == 400
    body = await response.json()
    assert body["field"] == field and body["error"].startswith(field)
    assert await bridge.incidents_stored() == []


async def test_a_50_mb_body_is_413_without_being_read_and_nothing_is_stored(bridge):
    huge = b'{"version": "4", "alerts": [' + b" " * (50 * 1024 * 1024) + b"]}"

    response = await bridge.post(None, raw=huge)

    assert response.status == 413 and "larger than" in (await response.json())["error"]
    assert await bridge.incidents_stored() == [] and await bridge.outbox() == []


async def test_a_chunked_body_over_the_limit_is_413_too(bridge):
    async def chunks():
        for _ in range(40):
            yield b" " * 65536  # 2.5 MiB, no Content-Length

    response = await bridge.post(None, raw=chunks())

    assert response.status == 413


# ---------------------------------------------------------------- store failures


def group(n: int) -> dict:
    """A group whose alerts open their own incidents; ``n`` keeps groups apart."""
    return webhook(alert(n, fingerprint=f"{n:08x}00000001"),
                   alert(n, labels={"alertname": "QueueStuck", "queue": f"q{n}"}, fingerprint=f"{n:08x}00000002"),
                   groupKey=f"group-{n}")


def resolved(body: dict) -> dict:
    for item in body["alerts"]:
        item.update(status="resolved", endsAt="2026-03-01T11:59:00Z")
    body["status"] = "resolved"
    return body


async def test_a_store_failure_at_any_write_is_503_and_the_retry_leaves_exactly_one_of_everything(bridge):
    """Fail the store at its 1st, 2nd, ... write; Alertmanager's retry (once the store is back) must
    complete the notification with one incident per alert and one message, firing and resolved alike."""
    failures, n, clean = 0, 0, 0
    while clean < 2:  # until both the firing and the resolved notification went through without a failure
        n, clean = n + 1, 0
        for body in (group(n), resolved(group(n))):
            bridge.store.fail_after(n - 1)
            first = await bridge.post(body)
            bridge.store.fail_after(None)
            if first.status == 200:
                clean += 1
                continue
            assert first.status == 503 and "retry" in (await first.json())["error"]
            failures += 1
            assert (await bridge.post(body)).status == 200
    assert failures >= 8  # every write of the firing and of the resolved path failed once (9 since new incidents are batched)

    incidents = await bridge.incidents_stored()
    assert len(incidents) == 2 * n  # two per group, none twice
    assert {(i["status"], i["mttrSec"]) for i in incidents} == {("resolved", 539.877)}  # 11:50:00.123 → 11:59
    messages = await bridge.outbox()
    keys = [m["dedupKey"] for m in messages]
    assert len(keys) == len(set(keys)) == 2 * n  # a firing and a resolved message per group
    await bridge.deliver()
    assert len(bridge.fake_telegram.delivered(CHAT)) == len(messages)


async def test_a_change_left_unannounced_by_a_failure_is_announced_by_the_next_delivery(bridge):
    """The monitor's escalation is saved, then saving its message fails; Alertmanager's next
    re-send of the alert (a duplicate, nothing else to write) announces it, once."""
    reloop = alert(labels={"alertname": "LongrunReconnectLoop", "incident_type": "reconnect_loop", "severity": "P2"})
    await bridge.incidents.detect("reconnect_loop", "target", reason="14 reconnects", source="monitor")
    assert (await bridge.post(webhook(reloop))).status == 200
    bridge.store.fail_after(1)  # the incident transaction commits, its message does not
    with pytest.raises(StoreUnavailable):
        await bridge.incidents.detect("reconnect_loop", "target", severity="P1", source="monitor")
    bridge.store.fail_after(None)

    for _ in range(2):
        response = await bridge.post(webhook(reloop))
        assert response.status == 200 and (await response.json())["verdicts"] == {"duplicate": 1}

    texts = [m["text"] for m in await bridge.outbox()]
    assert sum("Incident opened" in t for t in texts) == 1
    assert sum("Incident escalated" in t for t in texts) == 1
    incident = await bridge.only_incident()
    assert set(incident["notified"]) == {"0:opened", "1:escalated"}


async def test_a_store_that_hangs_is_answered_503_before_alertmanager_gives_up_and_the_retry_lands_once(make_bridge):
    """Alertmanager waits 10 s for an answer; a store that stopped answering gets a 503 first."""
    harness = await make_bridge(deadline=0.3)
    body = webhook(alert())
    harness.store.stall()

    first = await harness.post(body)

    assert first.status == 503 and first.headers["Retry-After"] == "10"
    assert "too slow" in (await first.json())["error"]
    harness.store.resume()
    assert (await harness.post(body)).status == 200
    assert len(await harness.incidents_stored()) == 1 and len(await harness.outbox()) == 1
    assert harness.bridge.webhook_errors == {"503": 1}


async def test_every_refusal_is_counted_by_status(bridge):
    await bridge.client.post("/api/alertmanager", json=webhook(alert()), headers={"Authorization": "Bearer wrong"})
    await bridge.post({"alerts": "not a list"})
    assert bridge.bridge.webhook_errors == {"401": 1, "400": 1}
