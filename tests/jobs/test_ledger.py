"""The leader's own record of a day: used only when it is certain, else the store is read."""

from datetime import date, datetime, timedelta, timezone

from exporter.domain.heartbeats import HeartbeatAccumulator
from exporter.domain.slots import bucket_id, day_bounds, iso
from exporter.jobs.ledger import DayLedger

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)


def doc(slot: datetime) -> dict:
    ts = slot + timedelta(seconds=0.2)
    return {"bucketId": bucket_id(slot), "slotStart": slot, "ts": ts, "tsIso": iso(ts), "instanceId": "a",
            "deploymentId": "d", "uptimeSec": (slot - day_bounds(DAY1)[0]).total_seconds() + 1}


def minutes(day: date, skip=()):
    start = day_bounds(day)[0]
    return [start + timedelta(minutes=i) for i in range(1440) if i not in set(skip)]


def test_a_day_recorded_whole_after_a_day_before_answers_as_the_store_would():
    ledger = DayLedger(60)
    for slot in minutes(DAY1) + minutes(DAY2, skip=[5, 6]):
        ledger.record(doc(slot))
    ledger.record(doc(day_bounds(DAY2)[1]))  # the next day's first heartbeat rolls the record over
    store_view = HeartbeatAccumulator(*day_bounds(DAY2), 60)
    store_view.seed(doc(minutes(DAY1)[-1]))
    store_view.add_all(doc(s) for s in minutes(DAY2, skip=[5, 6]))
    assert ledger.result_for(DAY2, leading_since=day_bounds(DAY1)[0]) == store_view.result()


def test_an_unknown_outcome_of_the_days_first_write_spoils_that_day():
    ledger = DayLedger(60)
    for slot in minutes(DAY1):
        ledger.record(doc(slot))
    first, *rest = minutes(DAY2)
    ledger.spoil("a heartbeat write failed: its outcome is unknown", first)  # it may have landed
    for slot in rest:
        ledger.record(doc(slot))
    assert ledger.result_for(DAY2, leading_since=day_bounds(DAY1)[0]) is None


def test_a_day_with_no_heartbeat_of_this_instance_before_it_is_read_from_the_store():
    ledger = DayLedger(60)
    for slot in minutes(DAY2):
        ledger.record(doc(slot))
    assert ledger.result_for(DAY2, leading_since=day_bounds(DAY2)[0] - timedelta(hours=1)) is None
