"""Real ``longrun run`` processes on loopback, for tests that kill and signal them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support import poll


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LongrunProcess:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, args: tuple[str, ...] = ("run",)) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LONGRUN_", "TELEGRAM_"))},
            "LONGRUN_INSTANCE_ID": name,
            "LONGRUN_LISTEN": f"127.0.0.1:{self.port}",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LongrunProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exporter", *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
        log.close()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return json.load(response)
        except (OSError, ValueError):
            return None

    def wait_for(self, predicate, timeout: float, what: str) -> float:
        """Poll /health until ``predicate(health)``; returns the seconds it took."""
        def seen() -> bool:
            health = self.health()
            return health is not None and bool(predicate(health))

        def exited() -> str | None:
            if self.proc and self.proc.poll() is not None:
                return f"{self.name} exited with {self.proc.returncode}:\n{self.log()}"
            return None

        started = time.monotonic()
        poll(seen, within=timeout, what=f"{self.name}: {what}", every=0.05, stop_if=exited,
             explain=lambda: self.log()[-3000:])
        return time.monotonic() - started

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 15) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
