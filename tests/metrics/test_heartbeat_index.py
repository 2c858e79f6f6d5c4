"""The heartbeat index gives the domain's coverage, missed and max gap, from memory."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.domain.heartbeats import analyze_heartbeats
from exporter.domain.slots import bucket_id
from exporter.metrics.heartbeat_index import HeartbeatIndex

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def beat(slot: datetime, late: float = 0.2, bucket: str | None = None) -> dict:
    return {"bucketId": bucket or bucket_id(slot), "ts": slot + timedelta(seconds=late), "instanceId": "a"}


# Each document: (slot index, seconds late, how it is spoiled)
documents = st.lists(
    st.tuples(
        st.integers(0, 300),
        st.floats(-90, 200, allow_nan=False),
        st.sampled_from(["ok", "ok", "ok", "misaligned", "naive", "no-bucket"]),
    ),
    max_size=120,
)


def make(slot_index: int, late: float, spoil: str, interval: float) -> dict:
    slot = T0 + timedelta(seconds=slot_index * interval)
    doc = beat(slot, late)
    if spoil == "misaligned":
        doc["bucketId"] = bucket_id(slot + timedelta(seconds=7))
    elif spoil == "naive":
        doc["ts"] = doc["ts"].replace(tzinfo=None)
    elif spoil == "no-bucket":
        del doc["bucketId"]
    return doc


@settings(max_examples=300, deadline=None)
@given(documents, st.integers(0, 300), st.integers(1, 300), st.sampled_from([60.0, 30.0]))
def test_window_matches_analyze_heartbeats(spec, start_index, length, interval):
    docs = [make(i, late, spoil, interval) for i, late, spoil in spec]
    start = T0 + timedelta(seconds=start_index * interval - 13)
    end = start + timedelta(seconds=length * interval + 29)
    index = HeartbeatIndex(interval)
    index.add_all(reversed(docs))  # any order, repeats included
    index.add_all(docs)
    ordered = sorted(docs, key=lambda d: (str(d.get("bucketId")), str(d["ts"])))
    expected = analyze_heartbeats(ordered, start, end, interval)
    got = index.window(start, end)
    assert (got.expected, got.written, got.missed) == (expected.expected, expected.written, expected.missed)
    assert got.max_gap_sec == pytest.approx(expected.max_gap_sec)
    assert got.coverage == pytest.approx(expected.coverage)


def test_trailing_outage_shows_as_gap_to_the_window_end():
    index = HeartbeatIndex(60)
    index.add_all(beat(T0 + timedelta(minutes=m)) for m in range(30))
    result = index.window(T0, T0 + timedelta(hours=1))
    assert (result.expected, result.written, result.missed) == (60, 30, 30)
    assert result.max_gap_sec == 31 * 60  # from the 00:29 slot to 01:00
    assert result.coverage == 0.5


def test_newest_is_the_latest_ts_even_outside_the_kept_slots():
    index = HeartbeatIndex(60)
    old = beat(T0 - timedelta(days=30))
    index.add(old)
    index.prune(T0)
    assert len(index) == 0
    assert index.newest_ts == old["ts"]


def test_prune_forgets_old_slots_so_they_can_be_added_again():
    index = HeartbeatIndex(60)
    docs = [beat(T0 + timedelta(minutes=m)) for m in range(10)]
    index.add_all(docs)
    index.prune(T0 + timedelta(minutes=5))
    assert len(index) == 5
    assert index.add(docs[0]) is True
    assert index.add(docs[0]) is False
