"""``longrun config show|set|validate``: the runtime config document (``config/current``).

    longrun config show --json
    longrun config set alertThresholds.missedHbPerHour=5 severities.probe_fail=P2
    longrun config validate          # exit 1 naming each invalid field

``set`` takes dotted keys and JSON values (a value that is not JSON is taken as
a string); the edit is validated as the admin API validates it
(``runtime_config.validate_patch``), shown as old -> new, confirmed (or --yes),
and written as a conditional update of only those fields.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from exporter.cli.common import (
    CliError,
    Context,
    UsageError,
    add_json,
    add_yes,
    to_json,
)
from exporter.domain import runtime_config
from exporter.services.config_edit import InvalidConfigEdit
from exporter.store import PreconditionFailed

UPDATED_BY = "longrun config set"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("config", help="show, change or validate the config document", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the stored document, the effective values and any invalid field")
    change = actions.add_parser("set", help="change fields: KEY=VALUE ...")
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    add_yes(change)
    check = actions.add_parser("validate", help="validate the stored document (exit 1 when invalid)")
    for sub, handler in ((show, config_show), (change, config_set), (check, config_validate)):
        add_json(sub)
        sub.set_defaults(handler=handler)


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["a.b=5", "c=x"]`` -> ``{"a": {"b": 5}, "c": "x"}``."""
    patch: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise UsageError(f"config set: expected KEY=VALUE with a dotted KEY, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        runtime_config.set_path(patch, key.strip(), value)
    return patch


async def config_show(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        doc = await runtime.store.get(runtime.paths.config)
        stored = doc.data if doc else None
        result = runtime_config.validate(stored if stored is not None else {}, last_good=runtime.config.seed)
        path = runtime.paths.config
    data = {"path": path, "stored": stored, "effective": result.config, "errors": result.errors, "warnings": result.warnings}
    head = [f"# {path}" + ("" if stored is not None else ": no document yet, the defaults below apply")]
    notes = [f"# invalid, its last good value applies: {e}" for e in result.errors] + [f"# {w}" for w in result.warnings]
    ctx.emit(data, [*head, *notes, to_json(stored if stored is not None else result.config)])
    return 0


async def config_set(ctx: Context) -> int:
    patch = parse_assignments(ctx.args.assignments)
    async with ctx.runtime() as runtime:
        try:
            edit = await runtime.config_edit.plan(patch)
        except InvalidConfigEdit as exc:
            raise UsageError(f"config not changed: {exc}") from None
        for key, value in edit.changes.items():
            ctx.say(f"{key}: {json.dumps(edit.before[key], default=str)} -> {json.dumps(value)}")
        ctx.confirm(f"change {len(edit.changes)} field(s) of {runtime.paths.config}")
        try:
            config = await runtime.config_edit.apply(edit, by=UPDATED_BY)
        except PreconditionFailed:
            raise CliError("config/current changed while you decided; nothing written, run again") from None
    ctx.emit({"changed": edit.changes, "config": config}, [f"changed {key}" for key in edit.changes])
    return 0


async def config_validate(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        doc = await runtime.store.get(runtime.paths.config)
        path = runtime.paths.config
        if doc is None:
            ctx.emit({"path": path, "exists": False, "valid": True, "errors": [], "warnings": []},
                     [f"{path}: no document yet; the defaults apply"])
            return 0
        result = runtime_config.validate(doc.data, last_good=runtime.config.seed)
    ctx.emit({"path": path, "exists": True, "valid": result.ok, "errors": result.errors, "warnings": result.warnings},
             [f"invalid  {e}" for e in result.errors] + [f"warning  {w}" for w in result.warnings]
             + ([f"{path}: valid"] if result.ok else []))
    if not result.ok:
        raise CliError(f"{path} has {len(result.errors)} invalid field(s): {'; '.join(result.errors)}")
    return 0
