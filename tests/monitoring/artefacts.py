"""Where the shipped monitoring artefacts live, and small readers for them."""

from __future__ import annotations

import json
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = REPO / "alertmanager" / "alertmanager.yml"
ALERTMANAGER_RENDER = REPO / "alertmanager" / "render-config.sh"
GRAFANA_DIR = REPO / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCES_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = GRAFANA_DIR / "provisioning" / "dashboards" / "longrun.yml"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ALERTS_DOC = REPO / "docs" / "alerts.md"

# longrun's own runbook, which every runbook_url and message link points into.
RUNBOOK = REPO / "docs" / "runbook.md"
RUNBOOK_CANDIDATES = (RUNBOOK,)
ALERTMANAGER_ROUTES = REPO / "alertmanager" / "longrun-routes.yml"

WEBHOOK_PATH = "/api/alertmanager"
# Series Prometheus itself creates, allowed in rules and dashboards.
PROMETHEUS_BUILTINS = frozenset({"up", "ALERTS"})
# Alertmanager's own series (prometheus.yml scrapes it) that a rule reads.
ALERTMANAGER_SERIES = frozenset({"alertmanager_notifications_failed_total"})


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def promtool() -> str | None:
    return shutil.which("promtool")


def amtool() -> str | None:
    return shutil.which("amtool")


@cache
def rule_groups() -> tuple[tuple[Path, dict], ...]:
    return tuple((path, group) for path in RULE_FILES for group in load_yaml(path)["groups"])


def alert_rules() -> list[dict]:
    return [rule for _, group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recording_rules() -> list[dict]:
    return [rule for _, group in rule_groups() for rule in group["rules"] if "record" in rule]


def recording_names() -> set[str]:
    return {rule["record"] for rule in recording_rules()}


def markdown_sections(markdown: str) -> dict[str, str]:
    """Heading anchor -> the text under it, up to the next heading of any level."""
    sections: dict[str, str] = {}
    current, fenced, seen = None, False, {}
    for line in markdown.splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            fenced = not fenced
        match = None if fenced else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            anchor = github_anchor(match.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            current = anchor if count == 0 else f"{anchor}-{count}"
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def rule_key(rule: dict) -> tuple[str, str]:
    """An alert rule is identified by its name and severity (one name may carry two urgencies)."""
    return rule["alert"], rule.get("labels", {}).get("severity", "")


def runbook_base() -> str:
    """The base URL declared once, in a `# runbook-base: URL` comment of the alert rules."""
    bases = set()
    for path in RULE_FILES:
        bases.update(re.findall(r"^#\s*runbook-base:\s*(\S+)\s*$", path.read_text(encoding="utf-8"), re.M))
    assert len(bases) == 1, f"expected one '# runbook-base: URL' comment across the rule files, found {sorted(bases)}"
    return bases.pop()


def rendered_selector() -> str:
    """The selector the shipped rules were rendered with (their `# Selector:` comment)."""
    text = (PROMETHEUS_DIR / "rules" / "longrun-alerts.yml").read_text(encoding="utf-8")
    return re.search(r"^# Selector: (.+)$", text, re.M).group(1)


def runbooks() -> list[Path]:
    return [path for path in RUNBOOK_CANDIDATES if path.is_file()]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # [text](link) -> text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def markdown_anchors(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown document, fenced code excluded, duplicates suffixed -1, -2..."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs
