"""Who may call the admin API and the status page: a pure decision, then a thin aiohttp adapter.

The rule (CONTRACT.md, "HTTP"):

- **Mutations** need ``Authorization: Bearer $LONGRUN_ADMIN_TOKEN``, from
  anywhere, loopback included. Without a configured token they all answer 403
  with a hint saying how to enable them.
- **Reads** (the GET routes and the status page) are open to loopback clients
  (127.0.0.0/8, ::1). Other clients need the token; without a configured token
  they get 403 with the same hint. A loopback client that *sends* an
  Authorization header must send the right one (a script with a stale token
  learns it before it tries a mutation).
- A request that went through a reverse proxy (``Forwarded``,
  ``X-Forwarded-For`` or ``X-Real-IP`` present) is never treated as loopback:
  behind nginx on the same host every client would look local otherwise.
- Tokens are compared with ``hmac.compare_digest`` on bytes, never echoed in an
  answer, and never read from the query string.

    refused = decide(Access.READ, Caller(remote="10.0.0.7", authorization=None), admin_token="s3cret")
    refused.status           # 401, with WWW-Authenticate: Bearer
    refusal(request, Access.WRITE, admin_token)   # None when allowed, else the JSON answer
"""

from __future__ import annotations

import logging
import sys
import traceback
import ipaddress
from dataclasses import dataclass, field
from enum import Enum
from typing import AnyStr

from aiohttp import web

from exporter.domain.bearer import bearer_token, token_matches

ENABLE_HINT = (
    "set LONGRUN_ADMIN_TOKEN on the server and send the header "
    "'Authorization: Bearer <LONGRUN_ADMIN_TOKEN>'"
)
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
CHALLENGE = 'Bearer realm="longrun"'


class Access(Enum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Caller:
    """What a request says about its sender: peer address, proxy hint and Authorization header."""

    remote: str | None
    authorization: str | None = None
    proxied: bool = False


@dataclass(frozen=True)
class Refusal:
    """A refusal: HTTP status, a message safe to show, and headers (WWW-Authenticate on 401)."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def is_loopback(remote: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything unparsable or None."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def decide(access: Access, caller: Caller, admin_token: str | None) -> Refusal | None:
    """None when the caller may go on, else the refusal. Pure: no request, no clock."""
    local = is_loopback(caller.remote) and not caller.proxied
    if not admin_token:
        if access is Access.WRITE:
            return Refusal(403, f"admin API mutations are disabled: {ENABLE_HINT}")
        if local:
            return None
        return Refusal(403, f"admin API reads are open to loopback clients only; to read from elsewhere {ENABLE_HINT}")
    if caller.authorization is None:
        if access is Access.READ and local:
            return None
        return _unauthorized("missing Authorization header: send 'Authorization: Bearer <LONGRUN_ADMIN_TOKEN>'", None)
    token = bearer_token(caller.authorization)
    if token is None:
        return _unauthorized("malformed Authorization header: expected 'Bearer <LONGRUN_ADMIN_TOKEN>'", "invalid_request")
    if not token_matches(token, admin_token):
        return _unauthorized("wrong bearer token", "invalid_token")
    return None


def _unauthorized(message: str, error: str | None) -> Refusal:
    challenge = CHALLENGE + (f', error="{error}"' if error else "")
    return Refusal(401, message, {"WWW-Authenticate": challenge})


def redact(body: AnyStr, secret: str | None) -> AnyStr:
    """``body`` with every occurrence of ``secret`` masked: an answer never carries the token,
    not even when a client sent it back as a field name or an incident's owner."""
    if not secret:
        return body
    if isinstance(body, bytes):
        return body.replace(secret.encode("utf-8", "surrogateescape"), b"[redacted]")
    return body.replace(secret, "[redacted]")


def caller_of(request: web.BaseRequest) -> Caller:
    return Caller(
        remote=request.remote,
        authorization=request.headers.get("Authorization"),
        proxied=any(name in request.headers for name in PROXY_HEADERS),
    )


def refusal(request: web.BaseRequest, access: Access, admin_token: str | None) -> web.Response | None:
    """The JSON refusal for this request, or None when it may proceed."""
    refused = decide(access, caller_of(request), admin_token)
    if refused is None:
        return None
    return web.json_response({"error": refused.message}, status=refused.status, headers=refused.headers)


class RedactingLog(logging.LoggerAdapter):
    """aiohttp's server logger with the secrets masked. Its HTTP parser quotes a header line it
    refuses (``Authorization: Bearer <token>\\x01``, or one over 8190 bytes) in the exception it logs."""

    def __init__(self, logger: logging.Logger, secrets) -> None:
        super().__init__(logger, {})
        self.secrets = tuple(secret for secret in secrets if secret)

    def log(self, level, msg, *args, exc_info=None, **kwargs) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = f"{msg} {args!r}"
        if exc_info:
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            text += "\n" + "".join(traceback.format_exception(*exc_info))
        for secret in self.secrets:
            text = redact(text, secret)
        self.logger.log(level, "%s", text, **kwargs)
