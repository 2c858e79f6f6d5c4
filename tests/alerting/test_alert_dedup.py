"""Alert episodes (fingerprint + startsAt) judged against the incidents that hold them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alerting.alertmanager.payload import parse_payload
from alerting.dedup import Verdict, closing_time, entry, entry_id, judge, undelivered
from tests.alerting.builders import alert, webhook

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
T0 = datetime(2026, 3, 1, 11, 50, tzinfo=timezone.utc)


def parsed(status="firing", *, starts="2026-03-01T11:50:00Z", ends="2026-03-01T11:58:00Z", fingerprint="aa01"):
    body = webhook(alert(status=status, starts_at=starts, ends_at=ends if status == "resolved" else "",
                         fingerprint=fingerprint))
    return parse_payload(body).alerts[0]


def incident(*episodes, status="open", ts_start=T0):
    return {"incidentId": "i1", "status": status, "tsStart": ts_start,
            "alerts": {entry_id(a): entry(a, NOW) for a in episodes}}


def test_an_episode_is_its_fingerprint_and_start():
    assert entry_id(parsed()) == entry_id(parsed("resolved"))
    assert entry_id(parsed()) != entry_id(parsed(starts="2026-03-01T11:51:00Z"))
    assert entry_id(parsed()) != entry_id(parsed(fingerprint="aa02"))
    assert entry_id(parsed()).isalnum()  # a plain field name on Firestore and SQLite


def test_a_new_episode_is_new_whatever_its_status():
    assert judge(parsed(), None, None) is Verdict.NEW_FIRING
    assert judge(parsed("resolved"), None, None) is Verdict.NEW_RESOLVED
    assert judge(parsed(), incident(parsed(fingerprint="zz")), None) is Verdict.NEW_FIRING


def test_the_same_episode_again_is_a_duplicate_and_its_resolution_resolves_it():
    active = incident(parsed())
    assert judge(parsed(), active, None) is Verdict.DUPLICATE
    assert judge(parsed("resolved"), active, None) is Verdict.RESOLVES
    ended = incident(parsed("resolved"))
    assert judge(parsed("resolved"), ended, None) is Verdict.DUPLICATE
    assert judge(parsed(), ended, None) is Verdict.DUPLICATE  # a late firing inside the open incident


def test_an_episode_the_previous_incident_closed_is_stale():
    previous = incident(parsed("resolved"), status="resolved")
    assert judge(parsed(), None, previous) is Verdict.STALE
    assert judge(parsed("resolved"), None, previous) is Verdict.STALE
    assert judge(parsed(starts="2026-03-01T11:59:00Z"), None, previous) is Verdict.NEW_FIRING  # it fired again


def test_an_incident_closes_when_every_episode_ended_at_the_latest_end():
    one, two = parsed(), parsed(fingerprint="bb", starts="2026-03-01T11:52:00Z")
    assert closing_time(incident(one, two)) is None
    assert closing_time(incident(parsed("resolved"), two)) is None
    later = parsed("resolved", fingerprint="bb", starts="2026-03-01T11:52:00Z", ends="2026-03-01T11:59:00Z")
    assert closing_time(incident(parsed("resolved"), later)) == T0 + timedelta(minutes=9)


def test_an_incident_without_episodes_or_newer_than_them_stays_open():
    assert closing_time({"status": "open", "tsStart": T0}) is None
    assert closing_time(incident(parsed("resolved"), ts_start=T0 + timedelta(hours=1))) is None


def test_a_resolved_episode_without_ends_at_ends_when_it_was_received():
    body = webhook(alert(status="resolved", ends_at="0001-01-01T00:00:00Z"))
    assert entry(parse_payload(body).alerts[0], NOW)["endsAt"] == NOW


def test_a_change_never_announced_is_undelivered():
    assert not undelivered(None)
    assert undelivered({"changes": ["opened"], "notified": {}})
    assert not undelivered({"changes": ["opened", "updated"], "notified": {"0:opened": NOW}})
    assert undelivered({"changes": ["opened", "resolved"], "notified": {"0:opened": NOW}})
