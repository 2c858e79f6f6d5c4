"""Generated heartbeat histories for the reference-model tests, and their documents.

A history starts mid-day (the first heartbeat ever), runs over midnights, and
has outages that land anywhere: at 00:00, across a midnight, at a window's
edge, in the first minutes. Heartbeats drift inside their slot, some slots are
written twice (a takeover inside the slot), the instance changes (takeovers)
and the target may be configured or not, or change midway.
"""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import strategies as st

from exporter.domain.slots import bucket_id, iso
from tests.model.reference import DAY, when

SPAN = 2 * DAY + 240  # minutes: two midnights and a bit


@st.composite
def histories(draw, span: int = SPAN):
    first = draw(st.one_of(st.integers(0, 3), st.integers(0, DAY + 30), st.sampled_from([DAY - 1, DAY, DAY + 1])))
    outages = draw(st.lists(st.tuples(
        st.one_of(st.integers(first, span), st.sampled_from([DAY - 3, DAY - 1, DAY, 2 * DAY - 2, 2 * DAY, first + 1])),
        st.one_of(st.integers(1, 8), st.integers(1, 400))), max_size=5))
    silent = {m for start, length in outages for m in range(start, start + length)}
    modes = draw(st.sampled_from([("up",), ("none",), ("up", "down"), ("none", "up")]))
    switch = draw(st.integers(first, span))
    downs = draw(st.lists(st.tuples(st.integers(first, span), st.integers(1, 90)), max_size=3))
    down = {m for start, length in downs for m in range(start, start + length)}
    history = []
    for minute in range(first, span):
        if minute in silent and minute != first:
            continue
        mode = modes[0] if minute < switch or len(modes) == 1 else modes[1]
        if mode == "up" and minute in down and "down" in modes:
            mode = "down"
        history.append((minute, mode))
    dupes = draw(st.lists(st.sampled_from(history), max_size=3)) if history else []
    drift = random.Random(draw(st.integers(0, 2**32)))
    lags = [drift.uniform(0, 55) for _ in history]
    takeover = draw(st.integers(first, span))
    return history, dupes, lags, takeover


def documents(generated) -> list[dict]:
    """Heartbeat documents of a generated history, in slot order (duplicates just after theirs)."""
    history, dupes, lags, takeover = generated
    docs = []
    for (minute, mode), lag in zip(history, lags):
        docs.append(doc(minute, mode, lag, "a" if minute < takeover else "b"))
        if (minute, mode) in dupes:
            docs.append(doc(minute, mode, lag + 1, "b"))  # the second writer of a slot: not counted again
    return docs


def doc(minute: int, mode: str, lag: float, instance: str) -> dict:
    slot = when(minute)
    ts = slot + timedelta(seconds=lag)
    out = {"bucketId": bucket_id(slot), "ts": ts, "tsIso": iso(ts), "slotStart": slot, "instanceId": instance,
           "deploymentId": "d", "generation": 1 if instance == "a" else 2, "uptimeSec": float(minute * 60)}
    if mode != "none":
        out["targetUp"] = mode == "up"
    return out


def feed_bounds(history, bounds):
    """``bounds`` as the metrics feeds ask the index: never before the first heartbeat ever."""
    start, end = bounds
    if history:
        start = min(end, max(start, min(m for m, _ in history)))
    return start, end


def windows():
    """Window bounds in minutes: aligned to midnight, to the hour, or anywhere."""
    edge = st.one_of(st.sampled_from([0, DAY, 2 * DAY, DAY - 60, DAY + 60]), st.integers(0, SPAN))
    return st.tuples(edge, edge).map(sorted).filter(lambda b: b[0] < b[1])
