"""Leader faults on real processes (leader a, standby b, on SQLite and on Firestore).

kill -9, SIGTERM, and SIGSTOP for longer than the lease followed by SIGCONT: in
every case the standby takes over, and the stored heartbeats show at most one
writer per slot: every bucketId once, generations never going back in slot
order, and nothing from the old leader for a slot at or after the takeover.

Slack: a kill -9 or SIGSTOP takeover may take the lease (3 s) plus the standby
poll (0.5 s) plus 2.5 s for a loaded 2-core machine; a SIGTERM takeover must
come before the old lease could have expired (lease - renew = 2 s), which only
the release on SIGTERM explains.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from exporter.domain.slots import slot_start
from tests.resilience.conftest import INTERVAL, LEASE, POLL, leading, now, standing_by

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

TAKEOVER_SLACK = 2.5
EXPIRY_TAKEOVER_LIMIT = LEASE + POLL + TAKEOVER_SLACK
RELEASE_TAKEOVER_LIMIT = 2.0  # lease 3 s - renew 1 s: the old lease cannot have expired yet
STOP_FOR = LEASE + 2.0


def wait_for_heartbeats(process, count: int, timeout: float) -> None:
    """Until ``process`` has written ``count`` more heartbeats (its /health lastHeartbeat moved on)."""
    seen: list[str] = []

    def moved(health) -> bool:
        last = health["lastHeartbeat"]
        if last is not None and (not seen or seen[-1] != last):
            seen.append(last)
        return len(seen) > count

    process.wait_for(moved, timeout, f"{count} more heartbeats from {process.name}")


def start_pair(spawn, env):
    a = spawn("a", env)
    a.wait_for(leading, 30, "a leading")
    b = spawn("b", env)
    b.wait_for(standing_by, 30, "b standing by")
    wait_for_heartbeats(a, 2, 10)
    return a, b


@dataclass
class Handover:
    takeover_s: float
    lost_slots: int
    old_beats: int
    new_beats: int
    generations: tuple[int, int]


def assert_clean_handover(log, fault_at: datetime, took: float) -> Handover:
    """One writer per slot, and the old leader (a) wrote nothing for a slot after the fault."""
    log.assert_one_writer_per_slot()
    assert set(log.instances()) == {"a", "b"}, log.instances()
    old, new = log.by("a"), log.by("b")
    takeover_slot = new[0].slot
    assert all(beat.slot < takeover_slot for beat in old), "the old leader wrote a slot after the takeover"
    assert old[-1].slot <= slot_start(fault_at, INTERVAL), f"a wrote {old[-1]} after the fault at {fault_at}"
    assert new[0].generation > old[-1].generation, "the new leader must write under a newer generation"
    lost = log.missing_slots(old[-1].slot + timedelta(seconds=INTERVAL), takeover_slot)
    return Handover(took, len(lost), len(old), len(new), (old[-1].generation, new[0].generation))


def record(figures, case: str, store_kind: str, handover: Handover) -> None:
    labels = dict(case=case, backend=store_kind)
    figures.record("takeover_s", handover.takeover_s, "s", **labels)
    figures.record("slots_lost_in_takeover", handover.lost_slots, "slots", **labels)
    figures.record("heartbeats_old_new", f"{handover.old_beats}/{handover.new_beats}", **labels)
    figures.record("generation_old_new", f"{handover.generations[0]}->{handover.generations[1]}", **labels)


def test_kill_9_of_the_leader_hands_over_within_the_lease(spawn, process_store, fast_env, figures):
    a, b = start_pair(spawn, {**process_store.env, **fast_env})
    fault_at = now()
    a.signal(signal.SIGKILL)
    took = b.wait_for(leading, EXPIRY_TAKEOVER_LIMIT + 5, "b leading after kill -9 of a")
    wait_for_heartbeats(b, 2, 10)

    handover = assert_clean_handover(process_store.heartbeats(), fault_at, took)
    record(figures, "kill -9", process_store.kind, handover)
    assert took <= EXPIRY_TAKEOVER_LIMIT


def test_sigterm_of_the_leader_releases_the_lease_for_an_immediate_takeover(spawn, process_store, fast_env, figures):
    a, b = start_pair(spawn, {**process_store.env, **fast_env})
    fault_at = now()
    a.signal(signal.SIGTERM)
    took = b.wait_for(leading, EXPIRY_TAKEOVER_LIMIT + 5, "b leading after SIGTERM of a")
    assert a.wait_exit(15) == 0
    assert "Lock released" in a.log()
    wait_for_heartbeats(b, 2, 10)

    handover = assert_clean_handover(process_store.heartbeats(), fault_at, took)
    record(figures, "SIGTERM", process_store.kind, handover)
    assert handover.generations[1] == handover.generations[0] + 1
    assert took < RELEASE_TAKEOVER_LIMIT, "only the release on SIGTERM explains a takeover before the lease could expire"


def test_leader_stopped_past_its_lease_writes_nothing_after_sigcont(spawn, process_store, fast_env, observe, figures):
    a, b = start_pair(spawn, {**process_store.env, **fast_env})
    fault_at, stopped = now(), time.monotonic()
    a.signal(signal.SIGSTOP)
    took = b.wait_for(leading, EXPIRY_TAKEOVER_LIMIT + 5, "b leading while a is stopped")
    time.sleep(max(0.0, STOP_FOR - (time.monotonic() - stopped)))  # the fault lasts longer than the lease
    a_seen = observe(a, every=0.05)
    a.signal(signal.SIGCONT)
    resumed = time.monotonic()
    first = a_seen.wait(lambda s: True, resumed, 10, "a answering after SIGCONT")
    wait_for_heartbeats(b, 3, 10)
    a_seen.stop()

    assert first.leader is False, "the resumed old leader must know at once that its lease is gone"
    assert not [s for s in a_seen.between(resumed) if s.leader], "a claimed leadership after SIGCONT"
    assert b.health()["leader"] is True
    handover = assert_clean_handover(process_store.heartbeats(), fault_at, took)
    record(figures, "SIGSTOP 5 s", process_store.kind, handover)
    figures.record("resumed_leader_answered_after_s", first.at - resumed, "s", case="SIGSTOP 5 s", backend=process_store.kind)
    assert took <= EXPIRY_TAKEOVER_LIMIT
