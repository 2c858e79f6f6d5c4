"""docs/openapi.yaml as hypothesis strategies of hostile HTTP requests, sent over a raw loopback socket.

    ops = operations(load_spec())                      # every (method, path) the description lists
    request = requests_for(ops[0], secrets)            # a strategy of HttpRequest
    answer = await send(host, port, request.example()) # status, headers, body bytes

A raw socket rather than aiohttp's client so that a test controls every byte:
percent-encoded or literal ``../`` in a path, non-UTF-8 bytes in the
Authorization header, a chunked body with no Content-Length. What the
requests hold is labelled (``labels``) so a test can count and ``event`` it.

The schema subset handled is the one ``exporter.web.openapi`` writes: objects
with properties, strings with pattern / enum / format / length, integers with a
minimum, ``nullable``. A new route in the description is fuzzed without a change here.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

import yaml
from hypothesis import strategies as st

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")
# Times a body may carry: before the web fixtures' fake clock (2026-03-01 23:00 UTC), so "not in the future".
EARLIEST = datetime(2025, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2026, 3, 1, 22, 0, tzinfo=timezone.utc)

# The named hostile values every path parameter, query value and body string is tried with.
HOSTILE_TEXT: dict[str, str] = {
    "dotdot-slash": "../",
    "dotdot": "..",
    "traversal": "../../config/current",
    "encoded-dotdot": "%2e%2e%2f",
    "encoded-traversal": "..%2F..%2Fconfig%2Fcurrent",
    "long-10k": "a" * 10_000,
    "unicode": "Zürich-名前",
    "rtl-override": "\u202eevil",
    "emoji": "🔥💥",
    "nul": "a\x00b",
    "control": "\x07\x1b[31m",
    "crlf": "x\r\nSet-Cookie: a=b",
    "lone-surrogate": "\udcff",
    "space": " ",
    "empty": "",
    "slash": "a/b",
    "backslash": "..\\..\\x",
    "percent": "%",
    "reserved": "__reserved__",
}


@dataclass(frozen=True)
class Operation:
    """One (method, path) of the description, with what a client may send and what it is promised."""

    method: str
    path: str
    spec: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def params(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    def params_in(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.params if p["in"] == where]

    @property
    def body_schema(self) -> dict[str, Any] | None:
        body = self.spec.get("requestBody")
        return None if body is None else body["content"]["application/json"]["schema"]

    @property
    def schemes(self) -> set[str]:
        """Security schemes that grant access; ``""`` when the operation is (also) open."""
        return {name for requirement in self.spec.get("security", [{}]) for name in (requirement or {"": []})}

    @property
    def auth(self) -> str:
        """``open`` (no token), ``read`` (open to loopback, token elsewhere), ``admin`` or ``webhook``."""
        schemes = self.schemes
        if "webhookAuth" in schemes:
            return "webhook"
        if "bearerAuth" in schemes:
            return "read" if "" in schemes else "admin"
        return "open"

    @property
    def route_class(self) -> str:
        if self.path == "/api/alertmanager":
            return "webhook"
        if self.path.startswith("/api/probes/inbound/"):
            return "inbound"
        if self.path.startswith("/api/admin/"):
            return "admin-write" if self.method != "get" else "admin-read"
        return "public"

    @property
    def statuses(self) -> set[int]:
        return {int(code) for code in self.spec["responses"]}

    def ok_content_types(self) -> set[str]:
        return {ctype for code, response in self.spec["responses"].items() if code.startswith("2")
                for ctype in (response.get("content") or {})}


def load_spec(path: Path = DOC) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [Operation(method, path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items() if method in METHODS]


# ------------------------------------------------------------------ values from a schema


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid per ``schema`` (the subset exporter.web.openapi writes)."""
    base = _from_schema(schema)
    return st.one_of(st.none(), base) if schema.get("nullable") else base


def _from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return _strings(schema)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -(2**31)), max_value=schema.get("maximum", 10_000))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if kind == "object":
        return _objects(schema)
    return json_values()


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 60)
    if schema.get("format") == "date-time":
        return st.datetimes(EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None),
                            timezones=st.just(timezone.utc)).map(_iso)
    if schema.get("format") == "date":
        return st.dates(date(2025, 1, 1), date(2026, 2, 27)).map(date.isoformat)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    printable = st.characters(blacklist_categories=("Cs", "Cc"))
    return st.text(printable, min_size=max(low, 1), max_size=min(high, 60)).filter(lambda s: s.strip())


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    if not props:
        return st.dictionaries(st.text(min_size=1, max_size=10), json_values(), min_size=schema.get("minProperties", 0),
                               max_size=4)
    required = set(schema.get("required", []))
    strategy = st.fixed_dictionaries({k: from_schema(v) for k, v in props.items() if k in required},
                                     optional={k: from_schema(v) for k, v in props.items() if k not in required})
    return strategy.filter(lambda d: len(d) >= schema.get("minProperties", 0))


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON: deep, wide, huge integers, odd keys."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                       st.sampled_from(list(HOSTILE_TEXT.values())))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=max_leaves)


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(list(HOSTILE_TEXT.values())), st.text(max_size=40),
                     st.text(st.characters(codec="utf-8"), max_size=40))


def almost_valid(valid: st.SearchStrategy[dict[str, Any]], schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid object with one thing wrong: a field dropped, of the wrong type, hostile, or unknown."""
    names = sorted(schema.get("properties", {})) or ["x"]
    wrong = st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.booleans(), st.just({}),
                      st.just("x" * 70_000), hostile_text())

    @st.composite
    def mutate(draw) -> dict[str, Any]:
        body = dict(draw(valid))
        how = draw(st.sampled_from(["drop", "retype", "unknown"]))
        name = draw(st.sampled_from(names))
        if how == "drop":
            body.pop(name, None)
        elif how == "retype":
            body[name] = draw(wrong)
        else:
            body[draw(st.sampled_from(["", "x", "__proto__", "a.b", "a..b", "🔥", "token"]))] = draw(json_values(4))
        return body

    return mutate()


# ------------------------------------------------------------------ the request


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: bytes  # path and query string as sent on the request line
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes | tuple[bytes, ...] | None = None  # a tuple is sent chunked, with no Content-Length
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    def with_labels(self, **labels: str) -> "HttpRequest":
        return replace(self, labels=tuple({**dict(self.labels), **labels}.items()))


@dataclass(frozen=True)
class Secrets:
    admin: str
    webhook: str
    telegram: str

    def all(self) -> tuple[str, ...]:
        return (self.admin, self.webhook, self.telegram)

    def for_op(self, op: Operation) -> str | None:
        return {"admin": self.admin, "read": self.admin, "webhook": self.webhook}.get(op.auth)


def named_authorizations(right: str | None, secrets: Secrets) -> list[tuple[str, bytes | None, bool]]:
    """(label, raw Authorization header or None, whether it carries ``right``, the route's token)."""
    tok = (right or secrets.admin).encode()
    other = secrets.webhook if right == secrets.admin else secrets.admin
    named: list[tuple[str, bytes | None, bool]] = [
        ("none", None, False),
        ("valid", b"Bearer " + tok, right is not None),
        ("valid-lowercase", b"bearer " + tok, right is not None),
        ("valid-two-spaces", b"Bearer  " + tok, right is not None),
        ("wrong", b"Bearer wrong-token", False),
        ("prefix", b"Bearer " + tok[:-1], False),
        ("suffix", b"Bearer " + tok + b"x", False),
        ("other-service-token", b"Bearer " + other.encode(), False),
        ("telegram-token", b"Bearer " + secrets.telegram.encode(), False),
        ("scheme-only", b"Bearer", False),
        ("scheme-space", b"Bearer ", False),
        ("two-spaces-x", b"Bearer  x", False),
        ("basic", b"Basic " + base64.b64encode(b"admin:" + tok), False),
        ("basic-token", b"Basic " + tok, False),
        ("token-alone", tok, False),
        ("token-then-extra", b"Bearer " + tok + b" extra", False),
        ("tab", b"Bearer\t" + tok, False),
        ("non-ascii", "Bearer Zürich-名前".encode(), False),
        ("non-utf8", b"Bearer \xff\xfe\xfd", False),
        ("valid-then-non-utf8", b"Bearer " + tok + b"\xff", False),
        ("surrogate-escaped", b"Bearer \xed\xb3\xbf", False),
        ("long-8000", b"Bearer " + b"x" * 8000, False),
    ]
    return named


def authorizations(right: str | None, secrets: Secrets) -> st.SearchStrategy[tuple[str, bytes | None, bool]]:
    """A named case, or ``Bearer`` and up to 60 arbitrary bytes the HTTP parser accepts in a header."""
    # Bytes the HTTP parser lets through in a header value (visible ASCII, tab, obs-text).
    header_byte = st.sampled_from([bytes([b]) for b in (9, *range(0x20, 0x7F), *range(0x80, 0x100))])
    arbitrary = st.lists(header_byte, max_size=60).map(lambda parts: ("arbitrary", b"Bearer " + b"".join(parts), False))
    return st.one_of(st.sampled_from(named_authorizations(right, secrets)), arbitrary)


def encode_segment(value: str, literal: bool) -> bytes:
    """A path segment: fully percent-encoded, or ``literal`` (dots, slashes and percent signs as given)."""
    safe = "/%.:@!$&'()*+,;=~-_" if literal else ""
    return quote(value, safe=safe, encoding="utf-8", errors="surrogateescape").encode("ascii")


def encode_query(pairs: Iterable[tuple[str, str]]) -> bytes:
    return b"&".join(encode_segment(k, False) + b"=" + encode_segment(v, False) for k, v in pairs)


def path_values(param: dict[str, Any]) -> st.SearchStrategy[tuple[str, str]]:
    """(label, value) for a path parameter: valid per schema, a named hostile value, or any text."""
    return st.one_of(from_schema(param["schema"]).map(lambda v: ("valid", str(v))),
                     st.sampled_from(sorted(HOSTILE_TEXT.items())),
                     st.text(min_size=1, max_size=40).map(lambda v: ("text", v)))


@st.composite
def _path(draw, op: Operation) -> tuple[bytes, str]:
    target, worst = op.path, "valid"
    for param in op.params_in("path"):
        label, value = draw(path_values(param))
        literal = draw(st.booleans())
        segment = encode_segment(value, literal).decode("ascii")
        target = target.replace("{" + param["name"] + "}", segment)
        worst = label if label != "valid" else worst
    return target.encode("ascii"), worst


@st.composite
def _query(draw, op: Operation) -> tuple[bytes, str]:
    pairs: list[tuple[str, str]] = []
    kind = "none"
    for param in op.params_in("query"):
        if draw(st.booleans()):
            hostile = draw(st.booleans())
            value = draw(hostile_text() if hostile else from_schema(param["schema"]).map(str))
            pairs.append((param["name"], value))
            kind = "hostile" if hostile else ("valid" if kind == "none" else kind)
    extra = draw(st.sampled_from(["none", "unknown", "repeated", "secret-name"]))
    if extra == "unknown":
        pairs.append((draw(hostile_text()), draw(hostile_text())))
    elif extra == "repeated" and pairs:
        pairs.append(pairs[0])
    elif extra == "secret-name":
        pairs.append((draw(st.sampled_from(["token", "access_token", "Authorization"])), "not-a-secret"))
    kind = extra if extra != "none" else kind
    return (b"?" + encode_query(pairs) if pairs else b""), kind


CONTENT_TYPES = [None, b"application/json", b"application/json; charset=utf-8", b"text/plain",
                 b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b"application/xml",
                 b"application/json; charset=latin-1", b"*/*"]


@st.composite
def bodies(draw, op: Operation) -> tuple[bytes | tuple[bytes, ...] | None, bytes | None, str]:
    schema = op.body_schema
    kinds = ["none", "arbitrary-json", "bytes"]
    if schema is not None:
        kinds += ["valid", "valid", "almost-valid", "almost-valid"]
    elif op.method == "get":
        kinds = ["none", "none", "arbitrary-json", "bytes"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None, None, kind
    if kind == "bytes":
        raw = draw(st.one_of(st.binary(max_size=200), st.sampled_from([b"{", b"\xff\xfe", b"[" * 3000, b"null",
                                                                       b'{"a": NaN}', b'{"a": 1e999}'])))
    else:
        valid = from_schema(schema) if schema is not None else st.none()
        value = draw({"valid": valid, "almost-valid": almost_valid(valid, schema or {}),
                      "arbitrary-json": json_values()}[kind])
        raw = json.dumps(value).encode()
    ctype = b"application/json" if kind in ("valid", "almost-valid") and draw(st.booleans()) else draw(st.sampled_from(CONTENT_TYPES))
    if draw(st.integers(0, 9)) == 0:
        return tuple(raw[i:i + 7] for i in range(0, len(raw), 7)) or (b"",), ctype, kind + "+chunked"
    return raw, ctype, kind


@st.composite
def requests_for(draw, op: Operation, secrets: Secrets, extra_auth: st.SearchStrategy | None = None) -> HttpRequest:
    """Any request to ``op``: hostile path, query, Authorization, proxy headers, body and content type."""
    path, path_kind = draw(_path(op))
    query, query_kind = draw(_query(op))
    auth_label, auth, authorized = draw(authorizations(secrets.for_op(op), secrets))
    body, ctype, body_kind = draw(bodies(op))
    headers: list[tuple[bytes, bytes]] = []
    if auth is not None:
        headers.append((b"Authorization", auth))
    if ctype is not None:
        headers.append((b"Content-Type", ctype))
    extra = draw(st.sampled_from(EXTRA_HEADERS))
    headers += list(extra)
    proxied = any(name in PROXY_HEADERS for name, _ in extra)
    return HttpRequest(op.method.upper(), path + query, tuple(headers), body, (
        ("op", op.id), ("path", path_kind), ("query", query_kind), ("auth", auth_label),
        ("authorized", str(authorized)), ("body", body_kind), ("proxied", str(proxied)),
        ("extra", b",".join(name for name, _ in extra).decode() or "none")))


PROXY_HEADERS = (b"X-Forwarded-For", b"Forwarded", b"X-Real-IP")
# Headers besides Authorization and Content-Type: proxy hints (never loopback then), a second
# Authorization after the first, encodings the body does not have, an HTML error page asked for.
EXTRA_HEADERS: list[tuple[tuple[bytes, bytes], ...]] = [
    (), (), (), (),
    ((b"X-Forwarded-For", b"203.0.113.9"),), ((b"Forwarded", b"for=127.0.0.1"),), ((b"X-Real-IP", b"127.0.0.1"),),
    ((b"Authorization", b"Bearer wrong-token"),),
    ((b"Content-Encoding", b"gzip"),), ((b"Content-Encoding", b"br"),), ((b"Content-Encoding", b"deflate"),),
    ((b"Accept", b"text/html"),), ((b"Expect", b"100-continue"),), ((b"Cookie", b"session=1"),),
    tuple((f"X-Fuzz-{i}".encode(), b"v" * 100) for i in range(90)),
]


def named_requests(op: Operation, secrets: Secrets) -> list[HttpRequest]:
    """The cases a run must always try, whatever hypothesis draws: every hostile path value
    (encoded and literal) with the right token, every named Authorization on a plain request."""
    out = []
    right = secrets.for_op(op)
    auth = ((b"Authorization", b"Bearer " + right.encode()),) if right else ()
    params = op.params_in("path")
    if params:
        for label, value in HOSTILE_TEXT.items():
            for literal in (False, True):
                target = op.path
                for param in params:
                    target = target.replace("{" + param["name"] + "}", encode_segment(value, literal).decode())
                out.append(HttpRequest(op.method.upper(), target.encode(), auth, None,
                                       (("op", op.id), ("path", label), ("query", "none"), ("auth", "valid"),
                                        ("authorized", str(bool(right))), ("body", "none"), ("proxied", "False"),
                                        ("extra", "none"))))
    plain = op.path
    for param in params:
        plain = plain.replace("{" + param["name"] + "}", "x" * 20)
    for label, header, authorized in named_authorizations(right, secrets):
        headers = () if header is None else ((b"Authorization", header),)
        out.append(HttpRequest(op.method.upper(), plain.encode(), headers, None,
                               (("op", op.id), ("path", "plain"), ("query", "none"), ("auth", label),
                                ("authorized", str(authorized)), ("body", "none"), ("proxied", "False"),
                                ("extra", "none"))))
    return out


# ------------------------------------------------------------------ sending


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lower-case names; values latin-1 decoded
    body: bytes
    raw_head: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


async def send(host: str, port: int, request: HttpRequest, timeout: float = 30.0) -> HttpAnswer:
    """One request on a fresh connection (``Connection: close``); the body is written while the answer is read,
    so a server that answers 413 before reading everything is heard."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [request.method.encode() + b" " + request.target + b" HTTP/1.1", b"Host: " + f"{host}:{port}".encode(),
                b"Connection: close"]
        head += [name + b": " + value for name, value in request.headers]
        if isinstance(request.body, tuple):
            head.append(b"Transfer-Encoding: chunked")
        elif request.body is not None:
            head.append(b"Content-Length: " + str(len(request.body)).encode())
        writer.write(b"\r\n".join(head) + b"\r\n\r\n")
        writing = asyncio.ensure_future(_write_body(writer, request.body))
        raw = await asyncio.wait_for(reader.read(), timeout)
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
    finally:
        writer.close()
    return parse_answer(raw)


async def _write_body(writer: asyncio.StreamWriter, body) -> None:
    try:
        if isinstance(body, tuple):
            for chunk in body:
                if chunk:
                    writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
        elif body:
            writer.write(body)
        await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server answered and closed before reading everything: what 413 may do


def parse_answer(raw: bytes) -> HttpAnswer:
    """The final answer (after any ``100 Continue``)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 1") and body.startswith(b"HTTP/"):
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or len(lines[0].split(b" ")) < 2:
        raise AssertionError(f"no HTTP answer: {raw[:200]!r}")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return HttpAnswer(status, headers, body, head)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out

