"""exporter/urls.py: URLs lose their user-info and query before anyone reads them (issue 18, item 2)."""

import pytest

from exporter.urls import MASK, safe_url, scrub, secrets_of


@pytest.mark.parametrize("url, safe", [
    ("https://bot:s3cret@hooks.example:8443/send?token=abc#part", "https://hooks.example:8443/send?[redacted]"),
    ("http://user@127.0.0.1/x", "http://127.0.0.1/x"),
    ("http://127.0.0.1:8080/status", "http://127.0.0.1:8080/status"),
    ("http://h/p?", "http://h/p"),
    ("not a url", "not a url"),
])
def test_safe_url_keeps_scheme_host_port_and_path_only(url, safe):
    assert safe_url(url) == safe


def test_scrub_cleans_every_url_in_a_message_and_the_secret_parts_wherever_they_are():
    url = "https://bot:p%40ss-word@hooks.example/send?token=abc123&v=1"
    message = ("ClientConnectorError: Cannot connect to host hooks.example:443 "
               "[URL('https://bot:p%40ss-word@hooks.example/send?token=abc123')] and later abc123, p@ss-word")
    cleaned = scrub(message, url)
    for secret in ("p%40ss-word", "p@ss-word", "abc123", "bot:"):
        assert secret not in cleaned, cleaned
    assert "hooks.example" in cleaned and MASK in cleaned
    assert "v=1" not in cleaned


def test_short_query_values_are_not_treated_as_secrets():
    assert "1" not in secrets_of("http://h/p?v=1")
    assert scrub("answered 1 time", "http://h/p?v=1") == "answered 1 time"
