"""Heartbeat figures with maintenance windows left out, against hand-computed values."""

from __future__ import annotations

from datetime import timedelta

from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.maintenance import Spans
from exporter.domain.maintenance_heartbeats import analyze_outside_windows, outside_pieces
from tests.domain.domain_builders import DAY_END, DAY_START, at, day_docs

DEPLOY = Spans.of([(at(10), at(10, 30))])


def minute(hours: int, minutes: int) -> int:
    return hours * 60 + minutes


def test_pieces_leave_out_the_slots_that_start_in_a_window():
    spans = Spans.of([(at(10, 0, 30), at(10, 5, 30)), (at(23, 50), at(23, 59, 59))])
    assert outside_pieces(DAY_START, DAY_END, 60, spans) == [
        (DAY_START, at(10, 1)), (at(10, 6), at(23, 50))]
    assert outside_pieces(DAY_START, DAY_END, 60, Spans()) == [(DAY_START, DAY_END)]


def test_a_deploy_inside_the_window_costs_nothing_and_an_outage_outside_counts():
    deploy_gap = range(minute(10, 5), minute(10, 10))          # 5 slots lost in the restart
    down_inside = range(minute(10, 12), minute(10, 15))        # the target down during the work
    outage = range(minute(14, 0), minute(14, 10))               # 10 slots of target down, outside
    missing_outside = range(minute(16, 0), minute(16, 3))       # 3 slots lost, outside
    docs = day_docs(missing=[*deploy_gap, *missing_outside], down=[*down_inside, *outage])

    result, maintenance_slots = analyze_outside_windows(docs, DAY_START, DAY_END, 60, DEPLOY)
    assert maintenance_slots == 30
    assert (result.expected, result.written, result.missed) == (1410, 1407, 3)
    assert (result.up_slots, result.down_slots, result.unknown_slots) == (1397, 10, 3)
    assert result.coverage == 1407 / 1410 and result.uptime == 1397 / 1407
    assert result.max_gap_sec == 240                           # 15:59 -> 16:03; the deploy's 360 s is no gap
    assert [(g.start, g.end, g.missed_slots) for g in result.largest_gaps] == [(at(15, 59), at(16, 3), 3)]

    plain = analyze_heartbeats(docs, DAY_START, DAY_END, 60)   # the same day without the window
    assert (plain.expected, plain.missed, plain.down_slots, plain.max_gap_sec) == (1440, 8, 13, 360)
    assert (result.duplicates, result.restarts, result.first_slot) == (plain.duplicates, plain.restarts, plain.first_slot)


def test_an_outage_that_outlasts_its_window_counts_from_the_window_end_and_is_measured_whole():
    docs = day_docs(missing=range(minute(10, 25), minute(10, 40)))
    result, _ = analyze_outside_windows(docs, DAY_START, DAY_END, 60, DEPLOY)
    assert (result.expected, result.written, result.missed) == (1410, 1400, 10)
    assert result.max_gap_sec == 16 * 60                       # 10:24 -> 10:40
    assert [(g.start, g.end, g.missed_slots) for g in result.largest_gaps] == [(at(10, 24), at(10, 40), 10)]


def test_overlapping_windows_count_once_and_no_window_changes_nothing():
    docs = day_docs(missing=[5, 6, 700])
    spans = Spans.of([(at(0), at(0, 10)), (at(0, 5), at(0, 20))])
    result, slots = analyze_outside_windows(docs, DAY_START, DAY_END, 60, spans)
    assert slots == 20 and (result.expected, result.missed) == (1420, 1)
    none, zero = analyze_outside_windows(docs, DAY_START, DAY_END, 60, Spans())
    assert zero == 0 and none == analyze_heartbeats(docs, DAY_START, DAY_END, 60)


def test_a_window_over_the_whole_day_expects_nothing():
    spans = Spans.of([(DAY_START - timedelta(hours=1), DAY_END + timedelta(hours=1))])
    result, slots = analyze_outside_windows(day_docs(missing=[3]), DAY_START, DAY_END, 60, spans)
    assert slots == 1440 and (result.expected, result.written, result.coverage, result.uptime) == (0, 0, None, None)
