"""Runs ``longrun`` in-process (``main([...])``) against a real store chosen by the environment.

    def test_something(cli):                 # once on SQLite, once on the Firestore emulator
        cli.simulate(days=2, end="2026-03-10")
        result = cli("verify", "--end", "2026-03-10T12:00:00Z")
        assert result.code == 0

    def test_sqlite_only(sqlite_cli): ...

``cli(...)`` returns the exit code and what went to stdout and stderr; stdin is
not a terminal unless a test passes ``stdin=tty("y")``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from exporter.cli import main
from exporter.settings import load_settings
from exporter.store import DocumentStore, Paths, open_store

CLEARED = ("FIRESTORE_EMULATOR_HOST", "FIREBASE_SERVICE_ACCOUNT_JSON", "GOOGLE_APPLICATION_CREDENTIALS",
           "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID")


class FakeTty(io.StringIO):
    """A stdin (or stderr) that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def tty(answer: str = "") -> FakeTty:
    return FakeTty(answer + "\n")


def days_ago(days: int) -> str:
    """A UTC date relative to today, for what retention (heartbeats 90 d, probes 180 d) judges by age."""
    return (datetime.now(timezone.utc).date() - timedelta(days=days)).isoformat()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    backend: str
    capsys: pytest.CaptureFixture
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, *argv: str, stdin: io.StringIO | None = None) -> Result:
        self.monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        self.capsys.readouterr()
        code = main([str(arg) for arg in argv])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return Result(code, out, err)

    def ok(self, *argv: str, **kwargs: Any) -> Result:
        result = self(*argv, **kwargs)
        assert result.code == 0, result
        return result

    def simulate(self, *flags: str, days: int, end: str, rollups: bool = True) -> dict[str, Any]:
        """Simulated history with no random events: only what ``flags`` ask for."""
        argv = ["simulate", "--days", str(days), "--end", end, "--events-per-week", "0", "--json", *flags]
        return self.ok(*argv, *([] if rollups else ["--no-rollups"])).json()

    def with_store(self, fn: Callable[[DocumentStore, Paths], Awaitable[Any]]) -> Any:
        """Run ``fn(store, paths)`` on a store opened as the CLI opens it."""
        settings = load_settings()

        async def go() -> Any:
            store = open_store(settings)
            try:
                return await fn(store, Paths(settings.root))
            finally:
                await store.close()

        return asyncio.run(go())


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("LONGRUN_") or key in CLEARED:
            monkeypatch.delenv(key)
    monkeypatch.setenv("LONGRUN_INSTANCE_ID", "cli-test")


def use_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "longrun.db"
    monkeypatch.setenv("LONGRUN_STORE", f"sqlite:///{path}")

    async def create() -> None:
        store = open_store(load_settings())
        await store.ping()  # creates the file: the CLI refuses a store that does not exist
        await store.close()

    asyncio.run(create())


@pytest.fixture
def cli(store_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        request: pytest.FixtureRequest):
    """The CLI on an empty store: SQLite, then the Firestore emulator (a fresh project)."""
    clean_environment(monkeypatch)
    emulator = project = None
    if store_backend == "sqlite":
        use_sqlite(tmp_path, monkeypatch)
    else:
        emulator = request.getfixturevalue("firestore_emulator")
        project = emulator.new_project()
        monkeypatch.setenv("LONGRUN_STORE", f"firestore://{project}")
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.address)
    yield Cli(store_backend, capsys, monkeypatch)
    if emulator is not None and emulator.running:
        emulator.wipe(project)


@pytest.fixture
def sqlite_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    """The CLI on an empty SQLite store, for behaviour that does not depend on the backend."""
    clean_environment(monkeypatch)
    use_sqlite(tmp_path, monkeypatch)
    return Cli("sqlite", capsys, monkeypatch)
