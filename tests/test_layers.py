"""Imports run one way: read every module's imports (ast, no import) and refuse one against the direction.

The direction (issue 13, "What must be shown"): domain imports nothing of the
project but domain; store no services, jobs, web, metrics, cli or alerting;
services no jobs, web, metrics or cli; reports and simulate no jobs; metrics no
web or cli; alerting no exporter.web, jobs, cli or metrics. Imports inside
functions and under ``if TYPE_CHECKING:`` count too: a lazy import is still a
dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("exporter", "alerting")
PROJECT = ("exporter", "alerting")

# layer -> the packages it must not import; None: nothing of the project but itself.
FORBIDDEN: dict[str, tuple[str, ...] | None] = {
    "exporter.domain": None,
    "exporter.store": ("exporter.services", "exporter.jobs", "exporter.web", "exporter.metrics", "exporter.cli", "alerting"),
    "exporter.services": ("exporter.jobs", "exporter.web", "exporter.metrics", "exporter.cli"),
    "exporter.reports": ("exporter.jobs",),
    "exporter.simulate": ("exporter.jobs",),
    "exporter.metrics": ("exporter.web", "exporter.cli"),
    "alerting": ("exporter.web", "exporter.jobs", "exporter.cli", "exporter.metrics"),
}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported module, line) for every import in ``source``, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, *([name] if name else [])])
            found.append((name, node.lineno))
    return found


def violations(module: str, targets: list[tuple[str, int]]) -> list[str]:
    out = []
    for layer, forbidden in FORBIDDEN.items():
        if not within(module, layer):
            continue
        for target, line in targets:
            if forbidden is None:
                bad = any(within(target, p) for p in PROJECT) and not within(target, layer)
            else:
                bad = any(within(target, p) for p in forbidden)
            if bad:
                out.append(f"{module}:{line} imports {target} ({layer} must not)")
    return out


def project_modules() -> list[tuple[str, Path]]:
    paths = sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))
    return [(module_name(p), p) for p in paths]


def test_every_layer_of_the_rule_exists():
    modules = {name for name, _ in project_modules()}
    for layer in FORBIDDEN:
        assert any(within(m, layer) for m in modules), f"{layer} is gone: update FORBIDDEN"


def test_imports_run_one_way():
    found = []
    for module, path in project_modules():
        targets = imported(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        found += violations(module, targets)
    assert not found, "imports against the direction:\n" + "\n".join(found)


@pytest.mark.parametrize("module, source", [
    ("exporter.domain.slots", "from exporter.store import Paths"),
    ("exporter.domain.slots", "import exporter.clock"),
    ("exporter.domain.slots", "def f():\n    from alerting import bridge"),
    ("exporter.services.probes", "from exporter.jobs.leadership import Leadership"),
    ("exporter.services.probes", "from ..jobs import heartbeat"),
    ("exporter.store.sqlite", "from alerting.outbox import Outbox"),
    ("exporter.reports.probe_slots", "from exporter.jobs.probes import ProbeJob"),
    ("exporter.simulate", "from exporter.jobs.heartbeat import HeartbeatJob"),
    ("exporter.metrics.collector", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from exporter.web.keys import RUNTIME"),
    ("alerting.webhook", "from exporter.web.auth import bearer_token"),
    ("alerting.telegram.format", "from ...exporter.metrics import catalog"),
])
def test_an_import_against_the_direction_is_caught(module, source):
    assert violations(module, imported(source, module, is_package=False))


@pytest.mark.parametrize("module, source", [
    ("exporter.domain.slots", "from exporter.domain.vocabulary import PROBE_TYPES"),
    ("exporter.domain.slots", "from . import lease"),
    ("exporter.services.probes", "from exporter.store import Paths"),
    ("exporter.jobs.heartbeat", "from exporter.services.rollups import RollupService"),
    ("alerting.webhook", "from exporter.domain.bearer import token_matches"),
])
def test_an_import_along_the_direction_passes(module, source):
    assert not violations(module, imported(source, module, is_package=False))


def test_metric_readers_read_metric_sources_not_the_runtime():
    """The readers and the collector get ``MetricSources`` (a narrow view); only the Runtime builds it."""
    for module in ("exporter.metrics.readings", "exporter.metrics.collector", "exporter.metrics.sources"):
        path = REPO.joinpath(*module.split(".")).with_suffix(".py")
        targets = [target for target, _ in imported(path.read_text(encoding="utf-8"), module, False)]
        assert "exporter.runtime" not in targets, module
