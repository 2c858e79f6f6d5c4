"""Hostile input against every route docs/openapi.yaml lists, on the real app over a real SQLite store.

Property-based: hypothesis draws the path parameters (``../``, ``%2e%2e%2f``,
10 000 characters, unicode, NUL, control characters, emoji), query strings,
Authorization headers (right, wrong, missing, malformed, non-UTF-8, long) and
bodies (valid per schema, almost valid, any JSON, not JSON, wrong content
type, chunked). Whatever arrives, the answer is 2xx or 4xx (503 only while the
store is down), JSON or the documented type, without a stack trace or a token,
and a protected route never answers 2xx without its token. Every log record
of the run is scanned for the admin, webhook and Telegram tokens.

The requests go over a raw loopback socket (tests/resilience/openapi_requests.py)
so every byte is the test's. Examples per route: ``LONGRUN_FUZZ_EXAMPLES``
(default 80; e.g. 2000 for a night run); the named hostile cases are sent
every run whatever hypothesis draws.
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import json
import logging
import os
import sqlite3
from collections import Counter
from typing import Any, Awaitable, Callable

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from aiohttp import web

from alerting import webhook as webhook_route
from exporter.web import auth as admin_auth
from exporter.web.bodies import SMALL_BODY
from exporter.web.server import start_site
from tests.alerting.builders import alert, webhook
from tests.resilience import openapi_requests as spec_requests
from tests.resilience.openapi_requests import HOSTILE_TEXT, HttpAnswer, HttpRequest, Operation, Secrets
from tests.web.conftest import OUTSIDE, TOKEN as ADMIN_TOKEN, app_for, clock, cluster  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # property-based, every route: a minute or more

SECRETS = Secrets(admin=ADMIN_TOKEN, webhook="whk-7c1e9b3a5d2f4e6a8b0c1d2e3f4a5b6c",
                  telegram="123456789:AAF-tg-secret-9d8c7b6a5f4e3d2c1b0a")
SPEC = spec_requests.load_spec()
OPERATIONS = spec_requests.operations(SPEC)
EXAMPLES = int(os.environ.get("LONGRUN_FUZZ_EXAMPLES", "80"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
TRACEBACK_MARKS = (b"Traceback", b'File "')
# What the log scan looks for: the three tokens, and the wrong ones clients send (a near miss is a secret too).
NEEDLES = (*SECRETS.all(), ADMIN_TOKEN[:-1], SECRETS.webhook[:-1], "wrong-token")
AIOHTTP_LINE_LIMIT = 8190  # aiohttp's HTTP parser refuses a longer request line or header with a text 400


@pytest.fixture
def store_backend() -> str:
    """SQLite only: hostile input is about the HTTP layer, the store tests cover Firestore."""
    return "sqlite"


@pytest.fixture
async def member(cluster):  # noqa: F811
    """A leader with every secret set (admin, webhook, Telegram), ten minutes of history."""
    member = await cluster.add("alpha", webhook_token=SECRETS.webhook, telegram_bot_token=SECRETS.telegram,
                               telegram_chat_ids=("-1001",))
    await cluster.run_for(600)
    return member


@pytest.fixture
async def servers(member, app_for):  # noqa: F811
    """The real app twice, served as ``longrun run`` serves it (exporter/web/server.py): as seen from
    loopback, and as seen from another host (TEST-NET). With an access log, unlike the service, so
    that the log scans below also see every request line."""
    runners, addresses = [], {}
    for where, remote in (("local", None), ("outside", OUTSIDE)):
        runner = web.AppRunner(app_for(member, remote=remote), access_log=logging.getLogger("aiohttp.access"))
        await runner.setup()
        site = await start_site(runner, "127.0.0.1", 0)
        runners.append(runner)
        addresses[where] = ("127.0.0.1", site.port)
    yield addresses
    for runner in runners:
        await runner.cleanup()


def run_hypothesis(test: Callable[[], None]) -> Awaitable[None]:
    """Run a (sync) hypothesis test on a thread while this loop serves its requests: see ``on_loop``."""
    return asyncio.to_thread(test)


def on_loop(loop: asyncio.AbstractEventLoop, coro, timeout: float = 60.0):
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


def store_rows(member) -> list[tuple[str, str, int]]:
    """Every document in the SQLite file: (collection, id, version), read on a connection of our own."""
    path = member.store.inner.path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return sorted(db.execute("SELECT collection, id, version FROM docs"))


# ------------------------------------------------------------------ what every answer must be


def line_too_long(request: HttpRequest) -> bool:
    """aiohttp's parser refuses these before the app sees them; the server answers a JSON 400
    that quotes nothing (exporter/web/server.py), so every check below applies to them too."""
    return len(request.target) + 20 > AIOHTTP_LINE_LIMIT


def check_answer(op: Operation, request: HttpRequest, answer: HttpAnswer, *, where: str, store_up: bool = True) -> None:
    context = (request.method, request.target[:120], dict(request.labels), where, answer.status, answer.body[:300])
    whole = answer.raw_head + b"\r\n\r\n" + answer.body
    for secret in NEEDLES:
        assert secret.encode() not in whole, ("a token in the answer", context)
    assert not any(mark in answer.body for mark in TRACEBACK_MARKS), ("a stack trace in the answer", context)
    if line_too_long(request):
        assert answer.status in (400, 414, 431), context
    if store_up:
        assert 200 <= answer.status < 500, ("not 2xx/4xx while the store is up", context)
    else:
        assert answer.status < 500 or answer.status == 503, ("5xx other than 503 while the store is down", context)
    if answer.status >= 300 or answer.content_type != "application/json":
        documented = op.ok_content_types() if 200 <= answer.status < 300 else {"application/json"}
        assert answer.content_type in documented, ("undocumented content type", context)
    if answer.content_type == "application/json":
        parsed = json.loads(answer.body)
        if answer.status >= 400:
            assert isinstance(parsed, dict) and isinstance(parsed.get("error"), str), context
    if 200 <= answer.status < 300:
        assert may_pass(op, request, where), ("2xx without the right token", context)
    if answer.status == 503:
        assert int(answer.headers.get("retry-after", "0")) > 0, ("503 without Retry-After", context)


def may_pass(op: Operation, request: HttpRequest, where: str) -> bool:
    """Whether the access rules let this request through (auth.py's and webhook.py's docstrings)."""
    if op.auth == "open":
        return True
    if request.label("authorized") == "True":
        return True
    local = where == "local" and request.label("proxied") == "False"
    return op.auth == "read" and local and request.label("auth") == "none"


class LogScan:
    """Every record caplog saw, rendered (message, args, exception text), searched for the tokens."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        caplog.set_level(logging.DEBUG)
        for name in ("aiohttp.access", "aiohttp.server", "aiohttp.web", "longrun"):
            logging.getLogger(name).setLevel(logging.DEBUG)

    def leaks(self) -> list[str]:
        found = []
        for record in self.caplog.records:
            parts = [str(record.msg), repr(record.args), record.exc_text or ""]
            try:
                parts.append(record.getMessage())
            except Exception:  # noqa: BLE001 - a record that cannot render is not a leak
                pass
            if record.exc_info:
                parts.append(logging.Formatter().formatException(record.exc_info))
            text = "\n".join(parts)
            found += [f"{record.name}: {text[:300]}" for secret in NEEDLES if secret in text]
        return found


# ------------------------------------------------------------------ 0. the description and the app agree


def test_every_described_operation_is_served_and_every_served_one_described(member, app_for):  # noqa: F811
    """test_openapi.py checks admin routes both ways and the rest one way; here: all of them both ways,
    so that the fuzzing below, which walks the description, reaches every route."""
    app = app_for(member)
    served = {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    described = {(op.method, op.path) for op in OPERATIONS}
    assert served == described


# ------------------------------------------------------------------ 1. every operation, fuzzed


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
async def test_hostile_requests_get_a_clean_2xx_or_4xx(op, member, servers, caplog, figures):
    """Any path, query, Authorization and body: 2xx/4xx, JSON (or the documented type), no trace,
    no token in the answer or the log, and a protected route never passes without its token."""
    loop, logs, seen = asyncio.get_running_loop(), LogScan(caplog), Counter()
    variants: dict[str, set[str]] = {key: set() for key in ("path", "auth", "body", "query", "extra")}
    before = store_rows(member) if op.method == "get" else None

    @FUZZ
    @given(request=spec_requests.requests_for(op, SECRETS), where=st.sampled_from(["local", "outside"]))
    def fuzz(request: HttpRequest, where: str) -> None:
        for key in ("path", "auth", "body", "query", "extra"):
            event(f"{key}={request.label(key)}")
            variants[key].add(request.label(key))
        answer = on_loop(loop, spec_requests.send(*servers[where], request))
        seen["requests"] += 1
        seen[f"status {answer.status // 100}xx"] += 1
        check_answer(op, request, answer, where=where)

    for request in spec_requests.named_requests(op, SECRETS):
        fuzz = example(request=request, where="outside")(fuzz)
    await run_hypothesis(fuzz)

    leaks = logs.leaks()
    figures.record("hostile_requests", seen["requests"], "requests", route=op.id, route_class=op.route_class)
    figures.record("hostile_5xx", seen["status 5xx"], "answers", route=op.id,
                   **{f"answered_{k[-3:]}": v for k, v in sorted(seen.items()) if k.startswith("status")})
    figures.record("hostile_variants", sum(map(len, variants.values())), "kinds", route=op.id,
                   **{key: len(kinds) for key, kinds in variants.items()})
    figures.record("token_leaks_in_logs", len(leaks), "records", route=op.id)
    assert not leaks, leaks[:5]
    assert seen["requests"] >= len(spec_requests.named_requests(op, SECRETS))
    if before is not None:
        assert store_rows(member) == before, "a GET changed the store"


# ------------------------------------------------------------------ 2. path-like ids write nothing


ID_WRITES = [op for op in OPERATIONS if op.params_in("path") and op.auth == "admin"]
INCIDENT_CHANGE = {"status": "acknowledged", "owner": "ana"}


def path_like_ids() -> st.SearchStrategy[str]:
    """Ids no route may take: a dot-dot, a slash, a backslash, over the length limit, non-ASCII or control."""
    named = [v for k, v in HOSTILE_TEXT.items() if k not in ("empty", "reserved", "percent", "space")]
    made = st.builds(lambda a, sep, b: a + sep + b, st.text("abc", max_size=5),
                     st.sampled_from(["/", "..", "\\", "\x00", "é", "🔥", "\u202e", "\n"]), st.text("abc", max_size=5))
    return st.one_of(st.sampled_from(named), made, st.text("ab", min_size=301, max_size=400))


async def test_path_like_ids_are_refused_and_nothing_is_written(member, servers, figures):
    loop, tried = asyncio.get_running_loop(), Counter()
    incident = await member.runtime.incidents.open_manual("missed_heartbeat", reason="r", ts_start=member.runtime.clock.now())
    before = store_rows(member)
    auth = ((b"Authorization", b"Bearer " + ADMIN_TOKEN.encode()), (b"Content-Type", b"application/json"))

    @FUZZ
    @given(op=st.sampled_from(ID_WRITES), value=path_like_ids(), literal=st.booleans())
    @example(op=ID_WRITES[0], value="../", literal=True)
    @example(op=ID_WRITES[0], value="%2e%2e%2f", literal=True)
    @example(op=ID_WRITES[0], value="a" * 10_000, literal=False)
    @example(op=ID_WRITES[0], value="Zürich-名前", literal=False)
    def fuzz(op: Operation, value: str, literal: bool) -> None:
        target = op.path
        for param in op.params_in("path"):
            target = target.replace("{" + param["name"] + "}", spec_requests.encode_segment(value, literal).decode())
        body = json.dumps(INCIDENT_CHANGE).encode() if op.body_schema else None
        request = HttpRequest(op.method.upper(), target.encode(), auth, body, (("authorized", "True"),))
        answer = on_loop(loop, spec_requests.send(*servers["local"], request))
        tried[op.id] += 1
        assert 400 <= answer.status < 500, (op.id, value[:60], literal, answer.status, answer.body[:200])
        if not line_too_long(request):
            assert answer.content_type == "application/json", (op.id, value[:60], answer.body[:200])

    await run_hypothesis(fuzz)

    after = store_rows(member)
    assert after == before, "a refused id changed the store"
    assert not [row for row in after if "/" in row[1] or ".." in row[1]]
    assert (await member.runtime.incidents.get(incident["incidentId"]))["status"] == "open"
    for op_id, count in tried.items():
        figures.record("path_like_ids_tried", count, "requests", route=op_id)


# ------------------------------------------------------------------ 3. oversized bodies


BODY_ROUTES = [op for op in OPERATIONS if op.method in ("post", "patch", "put")]


def limit_of(op: Operation) -> int:
    return {"webhook": webhook_route.MAX_BODY}.get(op.route_class, SMALL_BODY)


OVERSIZED = [(op, framing) for op in BODY_ROUTES for framing in ("content-length", "chunked", "gzip-bomb")
             # a route that takes no body never inflates one: a small gzip body there is not read at all
             if framing != "gzip-bomb" or op.body_schema is not None]


@pytest.mark.parametrize("op, framing", OVERSIZED, ids=lambda v: v.id if isinstance(v, Operation) else v)
async def test_an_oversized_body_is_a_json_413(op, framing, member, servers):
    """Over the route's limit: by Content-Length, chunked with no Content-Length, or a few kB of gzip."""
    right = SECRETS.for_op(op)
    target = op.path
    for param in op.params_in("path"):
        target = target.replace("{" + param["name"] + "}", "x" * 20)
    size = limit_of(op) + 1
    pad = b'{"pad": "' + b"x" * size + b'"}'
    body = tuple(pad[i:i + 65536] for i in range(0, len(pad), 65536)) if framing == "chunked" else pad
    headers = [(b"Content-Type", b"application/json")]
    if framing == "gzip-bomb":  # a few kB on the wire, over the limit once decoded
        body = gzip.compress(pad)
        headers.append((b"Content-Encoding", b"gzip"))
    if right:
        headers.append((b"Authorization", b"Bearer " + right.encode()))
    before = store_rows(member)

    answer = await spec_requests.send(*servers["local"], HttpRequest(op.method.upper(), target.encode(), tuple(headers), body))

    assert answer.status == 413, (op.id, framing, answer.status, answer.body[:200])
    assert "error" in json.loads(answer.body)
    assert store_rows(member) == before


UNDECODABLE = {
    "gzip-not-gzip": ((b"Content-Encoding", b"gzip"),), "deflate-not-deflate": ((b"Content-Encoding", b"deflate"),),
    "nested-30k": (), "not-utf8": (),
}


@pytest.mark.parametrize("op", [op for op in BODY_ROUTES if op.body_schema is not None], ids=lambda op: op.id)
@pytest.mark.parametrize("case", sorted(UNDECODABLE))
async def test_a_body_that_does_not_decode_is_a_json_400(op, case, member, servers):
    """A Content-Encoding the body does not have, JSON nested 30 000 deep, bytes that are not UTF-8."""
    body = {"nested-30k": b"[" * 30_000 + b"]" * 30_000, "not-utf8": b'{"a": "\xff\xfe"}'}.get(case, b'{"a": 1}')
    headers = ((b"Authorization", b"Bearer " + SECRETS.for_op(op).encode()), (b"Content-Type", b"application/json"),
               *UNDECODABLE[case])
    request = HttpRequest(op.method.upper(), op.path.replace("{incidentId}", "some-id").encode(), headers, body,
                          (("authorized", "True"),))

    answer = await spec_requests.send(*servers["local"], request)

    assert answer.status == 400, (op.id, case, answer.status, answer.body[:200])
    check_answer(op, request, answer, where="local")


# ------------------------------------------------------------------ 4. the webhook with Alertmanager-shaped payloads


def odd_labels() -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.text(max_size=30), st.sampled_from(["", "alertname", "__name__", "a" * 2000, "🔥", "a.b"]))
    values = st.one_of(st.text(max_size=50), st.just("x" * 20_000), st.integers(), st.none(), st.lists(st.text(), max_size=2))
    return st.one_of(st.dictionaries(keys, values, max_size=8),
                     st.integers(130, 400).map(lambda n: {f"l{i}": "v" for i in range(n)}),  # more than 128 labels
                     st.sampled_from([None, [], "labels", 7]))


@st.composite
def alertmanager_payloads(draw) -> tuple[str, dict[str, Any] | Any]:
    """(kind, payload): a valid group, or one with odd labels, missing fields or wrong types."""
    n = draw(st.integers(0, 10_000))
    items = [alert(n + i, fingerprint=f"{n + i:016x}") for i in range(draw(st.integers(1, 3)))]
    body = webhook(*items, groupKey=f"fuzz-{n}")
    kind = draw(st.sampled_from(["valid", "labels", "missing", "wrong-type", "many-alerts"]))
    target = draw(st.sampled_from([body, *body["alerts"]]))
    if kind == "labels":
        key = draw(st.sampled_from(["labels", "annotations", "groupLabels", "commonLabels"]))
        (body["alerts"][0] if key in ("labels", "annotations") else body)[key] = draw(odd_labels())
    elif kind == "missing":
        target.pop(draw(st.sampled_from(sorted(target))))
    elif kind == "wrong-type":
        target[draw(st.sampled_from(sorted(target)))] = draw(st.one_of(st.integers(), st.none(), st.booleans(),
                                                                      st.lists(st.integers(), max_size=2),
                                                                      st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
                                                                      st.sampled_from(list(HOSTILE_TEXT.values()))))
    elif kind == "many-alerts":
        body["alerts"] = body["alerts"] * draw(st.integers(50, 400))
    return kind, body


async def test_the_webhook_takes_any_alertmanager_shaped_payload_without_a_5xx(member, servers, caplog, figures):
    loop, logs, seen = asyncio.get_running_loop(), LogScan(caplog), Counter()
    op = next(op for op in OPERATIONS if op.route_class == "webhook")
    headers = ((b"Authorization", b"Bearer " + SECRETS.webhook.encode()), (b"Content-Type", b"application/json"))

    @FUZZ
    @given(case=alertmanager_payloads())
    def fuzz(case) -> None:
        kind, payload = case
        event(f"payload={kind}")
        request = HttpRequest("POST", op.path.encode(), headers, json.dumps(payload).encode(), (("authorized", "True"),))
        answer = on_loop(loop, spec_requests.send(*servers["local"], request))
        seen[kind] += 1
        seen[f"{kind} {answer.status}"] += 1
        check_answer(op, request, answer, where="local")
        if kind == "valid":
            assert answer.status == 200, answer.body[:300]
            receipt = json.loads(answer.body)
            stored = on_loop(loop, member.runtime.incidents.list(limit=1000))
            ids = {i["incidentId"] for i in stored}
            assert receipt["status"] == "stored" and set(receipt["incidents"]) <= ids, receipt

    await run_hypothesis(fuzz)

    assert seen["valid"] > 0 and sum(v for k, v in seen.items() if " " not in k and k != "valid") > 0
    figures.record("webhook_payloads", sum(v for k, v in seen.items() if " " not in k), "requests",
                   **{k.replace(" ", "_"): v for k, v in sorted(seen.items()) if " " in k})
    assert not logs.leaks()


# ------------------------------------------------------------------ 5. the store down


# One request per admin write that passes every check before the store: with the store down, each is a 503.
_ADMIN = "/api/admin/longrun"
VALID_WRITES = [
    (op, op.path.format(type="outbound", day="2026-02-28", lockName="heartbeat-scheduler", incidentId="some-id",
                        id="mw-20260301T0800-abc"), body)
    for op, body in (
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/probes/{{type}}/run"), None),
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/rollups/{{day}}"), None),
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/locks/{{lockName}}/release"), None),
        (next(o for o in OPERATIONS if o.id == f"PATCH {_ADMIN}/config"), {"expectedAccounts": 4}),
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/incidents"),
         {"type": "missed_heartbeat", "reason": "fuzz", "tsStart": "2026-03-01T08:00:00Z"}),
        (next(o for o in OPERATIONS if o.id == f"PATCH {_ADMIN}/incidents/{{incidentId}}"), {"status": "acknowledged"}),
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/maintenance"), {"durationSec": 600, "reason": "fuzz"}),
        (next(o for o in OPERATIONS if o.id == f"POST {_ADMIN}/maintenance/{{id}}/end"), None),
    )
]


def test_every_admin_write_has_a_valid_request_for_the_outage_test():
    assert {op for op, _, _ in VALID_WRITES} == {op for op in OPERATIONS if op.auth == "admin"}


async def close_sqlite(member) -> None:
    await member.store.inner.close()


async def inject_outage(member) -> None:
    member.store.down = True


@pytest.mark.parametrize("outage", [inject_outage, close_sqlite], ids=["injected", "sqlite-closed"])
async def test_with_the_store_down_writes_answer_503_with_json_and_no_trace(outage, member, servers, caplog, figures):
    loop, logs, seen = asyncio.get_running_loop(), LogScan(caplog), Counter()
    await outage(member)
    webhook_op = next(op for op in OPERATIONS if op.route_class == "webhook")
    valid_alert = webhook(alert(1), groupKey="store-down")
    good = HttpRequest("POST", webhook_op.path.encode(), ((b"Authorization", b"Bearer " + SECRETS.webhook.encode()),),
                       json.dumps(valid_alert).encode(), (("authorized", "True"),))
    answer = await spec_requests.send(*servers["local"], good)
    assert answer.status == 503, answer.body[:300]
    assert "retry" in json.loads(answer.body)["error"] and int(answer.headers["retry-after"]) > 0
    check_answer(webhook_op, good, answer, where="local", store_up=False)

    for op, target, body in VALID_WRITES:
        request = HttpRequest(op.method.upper(), target.encode(), (
            (b"Authorization", b"Bearer " + ADMIN_TOKEN.encode()), (b"Content-Type", b"application/json")),
            None if body is None else json.dumps(body).encode(), (("authorized", "True"),))
        answer = await spec_requests.send(*servers["local"], request)
        assert answer.status == 503, (op.id, answer.status, answer.body[:300])
        check_answer(op, request, answer, where="local", store_up=False)

    @FUZZ
    @given(op=st.sampled_from([op for op in OPERATIONS if op.route_class != "public"]), data=st.data(),
           right_token=st.booleans())
    def fuzz(op: Operation, data, right_token: bool) -> None:
        request = data.draw(spec_requests.requests_for(op, SECRETS))
        if right_token and op.auth != "open":  # most hostile requests stop at the token; half of them get past it
            headers = tuple(h for h in request.headers if h[0] != b"Authorization")
            request = HttpRequest(request.method, request.target,
                                  headers + ((b"Authorization", b"Bearer " + SECRETS.for_op(op).encode()),),
                                  request.body, request.labels).with_labels(authorized="True", auth="valid")
        answer = on_loop(loop, spec_requests.send(*servers["local"], request))
        seen["requests"] += 1
        seen[answer.status] += 1
        check_answer(op, request, answer, where="local", store_up=False)

    await run_hypothesis(fuzz)

    other_5xx = sum(v for k, v in seen.items() if isinstance(k, int) and k >= 500 and k != 503)
    figures.record("store_down_requests", seen["requests"], "requests", outage=outage.__name__,
                   answered_503=seen[503], answered_5xx_other=other_5xx)
    assert not logs.leaks()


# ------------------------------------------------------------------ 6. tokens never in logs, even sent wrong


async def test_no_token_reaches_a_log_record_whatever_a_client_sends(member, servers, caplog, figures):
    """Every operation, every kind of Authorization (the right token, near misses, other services' tokens),
    bodies that carry the tokens as values and keys: not one record names a token, right or wrong.
    (Tokens in the query string are left out: the test server's access log prints the request line,
    the service runs without an access log, and test_auth.py shows such a token is refused.)"""
    loop, logs = asyncio.get_running_loop(), LogScan(caplog)
    tokens_in_body = st.sampled_from(SECRETS.all()).map(lambda t: json.dumps({"owner": t, t: t, "reason": t}).encode())

    @FUZZ
    @given(op=st.sampled_from(OPERATIONS), data=st.data(), body=tokens_in_body)
    def fuzz(op: Operation, data, body: bytes) -> None:
        request = data.draw(spec_requests.requests_for(op, SECRETS))
        if op.method != "get":
            request = HttpRequest(request.method, request.target, request.headers, body, request.labels)
        on_loop(loop, spec_requests.send(*servers[data.draw(st.sampled_from(["local", "outside"]))], request))

    await run_hypothesis(fuzz)

    leaks = logs.leaks()
    figures.record("log_records_scanned", len(caplog.records), "records")
    figures.record("token_leaks_in_logs", len(leaks), "records")
    assert len(caplog.records) > 0, "nothing was logged: the scan would prove nothing"
    assert not leaks, leaks[:5]


REFUSED_BY_THE_PARSER = [b"Bearer " + ADMIN_TOKEN.encode() + b"\x01", b"Bearer " + ADMIN_TOKEN.encode() + b"x" * 9000]


async def test_a_header_line_the_http_parser_refuses_leaves_no_token_in_the_log(member, servers, caplog):
    """aiohttp's HTTP parser refuses these before the app; the server logs one line per cause and
    minute, quoting nothing of the request (issue 18, items 7 and 8), and counts each refusal."""
    logs = LogScan(caplog)
    for _ in range(3):
        for header in REFUSED_BY_THE_PARSER:
            answer = await spec_requests.send(*servers["local"], HttpRequest("GET", b"/health", ((b"Authorization", header),)))
            assert answer.status == 400
    split = b"Bearer " + ADMIN_TOKEN[:5].encode() + b"\x01" + ADMIN_TOKEN[5:].encode()
    answer = await spec_requests.send(*servers["local"], HttpRequest("GET", b"/health", ((b"Authorization", split),)))
    assert answer.status == 400
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ADMIN_TOKEN[5:] not in logged and ADMIN_TOKEN[:-1] not in logged, "a token split by a control character"
    refusals = [r for r in caplog.records if r.name == "longrun.web" and "refused a request" in r.getMessage()]
    assert len(refusals) == 2, [r.getMessage() for r in refusals]  # a control character, a line too long
    assert not any(r.exc_info for r in refusals), "no traceback for a client's garbage"
    assert member.runtime.http.refused == {"malformed": 4, "header_too_long": 3}
    assert not logs.leaks()


async def test_a_header_line_the_http_parser_refuses_is_not_echoed_with_its_token(member, servers):
    for header in REFUSED_BY_THE_PARSER + [b"Bearer " + ADMIN_TOKEN[:5].encode() + b"\x01" + ADMIN_TOKEN[5:].encode()]:
        answer = await spec_requests.send(*servers["local"], HttpRequest("GET", b"/health", ((b"Authorization", header),)))
        assert answer.status == 400
        assert answer.content_type == "application/json"
        assert ADMIN_TOKEN.encode() not in answer.body
        assert ADMIN_TOKEN[5:].encode() not in answer.body and ADMIN_TOKEN[:5].encode() not in answer.body
        assert b"xxxx" not in answer.body, "the over-long line is not quoted either"


# ------------------------------------------------------------------ 7. timing-safe comparison


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.auth != "open"], ids=lambda op: op.id)
async def test_every_token_check_goes_through_hmac_compare_digest(op, member, servers, monkeypatch):
    """Spy on ``hmac.compare_digest``: every request that presents a bearer token to a protected
    route is compared with it, against the route's own token, whatever the token's length."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    right = SECRETS.for_op(op).encode()
    target = op.path
    for param in op.params_in("path"):
        target = target.replace("{" + param["name"] + "}", "x" * 20)
    for given_token in (right, right[:-1], right + b"x", b"x", b"wrong-token-of-another-length", b"\xff\xfe"):
        calls.clear()
        request = HttpRequest(op.method.upper(), target.encode(), ((b"Authorization", b"Bearer " + given_token),), b"{}")
        answer = await spec_requests.send(*servers["outside"], request)
        assert answer.status < 500, (op.id, given_token, answer.body[:200])
        assert any(right in (a, b) for a, b in calls), (op.id, given_token, "compared without compare_digest")
        assert (answer.status in (401, 403)) is (given_token != right), (op.id, given_token, answer.status)


def test_both_token_checks_use_the_one_shared_comparison():
    """The admin API and the webhook compare tokens with the same function (one place to get it right)."""
    assert webhook_route.token_matches is admin_auth.token_matches


# ------------------------------------------------------------------ the strategies do generate the hostile cases


def labels_drawn(strategy: st.SearchStrategy, label: Callable[[Any], str], n: int) -> set[str]:
    """The labels of ``n`` draws (derandomized: the same every run, so the check cannot flake)."""
    seen: set[str] = set()

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value) -> None:
        seen.add(label(value))

    collect()
    return seen


def test_the_path_strategy_generates_every_named_hostile_value():
    param = {"name": "id", "in": "path", "schema": {"type": "string", "pattern": "^[a-z]{1,5}$"}}
    seen = labels_drawn(spec_requests.path_values(param), lambda pair: pair[0], 1500)
    assert seen >= set(HOSTILE_TEXT) | {"valid", "text"}


def test_the_authorization_strategy_generates_every_named_case():
    named = {label for label, _, _ in spec_requests.named_authorizations(ADMIN_TOKEN, SECRETS)}
    seen = labels_drawn(spec_requests.authorizations(ADMIN_TOKEN, SECRETS), lambda case: case[0], 1500)
    assert seen >= named | {"arbitrary"}


def test_the_body_strategy_generates_every_kind():
    op = next(op for op in OPERATIONS if op.id == "POST /api/admin/longrun/incidents")
    seen = labels_drawn(spec_requests.bodies(op), lambda body: body[2], 300)
    assert seen >= {"none", "valid", "almost-valid", "arbitrary-json", "bytes", "valid+chunked", "almost-valid+chunked"}
