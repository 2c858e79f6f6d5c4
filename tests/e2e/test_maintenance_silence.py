"""``longrun maintenance`` against the real Alertmanager 0.25: the window silences longrun's alerts, ending it un-silences them.

Alertmanager delivers to a small webhook receiver on loopback. A Watchdog
alert (never matched by the silence) is posted with the silenced one: it
arrives, so the silent wait proves the silence, not a stalled pipeline.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.cli.conftest import sqlite_cli  # noqa: F401 - fixture
from tests.fixtures.alertmanager import Alertmanager, alertmanager_binary  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


class Receiver:
    """A webhook endpoint recording every alert Alertmanager delivers: (alertname, status)."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        received = self.delivered

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.extend((a["labels"]["alertname"], a["status"]) for a in body["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def names(self) -> set[str]:
        return {name for name, status in self.delivered if status == "firing"}

    def wait_for(self, name: str, within: float) -> float:
        started = time.monotonic()
        while name not in self.names():
            assert time.monotonic() - started < within, f"{name} not delivered within {within}s: {self.delivered}"
            time.sleep(0.1)
        return time.monotonic() - started


def alert(name: str) -> dict:
    now = datetime.now(timezone.utc)
    return {"labels": {"alertname": name, "severity": "P2", "incident_type": "missed_heartbeat"},
            "annotations": {"summary": f"{name} for the maintenance test"},
            "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}


def silences(manager: Alertmanager) -> list[dict]:
    with urllib.request.urlopen(f"{manager.url}/api/v2/silences", timeout=5) as response:
        return json.loads(response.read())


def test_a_window_silences_longrun_alerts_and_ending_it_delivers_them(sqlite_cli, alertmanager_binary, tmp_path):
    receiver = Receiver()
    manager = Alertmanager(tmp_path, receiver.url, "token", group_by=("alertname",))
    try:
        manager.wait_ready()
        sqlite_cli.monkeypatch.setenv("LONGRUN_ALERTMANAGER_URL", manager.url)
        window = sqlite_cli.ok("maintenance", "start", "--for", "10m", "--reason", "deploy 0.3", "--yes", "--json").json()

        (silence,) = silences(manager)
        assert window["silenceIds"] == [silence["id"]]
        assert (silence["status"]["state"], silence["comment"], silence["createdBy"]) == ("active", "deploy 0.3", "longrun")
        assert [(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]] == [("alertname", "Longrun.+", True)]

        manager.post_now([alert("LongrunHeartbeatGap"), alert("Watchdog")])
        receiver.wait_for("Watchdog", 15)          # the pipeline delivers ...
        time.sleep(3)                              # ... three more group intervals
        assert "LongrunHeartbeatGap" not in receiver.names(), receiver.delivered

        sqlite_cli.ok("maintenance", "end", window["id"], "--yes")
        (silence,) = silences(manager)
        assert silence["status"]["state"] == "expired"
        took = receiver.wait_for("LongrunHeartbeatGap", 30)
        print(f"\nLongrunHeartbeatGap delivered {took:.1f} s after the window ended")
    finally:
        manager.stop()
        receiver.server.shutdown()
