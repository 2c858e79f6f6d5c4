"""The status page as a person sees it: real headless Chromium, a screenshot of each state, the DOM checked.

Screenshots are kept as test artefacts in ``var/test-artefacts/status-page/`` (``LONGRUN_ARTEFACTS``
overrides the folder). Skips, and says so on the terminal, when no chromium binary is installed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import zlib
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from exporter.web.app import create_app
from tests.web.history import simulate_days

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1200, 2200
ARTEFACTS = Path(os.environ.get("LONGRUN_ARTEFACTS", Path(__file__).resolve().parents[2] / "var" / "test-artefacts")) / "status-page"
WEBHOOK_TOKEN = "hook-7c1d9e2f4a6b8c0d"
HOSTILE = "<img src=x onerror=\"document.title='PWNED'\">"
JS_URL = "javascript:document.title='PWNED'"

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_backend", ["sqlite"])]  # browser tests, not store tests


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def png_facts(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decompressed pixel data)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


class Dom(HTMLParser):
    """The rendered DOM: element names, the title, the text of elements by id, and every attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.title = ""
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        element_id = None
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id":
                element_id = value
        if tag not in ("meta", "br", "img", "input", "link", "rect"):
            self._open.append((tag, element_id))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._open and self._open[-1][0] == "title" and not any(t == "svg" for t, _ in self._open):
            self.title += data
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + " " + data

    def text(self, element_id: str) -> str:
        return " ".join(self.texts.get(element_id, "").split())


@pytest.fixture
def chromium(request) -> str:
    found = find_chromium()
    if found is None:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("WARNING: chromium not found; the status page browser tests are skipped", yellow=True, bold=True)
        pytest.skip("chromium not found (apt install chromium); the status page browser tests are skipped")
    return found


async def browse(chromium: str, url: str, tmp_path: Path, state: str) -> tuple[Dom, Path]:
    """Load ``url`` in headless Chromium: its DOM after load, and a screenshot kept as an artefact."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"{state}.png"
    shot.unlink(missing_ok=True)
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}"]
    dom = await _run([*base, "--dump-dom", url])
    await _run([*base, f"--screenshot={shot}", url])
    assert shot.is_file(), "no screenshot"
    width, height, distinct = png_facts(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT) and distinct > 20, "the screenshot is blank"
    parsed = Dom()
    parsed.feed(dom)
    return parsed, shot


async def _run(args: list[str]) -> str:
    # Async: the server answering the browser runs on this same event loop.
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail("chromium did not finish within 120 s")
    return output.decode(errors="replace")


async def serve(member, aiohttp_server) -> str:
    assert await member.runtime.refresh.refresh_once()
    server = await aiohttp_server(create_app(member.runtime), host="127.0.0.1")
    return str(server.make_url("/"))


async def test_fresh_start_without_a_target(cluster, aiohttp_server, tmp_path, chromium, store_backend):
    member = await cluster.add("fresh")
    await cluster.run_for(61)
    dom, _ = await browse(chromium, await serve(member, aiohttp_server), tmp_path, "fresh-start")
    assert dom.title == "longrun: Only longrun itself is checked"
    assert "no target configured" in dom.text("summary")
    assert "not configured" in dom.text("configuration") and "telegram" in dom.text("configuration")
    probes = dom.text("probes")
    assert "outbound pass" in probes and "queue not configured" in probes and "inbound not configured" in probes
    assert "never run" not in probes and "FAIL" not in probes
    assert dom.text("uptime").count("no data") == 4  # no rollup yet: neither 0% nor 100%


async def test_thirty_simulated_days(cluster, aiohttp_server, tmp_path, chromium, store_backend):
    member = await cluster.add("alpha")
    await simulate_days(member.runtime, cluster.clock.now(), days=30)
    await cluster.run_for(60)
    dom, _ = await browse(chromium, await serve(member, aiohttp_server), tmp_path, "thirty-days")
    days = [value for tag, name, value in dom.attrs if tag == "span" and name == "title" and " · uptime " in value]
    assert len(days) == 90
    assert days[-1].startswith("2026-02-28 · uptime ")  # the last whole UTC day
    assert sum("no data" not in d for d in days) == 30
    assert any("uptime 9" in d and "uptime 100.00%" not in d for d in days), "the outage day reads below 100%"
    uptime = dom.text("uptime")
    assert "30d" in uptime and "90d" in uptime and "no data" not in uptime.split("90d")[0]


async def test_a_p1_and_a_p3_open(cluster, aiohttp_server, tmp_path, chromium, store_backend):
    member = await cluster.add("alpha")
    await cluster.run_for(600)
    now = cluster.clock.now()
    incidents = member.runtime.incidents
    await incidents.open_manual("queue_depth", reason="queue depth 240 for 20 min", ts_start=now - timedelta(hours=3),
                                severity="P3", subject="queue")
    await incidents.open_manual("logged_out", reason="status endpoint refused", ts_start=now - timedelta(minutes=4),
                                severity="P1", subject="target")
    dom, _ = await browse(chromium, await serve(member, aiohttp_server), tmp_path, "p1-and-p3-open")
    assert dom.title == "longrun: P1 open"
    assert ("section", "data-level", "bad") in dom.attrs and "1 open P1 incident" in dom.text("summary")
    rows = dom.text("open-incidents")
    assert rows.index("P1") < rows.index("P3"), "P1 listed first though newer"


async def test_hostile_alert_labels_and_annotations_run_no_script(cluster, aiohttp_server, tmp_path, chromium, store_backend):
    member = await cluster.add("alpha", webhook_token=WEBHOOK_TOKEN)
    await cluster.run_for(120)
    url = await serve(member, aiohttp_server)
    payload = {
        "version": "4", "status": "firing", "receiver": "longrun", "groupKey": "{}:{alertname=\"x\"}",
        "groupLabels": {"alertname": HOSTILE}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": JS_URL,
        "alerts": [{
            "status": "firing", "startsAt": (cluster.clock.now() - timedelta(minutes=2)).isoformat(),
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": JS_URL, "fingerprint": "f1",
            "labels": {"alertname": HOSTILE, "severity": "critical", "priority": "P1", "incident_subject": HOSTILE,
                       "instance": JS_URL},
            "annotations": {"summary": HOSTILE, "description": f"<a href=\"{JS_URL}\">click</a>", "runbook_url": JS_URL},
        }],
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(url.rstrip("/") + "/api/alertmanager", json=payload,
                                headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}) as response:
            assert response.status == 200, await response.text()
    assert await member.runtime.refresh.refresh_once()
    dom, _ = await browse(chromium, url, tmp_path, "hostile-alert")
    assert dom.title.startswith("longrun: ") and "PWNED" not in dom.title, "a script ran"
    assert "img" not in dom.tags and "script" not in dom.tags and "a" not in dom.tags
    assert not [(t, n, v) for t, n, v in dom.attrs if n.startswith("on") or "javascript:" in v.lower()]
    assert HOSTILE in dom.text("open-incidents"), "shown as text"


async def test_a_deploy_inside_a_maintenance_window(cluster, aiohttp_server, tmp_path, chromium, store_backend):
    member = await cluster.add("alpha")
    await cluster.run_for(600)
    await member.runtime.maintenance.start(timedelta(minutes=30), "deploy 0.3", created_by="cli:ana")
    member.alive = False                                  # the restart: 4 minutes without a heartbeat
    await cluster.run_for(240)
    dom, _ = await browse(chromium, await serve(member, aiohttp_server), tmp_path, "maintenance")
    assert dom.title.startswith("longrun: Maintenance")  # (the slot bars carry <title>s of their own)
    assert ("section", "data-level", "maintenance") in dom.attrs
    assert "planned work: deploy 0.3, started by cli:ana" in dom.text("summary")
    assert "deploy 0.3 · started by cli:ana · until" in dom.text("maintenance")
