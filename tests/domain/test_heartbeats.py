from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain_builders import DAY_END, DAY_START, at, day_docs, day_result, hb
from exporter.domain.heartbeats import HeartbeatAccumulator, analyze_heartbeats
from exporter.domain.slots import bucket_id, slot_start


def test_full_day_has_full_coverage_and_a_max_gap_of_one_interval():
    result = day_result(day_docs())
    assert (result.expected, result.written, result.missed) == (1440, 1440, 0)
    assert result.coverage == 1.0
    assert result.max_gap_sec == 60
    assert result.largest_gaps == ()
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (1440, 0, 0)
    assert result.uptime == 1.0


def test_45_minute_outage_misses_45_slots_and_makes_a_46_minute_gap():
    result = day_result(day_docs(missing=range(600, 645)))  # 10:00..10:44 silent
    assert (result.written, result.missed) == (1395, 45)
    assert result.coverage == 0.96875
    assert result.max_gap_sec == 46 * 60 == 2760
    [gap] = result.largest_gaps
    assert (gap.start, gap.end, gap.seconds, gap.missed_slots) == (at(9, 59), at(10, 45), 2760, 45)
    assert gap.to_dict() == {"from": "2026-03-10T09:59:00.000Z", "to": "2026-03-10T10:45:00.000Z",
                             "seconds": 2760.0, "missedSlots": 45}
    assert result.unknown_slots == 45
    assert result.uptime == 1.0  # silent minutes are unknown, not down and not up


def test_target_down_20_minutes_while_heartbeats_continue_is_down_not_missing():
    result = day_result(day_docs(down=range(100, 120)))
    assert result.coverage == 1.0
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (1420, 20, 0)
    assert result.uptime == pytest.approx(1 - 20 / 1440)


def test_day_without_heartbeats_and_no_history_expects_nothing():
    result = day_result([])
    assert (result.expected, result.written, result.coverage) == (0, 0, None)
    assert result.uptime is None and result.max_gap_sec == 0 and result.largest_gaps == ()
    assert result.history_start is None


def test_day_without_heartbeats_after_history_started_is_all_missed_with_the_gap_from_the_last_heartbeat():
    acc = HeartbeatAccumulator(DAY_START, DAY_END, 60)
    acc.seed(hb(DAY_START - timedelta(minutes=1), target_up=True))
    result = acc.result()
    assert (result.expected, result.written, result.coverage) == (1440, 0, 0.0)
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (0, 0, 1440)
    assert result.uptime is None
    assert result.max_gap_sec == 86400 + 60
    [gap] = result.largest_gaps
    assert (gap.start, gap.end, gap.missed_slots) == (DAY_START - timedelta(minutes=1), DAY_END, 1440)


def test_gaps_at_the_window_edges_run_between_heartbeats_across_the_edge():
    # the day before ended with a heartbeat at 23:59; the first of this day is at 00:10, the last at 23:48
    acc = HeartbeatAccumulator(DAY_START, DAY_END, 60)
    acc.seed(hb(DAY_START - timedelta(minutes=1), target_up=True))
    acc.add_all(day_docs(missing=list(range(10)) + list(range(1429, 1440))))
    result = acc.result()
    assert result.max_gap_sec == 720  # 23:48 -> 24:00, the open gap at the day's end
    assert [(g.start, g.seconds, g.missed_slots) for g in result.largest_gaps] == [
        (at(23, 48), 720, 11), (DAY_START - timedelta(minutes=1), 660, 10)]


def test_two_slots_missing_at_midnight_after_2359_make_a_180_second_gap():
    acc = HeartbeatAccumulator(DAY_START, DAY_END, 60)
    acc.seed(hb(DAY_START - timedelta(minutes=1), target_up=True))
    acc.add_all(day_docs(missing=[0, 1]))
    assert acc.result().max_gap_sec == 180


def test_without_history_before_the_window_expected_slots_start_at_the_first_heartbeat():
    result = day_result(day_docs(missing=range(0, 720)))  # first heartbeat ever at 12:00
    assert (result.expected, result.written, result.coverage) == (720, 720, 1.0)
    assert result.max_gap_sec == 60 and result.history_start == at(12)


def test_without_a_target_a_missed_slot_is_down():
    docs = [hb(DAY_START + timedelta(minutes=i)) for i in range(1440) if not 100 <= i < 110]
    result = day_result(docs)
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (1430, 10, 0)
    assert result.uptime == pytest.approx(1430 / 1440)


def test_target_up_absent_means_no_target_and_counts_as_up():
    result = day_result([hb(at(0, 0)), hb(at(0, 1), target_up=None), hb(at(0, 2), target_up=False)])
    assert (result.up_slots, result.down_slots) == (2, 1)
    assert result.uptime == pytest.approx(2 / 3)


def test_malformed_documents_are_counted_and_never_crash():
    naive = datetime(2026, 3, 10, 0, 5)
    junk = [None, "text", 42, {}, {"bucketId": 5, "ts": at(0, 3)},
            {"bucketId": "not-a-date", "ts": at(0, 3)}, {"bucketId": bucket_id(at(0, 5)), "ts": naive},
            {"bucketId": bucket_id(at(0, 6)), "ts": "2026-03-10T00:06:00Z"}]
    result = day_result([hb(at(0, 0))] + junk + [hb(at(0, 1))])
    assert result.malformed == len(junk)
    assert result.written == 2


def test_usable_heartbeat_with_a_bad_field_is_written_counted_malformed_and_state_unknown():
    docs = [hb(at(0, 0)), hb(at(0, 1), target_up="yes", uptime="long"), hb(at(0, 2), instance=7)]
    result = day_result(docs)
    assert (result.written, result.malformed) == (3, 2)
    # no target on the last heartbeat (00:02): the 1,437 silent minutes after it are down
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (2, 1437, 1)


def test_duplicates_and_out_of_order_documents_are_counted_not_written():
    docs = [hb(at(0, 0)), hb(at(0, 1)), hb(at(0, 1), lag=3), hb(at(0, 0)), hb(at(0, 2))]
    result = day_result(docs)
    assert (result.written, result.duplicates, result.out_of_order) == (3, 1, 1)


def test_misaligned_bucket_or_far_off_timestamp_is_not_written():
    off_boundary = {"bucketId": "2026-03-10T00-00-30", "ts": at(0, 0, 30)}
    late = hb(at(0, 2), lag=120)  # ts two intervals after the slot start
    early = hb(at(0, 3), lag=-61)
    near = hb(at(0, 4), lag=-59)  # within one interval before: tolerated clock skew
    result = day_result([hb(at(0, 0)), off_boundary, late, early, near])
    assert (result.written, result.misaligned) == (2, 3)


def test_documents_outside_the_window_are_ignored():
    docs = [hb(DAY_START - timedelta(minutes=1)), hb(DAY_START), hb(DAY_END)]
    result = day_result(docs)
    assert (result.written, result.outside_window) == (1, 2)


def test_restarts_count_instance_deployment_changes_and_uptime_resets():
    docs = [
        hb(at(0, 0), instance="a", uptime=100),
        hb(at(0, 1), instance="a", uptime=160),
        hb(at(0, 2), instance="b", uptime=5),       # new instance: change + restart
        hb(at(0, 3), instance="b", deployment="d-2", uptime=65),  # new deployment
        hb(at(0, 4), instance="b", deployment="d-2", uptime=3),   # same ids, uptime reset
        {k: v for k, v in hb(at(0, 5)).items() if k not in ("instanceId", "deploymentId")},
        hb(at(0, 6), instance="b", deployment="d-2", uptime=120),  # ids unchanged since 00:04
        hb(at(0, 7), instance="c", deployment="d-2"),  # new instance, no uptime: change + restart
    ]
    result = day_result(docs)
    assert result.instance_changes == 2
    assert result.restarts == 4


def test_largest_gaps_are_bounded_largest_first_and_earliest_on_ties():
    missing = [5, 6, 20, 21, 40, 41, 42, 60, 80, 81, 82, 83]
    acc = HeartbeatAccumulator(DAY_START, at(2), 60, top_n=3)
    acc.add_all(day_docs(missing=missing, slots=120))
    gaps = acc.result().largest_gaps
    assert [(g.start, g.seconds) for g in gaps] == [(at(1, 19), 300), (at(0, 39), 240), (at(0, 4), 180)]


def test_result_is_a_snapshot_and_feeding_can_continue():
    acc = HeartbeatAccumulator(DAY_START, at(1), 60)
    acc.add_all(day_docs(slots=30))
    midway = acc.result()
    acc.add_all(day_docs(slots=60)[30:])
    assert (midway.written, midway.max_gap_sec) == (30, 1860)
    assert (acc.result().written, acc.result().max_gap_sec) == (60, 60)


def test_sub_second_interval_uses_millisecond_buckets():
    start = DAY_START
    docs = [hb(start + timedelta(milliseconds=500 * i), lag=0.01) for i in range(20) if i != 7]
    result = analyze_heartbeats(docs, start, start + timedelta(seconds=10), 0.5)
    assert (result.expected, result.written, result.misaligned) == (20, 19, 0)
    assert result.max_gap_sec == 1.0


def test_unaligned_window_counts_slot_starts_inside_it():
    now = at(10, 0, 30)
    docs = [hb(at(9, m)) for m in range(60)] + [hb(at(10, 0))]
    result = analyze_heartbeats(docs, now - timedelta(hours=1), now, 60)
    assert (result.expected, result.written, result.outside_window) == (60, 60, 1)
    assert result.max_gap_sec == 60


def test_empty_window_expects_nothing():
    result = analyze_heartbeats([hb(DAY_START)], DAY_START, DAY_START, 60)
    assert (result.expected, result.written, result.coverage, result.max_gap_sec) == (0, 0, None, 0)


@pytest.mark.parametrize("start,end,interval", [
    (DAY_END, DAY_START, 60), (DAY_START, DAY_END, 0),
    (datetime(2026, 3, 10), datetime(2026, 3, 11), 60)])
def test_invalid_windows_are_rejected(start, end, interval):
    with pytest.raises(ValueError):
        HeartbeatAccumulator(start, end, interval)


def test_to_dict_is_json_shaped():
    data = day_result(day_docs(missing=[3])).to_dict()
    assert data["missed"] == 1 and data["unknownSlots"] == 1
    assert data["firstSlot"] == "2026-03-10T00:00:00.000Z"
    assert data["largestGaps"][0]["missedSlots"] == 1


def test_a_restart_across_the_window_start_counts_in_the_window():
    from datetime import datetime, timezone

    from exporter.domain.heartbeats import HeartbeatAccumulator

    start = datetime(2026, 3, 3, tzinfo=timezone.utc)
    beat = {"bucketId": "2026-03-03T00-03-00", "ts": start.replace(minute=3), "instanceId": "new", "uptimeSec": 1}
    unseeded = HeartbeatAccumulator(start, start.replace(hour=1), 60)
    unseeded.add(beat)
    seeded = HeartbeatAccumulator(start, start.replace(hour=1), 60)
    seeded.seed({"bucketId": "2026-03-02T23-58-00", "ts": start.replace(day=2, hour=23, minute=58), "instanceId": "old", "uptimeSec": 9000})
    seeded.add(beat)
    assert (unseeded.result().restarts, seeded.result().restarts) == (0, 1)
    assert seeded.result().written == 1 and seeded.result().outside_window == 0
