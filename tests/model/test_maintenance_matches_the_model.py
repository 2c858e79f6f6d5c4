"""With maintenance windows, the code still counts as the plain reference model does.

Generated histories (tests/model/histories.py) and generated windows (at
midnight, across it, at a window's edge, inside an outage, overlapping) go
through the heartbeat analysis behind the rollup and ``verify``
(``OutsideWindows``), the metrics' index (``window_outside``) and the rollup;
the model walks every minute and skips the planned ones. Then the issue's
scenario, a deploy inside a window and an outage outside, by hand.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.domain.maintenance import Spans
from exporter.domain.maintenance_heartbeats import OutsideWindows
from exporter.domain.rollup import compute_rollup
from exporter.metrics.heartbeat_index import HeartbeatIndex
from tests.model.histories import SPAN, documents, feed_bounds, histories, windows
from tests.model.reference import DAY, EPOCH, beats, figures, when
from tests.model.test_counting_matches_the_model import same

EXAMPLES = int(os.environ.get("LONGRUN_MODEL_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def planned_windows(draw):
    """Up to three windows in minutes (possibly overlapping), some at midnight or across it."""
    start = st.one_of(st.integers(0, SPAN), st.sampled_from([DAY - 10, DAY, 2 * DAY - 1]))
    spans = draw(st.lists(st.tuples(start, st.integers(1, 180)), max_size=3))
    return [(a, a + length) for a, length in spans]


def as_spans(planned) -> Spans:
    return Spans.of([(when(a), when(b)) for a, b in planned])


def minutes(planned) -> frozenset[int]:
    return frozenset(m for a, b in planned for m in range(a, b))


def analyse(docs, start: int, end: int, planned):
    """As the rollup and verify read the store: the heartbeat before the window, then the window's."""
    acc = OutsideWindows(when(start), when(end), 60, as_spans(planned))
    before = [d for d in docs if d["ts"] < when(start)]
    if before:
        acc.seed(max(before, key=lambda d: d["ts"]))
    acc.add_all(d for d in docs if when(start) <= d["ts"] < when(end))
    return acc.result(), acc.maintenance_slots


@pytest.mark.slow
@FAST
@given(histories(), windows(), planned_windows())
def test_window_analysis_with_maintenance_matches_the_model(generated, bounds, planned):
    result, slots = analyse(documents(generated), *bounds, planned)
    same(result, figures(generated[0], *bounds, minutes(planned)))
    assert slots == len([m for m in range(*bounds) if m in minutes(planned)])


@pytest.mark.slow
@FAST
@given(histories(), windows(), planned_windows())
def test_the_metrics_index_with_maintenance_matches_the_model(generated, bounds, planned):
    history = generated[0]
    index = HeartbeatIndex(60)
    index.add_all(documents(generated))
    start, end = feed_bounds(history, bounds)
    result = index.window_outside(when(start), when(end), as_spans(planned))
    model = figures(history, *bounds, minutes(planned))
    assert (result.expected, result.written) == (model.expected, model.written)
    assert result.max_gap_sec == model.max_gap_sec


# ------------------------------------------------------------------ the scenario, by hand

WINDOW = (8 * 60, 8 * 60 + 30)          # 08:00-08:30 "deploy 0.3"
DEPLOY_GAP = range(8 * 60 + 5, 8 * 60 + 10)   # the restart: 5 slots, inside
OUTAGE = range(14 * 60, 14 * 60 + 10)        # 10 slots, outside


def scenario(mode: str):
    return [(m, mode) for m in range(0, DAY) if m not in DEPLOY_GAP and m not in OUTAGE]


def test_the_scenario_by_hand_through_the_model_and_the_rollup():
    for mode, up, down in (("up", 1400, 0), ("none", 1400, 10)):   # with a target: missed is unknown; without: down
        history = scenario(mode)
        model = figures(history, 0, DAY, minutes([WINDOW]))
        assert (model.expected, model.written, model.missed, model.up, model.down) == (1410, 1400, 10, up, down)
        assert model.max_gap_sec == 11 * 60                      # 13:59 -> 14:10; the deploy's 6 min is no gap

        docs = documents((history, [], [0.5] * len(history), DAY))
        result, slots = analyse(docs, 0, DAY, [WINDOW])
        same(result, model)
        rollup = compute_rollup(EPOCH.date(), result, [], [], interval=60, insufficient_threshold=0.8,
                                commit="c", service_version="v", created_at=EPOCH)
        assert (rollup["expectedHb"], rollup["writtenHb"], rollup["missedHb"]) == (1410, 1400, 10)
        assert rollup["numericCoverage"] == 1400 / 1410
        assert rollup["uptimePct"] == 100 * up / (up + down)
        assert slots * 60 == as_spans([WINDOW]).seconds_in_day(EPOCH.date()) == 1800
