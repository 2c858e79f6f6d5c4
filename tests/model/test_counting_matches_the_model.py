"""The code counts as the plain reference model does, on generated histories.

Compared: the heartbeat analysis behind the rollup and ``verify`` (seeded with
the heartbeat before the window, as both read it), the rollup document, the
long-run report assembled from daily rollups (days without one included), the
metrics' in-memory index, and the monitor's missed-heartbeat rule.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.domain.heartbeats import HeartbeatAccumulator
from exporter.domain.report import build_window_report
from exporter.domain.rollup import compute_rollup
from exporter.domain.slots import day_bounds
from exporter.metrics.heartbeat_index import HeartbeatIndex
from tests.model.histories import SPAN, documents, feed_bounds, histories, windows
from tests.model.reference import DAY, EPOCH, beats, figures, when

# 40 generated histories per comparison in `make test`; LONGRUN_MODEL_EXAMPLES=1000 for a deeper run.
EXAMPLES = int(os.environ.get("LONGRUN_MODEL_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def analyse(docs, start: int, end: int):
    """As the rollup and verify read the store: the heartbeat before the window, then the window's."""
    acc = HeartbeatAccumulator(when(start), when(end), 60)
    before = [d for d in docs if d["ts"] < when(start)]
    if before:
        acc.seed(max(before, key=lambda d: d["ts"]))
    acc.add_all(d for d in docs if when(start) <= d["ts"] < when(end))
    return acc.result()


def same(result, model):
    assert (result.expected, result.written, result.missed) == (model.expected, model.written, model.missed)
    assert result.coverage == model.coverage
    assert (result.up_slots, result.down_slots) == (model.up, model.down)
    assert result.uptime == model.uptime
    assert result.max_gap_sec == model.max_gap_sec


@FAST
@given(histories(), windows())
def test_window_analysis_behind_verify_and_the_rollup_matches_the_model(generated, bounds):
    docs = documents(generated)
    same(analyse(docs, *bounds), figures(generated[0], *bounds))


def rollups_of(docs, days):
    out = []
    for number in days:
        day = (EPOCH + timedelta(days=number)).date()
        result = analyse(docs, number * DAY, (number + 1) * DAY)
        if result.written:  # a day with no heartbeat has no rollup: the report must still count it
            out.append(compute_rollup(day, result, [], [], interval=60, insufficient_threshold=0.8,
                                      commit="c", service_version="v", created_at=EPOCH))
    return out


@FAST
@given(histories(), st.integers(1, 3))
def test_the_report_over_daily_rollups_matches_the_model_over_the_window(generated, days):
    history = generated[0]
    docs = documents(generated)
    last = min(2, days - 1 + 0)
    daily = rollups_of(docs, range(0, 3))
    last_day = (EPOCH + timedelta(days=last)).date()
    first_day = last - days + 1
    first_ever = when(min(beats(history))) if history else None
    report = build_window_report(days, last_day, daily, [], history_start=first_ever)
    model = figures(history, first_day * DAY, (last + 1) * DAY)
    assert (report.expected_hb, report.written_hb) == (model.expected, model.written)
    assert report.coverage == model.coverage
    assert (report.up_minutes, report.down_minutes) == (model.up, model.down)
    if report.days_with_data:
        assert report.max_gap_sec == model.max_gap_sec
    if model.uptime is None:
        assert report.uptime_pct is None
    else:
        assert report.uptime_pct == pytest.approx(100 * model.uptime)


@FAST
@given(histories(), windows())
def test_the_metrics_index_matches_the_model(generated, bounds):
    history = generated[0]
    index = HeartbeatIndex(60)
    index.add_all(documents(generated))
    start, end = feed_bounds(history, bounds)
    result = index.window(when(start), when(end))
    model = figures(history, *bounds)
    assert (result.expected, result.written) == (model.expected, model.written)
    assert result.max_gap_sec == model.max_gap_sec


@FAST
@given(histories())
def test_every_days_rollup_adds_up_to_the_whole_span(generated):
    """Counting by day loses nothing at midnight: the days' sums are the span's figures."""
    docs = documents(generated)
    total = figures(generated[0], 0, 2 * DAY)
    days = [analyse(docs, n * DAY, (n + 1) * DAY) for n in range(2)]
    assert sum(d.expected for d in days) == total.expected
    assert sum(d.written for d in days) == total.written
    assert sum(d.down_slots for d in days) == total.down
    assert max(d.max_gap_sec for d in days) == total.max_gap_sec


@FAST
@given(st.lists(st.tuples(st.sampled_from(["PASS", "FAIL", "SKIP"]), st.sampled_from(["schedule", "manual"])), max_size=12))
def test_the_failure_streak_matches_the_model(runs):
    from exporter.domain.monitor_checks import consecutive_failures
    from tests.model.reference import consecutive_failures as model_streak

    newest_first = [{"result": r, "trigger": t} for r, t in reversed(runs) if t != "manual"]  # as the monitor reads them
    assert consecutive_failures(newest_first) == model_streak(runs)
