from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.alertmanager.payload import Limits, PayloadError, notification_key, parse_payload, parse_rfc3339
from tests.alerting.builders import GO_ZERO, alert, webhook


def test_parses_a_version_4_payload_into_frozen_typed_data():
    payload = parse_payload(webhook(alert(1), alert(2, status="resolved", ends_at="2026-03-01T11:55:00Z")))

    assert payload.version == "4"
    assert payload.receiver == "telegram"
    assert payload.group_labels == {"alertname": "HeartbeatMissing"}
    assert payload.external_url == "http://alertmanager:9093"
    assert [a.status for a in payload.alerts] == ["firing", "resolved"]
    first = payload.alerts[0]
    assert first.labels["instance"] == "host-1:9469"
    assert first.annotations["summary"] == "No heartbeat from host-1"
    assert first.fingerprint == "0000000000000001"
    with pytest.raises(FrozenInstanceError):
        first.status = "resolved"  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.labels["instance"] = "other"  # type: ignore[index]


def test_nanosecond_times_are_read_as_aware_utc_datetimes():
    payload = parse_payload(webhook(alert(starts_at="2026-03-01T11:50:00.123456789Z",
                                          ends_at="2026-03-01T13:55:30.5+02:00", status="resolved")))
    a = payload.alerts[0]
    assert a.starts_at == datetime(2026, 3, 1, 11, 50, 0, 123456, tzinfo=timezone.utc)
    assert a.ends_at == datetime(2026, 3, 1, 11, 55, 30, 500000, tzinfo=timezone.utc)
    assert a.starts_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("ends_at", [GO_ZERO, None, ""])
def test_unset_ends_at_reads_as_none(ends_at):
    body = webhook(alert())
    if ends_at is None:
        del body["alerts"][0]["endsAt"]
    else:
        body["alerts"][0]["endsAt"] = ends_at
    assert parse_payload(body).alerts[0].ends_at is None


def test_each_alert_keeps_its_own_status_when_the_group_says_firing():
    payload = parse_payload(webhook(alert(1), alert(2, status="resolved", ends_at="2026-03-01T11:59:00Z"),
                                    status="firing"))
    assert payload.status == "firing"
    assert (payload.count("firing"), payload.count("resolved")) == (1, 1)


def test_duplicate_alerts_in_one_payload_are_kept_once_and_resolved_wins():
    firing = alert(7)
    resolved = alert(7, status="resolved", ends_at="2026-03-01T12:00:00Z")
    payload = parse_payload(webhook(firing, firing, resolved, alert(8)))
    assert [(a.fingerprint, a.status) for a in payload.alerts] == [("0000000000000007", "resolved"),
                                                                   ("0000000000000008", "firing")]


def test_same_fingerprint_with_a_new_start_is_a_new_alert_episode():
    payload = parse_payload(webhook(alert(7, starts_at="2026-03-01T10:00:00Z"),
                                    alert(7, starts_at="2026-03-01T11:00:00Z")))
    assert len(payload.alerts) == 2


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.update(version="3"), "version"),
    (lambda b: b.pop("groupKey"), "groupKey"),
    (lambda b: b.update(status="pending"), "status"),
    (lambda b: b.update(truncatedAlerts=-1), "truncatedAlerts"),
    (lambda b: b.update(truncatedAlerts=True), "truncatedAlerts"),
    (lambda b: b.update(receiver=5), "receiver"),
    (lambda b: b.update(groupLabels=["a"]), "groupLabels"),
    (lambda b: b.update(commonLabels={"job": 3}), "commonLabels.job"),
    (lambda b: b.update(alerts={}), "alerts"),
    (lambda b: b.update(alerts=[]), "alerts"),
    (lambda b: b["alerts"].append("nope"), "alerts[1]"),
    (lambda b: b["alerts"][0].update(status="active"), "alerts[0].status"),
    (lambda b: b["alerts"][0].pop("labels"), "alerts[0].labels"),
    (lambda b: b["alerts"][0]["labels"].update(instance=None), "alerts[0].labels.instance"),
    (lambda b: b["alerts"][0]["annotations"].update(summary=["x"]), "alerts[0].annotations.summary"),
    (lambda b: b["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
    (lambda b: b["alerts"][0].update(startsAt=GO_ZERO), "alerts[0].startsAt"),
    (lambda b: b["alerts"][0].update(endsAt="tomorrow"), "alerts[0].endsAt"),
    (lambda b: b["alerts"][0].update(fingerprint=""), "alerts[0].fingerprint"),
    (lambda b: b["alerts"][0].update(generatorURL=1), "alerts[0].generatorURL"),
])
def test_a_bad_field_is_named_in_the_error(mutate, field):
    body = webhook(alert(0))
    mutate(body)
    with pytest.raises(PayloadError) as caught:
        parse_payload(body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_bad_time_in_the_fourth_alert_reads_like_the_field_path():
    body = webhook(*[alert(i) for i in range(5)])
    body["alerts"][3]["startsAt"] = "yesterday"
    with pytest.raises(PayloadError, match=r"^alerts\[3\]\.startsAt: not an RFC3339 time"):
        parse_payload(body)


def test_a_payload_that_is_not_an_object_is_refused():
    with pytest.raises(PayloadError, match="^payload: expected an object"):
        parse_payload([1, 2])


@pytest.mark.parametrize("text", [
    "2026-03-01T11:50:00Z", "2026-03-01T11:50:00.1Z", "2026-03-01T11:50:00.123456789Z",
    "2026-03-01t11:50:00z", "2026-03-01T13:50:00+02:00", "2026-03-01T06:20:00-05:30",
])
def test_rfc3339_forms_alertmanager_sends_are_accepted(text):
    assert parse_rfc3339(text, "t").replace(microsecond=0) == datetime(2026, 3, 1, 11, 50, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", [
    "2026-03-01 11:50:00Z", "2026-03-01T11:50:00", "2026-03-01T11:50:00.1234567890Z", "2026-02-30T00:00:00Z",
    "2026-03-01T25:00:00Z", "2026-03-01T11:50:00+24:00", 1700000000, None, "",
])
def test_malformed_times_are_refused(text):
    with pytest.raises(PayloadError, match="^t: not an RFC3339 time"):
        parse_rfc3339(text, "t")


def test_ten_kilobyte_annotations_pass_and_a_megabyte_does_not():
    ok = webhook(alert(annotations={"description": "x" * 10_000}))
    assert len(parse_payload(ok).alerts[0].annotations["description"]) == 10_000
    huge = webhook(alert(annotations={"description": "x" * 1_000_000}))
    with pytest.raises(PayloadError, match=r"^alerts\[0\]\.annotations\.description: 1000000 characters"):
        parse_payload(huge)


def test_label_counts_and_alert_counts_are_bounded():
    many_labels = webhook(alert(labels={f"l{i}": "v" for i in range(200)}))
    with pytest.raises(PayloadError, match=r"^alerts\[0\]\.labels: 200 entries"):
        parse_payload(many_labels)
    body = webhook(*[alert(i) for i in range(11)])
    with pytest.raises(PayloadError, match="^alerts: 11 alerts, more than the limit of 10"):
        parse_payload(body, Limits(max_alerts=10))
    assert len(parse_payload(body, Limits(max_alerts=11)).alerts) == 11


def test_null_maps_read_as_empty_as_go_encodes_nil_maps():
    body = webhook(alert(), groupLabels=None, commonAnnotations=None)
    body["alerts"][0]["annotations"] = None
    payload = parse_payload(body)
    assert payload.group_labels == {} and payload.common_annotations == {}
    assert payload.alerts[0].annotations == {}


def test_notification_key_is_stable_across_duplicates_and_changes_with_state():
    body = webhook(alert(1), alert(2))
    key = notification_key(parse_payload(body))
    reordered = webhook(alert(2), alert(1))
    assert notification_key(parse_payload(reordered)) == key  # the other Alertmanager of an HA pair
    resolved = webhook(alert(1), alert(2, status="resolved", ends_at="2026-03-01T12:00:00Z"))
    assert notification_key(parse_payload(resolved)) != key
    grown = webhook(alert(1), alert(2), alert(3))
    assert notification_key(parse_payload(grown)) != key


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=50), max_size=20))
def test_any_string_labels_round_trip(labels):
    payload = parse_payload(webhook(alert(labels=labels)))
    assert dict(payload.alerts[0].labels) == labels
