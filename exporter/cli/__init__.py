"""The ``longrun`` command.

    longrun run [--config longrun.yaml]
    longrun verify [--window 1h] [--end ISO] [--json]
    longrun report [--window 7d ...] [--format md|json|html] [--output FILE] [--end DATE]
    longrun rollup --date D [--force]      longrun probe run TYPE
    longrun lock status|release [--force]  longrun incident list|open|ack|resolve
    longrun config show|set|validate       longrun cleanup [--dry-run]
    longrun maintenance start|add|list|end
    longrun simulate --days N [...]
    longrun monitoring render --output DIR [--selector M] [--runbook-url URL] [--datasource NAME]

Every error an operator can cause is one line on stderr naming the problem and
the fix, with a non-zero exit; a stack trace is a bug. Exit codes of the
operator commands are in ``exporter.cli.common``: 0 ok, 1 failure, 2 (verify
only) insufficient data, 64 usage. ``run`` keeps 2 for bad settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Sequence

from exporter import __version__
from exporter.cli import (
    cleanup,
    common,
    config,
    incident,
    lock,
    maintenance,
    monitoring,
    probe,
    report,
    rollup,
    simulate,
    verify,
)
from exporter.settings import SettingsError, load_settings

OPERATOR_COMMANDS = (verify, report, rollup, probe, lock, incident, maintenance, config, cleanup, simulate,
                     monitoring)


def build_parser() -> argparse.ArgumentParser:
    parser = common.OneLineParser(prog="longrun", description="Long-run instrumentation for an always-on backend.",
                                  usage_exit=common.EXIT_RUN_USAGE)
    parser.add_argument("--version", action="version", version=f"longrun {__version__}")
    parser.add_argument("--config", metavar="FILE", help="YAML file of settings (the same keys as the environment variables)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=common.OneLineParser)
    commands.required = True
    commands.add_parser("run", help="run the job loop under the lease lock and serve HTTP", usage_exit=common.EXIT_RUN_USAGE)
    for module in OPERATOR_COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse(argv)
    except common.UsageError as exc:
        print(exc, file=sys.stderr)  # already "longrun COMMAND: what is wrong (see ... --help)"
        return exc.code
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else common.EXIT_RUN_USAGE
    try:
        settings = load_settings(config_file=args.config)
    except SettingsError as exc:
        print(f"longrun: {exc}", file=sys.stderr)
        return common.EXIT_RUN_USAGE if args.command == "run" else common.EXIT_USAGE
    if args.command == "run":
        configure_logging(settings.log_level)
        return _run(settings)
    configure_logging(common.cli_log_level(settings.log_level))
    return common.execute(args.handler, settings, args)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; an unknown option is the subcommand's usage error (64), or ``run``'s (2)."""
    args, extra = build_parser().parse_known_args(argv)
    if extra:
        code = common.EXIT_RUN_USAGE if args.command == "run" else common.EXIT_USAGE
        raise common.UsageError(f"longrun {args.command}: unrecognized arguments: {' '.join(extra)} "
                                f"(see longrun {args.command} --help)", code)
    return args


def _run(settings) -> int:
    from exporter.server import StartupError, serve
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
