"""Alertmanager notifications through POST /api/alertmanager into incidents and Telegram, on both stores."""

from __future__ import annotations

import re

import asyncio
import inspect
import logging
from collections import Counter
from datetime import datetime, timedelta, timezone

from exporter.domain import monitor_checks as rules
from exporter.jobs.monitor import MonitorJob
from tests.alerting.builders import alert, webhook
from tests.alerting.conftest_bridge import CHAT, bridge, make_bridge  # noqa: F401

STARTS = "2026-03-01T11:50:00Z"
ENDS = "2026-03-01T11:58:30Z"
T_STARTS = datetime(2026, 3, 1, 11, 50, tzinfo=timezone.utc)
T_ENDS = datetime(2026, 3, 1, 11, 58, 30, tzinfo=timezone.utc)


def gap(status: str = "firing", *, starts: str = STARTS, ends: str = ENDS, fingerprint: str = "f00d000000000001",
        name: str = "LongrunHeartbeatGap", **extra_labels: str) -> dict:
    labels = {"alertname": name, "severity": "P2", "incident_type": "missed_heartbeat", "job": "longrun",
              **extra_labels}
    return alert(status=status, labels=labels, starts_at=starts, fingerprint=fingerprint,
                 ends_at=ends if status == "resolved" else "0001-01-01T00:00:00Z")


async def test_a_firing_alert_opens_an_incident_that_keeps_what_the_alert_said(bridge):
    response = await bridge.post(webhook(gap()))

    assert response.status == 200, await response.text()
    body = await response.json()
    incident = await bridge.only_incident()
    assert body["incidents"] == [incident["incidentId"]] and body["verdicts"] == {"new_firing": 1}
    assert (incident["type"], incident["subject"], incident["severity"]) == ("missed_heartbeat", "heartbeat", "P2")
    assert incident["status"] == "open" and incident["source"] == "alertmanager"
    assert incident["tsStart"] == T_STARTS
    assert incident["labels"]["alertname"] == "LongrunHeartbeatGap"
    assert incident["runbookUrl"] == "https://runbooks.example.com/longrun#heartbeat-missing"
    assert incident["generatorURL"].startswith("http://prometheus:9090/graph")
    assert incident["annotations"]["summary"] and incident["summary"] == incident["annotations"]["summary"]
    [episode] = incident["alerts"].values()
    assert episode["fingerprint"] == "f00d000000000001" and episode["status"] == "firing"
    assert episode["startsAt"] == T_STARTS
    assert len(await bridge.outbox()) == 1


async def test_retries_repeats_and_ha_duplicates_update_one_incident_and_send_one_message(bridge):
    for _ in range(3):  # a retry, a repeat_interval re-send, the HA peer
        assert (await bridge.post(webhook(gap()))).status == 200
        bridge.clock.set(bridge.clock.now() + timedelta(minutes=1))

    incident = await bridge.only_incident()
    assert incident["detections"] == 1 and len(incident["alerts"]) == 1
    assert len(await bridge.outbox()) == 1
    assert bridge.bridge.verdicts["duplicate"] == 2
    await bridge.deliver()
    assert len(bridge.fake_telegram.delivered(CHAT)) == 1


async def test_an_ha_pair_delivering_at_once_to_two_instances_opens_one_incident_and_one_message(
        make_bridge, store_factory):
    first, second = await make_bridge(), await make_bridge(on=store_factory())
    group = webhook(gap(), gap(fingerprint="f00d000000000009", name="LongrunMissedHeartbeats"))

    async def like_alertmanager(harness) -> list[int]:
        """Post, and post again after a 5xx (Firestore aborts writes that contend with a transaction)."""
        statuses = []
        while not statuses or statuses[-1] >= 500:
            assert len(statuses) < 5, statuses
            statuses.append((await harness.post(group)).status)
        return statuses

    answers = await asyncio.gather(*(like_alertmanager(h) for h in (first, second, first, second)))

    assert all(statuses[-1] == 200 for statuses in answers)
    incident = await first.only_incident()
    assert len(incident["alerts"]) == 2 and incident["changes"] == ["opened"]
    assert len(await first.outbox()) == 1


async def test_a_resolved_alert_closes_its_incident_at_ends_at_with_mttr(bridge):
    await bridge.post(webhook(gap()))
    response = await bridge.post(webhook(gap("resolved")))

    assert response.status == 200
    incident = await bridge.only_incident()
    assert incident["status"] == "resolved" and incident["resolvedBy"] == "alertmanager"
    assert incident["tsEnd"] == T_ENDS and incident["mttrSec"] == 510.0
    assert len(await bridge.outbox()) == 2  # the firing and the resolved group messages, nothing else
    assert bridge.incidents.counters.opened == {"alertmanager": 1}
    assert bridge.incidents.counters.resolved == {"alertmanager": 1}


async def test_a_resolution_delivered_before_its_firing_records_the_episode_and_the_late_firing_reopens_nothing(bridge):
    assert (await bridge.post(webhook(gap("resolved")))).status == 200
    incident = await bridge.only_incident()
    assert incident["status"] == "resolved" and incident["tsStart"] == T_STARTS and incident["mttrSec"] == 510.0

    response = await bridge.post(webhook(gap("firing")))

    assert response.status == 200 and (await response.json())["verdicts"] == {"stale": 1}
    assert (await bridge.only_incident())["status"] == "resolved"


async def test_an_old_firing_delivered_after_the_resolution_does_not_reopen_but_a_new_episode_does(bridge):
    await bridge.post(webhook(gap()))
    await bridge.post(webhook(gap("resolved")))
    await bridge.post(webhook(gap()))  # the firing again, late
    assert [i["status"] for i in await bridge.incidents_stored()] == ["resolved"]

    await bridge.post(webhook(gap(starts="2026-03-01T11:59:00Z")))  # the same alert fires again: a new episode

    stored = sorted(await bridge.incidents_stored(), key=lambda i: i["tsStart"])
    assert [i["status"] for i in stored] == ["resolved", "open"]
    assert stored[1]["tsStart"] == datetime(2026, 3, 1, 11, 59, tzinfo=timezone.utc)


async def test_a_firing_delivered_after_its_resolution_sends_no_firing_message(bridge):
    """A late HA peer, or a request Alertmanager gave up on that finished once the store was back."""
    assert (await bridge.post(webhook(gap("resolved")))).status == 200
    bridge.clock.set(bridge.clock.now() + timedelta(seconds=5))
    response = await bridge.post(webhook(gap("firing")))

    assert (await response.json())["verdicts"] == {"stale": 1}
    await bridge.deliver()
    assert [m.text.split(" · ")[0] for m in bridge.fake_telegram.delivered(CHAT)] == ["✅ <b>RESOLVED 1</b>"]


async def test_a_late_firing_is_not_news_while_another_episode_keeps_the_incident_open(bridge):
    other = "f00d0000000000b2"
    assert (await bridge.post(webhook(gap(), gap(fingerprint=other)))).status == 200
    assert (await bridge.post(webhook(gap("resolved"), gap(fingerprint=other)))).status == 200
    await bridge.deliver()
    before = len(bridge.fake_telegram.delivered(CHAT))

    assert (await bridge.post(webhook(gap()))).status == 200  # the first episode's firing, late

    await bridge.deliver()
    assert len(bridge.fake_telegram.delivered(CHAT)) == before
    assert (await bridge.only_incident())["status"] == "open"


async def test_each_alert_of_a_group_is_handled_by_its_own_status(bridge):
    other = dict(fingerprint="f00d000000000002", name="LongrunReconnectLoop", incident_type="reconnect_loop")
    await bridge.post(webhook(gap(), gap(**other)))
    assert {i["type"] for i in await bridge.incidents_stored()} == {"missed_heartbeat", "reconnect_loop"}

    mixed = webhook(gap("resolved"), gap(**other))  # the group reads "firing"; one of its alerts resolved
    assert mixed["status"] == "firing"
    assert (await bridge.post(mixed)).status == 200

    status = {i["type"]: i["status"] for i in await bridge.incidents_stored()}
    assert status == {"missed_heartbeat": "resolved", "reconnect_loop": "open"}


async def test_two_alerts_about_one_problem_share_an_incident_that_closes_when_both_resolved(bridge):
    second = dict(fingerprint="f00d000000000003", name="LongrunMissedHeartbeats", starts="2026-03-01T11:52:00Z")
    await bridge.post(webhook(gap(), gap(**second)))
    incident = await bridge.only_incident()
    assert len(incident["alerts"]) == 2 and incident["tsStart"] == T_STARTS

    await bridge.post(webhook(gap("resolved")))
    assert (await bridge.only_incident())["status"] == "open"

    await bridge.post(webhook(gap("resolved", ends="2026-03-01T11:59:00Z", **second)))
    incident = await bridge.only_incident()
    assert incident["status"] == "resolved"
    assert incident["tsEnd"] == datetime(2026, 3, 1, 11, 59, tzinfo=timezone.utc) and incident["mttrSec"] == 540.0


def monitor_of(harness) -> MonitorJob:
    """The real monitor job on the harness's store; only ``apply`` is used, so other parts are None."""
    known = {"store": harness.store, "paths": harness.paths, "config": harness.incidents.config,
             "incidents": harness.incidents, "interval": 3600}
    return MonitorJob(**{name: known.get(name) for name in inspect.signature(MonitorJob).parameters})


def reconnects(status: str = "firing", **kwargs) -> dict:
    return gap(status, name="LongrunReconnectLoop", incident_type="reconnect_loop", fingerprint="f00d0000000000aa",
               **kwargs)


async def test_the_monitor_and_the_alert_converge_on_one_incident(bridge):
    decision = rules.reconnect_loop_decision(14, 10)
    decision.details["since"] = "2026-03-01T11:45:00+00:00"
    await monitor_of(bridge).apply(decision)
    opened = await bridge.only_incident()

    await bridge.post(webhook(reconnects()))

    incident = await bridge.only_incident()
    assert incident["incidentId"] == opened["incidentId"] and incident["source"] == "monitor"
    assert incident["details"]["since"] == "2026-03-01T11:45:00+00:00"  # the monitor's evidence is kept
    assert len(incident["alerts"]) == 1 and incident["labels"]["alertname"] == "LongrunReconnectLoop"

    await bridge.post(webhook(reconnects("resolved")))
    incident = await bridge.only_incident()
    assert incident["status"] == "resolved" and incident["tsEnd"] == T_ENDS
    assert incident["mttrSec"] == 13.5 * 60  # from the monitor's start, 11:45
    # The monitor's opening was announced on its own; the alert's group messages came on top.
    texts = [m["text"] for m in await bridge.outbox()]
    assert sum("Incident opened" in t for t in texts) == 1 and len(texts) == 3


async def test_an_incident_the_alert_opened_is_the_one_the_monitor_updates_and_resolves(bridge):
    logged_out = dict(name="LongrunAccountsLoggedOut", incident_type="logged_out", severity="P1")
    await bridge.post(webhook(gap(**logged_out)))
    monitor = monitor_of(bridge)

    await monitor.apply(rules.logged_out_decision(1, 3))
    healed = rules.logged_out_decision(3, 3)
    healed.details["until"] = "2026-03-01T11:57:00+00:00"
    await monitor.apply(healed)

    incident = await bridge.only_incident()
    assert (incident["type"], incident["subject"]) == ("logged_out", "accounts")
    assert incident["status"] == "resolved" and incident["resolvedBy"] == "monitor"
    texts = [m["text"] for m in await bridge.outbox()]
    assert sum("Incident resolved" in t for t in texts) == 1  # the monitor's resolution is announced
    assert not any("Incident opened" in t for t in texts)      # the group message announced the opening


async def test_labels_with_markup_and_emoji_and_10kb_annotations_are_stored_and_sent_as_valid_html(bridge):
    description = "<b>not a tag</b> & more 🚀 " * 400  # about 10 KB
    assert len(description) >= 10_000
    labels = {"alertname": "Weird<Name>&Co", "instance": "<script>&amp;🔥", "severity": "P1"}
    response = await bridge.post(webhook(alert(1, labels=labels, annotations={
        "summary": "a < b && c > d 😀", "description": description})))

    assert response.status == 200
    incident = await bridge.only_incident()
    assert incident["annotations"]["description"] == description and incident["labels"] == labels
    assert incident["type"] == "alert" and incident["severity"] == "P1"
    await bridge.deliver()
    [sent] = bridge.fake_telegram.delivered(CHAT)  # the fake rejects malformed HTML and > 4096 units
    assert "&lt;script&gt;&amp;amp;🔥" in sent.text


async def test_label_names_either_store_would_refuse_are_kept_readable(bridge):
    labels = {"alertname": "Odd", "a.b": "1", "__meta__": "2", "with space": "3", "ünï/x": "4"}

    response = await bridge.post(webhook(alert(1, labels=labels, annotations={"__note__": "n", "a.b": "x"})))

    assert response.status == 200, await response.text()
    incident = await bridge.only_incident()
    assert incident["labels"] == {"alertname": "Odd", "a.b": "1", "_meta__": "2", "with space": "3", "ünï/x": "4"}
    assert incident["annotations"] == {"_note__": "n", "a.b": "x"}


async def test_truncated_alerts_are_stored_and_the_message_says_how_many_were_left_out(bridge):
    response = await bridge.post(webhook(alert(1), alert(2), truncatedAlerts=7))

    assert response.status == 200
    assert len(await bridge.incidents_stored()) == 2
    await bridge.deliver()
    [sent] = bridge.fake_telegram.delivered(CHAT)
    assert "left out 7 more alerts" in sent.text


async def test_a_500_alert_group_is_stored_and_delivered_whole(bridge):
    alerts = [gap(name="LongrunMissedHeartbeats", fingerprint=f"{i:016x}", instance=f"host-{i:03d}")
              for i in range(500)]

    response = await bridge.post(webhook(*alerts))

    assert response.status == 200, await response.text()
    incident = await bridge.only_incident()
    assert len(incident["alerts"]) == 500
    await bridge.deliver()
    sent = bridge.fake_telegram.delivered(CHAT)
    assert len(sent) == 13 and all(f"part {k}/{len(sent)}" in m.text for k, m in enumerate(sent, start=1))
    shown = Counter(f"host-{i:03d}" for m in sent for i in range(500) for _ in re.finditer(rf"host-{i:03d}\b", m.text))
    assert len(shown) == 500 and set(shown.values()) == {1}


async def test_the_watchdog_is_recorded_not_opened_nor_sent(bridge):
    watchdog = alert(labels={"alertname": "Watchdog", "severity": "none"}, fingerprint="0000000000000wd0")

    response = await bridge.post(webhook(watchdog, receiver="longrun-watchdog"))

    assert response.status == 200 and (await response.json())["watchdog"] == 1
    assert await bridge.incidents_stored() == [] and await bridge.outbox() == []
    assert bridge.bridge.watchdog_last_seen == bridge.clock.now()
    assert bridge.bridge.alerts_received == {"firing": 1, "resolved": 0}


async def test_an_alert_alertmanager_tells_directly_is_recorded_but_not_sent_twice(bridge):
    """delivery="direct" (store down, every instance down): Alertmanager's telegram-direct receiver
    sent the message; the bridge keeps the incident and its close, and sends nothing of its own."""
    store_down = dict(name="LongrunStoreDown", incident_type="store_down", instance="a:9469", delivery="direct")

    assert (await bridge.post(webhook(gap(**store_down)))).status == 200
    assert (await bridge.post(webhook(gap("resolved", **store_down)))).status == 200
    [closed] = await bridge.incidents_stored()
    assert (closed["type"], closed["status"], closed["tsEnd"], closed["mttrSec"]) == (
        "store_down", "resolved", T_ENDS, 510)
    assert await bridge.outbox() == []

    # in a group with an alert longrun does tell: the message holds that one only
    later = "2026-03-01T12:10:00Z"
    mixed = webhook(gap(**store_down, starts=later, fingerprint="f00d000000000002"), gap(starts=later))
    assert (await bridge.post(mixed)).status == 200
    assert len(await bridge.incidents_stored()) == 3
    await bridge.deliver()
    [sent] = bridge.fake_telegram.delivered(CHAT)
    assert "LongrunHeartbeatGap" in sent.text and "LongrunStoreDown" not in sent.text


async def test_without_telegram_incidents_are_stored_and_the_log_says_how_to_enable_it(make_bridge, caplog):
    caplog.set_level(logging.WARNING, "longrun.telegram")
    quiet = await make_bridge(telegram_bot_token=None, telegram_chat_ids=())

    assert (await quiet.post(webhook(gap()))).status == 200

    assert len(await quiet.incidents_stored()) == 1 and await quiet.outbox() == []
    assert "TELEGRAM_BOT_TOKEN" in caplog.text and "TELEGRAM_CHAT_ID" in caplog.text


async def test_counters_for_the_metrics_layer(bridge):
    await bridge.post(webhook(gap(), alert(1)))
    await bridge.post(webhook(gap("resolved")))
    await bridge.deliver()

    assert bridge.bridge.alerts_received == {"firing": 2, "resolved": 1}
    assert bridge.bridge.incident_counters.opened == {"alertmanager": 2}
    assert bridge.bridge.incident_counters.resolved == {"alertmanager": 1}
    stats = bridge.delivery.stats
    assert (stats.sent, stats.failed, stats.depth, stats.oldest_created_at) == (2, 0, 0, None)


async def test_every_configured_chat_gets_the_group_message_once(make_bridge):
    two = await make_bridge(telegram_chat_ids=("42", "-1001"))

    for _ in range(2):
        assert (await two.post(webhook(gap()))).status == 200
    await two.deliver()

    assert [len(two.fake_telegram.delivered(chat)) for chat in ("42", "-1001")] == [1, 1]


async def test_a_late_duplicate_of_an_episode_two_incidents_back_does_not_hold_the_next_one_open(bridge):
    await bridge.post(webhook(gap()))
    await bridge.post(webhook(gap("resolved")))                      # episode 1 on incident 1: closed
    second = dict(starts="2026-03-01T12:30:00Z", ends="2026-03-01T12:40:00Z")
    await bridge.post(webhook(gap(**second)))                        # episode 2 opens incident 2
    response = await bridge.post(webhook(gap()))                     # episode 1's firing again, very late
    assert (await response.json())["verdicts"] == {"stale": 1}
    await bridge.post(webhook(gap("resolved", **second)))            # episode 2 ends

    stored = sorted(await bridge.incidents_stored(), key=lambda i: i["tsStart"])
    assert [i["status"] for i in stored] == ["resolved", "resolved"]
    assert len(stored[1]["alerts"]) == 1
