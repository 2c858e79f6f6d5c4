"""MTTR and MTTA as the rollup and the long-run report give them, against the plain model, on
generated incidents that start, end and are acknowledged at and across midnights and window edges."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.domain.heartbeats import HeartbeatAccumulator
from exporter.domain.report import build_window_report
from exporter.domain.response import stamp_ack
from exporter.domain.rollup import compute_rollup
from tests.model.histories import SPAN
from tests.model.reference import DAY, EPOCH, Incident, response_figures, when

EXAMPLES = int(os.environ.get("LONGRUN_MODEL_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EDGES = [0, 1, DAY - 1, DAY, DAY + 1, 2 * DAY - 1, 2 * DAY, 2 * DAY + 1]


@st.composite
def incidents(draw):
    out = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(st.one_of(st.integers(0, SPAN), st.sampled_from(EDGES)))
        known = start + draw(st.sampled_from([0, 0, 1, 5]))  # an alert may start before longrun hears of it
        end = draw(st.one_of(st.none(), st.sampled_from(EDGES).filter(lambda m: m >= known),
                             st.integers(known, known + 600)))
        ack = draw(st.one_of(st.none(), st.sampled_from(EDGES).filter(lambda m: m >= known),
                             st.integers(known, known + 300)))
        kind = draw(st.sampled_from(["missed_heartbeat", "target_down", "probe_fail", "alert", "store_down"]))
        out.append(Incident(kind, start, known, end, ack))
    return out


def document(n: int, incident: Incident) -> dict:
    """As the store holds it: opened, acknowledged through the code's stamp_ack, maybe resolved."""
    doc = {"incidentId": f"i{n}", "type": incident.type, "subject": "s", "severity": "P2",
           "status": "open", "tsStart": when(incident.start), "createdAt": when(incident.known),
           "tsEnd": None, "mttrSec": None, "tsAck": None, "ackSec": None}
    if incident.ack is not None:
        doc = stamp_ack(doc, when(incident.ack))
    if incident.end is not None:
        doc.update(status="resolved", tsEnd=when(incident.end),
                   mttrSec=(when(incident.end) - when(incident.start)).total_seconds())
    return doc


def rollup(day: int, docs: list[dict]) -> dict:
    heartbeats = HeartbeatAccumulator(when(day * DAY), when((day + 1) * DAY), 60)
    heartbeats.add_all([{"ts": when(day * DAY), "bucketId": "x", "targetUp": True}])
    return compute_rollup((EPOCH + timedelta(days=day)).date(), heartbeats.result(), [], docs, interval=60,
                          insufficient_threshold=0.8, commit="c", service_version="v", created_at=EPOCH)


@FAST
@given(incidents())
def test_each_days_rollup_gives_the_models_mttr_and_mtta_for_that_day(generated):
    docs = [document(n, i) for n, i in enumerate(generated)]
    for day in range(3):
        doc = rollup(day, docs)
        mttr, mtta = response_figures(generated, day * DAY, (day + 1) * DAY)
        assert (doc["mttrP50"], doc["mttrP90"], doc["mttrP95"]) == mttr, day
        assert (doc["mttaSec"]["p50"], doc["mttaSec"]["p90"], doc["mttaSec"]["p95"]) == mtta, day


@FAST
@given(incidents(), st.integers(1, 3))
def test_the_reports_mttr_and_mtta_over_a_window_of_days_match_the_model(generated, days):
    docs = [document(n, i) for n, i in enumerate(generated)]
    daily = [rollup(day, docs) for day in range(3)]
    report = build_window_report(days, (EPOCH + timedelta(days=2)).date(), daily, docs, history_start=EPOCH)
    mttr, mtta = response_figures(generated, (3 - days) * DAY, 3 * DAY)
    assert tuple(report.mttr) == mttr
    assert tuple(report.mtta) == mtta
