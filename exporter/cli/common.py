"""What every operator subcommand shares: exit codes, one-line errors, the runtime, output, confirmation.

    async def handler(ctx: Context) -> int:
        async with ctx.runtime() as runtime:          # the same services the admin API uses
            doc = await runtime.incidents.get(ctx.args.id)
        ctx.emit(doc, [f"incident {doc['incidentId']}"])   # JSON with --json, else the lines
        return EXIT_OK

Exit codes (``longrun verify`` adds 2 = insufficient data, as the runbook's script):
0 done; 1 operational failure (store unreachable, the state refuses the change,
the operator declined); 64 usage error (bad argument, date, window, incident
id, settings, or a change refused because stdin is not a terminal and --yes was
not given). Every error is one line on stderr; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Iterator

from exporter.clock import RealClock
from exporter.domain.slots import iso
from exporter.settings import Settings, SettingsError, parse_duration
from exporter.store import StoreError

EXIT_OK, EXIT_FAILURE, EXIT_INSUFFICIENT, EXIT_USAGE = 0, 1, 2, 64
# ``longrun run`` keeps argparse's 2 for a usage or settings error, as before the operator
# commands (which use sysexits' EX_USAGE, 64) existed: service managers may test for it.
EXIT_RUN_USAGE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("longrun.cli")


class CliError(Exception):
    """An error an operator can cause or fix: its message is the one line printed."""

    code = EXIT_FAILURE

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(" ".join(str(message).split()))
        if code is not None:
            self.code = code


class UsageError(CliError):
    code = EXIT_USAGE


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit ``usage_exit`` (64)."""

    def __init__(self, *args: Any, usage_exit: int = EXIT_USAGE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage_exit = usage_exit

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)", self.usage_exit)


# ---------------------------------------------------------------- parsing arguments


# Dates the CLI takes: no longrun data is older, and a date past the range is a typo (and past
# year 9999 the date arithmetic overflows: "unexpected OverflowError").
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(9000, 1, 1)
LONGEST = 3660 * 86400.0  # ten years, the longest window or duration an option takes


def parse_day(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-03-01, got {text[:40]!r}") from None
    return _in_range(day, text, option)


def parse_instant(text: str, option: str, *, bare_date: str = "start") -> datetime:
    """ISO 8601, UTC unless an offset is given; a bare date is its start, or its end
    (the next midnight) with ``bare_date="end"``, so a date always names whole days."""
    try:
        if len(text) == 10:
            day = _in_range(date.fromisoformat(text), text, option)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return start + timedelta(days=1 if bare_date == "end" else 0)
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise UsageError(f"{option}: expected an ISO time like 2026-03-01T10:00:00Z, got {text[:40]!r}") from None
    _in_range(when.date(), text, option)
    return when


def _in_range(day: date, text: str, option: str) -> date:
    if not EARLIEST_DAY <= day < LATEST_DAY:
        raise UsageError(f"{option}: {text[:40]!r} is outside {EARLIEST_DAY} .. {LATEST_DAY - timedelta(days=1)}")
    return day


def parse_seconds(text: str, option: str, *, longest: float = LONGEST) -> float:
    try:
        seconds = parse_duration(text, option)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    if seconds > longest:
        raise UsageError(f"{option}: {text[:40]!r} is longer than {longest / 86400:g} days")
    return seconds


def parse_window_days(text: str, option: str = "--window") -> int:
    """``7d`` or ``7``: a whole number of days from 1 to 3660."""
    digits = text[:-1] if text.lower().endswith("d") else text
    if not digits.isdigit() or not 1 <= int(digits) <= 3660:
        raise UsageError(f"{option}: expected whole days like 7d, 30d, 90d or 180d, got {text!r}")
    return int(digits)


# ---------------------------------------------------------------- running a command


@dataclass
class Context:
    settings: Settings
    args: argparse.Namespace

    @property
    def as_json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def runtime(self, *, http: bool = False, must_exist: bool = True):
        return open_runtime(self.settings, http=http, must_exist=must_exist)

    def emit(self, data: Any, lines: Iterable[str]) -> None:
        """The command's result on stdout: ``data`` as JSON with --json, else the text lines."""
        if self.as_json:
            print(to_json(data))
        else:
            for line in lines:
                print(line)

    def say(self, line: str) -> None:
        """Narration (plans, notes): stdout in text mode, stderr with --json so stdout stays JSON."""
        print(line, file=sys.stderr if self.as_json else sys.stdout)

    def confirm(self, action: str) -> None:
        """Proceed with --yes; ask on a terminal; refuse (one line, exit 64) when nobody can answer."""
        if getattr(self.args, "yes", False):
            return
        if not sys.stdin.isatty():
            raise UsageError(f"refusing to {action} without --yes: stdin is not a terminal")
        print(f"{action}? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise CliError("aborted: nothing changed")


@asynccontextmanager
async def open_runtime(settings: Settings, *, http: bool = False, must_exist: bool = True) -> AsyncIterator[Any]:
    """A Runtime on a real clock (not started: no job runs, no config is written), closed after.

    The store is pinged first, so an unreachable one fails once, within its
    timeout, instead of once per read (config reads fall back to defaults).
    """
    import aiohttp

    from exporter.runtime import Runtime

    if must_exist:
        _require_sqlite_file(settings)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=max(settings.target_timeout, 10))) if http else None
    try:
        runtime = Runtime.build(settings, clock=RealClock(), session=session)
        try:
            await runtime.store.ping()
            yield runtime
        finally:
            await runtime.store.close()
    finally:
        if session is not None:
            await session.close()


def _require_sqlite_file(settings: Settings) -> None:
    """A mistyped path would otherwise open a new, empty store and report on nothing."""
    if settings.store_url.startswith("sqlite:///"):
        path = Path(settings.store_url[len("sqlite:///"):])
        if not path.exists():
            raise CliError(f"store {settings.store_url} does not exist; check LONGRUN_STORE (or write one with longrun simulate)")


def execute(handler: Callable[[Context], Awaitable[int]], settings: Settings, args: argparse.Namespace) -> int:
    """Run one subcommand; every failure becomes one line on stderr and an exit code."""
    try:
        with quiet_server_notes(settings.log_level):
            return asyncio.run(handler(Context(settings, args)))
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except SettingsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except StoreError as exc:
        return _fail(f"store unreachable or failing ({settings.store_url}): {exc.__class__.__name__}: {exc}", EXIT_FAILURE)
    except OSError as exc:
        return _fail(f"{exc.__class__.__name__}: {exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: still one line, the trace only at DEBUG
        log.debug("unexpected error", exc_info=True)
        return _fail(f"unexpected {exc.__class__.__name__}: {exc} (a bug; LONGRUN_LOG_LEVEL=DEBUG shows the trace)", EXIT_FAILURE)


def _fail(message: str, code: int) -> int:
    print(f"longrun: {' '.join(message.split())}", file=sys.stderr)
    return code


def cli_log_level(level: str) -> str:
    """Operator commands keep the services' INFO lines out of the way unless DEBUG is asked for."""
    return level if level == "DEBUG" else "WARNING"


@contextmanager
def quiet_server_notes(level: str) -> Iterator[None]:
    """What the server says at start (Telegram off) is not news to an operator command,
    even one with an HTTP session (``probe run``); DEBUG still shows it. Restored after."""
    logger = logging.getLogger("longrun.telegram")
    before = logger.level
    if level != "DEBUG":
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


# ---------------------------------------------------------------- output


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=json_default, ensure_ascii=False)


class Progress:
    """``label k/N`` on one refreshed stderr line, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        end = "\n" if done >= total else ""
        print(f"\r{self.label} {done}/{total}", end=end, file=sys.stderr, flush=True)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do it without asking (required when stdin is not a terminal)")

