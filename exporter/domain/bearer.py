"""``Authorization: Bearer <token>``: parsing the header and comparing the token, for every route that takes one.

    given = bearer_token(request.headers.get("Authorization"))   # None when missing or malformed
    allowed = given is not None and token_matches(given, settings.admin_token)

The admin API (``exporter.web.auth``) and the Alertmanager webhook
(``alerting.webhook``) both call these two functions: one place to get the
parsing and the constant-time comparison right.
"""

from __future__ import annotations

import hmac


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Bearer <token>`` (scheme case-insensitive); None when malformed."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(ch.isspace() for ch in token):
        return None
    return token


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison on bytes (a non-ASCII header still compares, never raises)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))
