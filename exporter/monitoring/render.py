"""Render the monitoring templates for one deployment. Pure, apart from reading the templates.

    files = render(RenderOptions(Selector.parse('job="my-longrun"'), "https://wiki.example/longrun.md"))
    files["prometheus/rules/longrun-alerts.yml"]   # the alert rules, every series selected by job="my-longrun"

The templates hold placeholders that occur nowhere else (Prometheus and Grafana
both use ``{{ }}`` and ``$``):

- ``@@selector@@`` the matcher list, inside a series' braces;
- ``@@runbook_url@@`` the runbook base (each alert adds ``#its-section``);
- ``@@labels@@`` / ``@@labels_yaml@@`` (rule unit tests) the selector's labels
  as a test series carries them, inline and as YAML lines at the placeholder's indent;
- ``@@selector_json@@`` / ``@@datasource_json@@`` (dashboards) JSON string bodies.

Rule unit tests are rendered only when every matcher is ``=``: series built for
a regular-expression matcher would be a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from exporter.monitoring.selector import Selector

DEFAULT_SELECTOR = 'job="longrun"'
DEFAULT_DATASOURCE = "Prometheus"
RULE_TESTS = "prometheus/tests/"
_PLACEHOLDER = re.compile(r"@@[a-z_]+@@")


class RenderError(ValueError):
    """An option that cannot be rendered; nothing was written."""


@dataclass(frozen=True)
class RenderOptions:
    selector: Selector
    runbook_url: str
    datasource: str = DEFAULT_DATASOURCE

    def __post_init__(self) -> None:
        check_runbook_url(self.runbook_url)
        if not self.datasource.strip() or any(c in self.datasource for c in '"\\\n'):
            raise RenderError(f"--datasource: {self.datasource!r} is not a datasource name")


def check_runbook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RenderError(f"--runbook-url: expected an http:// or https:// URL, got {url[:120]!r}")
    if parts.fragment or re.search(r"[\s\"'`<>{}]", url):
        raise RenderError(f"--runbook-url: give the runbook's URL without #section, spaces or quotes, got {url[:120]!r}")


def template_names() -> list[str]:
    """Every template, as the relative path it is rendered to (``prometheus/rules/longrun-alerts.yml``)."""
    root = resources.files("exporter.monitoring") / "templates"
    names: list[str] = []

    def walk(node, prefix: PurePosixPath) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, prefix / child.name)
            elif not child.name.startswith("."):
                names.append(str(prefix / child.name))

    walk(root, PurePosixPath())
    return names


def read_template(name: str) -> str:
    return (resources.files("exporter.monitoring") / "templates" / name).read_text(encoding="utf-8")


def render(options: RenderOptions) -> dict[str, str]:
    """Relative path -> file text, for every template this selector can render."""
    files = {}
    for name in template_names():
        if name.startswith(RULE_TESTS) and not options.selector.exact:
            continue
        files[name] = render_text(read_template(name), options)
    return files


def render_text(template: str, options: RenderOptions) -> str:
    selector = options.selector
    text = re.sub(r"(?m)^([ \t]*)@@labels_yaml@@$",
                  lambda m: "\n".join(f"{m.group(1)}{k}: {json.dumps(v)}" if _needs_quotes(v) else f"{m.group(1)}{k}: {v}"
                                      for k, v in selector.equalities.items()),
                  template)
    values = {
        "@@selector@@": selector.text,
        "@@labels@@": selector.text,
        "@@runbook_url@@": options.runbook_url,
        "@@selector_json@@": json.dumps(selector.text)[1:-1],
        "@@datasource_json@@": json.dumps(options.datasource)[1:-1],
    }
    text = _PLACEHOLDER.sub(lambda m: values[m.group(0)], text)
    return text


def _needs_quotes(value: str) -> bool:
    return not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.:/-]*", value) or value.lower() in ("true", "false", "yes", "no", "null", "on", "off")
