"""Maintenance windows as pure rules: validation, merging, seconds per day, slots, the monitor's gate."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from exporter.domain.maintenance import (
    Spans,
    Window,
    WindowError,
    active_windows,
    check_duration,
    end_early,
    gate_problem,
    new_window,
    window_id,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def win(start: float, end: float, ended: float | None = None, wid: str = "w") -> Window:
    return Window(wid, at(start), at(end), "deploy", "cli:ana", T0, at(ended) if ended is not None else None)


# ------------------------------------------------------------------ validation


def test_new_window_keeps_a_tidy_reason_and_its_span():
    window = new_window("w1", at(0), at(30), "  deploy\n 0.3  ", created_by="cli:ana", now=T0)
    assert (window.reason, window.start, window.end, window.until) == ("deploy 0.3", at(0), at(30), at(30))
    assert window.to_doc()["silenceIds"] == [] and window.to_doc()["endedAt"] is None


@pytest.mark.parametrize("start, end, reason, field", [
    (at(0), at(0), "x", "until"),                                   # ends when it starts
    (at(10), at(0), "x", "until"),                                  # ends before it starts
    (at(0), at(0) + timedelta(days=7, seconds=1), "x", "until"),    # over 7 days
    (at(0), at(30), "", "reason"),
    (at(0), at(30), "   ", "reason"),
    (at(0), at(30), None, "reason"),
    (at(0), at(30), "x" * 501, "reason"),
])
def test_a_window_that_can_never_be_valid_names_its_field(start, end, reason, field):
    with pytest.raises(WindowError) as caught:
        new_window("w", start, end, reason, created_by="admin", now=T0)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_exactly_seven_days_is_allowed():
    assert new_window("w", at(0), at(0) + timedelta(days=7), "long", created_by="admin", now=T0).end == at(0) + timedelta(days=7)


@pytest.mark.parametrize("value", [0, -5, "600", True, None, 7 * 86400 + 1, float("nan")])
def test_bad_durations_are_refused(value):
    with pytest.raises(WindowError) as caught:
        check_duration(value)
    assert caught.value.field == "durationSec"


def test_window_ids_sort_by_start_and_are_path_safe():
    assert window_id(at(0), "ab12") == "mw-20260301T0800-ab12"
    assert window_id(at(0), "x") < window_id(at(60), "a")


def test_round_trip_through_the_document():
    window = end_early(win(0, 30), at(10))
    assert Window.from_doc(window.to_doc()) == window


def test_a_document_without_a_valid_span_is_refused():
    with pytest.raises(WindowError):
        Window.from_doc({"id": "x", "start": at(10), "end": at(5)})


# ------------------------------------------------------------------ ending early


def test_ending_early_ends_it_now_and_states_follow():
    window = win(0, 30)
    assert [window.state(at(m)) for m in (-1, 0, 29.9, 30)] == ["planned", "active", "active", "over"]
    ended = end_early(window, at(12))
    assert ended.until == at(12) and ended.end == at(30)
    assert ended.state(at(12)) == "over" and ended.active(at(11.9))


def test_ending_a_planned_window_cancels_it_for_counting():
    ended = end_early(win(10, 30), at(0))
    assert ended.until == ended.start
    assert Spans.of([ended]).seconds_within(at(-60), at(60)) == 0


def test_a_window_that_is_over_cannot_be_ended():
    with pytest.raises(WindowError) as caught:
        end_early(win(0, 30), at(30))
    assert caught.value.field == "id"


def test_active_windows_lists_the_one_ending_last_first():
    windows = [win(0, 10, wid="a"), win(5, 40, wid="b"), win(50, 60, wid="c")]
    assert [w.id for w in active_windows(windows, at(7))] == ["b", "a"]
    assert active_windows(windows, at(45)) == []


# ------------------------------------------------------------------ merged spans


def test_overlapping_and_touching_windows_merge_for_counting():
    spans = Spans.of([win(20, 40), win(0, 10), win(5, 15), win(15, 18), win(50, 50.5)])
    assert spans.spans == ((at(0), at(18)), (at(20), at(40)), (at(50), at(50.5)))
    assert spans.seconds_within(at(-100), at(100)) == (18 + 20 + 0.5) * 60


def test_seconds_in_a_day_cut_at_midnight():
    spans = Spans.of([(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), datetime(2026, 3, 2, 0, 45, tzinfo=timezone.utc))])
    assert spans.seconds_in_day(date(2026, 3, 1)) == 1800
    assert spans.seconds_in_day(date(2026, 3, 2)) == 2700
    assert spans.seconds_in_day(date(2026, 3, 3)) == 0


def test_a_slot_is_inside_when_its_start_is():
    spans = Spans.of([(at(0) + timedelta(seconds=30), at(5) + timedelta(seconds=30))])
    inside = [m for m in range(-2, 8) if spans.slot_inside(at(m), 60)]
    assert inside == [1, 2, 3, 4, 5]
    assert spans.slots_within(at(-10), at(10), 60) == 5
    assert spans.slots_within(at(3), at(10), 60) == 3
    assert spans.slots_within(at(0), at(1), 60) == 0


def test_slots_within_matches_counting_one_by_one():
    spans = Spans.of([win(0.25, 7.5), win(6, 9), win(20, 21), win(30.5, 30.75)])
    for lo in range(-3, 35, 4):
        for hi in range(lo, 40, 5):
            by_hand = sum(spans.slot_inside(at(m), 60) for m in range(lo, hi))
            assert spans.slots_within(at(lo), at(hi), 60) == by_hand, (lo, hi)


# ------------------------------------------------------------------ the monitor's gate


def test_a_problem_outside_every_window_opens_at_its_start():
    gate = gate_problem(at(50), None, at(60), Spans.of([win(0, 30)]))
    assert gate.open and gate.at == at(50)


def test_a_problem_entirely_inside_a_window_opens_nothing():
    spans = Spans.of([win(0, 30)])
    assert not gate_problem(at(5), at(7), at(60), spans).open      # a deploy restart, over
    assert not gate_problem(at(5), None, at(20), spans).open       # still going, window still running


def test_a_problem_outlasting_its_window_opens_at_the_window_end():
    spans = Spans.of([win(0, 30), win(25, 40)])                    # merged: ends at 40
    gate = gate_problem(at(5), None, at(60), spans)
    assert gate.open and gate.at == at(40)
    assert gate_problem(at(5), at(45), at(60), spans).at == at(40)
