"""Telegram faults on the whole delivery path: every message delivered once afterwards, pacing never exceeded.

The service is wired as ``longrun run`` wires it: ``Runtime.build`` over a real
store (SQLite, and the Firestore emulator), ``create_app`` serving the
Alertmanager webhook on loopback, and the runtime's delivery loop
(``runtime.alerts.run``) sending to the fake Telegram Bot API on loopback.
Alerts arrive as webhook POSTs, one alert group per monitored host; the bridge
stores the incident and the group message (the outbox) before answering 200;
the outbox worker delivers. Each group message says FIRING or RESOLVED for one
host, so per host and chat the chat must see one FIRING message and, when the
alert resolved, one RESOLVED message after it.

Time: the worker's waits (backoff, retry_after, pacing, polls) go through the
injected clock, a ``SteppingClock`` moved to the next deadline only while the
worker is parked, so minutes of outage pass in a second and the fake server's
clock-time arrival stamps are the moments the pacer let each request go. The
HTTP calls are real: the Telegram client's timeout (setting TELEGRAM_TIMEOUT,
10 s by default) is CLIENT_TIMEOUT seconds of real time here
(SLOW_CLIENT_TIMEOUT in the slow-API test).

What "once" means, as the code promises it:

- a request Telegram answered (2xx, 4xx, 5xx, 429) or never received
  (connection refused, a request that hung and never landed) is decided by the
  answer: the message is delivered exactly once;
- a request that timed out on our side but landed at Telegram (a slow API) is a
  ``Transient`` failure to the client and is sent again: the Bot API has no
  idempotency key, so each such timeout costs one duplicate. Delivery is
  at-least-once there, by design (the alternative, not retrying a timeout, loses
  messages); ``test_a_slow_api_...`` pins that: duplicates == slow answers, no
  loss, and nothing else doubled.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from alerting.telegram.pacing import RateLimits
from exporter.runtime import Runtime
from exporter.settings import Settings
from exporter.store.base import Order
from exporter.web.app import create_app
from tests.alerting.builders import alert, webhook
from tests.alerting.driving import SteppingClock, drive, eventually
from tests.alerting.pacing_checks import assert_within_telegram_limits
from tests.fixtures.fake_telegram import FakeTelegram, Received, Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
GROUP, PERSON = "-1001234567890", "4242"  # a supergroup (20 messages a minute) and a private chat
CHATS = (GROUP, PERSON)
WEBHOOK_TOKEN = "resilience-webhook-token-0123456789"
CLIENT_TIMEOUT = 1.0  # seconds of real time: a hung request costs this much
SLOW_CLIENT_TIMEOUT = 0.3  # where every request is slow
LIMITS = RateLimits()
_HEADER = re.compile(r"<b>(FIRING|RESOLVED) \d+</b>")
_HOST = re.compile(r"host-(\d+)")
_DIGEST_LINE = re.compile(r"^(🔥|✅) .*?host-(\d+)", re.M)


# ------------------------------------------------------------------ the deployment


@dataclass
class Instance:
    """One ``longrun run`` process: its runtime, its HTTP server, its delivery loop."""

    runtime: Runtime
    http: TestClient
    stop: asyncio.Event
    task: asyncio.Task


@dataclass
class Deployment:
    """Instances of the service on one store, the fake Telegram, the clock, and what was posted."""

    clock: SteppingClock
    telegram: FakeTelegram
    open_store: Callable
    session: aiohttp.ClientSession
    aiohttp_client: Callable
    instance: Instance | None = None
    posted: list[tuple[int, str]] = field(default_factory=list)  # (host, FIRING | RESOLVED) in posting order

    async def start(self, name: str, client_timeout: float = CLIENT_TIMEOUT) -> Instance:
        settings = Settings(
            store_url="sqlite:///unused", instance_id=name, webhook_token=WEBHOOK_TOKEN,
            telegram_bot_token=self.telegram.token, telegram_chat_ids=CHATS,
            telegram_api_base=self.telegram.api_base, telegram_timeout=client_timeout,
        )
        runtime = Runtime.build(settings, clock=self.clock, store=self.open_store(), session=self.session)
        http = await self.aiohttp_client(create_app(runtime))
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.alerts.run(stop), name=f"delivery-{name}")
        self.instance = Instance(runtime, http, stop, task)
        await self.settle()
        return self.instance

    async def kill(self) -> None:
        """kill -9: the delivery loop dies wherever it is (mid-request included), nothing is cleaned up."""
        task = self.instance.task
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self.instance = None

    async def stop(self) -> None:
        if self.instance is None:
            return
        self.instance.stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.instance.task), 2.0)
        except TimeoutError:  # parked in a pacing wait the clock will not reach
            self.instance.task.cancel()
        await asyncio.gather(self.instance.task, return_exceptions=True)

    @property
    def worker(self):
        return self.instance.runtime.telegram.worker

    @property
    def live(self) -> int:
        return int(self.instance is not None and not self.instance.task.done())

    async def post(self, host: int, status: str = "firing") -> None:
        """Alertmanager's notification for one host's alert group; stored (200) before this returns."""
        ends_at = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ") if status == "resolved" else "0001-01-01T00:00:00Z"
        body = webhook(alert(host, status=status, ends_at=ends_at), groupKey=f'{{}}:{{instance="host-{host}"}}')
        response = await self.instance.http.post("/api/alertmanager", json=body,
                                                 headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
        assert response.status == 200, await response.text()
        assert (await response.json())["messagesQueued"] == len(CHATS)
        self.posted.append((host, "FIRING" if status == "firing" else "RESOLVED"))
        await self.settle()

    async def settle(self) -> None:
        """Let a woken worker run until it is parked on the clock again (real I/O; fake time stands still)."""
        for _ in range(50):
            await asyncio.sleep(0)
        await eventually(lambda: self.clock.parked >= self.live, real_timeout=10)

    async def advance_to(self, when: datetime) -> None:
        """Move fake time to ``when``, stopping at every deadline before it while the worker acts."""
        while self.clock.now() < when:
            await self.settle()
            deadline = self.clock.next_deadline()
            step_to = when if deadline is None or deadline > when else deadline
            await self.clock.advance((step_to - self.clock.now()).total_seconds())
        await self.settle()

    async def drain(self, max_fake_seconds: float = 3600) -> None:
        """Run until every posted message reached every chat and the worker saw an empty outbox (or the
        fake-time budget ran out: ``check_delivery`` then says what is missing)."""
        expected = set(self.expected_sends())
        worker = self.worker

        def done() -> bool:
            seen = {(r.chat_id, *m) for r in self.telegram.delivered() for m in what(r)}
            return worker.stats.depth == 0 and expected <= seen

        try:
            await drive(self.clock, done, workers=lambda: self.live, max_fake_seconds=max_fake_seconds,
                        real_timeout=30)
        except AssertionError as exc:
            if "fake-time budget" not in str(exc):
                raise

    def expected_sends(self) -> list[tuple[str, int, str]]:
        return [(chat, host, kind) for chat in CHATS for host, kind in self.posted]


# ------------------------------------------------------------------ reading what Telegram saw


def what(received: Received) -> list[tuple[int, str]]:
    """(host, FIRING | RESOLVED) of each alert a message carries: one for a group message, one per
    alert line for a digest (the outbox merges a backlog over the chat's rate into digests)."""
    if received.text.startswith("📦"):
        found = [(int(host), "FIRING" if icon == "🔥" else "RESOLVED")
                 for icon, host in _DIGEST_LINE.findall(received.text)]
        assert found, received.text
        return found
    header, host = _HEADER.search(received.text), _HOST.search(received.text)
    assert header and host, received.text
    return [(int(host.group(1)), header.group(1))]


@dataclass
class Outcome:
    queued: int
    delivered: int
    duplicates: int
    lost: int
    max_per_second: int
    max_group_per_minute: int
    min_chat_gap_s: float


def check_delivery(deployment: Deployment, *, allowed_duplicates: Counter | None = None) -> Outcome:
    """Each chat saw each posted message in posting order; each once, but for ``allowed_duplicates``
    (extra copies per (chat, host, kind)); the requests kept within the Bot API limits."""
    telegram = deployment.telegram
    allowed_duplicates = allowed_duplicates or Counter()
    duplicates, lost = 0, 0
    for chat in CHATS:
        seen = [m for r in telegram.delivered(chat) for m in what(r)]
        counts = Counter(seen)
        extra = {m: c - 1 - allowed_duplicates[(chat, *m)] for m, c in counts.items() if c > 1}
        assert not any(v > 0 for v in extra.values()), f"chat {chat}: sent more than once: {extra}"
        assert set(counts) <= set(deployment.posted), f"chat {chat}: never posted: {set(counts) - set(deployment.posted)}"
        missing = [m for m in deployment.posted if m not in counts]
        assert not missing, f"chat {chat}: never delivered: {missing}"
        first_copies = list(dict.fromkeys(seen))
        assert first_copies == deployment.posted, f"chat {chat}: delivered out of order"
        duplicates += sum(c - 1 for c in counts.values())
        lost += len(missing)
    sends = [(r.chat_id, r.clock_time) for r in telegram.received]
    assert_within_telegram_limits(sends)
    return Outcome(
        queued=len(deployment.expected_sends()), delivered=len(telegram.delivered()), duplicates=duplicates,
        lost=lost, max_per_second=_max_in_window([t for _, t in sends], timedelta(seconds=1)),
        max_group_per_minute=_max_in_window([t for c, t in sends if c == GROUP], timedelta(minutes=1)),
        min_chat_gap_s=min(((b - a).total_seconds() for chat in CHATS
                            for a, b in _pairs(sorted(t for c, t in sends if c == chat))), default=float("inf")),
    )


def check_retry_after_honoured(received: list[Received]) -> int:
    """After a 429, nothing went to that chat before its retry_after expired; returns how many 429s."""
    storms = 0
    for i, r in enumerate(received):
        if r.reply != "retry_after":
            continue
        storms += 1
        after = next((later for later in received[i + 1:] if later.chat_id == r.chat_id), None)
        assert after is not None, f"nothing sent to {r.chat_id} after a 429"
        assert after.clock_time - r.clock_time >= timedelta(seconds=r.retry_after), (
            f"chat {r.chat_id}: sent {after.clock_time - r.clock_time} after a 429 asking for {r.retry_after} s")
    return storms


def _pairs(items):
    return itertools.pairwise(items)


def _max_in_window(times: list[datetime], window: timedelta) -> int:
    times, best, j = sorted(times), 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def stored_outbox(store, deployment: Deployment) -> Counter:
    """Statuses of the messages the bridge saved, a message merged into a digest counting as the
    digest's status (digests themselves are not counted)."""
    paths = deployment.instance.runtime.paths
    docs = {d.id: d.data for d in await store.query(paths.outbox, order_by=[Order("createdAt")])}

    def final(data: dict) -> str:
        while data["status"] == "merged":
            data = docs[data["mergedInto"]]
        return data["status"]

    return Counter(final(data) for data in docs.values() if not data["dedupKey"].startswith("digest:"))


def record(figures, case: str, backend: str, outcome: Outcome, *, outage_s: float, drain_s: float,
           real_s: float, **extra) -> None:
    labels = {"case": case, "backend": backend}
    figures.record("messages_queued", outcome.queued, "messages", **labels)
    figures.record("messages_delivered", outcome.delivered, "messages", **labels)
    figures.record("duplicates", outcome.duplicates, "messages", **labels)
    figures.record("lost", outcome.lost, "messages", **labels)
    figures.record("max_sends_per_second", f"{outcome.max_per_second}/{LIMITS.overall_per_second}", "observed/limit",
                   **labels)
    figures.record("max_group_sends_per_minute", f"{outcome.max_group_per_minute}/{LIMITS.group_per_minute}",
                   "observed/limit", **labels)
    figures.record("min_gap_per_chat_s", f"{outcome.min_chat_gap_s:.3f}/{LIMITS.per_chat_interval:g}",
                   "observed/limit", **labels)
    figures.record("fault_simulated_s", outage_s, "s", **labels)
    figures.record("drain_after_recovery_s", drain_s, "s (fake clock)", **labels)
    for name, value in extra.items():
        figures.record(name, value, "", **labels)
    figures.record("real_time_s", real_s, "s", **labels)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
async def deployment(store_factory, fake_telegram, aiohttp_client):
    clock = SteppingClock(START)
    fake_telegram.clock = clock
    async with aiohttp.ClientSession() as session:
        running = Deployment(clock, fake_telegram, store_factory, session, aiohttp_client)
        try:
            yield running
        finally:
            await running.stop()


async def play(deployment: Deployment, start: datetime, timeline: list[tuple[float, Callable]]) -> None:
    """Run each action at ``start`` + its offset (seconds of fake time), in order."""
    for offset, action in sorted(timeline, key=lambda step: step[0]):
        await deployment.advance_to(start + timedelta(seconds=offset))
        await action()


def posting(deployment: Deployment, host: int, status: str = "firing") -> Callable:
    return lambda: deployment.post(host, status)


def answering(deployment: Deployment, reply: Reply | None) -> Callable:
    async def switch() -> None:
        deployment.telegram.answer_all(reply)
    return switch


def last_delivery(telegram: FakeTelegram) -> datetime:
    return max(r.clock_time for r in telegram.delivered())


# ------------------------------------------------------------------ the scenarios


async def test_a_five_minute_outage_delivers_every_message_once_in_order_within_the_limits(
        deployment, store_backend, store, figures):
    """Telegram unreachable for 5 simulated minutes (connections refused, then 502s, one request hanging
    past the client timeout) while 30 incidents open and 10 resolve: afterwards each chat gets each of the
    40 messages once, in posting order, and no request ever broke the Bot API limits."""
    d, real_start = deployment, time.monotonic()
    await d.start("a")
    t0, outage_s = d.clock.now(), 300.0
    await d.telegram.refuse_connections()

    async def fail_with_502_and_a_hang() -> None:
        await d.telegram.accept_connections()
        d.telegram.answer_all(Reply.server_error(502))
        d.telegram.script(Reply.hang())

    timeline = [(8.0 * host, posting(d, host)) for host in range(30)]
    timeline += [(240.0 + 5 * host, posting(d, host, "resolved")) for host in range(10)]
    timeline += [(60.0, fail_with_502_and_a_hang), (outage_s, answering(d, None))]
    await play(d, t0, timeline)
    recovered = d.clock.now()
    assert d.telegram.delivered() == [], "a message got through the outage"
    await d.drain()

    outcome = check_delivery(d)
    replies = Counter(r.reply for r in d.telegram.received)
    assert replies["server_error"] >= 1 and replies["hang"] == 1
    refused = d.worker.stats.retried - replies["server_error"] - replies["hang"]
    assert refused >= 1, "no send met a refused connection"
    assert await stored_outbox(store, d) == {"sent": 80}
    assert d.worker.stats.failed == 0
    record(figures, "outage 5 min: refused, 502, timeouts", store_backend, outcome, outage_s=outage_s,
           drain_s=(last_delivery(d.telegram) - recovered).total_seconds(), real_s=time.monotonic() - real_start,
           failed_attempts=f"{refused} refused, {replies['server_error']} x 502, {replies['hang']} timed out")


async def test_a_429_storm_is_waited_out_per_retry_after_then_every_message_lands_once(
        deployment, store_backend, store, figures):
    """Every request answered 429 for 2 simulated minutes (retry_after 7 s, then 23 s, then 45 s) while 20
    incidents open and 8 resolve: no chat is sent to before its retry_after expired, and afterwards every
    message lands once, in order, within the limits."""
    d, real_start = deployment, time.monotonic()
    await d.start("a")
    t0, storm_s = d.clock.now(), 120.0
    timeline = [(0.0, answering(d, Reply.retry_after(7))), (40.0, answering(d, Reply.retry_after(23))),
                (80.0, answering(d, Reply.retry_after(45))), (storm_s, answering(d, None))]
    timeline += [(0.5 + 4 * host, posting(d, host)) for host in range(20)]
    timeline += [(82.0 + 4 * host, posting(d, host, "resolved")) for host in range(8)]
    await play(d, t0, timeline)
    recovered = d.clock.now()
    assert d.telegram.delivered() == []
    await d.drain()

    outcome = check_delivery(d)
    answered_429 = check_retry_after_honoured(d.telegram.received)
    assert answered_429 >= 3 * len(CHATS)  # the storm met every chat in each of its three phases
    assert await stored_outbox(store, d) == {"sent": 56}
    assert d.worker.stats.failed == 0
    record(figures, "429 storm 2 min", store_backend, outcome, outage_s=storm_s,
           drain_s=(last_delivery(d.telegram) - recovered).total_seconds(), real_s=time.monotonic() - real_start,
           answered_429=answered_429)


async def test_a_slow_api_costs_one_duplicate_per_timed_out_delivery_and_loses_nothing(
        deployment, store_backend, store, figures):
    """For 40 simulated seconds every request lands at Telegram but is answered after the client's timeout
    (the first one hangs and never lands): the client sees timeouts and sends again. Telegram has no
    idempotency key, so each landed-but-timed-out request is one duplicate, and only those: no message
    is lost, none sent more often, order (of first copies) and limits kept."""
    d, real_start = deployment, time.monotonic()
    await d.start("a", client_timeout=SLOW_CLIENT_TIMEOUT)
    t0, slow_s = d.clock.now(), 40.0

    async def slow() -> None:
        d.telegram.answer_all(Reply.late(2 * SLOW_CLIENT_TIMEOUT))
        d.telegram.script(Reply.hang())

    timeline = [(0.0, slow), (slow_s, answering(d, None))]
    timeline += [(0.5 + 3 * host, posting(d, host)) for host in range(8)]
    timeline += [(25.0 + 3 * host, posting(d, host, "resolved")) for host in range(4)]
    await play(d, t0, timeline)
    recovered = d.clock.now()
    await d.drain()

    late = Counter((r.chat_id, *m) for r in d.telegram.received if r.reply == "late" for m in what(r))
    outcome = check_delivery(d, allowed_duplicates=late)
    assert sum(late.values()) >= len(CHATS), "no request was slow"
    assert outcome.duplicates == sum(late.values())  # every slow answer was sent again, nothing else was
    assert [r.reply for r in d.telegram.received].count("hang") == 1
    assert await stored_outbox(store, d) == {"sent": 24}
    record(figures, "slow API 40 s (answers after the client timeout)", store_backend, outcome, outage_s=slow_s,
           drain_s=(last_delivery(d.telegram) - recovered).total_seconds(), real_s=time.monotonic() - real_start,
           slow_answers=sum(late.values()))


async def test_a_restart_in_the_middle_of_an_outage_still_delivers_each_message_once(
        deployment, store_backend, store, figures):
    """Telegram answers 502 for 5 simulated minutes (longer if b needs it to take its alerts). Instance a stores 15 firing alerts, then dies (kill -9)
    while a request hangs at Telegram holding its claim; 10 s later instance b starts on the same store,
    takes 15 more alerts and 10 resolutions (5 of incidents a opened). After recovery b delivers every
    message once, in order, within the limits; the message a died sending goes out once, after its claim
    expired."""
    d, real_start = deployment, time.monotonic()
    await d.start("a")
    t0, outage_s = d.clock.now(), 300.0
    d.telegram.answer_all(Reply.server_error(502))
    await play(d, t0, [(6.0 * host, posting(d, host)) for host in range(15)])
    d.telegram.script(Reply.hang())
    await drive(d.clock, lambda: any(r.reply == "hang" for r in d.telegram.received), real_timeout=10)
    await eventually(lambda: d.clock.parked == 0)  # a is inside the hung request, not parked
    killed_at = d.clock.now()
    [in_flight] = [r for r in d.telegram.received if r.reply == "hang"]
    await d.kill()

    restart = killed_at + timedelta(seconds=10)
    await d.advance_to(restart)
    await d.start("b")
    timeline = [(3.0 * i, posting(d, host)) for i, host in enumerate(range(15, 30))]
    timeline += [(50.0 + 4 * i, posting(d, host, "resolved")) for i, host in enumerate([*range(5), *range(15, 20)])]
    await play(d, restart, timeline)
    await d.advance_to(max(t0 + timedelta(seconds=outage_s), restart + timedelta(seconds=100)))
    outage_s = (d.clock.now() - t0).total_seconds()
    d.telegram.answer_all(None)
    recovered = d.clock.now()
    assert d.telegram.delivered() == []
    await d.drain()

    outcome = check_delivery(d)
    retried = [r.clock_time for r in d.telegram.received[d.telegram.received.index(in_flight) + 1:]
               if (r.chat_id, r.text) == (in_flight.chat_id, in_flight.text)]
    assert min(retried) >= killed_at + timedelta(seconds=60), "b sent the message while a's claim held it"
    assert await stored_outbox(store, d) == {"sent": 80}
    record(figures, "restart mid-outage (kill -9 mid-request)", store_backend, outcome, outage_s=outage_s,
           drain_s=(last_delivery(d.telegram) - recovered).total_seconds(), real_s=time.monotonic() - real_start,
           down_s=10)
