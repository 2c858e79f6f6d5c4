"""The shipped Grafana dashboards: valid JSON Grafana will load, every query through the
`datasource` variable and the `selector` variable (so they import into any Grafana), an
expression in every query, and a layout without overlaps."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from . import artefacts as a

EXPECTED = {
    "longrun-overview.json", "longrun-probes-incidents.json",
    "longrun-lock-store.json", "longrun-telegram-delivery.json",
}


def provisioned_prometheus_uid() -> str:
    sources = a.load_yaml(a.DATASOURCES_FILE)["datasources"]
    prometheus = [s for s in sources if s["type"] == "prometheus"]
    assert len(prometheus) == 1 and prometheus[0].get("isDefault"), sources
    return prometheus[0]["uid"]


def all_panels(board: dict) -> list[dict]:
    panels = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
    return panels


BOARDS = {p.name: p for p in a.DASHBOARD_FILES}
# What Grafana substitutes before Prometheus sees a query (the selector: the variable's default).
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1d", "$instance": ".*",
                     "${selector:raw}": a.rendered_selector()}
DATASOURCE_VARIABLE = {"type": "prometheus", "uid": "${datasource}"}


def query_variables(board: dict) -> list[dict]:
    return [v for v in board["templating"]["list"] if v["type"] == "query"]


def test_the_four_dashboards_ship():
    assert set(BOARDS) == EXPECTED


def test_uids_and_titles_are_unique():
    boards = [a.load_json(p) for p in BOARDS.values()]
    assert len({b["uid"] for b in boards}) == len(boards)
    assert len({b["title"] for b in boards}) == len(boards)


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_dashboard_is_loadable(path: Path):
    board = a.load_json(path)
    assert board["schemaVersion"] >= 36
    assert board.get("id") is None, "a provisioned dashboard must not carry a database id"
    assert board["uid"] and len(board["uid"]) <= 40
    assert "longrun" in board["tags"]
    ids = [panel["id"] for panel in all_panels(board)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_every_query_goes_through_the_datasource_variable_and_has_an_expr(path: Path):
    board = a.load_json(path)
    for panel in all_panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE_VARIABLE, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE_VARIABLE, panel["title"]
            assert target.get("expr", "").strip(), f"panel {panel['title']!r} {target['refId']} has no expr"
    for variable in query_variables(board):
        assert variable["datasource"] == DATASOURCE_VARIABLE, variable["name"]
    assert "longrun-prometheus" not in path.read_text(encoding="utf-8"), "a pinned datasource uid breaks the import"


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_the_datasource_variable_defaults_to_the_provisioned_prometheus(path: Path):
    board = a.load_json(path)
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    names = {s["name"] for s in a.load_yaml(a.DATASOURCES_FILE)["datasources"] if s["type"] == "prometheus"}
    assert variable["current"]["value"] in names
    (source,) = [i for i in board["__inputs"] if i["type"] == "datasource"]
    assert source["pluginId"] == "prometheus"


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_every_longrun_series_is_chosen_by_the_selector_variable(path: Path):
    board = a.load_json(path)
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "selector"]
    assert variable["query"] == variable["current"]["value"] == a.rendered_selector()
    queries = [t["expr"] for p in all_panels(board) for t in p.get("targets", [])]
    queries += [v["query"]["query"] if isinstance(v["query"], dict) else v["query"] for v in query_variables(board)]
    for expr in queries:
        for name in re.findall(r"\b(longrun_[a-z0-9_]+|up)\b(\{[^}]*\})?", expr):
            assert name[1].startswith("{${selector:raw}"), f"{path.name}: {name[0]} is not selected by $selector in {expr}"


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_instance_variable_is_defined_and_used(path: Path):
    board = a.load_json(path)
    names = [v["name"] for v in board["templating"]["list"]]
    assert "instance" in names
    exprs = [t["expr"] for p in all_panels(board) for t in p.get("targets", [])]
    assert any("$instance" in e for e in exprs), f"{path.name} never uses $instance"


@pytest.mark.parametrize("path", BOARDS.values(), ids=BOARDS.keys())
def test_panels_fit_the_grid_without_overlapping(path: Path):
    cells: dict[tuple[int, int], str] = {}
    for panel in a.load_json(path)["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_provider_loads_the_dashboards_directory():
    providers = a.load_yaml(a.DASHBOARD_PROVIDER_FILE)["providers"]
    assert len(providers) == 1 and providers[0]["type"] == "file"
    # where compose mounts grafana/dashboards is checked in test_compose.py
    assert providers[0]["options"]["path"].startswith("/")


def test_every_query_is_valid_promql(tmp_path: Path):
    """promtool parses each panel query (Grafana variables substituted) as a recording rule."""
    tool = a.promtool()
    if tool is None:
        reason = "promtool NOT FOUND: dashboard queries were NOT parsed. Install Prometheus 2.x (`make system-deps`)."
        warnings.warn(reason)
        pytest.skip(reason)
    rules = []
    for path in BOARDS.values():
        for panel in all_panels(a.load_json(path)):
            for target in panel.get("targets", []):
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                assert "$" not in expr, f"{path.name} {panel['title']!r}: unknown variable in {expr}"
                rules.append({"record": f"dashboard:query_{len(rules)}:check", "expr": expr})
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run([tool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout
