"""Hundreds of stalled connections against a real ``longrun run`` under a low file limit (issue 18, item 1).

The process runs with ``ulimit -n 256``. The test opens 300 loopback connections
that never finish: a third send nothing, a third send half a header block, a
third send a chunked body that never ends; a few more finish one request and
sit idle on keep-alive. While they are open:

- /health answers (each poll within 2 s, all but a few of them);
- heartbeats keep coming (``lastHeartbeat`` moves on every few seconds);
- the server closes the stalled connections itself once their deadline passes;
- the log stays small (no "Too many open files", no accept() storm).
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.process.processes import LongrunProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

FILE_LIMIT = 256
STALLED_PER_KIND = 100
IDLE_KEEPALIVES = 20
HEADER_TIMEOUT, BODY_TIMEOUT, IDLE_TIMEOUT = 8.0, 9.0, 10.0
WATCH = 25.0  # seconds of /health polling with the connections open
LOG_BUDGET = 20_000  # bytes of log for the whole run


class LimitedProcess(LongrunProcess):
    """``longrun run`` with RLIMIT_NOFILE lowered before exec, like ``ulimit -n``."""

    def start(self) -> "LimitedProcess":
        log = open(self.log_path, "ab")

        def lower_limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exporter", *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2], preexec_fn=lower_limit,
        )
        log.close()
        return self


def stall(port: int, kind: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if kind == "headers":
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    elif kind == "body":
        sock.sendall(b"POST /api/probes/inbound/aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\n{\"a\":")
    elif kind == "keepalive":
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.recv(65536)
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    if data:
        return closed_by_server(sock) if len(data) == 65536 else _drained_then_closed(sock)
    return True


def _drained_then_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def health(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def metrics(url: str, prefix: str) -> dict[str, float]:
    """Every sample whose name starts with ``prefix``, by its whole series name; empty when unreachable."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)}


def test_stalled_connections_are_closed_and_health_and_heartbeats_go_on(tmp_path, figures):
    env = {
        "LONGRUN_STORE": f"sqlite:///{tmp_path}/longrun.db",
        "LONGRUN_HEARTBEAT_INTERVAL": "1s", "LONGRUN_LEASE": "3s", "LONGRUN_RENEW": "1s",
        "LONGRUN_HTTP_HEADER_TIMEOUT": f"{HEADER_TIMEOUT:g}s",
        "LONGRUN_HTTP_BODY_TIMEOUT": f"{BODY_TIMEOUT:g}s",
        "LONGRUN_HTTP_IDLE_TIMEOUT": f"{IDLE_TIMEOUT:g}s",
    }
    process = LimitedProcess("stalled", env, tmp_path).start()
    sockets: list[socket.socket] = []
    try:
        process.wait_for(lambda h: h["lastHeartbeat"] is not None, 30, "first heartbeat")
        kinds = ["nothing", "headers", "body"] * STALLED_PER_KIND + ["keepalive"] * IDLE_KEEPALIVES
        for kind in sorted(kinds, key=kinds.index):
            try:
                sockets.append(stall(process.port, kind))
            except OSError:
                pass  # refused or reset at the cap: the server is protecting itself
        opened = len(sockets)

        started, polls, answered, beats = time.monotonic(), 0, 0, set()
        while time.monotonic() - started < WATCH:
            polls += 1
            seen = health(process.url)
            if seen is not None:
                answered += 1
                beats.add(seen["lastHeartbeat"])
            time.sleep(0.5)
        closed = sum(closed_by_server(sock) for sock in sockets)
        closes = metrics(process.url, "longrun_http_")
        log_size = process.log_path.stat().st_size
        log = process.log()
    finally:
        for sock in sockets:
            sock.close()
        process.stop()

    figures.record("stalled_connections_opened", opened, file_limit=FILE_LIMIT)
    figures.record("stalled_connections_closed_by_server", closed, after_s=WATCH)
    figures.record("health_answered_ratio", answered / polls, polls=polls)
    figures.record("distinct_heartbeats_seen", len(beats), over_s=WATCH)
    figures.record("log_bytes", log_size)
    for series, value in closes.items():
        figures.record(series, value)
    assert "Too many open files" not in log, log[-3000:]
    assert "out of system resource" not in log, log[-3000:]
    assert answered >= polls - 2, f"/health answered {answered} of {polls} polls"
    assert len(beats) >= WATCH / 3, f"only {len(beats)} distinct heartbeats in {WATCH} s"
    assert closed == opened, f"the server closed {closed} of {opened} stalled connections"
    closed_total = sum(v for k, v in closes.items() if k.startswith("longrun_http_connections_closed_total"))
    assert closed_total >= opened, closes
    assert closes["longrun_http_connection_limit"] < FILE_LIMIT, closes
    assert closes['longrun_http_connections_closed_total{reason="over_limit"}'] > 0, "the cap was never reached"
    assert log.count("HTTP connection limit reached") == 1, "one line a minute, not one per connection"
    assert log_size < LOG_BUDGET, log[-3000:]
