"""URLs without their secrets, for anything a person or a client may read.

    safe_url("https://bot:s3cret@hooks.example/send?token=abc#x")    # "https://hooks.example/send?[redacted]"
    scrub("ClientError: https://bot:s3cret@hooks.example/send?token=abc", "https://bot:s3cret@...")

A configured URL (``LONGRUN_TARGET_SEND_URL``, ``LONGRUN_PROBE_SENDER_URL``...)
may carry credentials as user-info (``user:password@``) or in its query string
(``?token=``). Neither may reach a probe's stored ``error``, the probes API,
the status page or the log. ``safe_url`` keeps scheme, host, port and path;
``scrub`` cleans free text (an HTTP client's error message quotes the URL,
sometimes re-encoded): every URL in it loses its user-info and query, and every
secret part of the URLs it is given is masked wherever it still appears.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "[redacted]"
# scheme://[userinfo@]rest-of-authority-and-path[?query][#fragment], up to a space or a quote
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@'\"<>]*@)?"
                  r"(?P<rest>[^?#\s'\"<>]*)(?P<query>\?[^#\s'\"<>]*)?(?P<fragment>#[^\s'\"<>]*)?")


def safe_url(url: str) -> str:
    """``url`` with user-info, query string and fragment removed (the query marked as ``?[redacted]``)."""
    return _URL.sub(_clean, url)


def scrub(text: str, *urls: str | None) -> str:
    """``text`` with every URL in it made safe, and every secret part of ``urls`` masked."""
    text = _URL.sub(_clean, text)
    for secret in sorted({s for url in urls if url for s in secrets_of(url)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def secrets_of(url: str) -> set[str]:
    """The parts of ``url`` that may be credentials, as written and percent-decoded/encoded:
    the user-info, the password, the query string and each query value (of 4 characters or more,
    so that ``?v=1`` does not mask every "1" of a message)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    found: set[str] = set()
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        found |= {userinfo, unquote(userinfo)}
        password = userinfo.partition(":")[2]
        if password:
            found |= {password, unquote(password), quote(unquote(password), safe="")}
    if parts.query:
        found |= {parts.query, unquote(parts.query)}
        for _, value in parse_qsl(parts.query, keep_blank_values=True):
            found |= {value, quote(value, safe="")}
    return {s for s in found if len(s) >= 4}


def _clean(match: re.Match) -> str:
    query = "?" + MASK if match.group("query") and len(match.group("query")) > 1 else ""
    return match.group("scheme") + match.group("rest") + query
