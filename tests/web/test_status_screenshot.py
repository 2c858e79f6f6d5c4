"""A real browser renders the status page served on 127.0.0.1 (headless Chromium, a screenshot).

Skips, and says so on the terminal, when no chromium binary is installed.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import zlib
from datetime import timedelta

import pytest

from exporter.web.app import create_app

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1200, 1600

pytestmark = pytest.mark.slow


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


@pytest.mark.parametrize("store_backend", ["sqlite"])  # a browser test, not a store test
async def test_headless_chromium_renders_the_status_page(cluster, leader, aiohttp_server, tmp_path, request, store_backend):
    chromium = find_chromium()
    if chromium is None:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("WARNING: chromium not found; the status page screenshot test is skipped", yellow=True, bold=True)
        pytest.skip("chromium not found (apt install chromium); the status page screenshot test is skipped")
    await cluster.run_for(55 * 60)
    await leader.runtime.incidents.open_manual("logged_out", reason="2 of 3 accounts connected",
                                               ts_start=cluster.clock.now() - timedelta(minutes=20))
    server = await aiohttp_server(create_app(leader.runtime), host="127.0.0.1")
    shot = tmp_path / "status.png"
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
            str(server.make_url("/"))]
    # Async: the server answering the browser runs on this same event loop.
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail("chromium did not finish within 90 s")
    assert shot.is_file(), f"no screenshot; chromium said: {output.decode(errors='replace')[-2000:]}"
    data = shot.read_bytes()
    width, height, distinct = png_facts(data)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(data) > 10_000 and distinct > 20, "the screenshot is blank"
