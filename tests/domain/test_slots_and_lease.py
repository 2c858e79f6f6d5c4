from datetime import datetime, timedelta, timezone

import pytest

from exporter.domain import lease
from exporter.domain.slots import bucket_id, iso, next_slot, parse_bucket_id, probe_key, slot_start, slots_between

T = datetime(2026, 1, 1, 8, 59, 59, 999000, tzinfo=timezone.utc)


def test_slots_align_to_the_interval_since_the_epoch():
    assert slot_start(T, 60) == datetime(2026, 1, 1, 8, 59, tzinfo=timezone.utc)
    assert slot_start(T, 6 * 3600) == datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
    assert next_slot(datetime(2026, 1, 1, 9, tzinfo=timezone.utc), 60) == datetime(2026, 1, 1, 9, 1, tzinfo=timezone.utc)


def test_bucket_ids_round_trip_including_subsecond_test_slots():
    slot = slot_start(T, 60)
    assert bucket_id(slot) == "2026-01-01T08-59-00"
    assert parse_bucket_id(bucket_id(slot)) == slot
    half = slot_start(T, 0.5)
    assert bucket_id(half) == "2026-01-01T08-59-59.500"
    assert parse_bucket_id(bucket_id(half)) == half


def test_probe_keys_follow_the_runbook():
    assert probe_key("outbound", datetime(2026, 1, 1, 6, tzinfo=timezone.utc)) == "OUT_2026010106"
    assert probe_key("inbound", datetime(2026, 1, 1, 18, tzinfo=timezone.utc)) == "IN_2026010118"
    assert probe_key("queue", datetime(2026, 1, 1, tzinfo=timezone.utc)) == "QUEUE_20260101"
    # second-scale test schedules still get one key per slot
    assert probe_key("outbound", datetime(2026, 1, 1, 6, 0, 5, tzinfo=timezone.utc)) == "OUT_20260101060005"


def test_slots_between_counts_slot_starts_in_a_half_open_window():
    day = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert slots_between(day, day + timedelta(days=1), 60) == 1440
    assert slots_between(day + timedelta(seconds=1), day + timedelta(seconds=61), 60) == 1


def test_iso_has_milliseconds_and_z():
    assert iso(T) == "2026-01-01T08:59:59.999Z"


NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "view, me, expected",
    [
        (None, "a", True),
        (lease.LeaseView("a", NOW + timedelta(seconds=60), 1), "a", True),
        (lease.LeaseView("b", NOW + timedelta(seconds=60), 1), "a", False),
        (lease.LeaseView("b", NOW, 1), "a", True),
        (lease.LeaseView(None, NOW + timedelta(seconds=60), 1), "a", True),
        (lease.LeaseView("b", NOW + timedelta(seconds=60), 1, released=True), "a", True),
    ],
    ids=["free", "ours", "held", "expired", "no-holder", "released"],
)
def test_who_may_acquire(view, me, expected):
    assert lease.can_acquire(view, me, NOW) is expected


def test_generation_grows_only_on_a_change_of_holder():
    mine = lease.LeaseView("a", NOW, 4)
    assert lease.next_generation(None, "a") == 1
    assert lease.next_generation(mine, "a") == 4
    assert lease.next_generation(mine, "b") == 5
    assert lease.next_generation(lease.LeaseView("a", NOW, 4, released=True), "a") == 5


def test_original_lock_documents_with_epoch_millis_are_understood():
    view = lease.parse_lock({"holderInstanceId": "x", "leaseUntilTs": 1767225600000})
    assert view == lease.LeaseView("x", datetime(2026, 1, 1, tzinfo=timezone.utc), 0)


def test_a_leader_stops_trusting_its_lease_before_a_standby_may_take_it():
    started = NOW
    trusted = lease.trust_until(started, 120, 60)
    assert trusted == started + timedelta(seconds=110)
    doc = lease.lock_document("a", "d", started, 120, 1)
    assert trusted < doc["leaseUntil"]
    assert lease.trust_until(started, 3, 1) < started + timedelta(seconds=3)
