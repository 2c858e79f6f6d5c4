"""Credentials in the probe URLs never leave the process (issue 18, item 2).

``LONGRUN_TARGET_SEND_URL``, ``LONGRUN_PROBE_SENDER_URL`` and ``LONGRUN_TARGET_URL``
may carry ``user:password@`` and ``?token=``. Whatever goes wrong (a refusal, a
timeout, nobody listening, an unusable host), neither reaches the probe's stored
``error``, the probes API, the status page, the incident opened for it, or the log.
"""

from __future__ import annotations

import logging
import socket

import pytest

from exporter.web.app import create_app
from tests.jobs.test_probes import runtime_for, service, url  # noqa: F401 - fixtures

PASSWORD, TOKEN = "pw-Secret-7781", "tok-Secret-9902"
SECRETS = (PASSWORD, TOKEN, "pw-Secret", "tok-Secret")


def with_secrets(base: str) -> str:
    """``http://127.0.0.1:PORT/path`` -> ``http://probe:PASSWORD@127.0.0.1:PORT/path?token=TOKEN&v=1``."""
    scheme, _, rest = base.partition("://")
    return f"{scheme}://probe:{PASSWORD}@{rest}?token={TOKEN}&v=1"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (where, text[:500])


CASES = {
    "refused with HTTP 500": lambda svc: (url(svc, "/send"), 500, 0.0),
    "too slow": lambda svc: (url(svc, "/send"), 202, 3.0),
    "nobody listening": lambda svc: (f"http://127.0.0.1:{closed_port()}/send", 202, 0.0),
    "host that cannot be used": lambda svc: ("http://[zz::1/send", 202, 0.0),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("setting, probe", [("target_send_url", "outbound"), ("probe_sender_url", "inbound"),
                                            ("target_url", "queue")])
async def test_no_probe_failure_shows_the_url_credentials(case, setting, probe, runtime_for, service,  # noqa: F811
                                                          aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG)
    base, status, delay = CASES[case](service)
    service.send_status = service.sender_status = status
    service.send_delay = delay
    if setting == "target_url":
        base = base.replace("/send", "/status") if "/send" in base else base
        service.status = "{not json" if status == 500 else service.status
    runtime = await runtime_for(**{setting: with_secrets(base)}, probe_timeout=0.5, target_timeout=0.5)
    doc = await runtime.probes.run(probe)
    if setting == "target_url" and case == "too slow":
        assert doc["result"] == "PASS", doc  # the fake /status answers at once: the success path, checked too
    else:
        assert doc["result"] == "FAIL" and doc["error"], doc
    assert_clean(repr(doc), "the probe document")
    stored = await runtime.store.get(f"wa_metrics/longrun/probes/{doc['probeKey']}")
    assert_clean(repr(stored.data), "the stored document")

    client = await aiohttp_client(create_app(runtime))
    for path in ("/api/admin/longrun/probes", "/", "/api/status", "/metrics"):
        async with client.get(path) as response:
            assert_clean(await response.text(), path)
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]  # the fake service's own access log
    assert_clean("\n".join(r.getMessage() for r in ours), "the log")


async def test_a_bad_probe_url_setting_is_refused_without_echoing_its_credentials():
    from exporter.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as refused:
        load_settings({"LONGRUN_TARGET_SEND_URL": f"ftp://probe:{PASSWORD}@host/send?token={TOKEN}"})
    assert "LONGRUN_TARGET_SEND_URL" in str(refused.value)
    assert_clean(str(refused.value), "the settings error")
