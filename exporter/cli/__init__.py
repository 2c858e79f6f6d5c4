"""The ``longrun`` command.

    longrun run [--config longrun.yaml]

Every error an operator can cause is one line on stderr naming the problem and
the fix, with a non-zero exit; a stack trace is a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Sequence

from exporter import __version__
from exporter.settings import SettingsError, load_settings

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="longrun", description="Long-run instrumentation for an always-on backend.")
    parser.add_argument("--version", action="version", version=f"longrun {__version__}")
    parser.add_argument("--config", metavar="FILE", help="YAML file of settings (the same keys as the environment variables)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    commands.add_parser("run", help="run the job loop under the lease lock and serve HTTP")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(config_file=args.config)
    except SettingsError as exc:
        print(f"longrun: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level)
    if args.command == "run":
        return _run(settings)
    return EXIT_USAGE


def _run(settings) -> int:
    from exporter.service import StartupError, serve
    from exporter.store.base import StoreError

    try:
        asyncio.run(serve(settings))
    except (StartupError, StoreError, ValueError) as exc:
        print(f"longrun: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The Google and aiohttp clients are chatty at INFO; their warnings still show.
    for noisy in ("google", "grpc", "aiohttp.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
