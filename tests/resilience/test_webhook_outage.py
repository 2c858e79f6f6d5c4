"""Alerts pushed through the real Alertmanager while longrun's store is down: every one lands, once.

One ``longrun run`` process (it leads; Telegram on, against the fake Bot API)
and the real Alertmanager posting to its webhook ``POST /api/alertmanager``.
While the store is down, N distinct alerts are pushed into Alertmanager
(``POST /api/v2/alerts``). Longrun cannot store them and must not say it did:
no 200 for an alert it has not stored, no 500, no 4xx (Alertmanager never
retries those), only 503 or no answer yet, and Alertmanager retries. Once the
store is back every alert lands: N open incidents, none twice, none lost, and
the fake Telegram got each incident's group message exactly once (the outbox
holds one message per incident and state). Then the alerts are resolved
through Alertmanager and the N incidents close at the alerts' endsAt. The
process keeps running and answers /health all along.

The faults are those of test_store_outage.py, with its timing rationale:

- SQLite: another OS process holds ``BEGIN EXCLUSIVE`` on the file for
  SQLITE_LOCK_HOLD, twice the store's busy timeout (5 s): the first deliveries
  (group_wait 1 s after the push) wait out the busy timeout and fail.
- Firestore: the module's own emulator is killed and restarted after
  FIRESTORE_MIN_OUTAGE; its data is lost, so the alerts are pushed only after
  the kill (an incident stored before it would vanish and count as lost).

Route: ``group_by: [alertname]`` with N distinct alert names, so each alert is
its own group, its own notification and its own retry loop in Alertmanager:
N concurrent webhook requests meet the outage, and each incident has exactly
one group message to count in Telegram. The chat is a private one (a positive
id): Telegram paces it at one message a second, not at a group's 20 a minute.

Failed deliveries are counted from both sides: 503s in longrun's log
("answering 503 for a retry"); in Alertmanager's log, attempts answered with an
error status, and flushes it gave up. Alertmanager gives each flush
max(group_interval, 10 s). longrun answers 503 within 8 s when the store does
not answer (SQLite calls queue one behind the other, each waiting up to the
5 s busy timeout; a Firestore call retries for FIRESTORE_CALL_BUDGET); a
request it has not answered by Alertmanager's deadline is cut ("context
deadline exceeded") and sent again at the next flush, while longrun finishes
the cut request on its own: after the store is back, either one lands the alert.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerting import webhook as route
from exporter.store import DocumentStore
from tests.fixtures.alertmanager import Alertmanager, alertmanager_binary  # noqa: F401
from tests.fixtures.fake_telegram import FakeTelegram
from tests.resilience.conftest import ROOT, StoreUnderTest, firestore_store, sqlite_store
from tests.resilience.test_store_outage import FIRESTORE_MIN_OUTAGE, hold_exclusive_lock
from tests.support import iso
from tests import support

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ALERTS = 20
NAME = "OutageDrill"
CHAT = "424242"  # a private chat: paced at 1 message/s
SQLITE_LOCK_HOLD = 10.0
# How long each step may take on a loaded 2-core machine (the figures report what was measured).
# Firestore is slow to come back (gRPC reconnect backoff, 3-7 s measured in test_store_outage), and a
# group whose flush failed waits for Alertmanager's next one.
LANDED_WITHIN = 40.0
RESOLVED_WITHIN = 20.0
# Telegram sends to one chat once a second, firing messages first (the outbox is ordered).
TELEGRAM_WITHIN = ALERTS * 1.0 + 20.0
WEBHOOK_503 = "answering 503 for a retry"
# Alertmanager's log: one line per attempt answered with an error status, one per flush it gave up
# (the last error: a status, or "context deadline exceeded" for a request still waiting for its answer).
AM_ATTEMPT_STATUS = re.compile(r'msg="Notify attempt failed.*?unexpected status code (\d{3})')
AM_GAVE_UP = re.compile(r'msg="Notify for alerts failed".*? err="(.*)"$', re.MULTILINE)
TELEGRAM_GROUP = re.compile(rf"alertname=({NAME}\d+)")


# ------------------------------------------------------------------ the outage


@dataclass
class Outage:
    """Takes the store away (``begin``) and gives it back (``end``, returns once it is back)."""

    backend: str
    fault: str
    store: StoreUnderTest
    begin: Callable[[], None]
    end: Callable[[], None]


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def outage(request: pytest.FixtureRequest, tmp_path) -> Iterator[Outage]:
    if request.param == "sqlite":
        db = tmp_path / "longrun.db"
        lockers = []

        def lock() -> None:
            lockers.append(hold_exclusive_lock(db, SQLITE_LOCK_HOLD)[0])

        def unlock() -> None:
            assert lockers[0].stdout.readline().strip() == "unlocked"
            assert lockers[0].wait(10) == 0

        yield Outage("sqlite", f"BEGIN EXCLUSIVE held {SQLITE_LOCK_HOLD:g} s by another process",
                     sqlite_store(db), lock, unlock)
        for locker in lockers:
            if locker.poll() is None:
                locker.kill()
                locker.wait(10)
        return

    emulator = request.getfixturevalue("own_emulator")
    emulator.start()  # in case an earlier test stopped it and failed before restarting it
    killed: list[float] = []

    def kill() -> None:
        emulator.stop()
        killed.append(time.monotonic())

    def restart() -> None:
        time.sleep(max(0.0, FIRESTORE_MIN_OUTAGE - (time.monotonic() - killed[0])))  # the outage itself
        emulator.start()

    yield Outage("firestore", f"emulator killed, restarted after {FIRESTORE_MIN_OUTAGE:g} s (data lost)",
                 firestore_store(emulator), kill, restart)
    emulator.start()


# ------------------------------------------------------------------ the fake Telegram, for a sync test


class TelegramThread:
    """The fake Bot API served by its own event loop on a thread, so that this sync test may block."""

    def __init__(self) -> None:
        self.server = FakeTelegram()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-telegram", daemon=True)

    def start(self) -> TelegramThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def messages(self) -> list[tuple[str, str]]:
        """(alertname, FIRING or RESOLVED) of every group message about our alerts delivered to CHAT."""
        return [found for received in self.server.delivered(CHAT) if (found := about(received.text))]


def about(text: str) -> tuple[str, str] | None:
    """(alertname, FIRING or RESOLVED) of a group message about one of our alerts, else None."""
    match = TELEGRAM_GROUP.search(text)
    if match is None:
        return None
    return match[1], "RESOLVED" if "RESOLVED" in text.split("·")[0] else "FIRING"


@pytest.fixture
def telegram() -> Iterator[TelegramThread]:
    server = TelegramThread().start()
    yield server
    server.close()


# ------------------------------------------------------------------ the store, read back


class ReadBack:
    """Reads what longrun stored about our alerts, through one store client kept open."""

    def __init__(self, store: StoreUnderTest) -> None:
        self._runner = asyncio.Runner()
        self._store: DocumentStore = self._runner.run(self._open(store))

    @staticmethod
    async def _open(store: StoreUnderTest) -> DocumentStore:
        return store.opener()

    def _all(self, collection: str) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            return [doc.data async for doc in self._store.stream(f"{ROOT}/{collection}")]

        return self._runner.run(read())

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident document one of our alerts opened."""
        return [d for d in self._all("incidents") if str((d.get("details") or {}).get("alertname", "")).startswith(NAME)]

    def outbox(self) -> list[tuple[str, str, str]]:
        """(alertname, FIRING or RESOLVED, status) of every outbox message about our alerts."""
        return [(*found, d["status"]) for d in self._all("outbox") if (found := about(d["text"]))]

    def close(self) -> None:
        self._runner.run(self._store.close())
        self._runner.close()


def names_of(incidents: list[dict[str, Any]]) -> Counter:
    return Counter(d["details"]["alertname"] for d in incidents)


def recorded(incident: dict[str, Any]) -> bool:
    """The bridge finished with this incident: the alert's episode is on it."""
    return bool(incident.get("alerts"))


# ------------------------------------------------------------------ helpers


def drill_alerts(starts: datetime, ends: datetime) -> list[dict]:
    return [{"labels": {"alertname": f"{NAME}{k:02d}", "severity": "P2", "job": "longrun-drill"},
             "annotations": {"summary": f"drill alert {k} pushed during a store outage"},
             "startsAt": iso(starts), "endsAt": iso(ends)} for k in range(ALERTS)]


def poll(condition: Callable[[], Any], within: float, what: str, every: float = 0.25, *, alive=None) -> Any:
    """``condition()`` once it is truthy; fails after ``within`` seconds, or at once if ``alive`` died."""
    def died() -> str | None:
        if alive is None or alive.proc.poll() is None:
            return None
        return f"{alive.name} exited ({alive.proc.returncode}):\n{alive.log()[-3000:]}"

    return support.poll(condition, within=within, what=what, every=every, stop_if=died)


# ------------------------------------------------------------------ the test


def test_alerts_pushed_during_a_store_outage_all_land_once_after_it(
        alertmanager_binary, outage, telegram, spawn, fast_env, observe, figures, tmp_path):
    token = secrets.token_urlsafe(24)
    env = {**outage.store.env, **fast_env, "LONGRUN_WEBHOOK_TOKEN": token, "LONGRUN_REFRESH_INTERVAL": "500ms",
           "TELEGRAM_BOT_TOKEN": telegram.server.token, "TELEGRAM_CHAT_ID": CHAT,
           "TELEGRAM_API_BASE": telegram.server.api_base}
    a = spawn("a", env)
    manager = Alertmanager(tmp_path, f"{a.url}{route.PATH}", token, group_by=("alertname",), log_level="debug")
    stored_now = None
    try:
        a.wait_for(lambda h: h["leader"] is True and h["store"]["up"] is True, 30, "a leading, store up")
        first = a.health()["lastHeartbeat"]
        a.wait_for(lambda h: h["lastHeartbeat"] not in (None, first), 10, "a writing heartbeats")
        manager.wait_ready()
        seen = observe(a)

        # The store goes away, then N alerts are pushed: every delivery meets the outage.
        down_at = time.monotonic()
        outage.begin()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        starts = now - timedelta(seconds=30)
        manager.post_now(drill_alerts(starts, now + timedelta(hours=1)))
        poll(lambda: WEBHOOK_503 in a.log() or manager.metric(
            "alertmanager_notification_requests_failed_total", integration="webhook") > 0,
            SQLITE_LOCK_HOLD + FIRESTORE_MIN_OUTAGE, "a failed delivery during the outage", alive=a)
        outage.end()
        back_at = time.monotonic()
        five_xx_in_outage = a.log().count(WEBHOOK_503)

        # Every alert lands: N incidents, one each.
        stored_now = ReadBack(outage.store)
        poll(lambda: len({d["details"]["alertname"] for d in stored_now.incidents() if recorded(d)}) == ALERTS,
             LANDED_WITHIN, f"{ALERTS} incidents stored after the store came back", alive=a)
        landed_at = time.monotonic()
        poll(lambda: manager.metric("alertmanager_notification_requests_total", integration="webhook")
             - manager.metric("alertmanager_notification_requests_failed_total", integration="webhook") >= ALERTS,
             LANDED_WITHIN, f"Alertmanager's {ALERTS} successful deliveries", alive=a)
        stored = stored_now.incidents()
        by_name = names_of(stored)
        assert sorted(by_name) == [f"{NAME}{k:02d}" for k in range(ALERTS)], by_name
        assert max(by_name.values()) == 1, f"an alert stored as two incidents: {by_name}"
        for doc in stored:
            assert (doc["status"], doc["source"], doc["type"], doc["severity"]) == ("open", "alertmanager", "alert", "P2")
            assert doc["tsStart"] == starts, doc
            assert doc["changes"] == ["opened"], f"{doc['details']['alertname']} changed {doc['changes']}"
            assert [e["status"] for e in doc["alerts"].values()] == ["firing"], doc["alerts"]

        # Resolved through Alertmanager, they close at the alerts' endsAt.
        ended = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
        manager.post_now(drill_alerts(starts, ended))
        poll(lambda: Counter(d["status"] for d in stored_now.incidents()) == {"resolved": ALERTS},
             RESOLVED_WITHIN, f"the {ALERTS} incidents resolved", alive=a)
        for doc in stored_now.incidents():
            assert doc["tsEnd"] == ended and doc["mttrSec"] == (ended - starts).total_seconds(), doc
            assert doc["changes"] == ["opened", "resolved"], doc["changes"]

        # Telegram: each incident's firing message exactly once (then the resolutions follow, 1/s).
        poll(lambda: {name for name, state in telegram.messages() if state == "FIRING"} == set(by_name),
             TELEGRAM_WITHIN, f"the {ALERTS} firing messages in Telegram", every=0.5, alive=a)
        messages = Counter(telegram.messages())
        doubled = {key: count for key, count in messages.items() if count > 1}
        assert not doubled, f"messages delivered twice: {doubled}"
        # ... and nothing more will come: one outbox message per incident and state, the firing ones sent.
        outbox = stored_now.outbox()
        assert Counter((name, state) for name, state, _ in outbox) == Counter(
            {(name, state): 1 for name in by_name for state in ("FIRING", "RESOLVED")}), outbox
        assert all(status == "sent" for _, state, status in outbox if state == "FIRING"), outbox

        # No crash: still running, /health answered every 100 ms sample, no stack trace, no 500.
        assert a.proc.poll() is None, a.log()[-3000:]
        samples = seen.between(down_at)
        unanswered = [s for s in samples if not s.answered]
        assert samples and not unanswered, f"/health unanswered {len(unanswered)} of {len(samples)} times"
        log = a.log()
        assert "Traceback" not in log and "Error handling request" not in log, log[-3000:]
        am_log = manager.log()
        am_statuses = Counter(AM_ATTEMPT_STATUS.findall(am_log))
        assert set(am_statuses) <= {"503"}, f"Alertmanager saw error answers other than 503: {am_statuses}"
        gave_up = AM_GAVE_UP.findall(am_log)
        not_retried = [err for err in gave_up if "notify retry canceled" not in err]
        assert not not_retried, f"deliveries Alertmanager will not retry: {not_retried}"
        requests = int(manager.metric("alertmanager_notification_requests_total", integration="webhook"))
        requests_failed = int(manager.metric("alertmanager_notification_requests_failed_total", integration="webhook"))
    finally:
        manager.stop()
        if stored_now is not None:
            stored_now.close()

    kind = {"backend": outage.backend, "fault": outage.fault}
    figures.record("alerts_sent", ALERTS, **kind)
    figures.record("outage_s", back_at - down_at, "s", **kind)
    figures.record("webhook_503_answered_by_longrun", log.count(WEBHOOK_503), **kind)
    figures.record("webhook_503_answered_during_outage", five_xx_in_outage, **kind)
    figures.record("alertmanager_attempts_failed_503", am_statuses.get("503", 0), **kind)
    figures.record("alertmanager_requests_cut_at_its_10s_deadline",
                   sum("context deadline exceeded" in err for err in gave_up), **kind)
    figures.record("alertmanager_flushes_failed", len(gave_up), **kind)
    figures.record("alertmanager_webhook_requests", requests, f"{requests_failed} failed", **kind)
    figures.record("incidents_stored", len(by_name), **kind)
    figures.record("incidents_duplicated", sum(c - 1 for c in by_name.values()), **kind)
    figures.record("alerts_lost", ALERTS - len(by_name), **kind)
    figures.record("telegram_firing_messages", sum(c for (n, s), c in messages.items() if s == "FIRING"), **kind)
    figures.record("last_incident_stored_after_store_up_s", landed_at - back_at, "s", **kind)
    figures.record("health_samples_unanswered", len(unanswered), f"of {len(samples)}", **kind)
