"""Payloads that are valid JSON but never valid alerts (issue 18, items 3, 9, 10).

A lone surrogate, a year-0002 or year-9999 date, an ``incident_type`` label that is
not one of ours: each ends in a 400 naming the field, or is accepted sanitised, and
never in a 5xx that Alertmanager would retry forever.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from alerting.alertmanager.payload import PayloadError, parse_payload
from tests.alerting.builders import alert, webhook
from tests.alerting.conftest_bridge import bridge, make_bridge  # noqa: F401

LONE = "\ud800"
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)  # the harness clock (tests/alerting/conftest.py)


def raw(body) -> bytes:
    """JSON as Alertmanager's Go encoder may write it: a lone surrogate as the escape ``\\ud800``."""
    return json.dumps(body, ensure_ascii=True).encode()


def with_lone_surrogate(where: str) -> dict:
    body = webhook(alert(1))
    one = body["alerts"][0]
    if where == "label name":
        one["labels"][f"bad{LONE}"] = "x"
    elif where == "label value":
        one["labels"]["instance"] = f"host{LONE}"
    elif where == "annotation":
        one["annotations"]["summary"] = f"down {LONE}"
    elif where == "fingerprint":
        one["fingerprint"] = f"f{LONE}"
    elif where == "generatorURL":
        one["generatorURL"] = f"http://prometheus/{LONE}"
    elif where == "groupKey":
        body["groupKey"] = f"{{}}:{LONE}"
    elif where == "receiver":
        body["receiver"] = LONE
    elif where == "commonLabels":
        body["commonLabels"] = {"job": LONE}
    return body


SURROGATE_PLACES = ["label name", "label value", "annotation", "fingerprint", "generatorURL", "groupKey",
                    "receiver", "commonLabels"]


@pytest.mark.parametrize("where", SURROGATE_PLACES)
async def test_a_lone_surrogate_anywhere_is_400_naming_the_field_and_stores_nothing(bridge, where):  # noqa: F811
    response = await bridge.post(None, raw=raw(with_lone_surrogate(where)), headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    body = await response.json()
    assert "surrogate" in body["error"] and body["field"]
    assert LONE not in body["error"] + body["field"]
    assert await bridge.incidents_stored() == [] and await bridge.outbox() == []


@pytest.mark.parametrize("starts_at", ["0002-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "9999-12-31T23:59:59Z",
                                       "2026-03-03T12:00:01Z"])
async def test_a_start_outside_2000_to_tomorrow_is_400(bridge, starts_at):  # noqa: F811
    response = await bridge.post(webhook(alert(1, starts_at=starts_at)))
    assert response.status == 400, await response.text()
    assert (await response.json())["field"] == "alerts[0].startsAt"
    assert await bridge.incidents_stored() == []


@pytest.mark.parametrize("ends_at", ["0002-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
async def test_a_resolution_with_an_absurd_end_is_taken_as_ending_now(bridge, ends_at):  # noqa: F811
    starts_at = "2026-03-01T11:50:00Z"
    assert (await bridge.post(webhook(alert(1, starts_at=starts_at)))).status == 200
    response = await bridge.post(webhook(alert(1, status="resolved", starts_at=starts_at, ends_at=ends_at)))
    assert response.status == 200, await response.text()
    incident = await bridge.only_incident()
    assert incident["status"] == "resolved"
    assert 0 <= incident["mttrSec"] <= 600 + 60, incident["mttrSec"]  # 10 minutes, not 2.5e11 s


def test_the_date_window_is_relative_to_now_and_absent_without_it():
    body = webhook(alert(1, starts_at="2031-01-01T00:00:00Z"))
    with pytest.raises(PayloadError, match="after"):
        parse_payload(body, now=START)
    assert parse_payload(body).alerts[0].starts_at.year == 2031  # no clock: only the lower bound holds


@pytest.mark.parametrize("label, expected", [
    ("probe_fail", "probe_fail"), ("Probe Fail!", "alert"), ("x" * 64, "alert"), ("my_custom_type", "alert"),
    (f"bad{LONE}", None),
])
async def test_an_unknown_incident_type_label_becomes_alert_and_keeps_the_original(bridge, label, expected):  # noqa: F811
    labels = {"alertname": "Custom", "severity": "P3", "incident_type": label, "type": "outbound"}
    response = await bridge.post(None, raw=raw(webhook(alert(1, labels=labels))),
                                 headers={"Content-Type": "application/json"})
    if expected is None:
        assert response.status == 400
        return
    assert response.status == 200, await response.text()
    incident = await bridge.only_incident()
    assert incident["type"] == expected
    if expected == "alert":
        assert incident["details"]["requestedType"] == label


async def test_many_distinct_incident_types_make_one_type(bridge):  # noqa: F811
    alerts = [alert(i, labels={"alertname": f"A{i}", "incident_type": f"type_{i}", "severity": "P3"})
              for i in range(200)]
    assert (await bridge.post(webhook(*alerts))).status == 200
    assert {doc["type"] for doc in await bridge.incidents_stored()} == {"alert"}
