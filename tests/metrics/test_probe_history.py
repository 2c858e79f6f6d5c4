"""Probe history: the newest result and the failure streak, as the domain counts it."""

import random
from datetime import datetime, timedelta, timezone

from exporter.domain.monitor_checks import consecutive_failures
from exporter.metrics.probe_history import ProbeHistory

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def result(n: int, outcome: str, probe_type: str = "outbound") -> dict:
    return {"probeKey": f"{probe_type}-{n:04d}", "type": probe_type, "ts": T0 + timedelta(hours=n), "result": outcome}


def test_streak_counts_fails_since_the_last_pass_and_passes_over_skips():
    history = ProbeHistory()
    for n, outcome in enumerate(["FAIL", "PASS", "FAIL", "SKIP", "FAIL"]):
        history.add(result(n, outcome))
    assert history.consecutive_failures("outbound") == 2
    assert history.newest("outbound")["probeKey"] == "outbound-0004"
    history.add(result(5, "PASS"))
    assert history.consecutive_failures("outbound") == 0


def test_any_order_and_repeats_give_the_domain_answer():
    rng = random.Random(3)
    docs = [result(n, rng.choice(["PASS", "FAIL", "FAIL", "SKIP"])) for n in range(60)]
    shuffled = docs + docs[:20]
    rng.shuffle(shuffled)
    history = ProbeHistory()
    for doc in shuffled:
        history.add(doc)
    assert history.consecutive_failures("outbound") == consecutive_failures(reversed(docs))
    assert history.newest("outbound") == docs[-1]


def test_types_are_kept_apart_and_memory_is_bounded():
    history = ProbeHistory(keep=5)
    for n in range(50):
        history.add(result(n, "FAIL", "queue"))
    history.add(result(0, "PASS", "inbound"))
    assert history.consecutive_failures("queue") == 5  # at least `keep`
    assert history.consecutive_failures("inbound") == 0
    assert history.consecutive_failures("outbound") == 0 and history.newest("outbound") is None
    assert sorted(history.types()) == ["inbound", "queue"]


def test_unusable_documents_are_ignored():
    history = ProbeHistory()
    assert not history.add({"type": "outbound", "result": "PASS"})
    assert not history.add({**result(1, "PASS"), "ts": datetime(2026, 1, 1)})
    assert history.types() == []
