"""``longrun monitoring render``: the shipped monitoring files are its default output, and a
rendering for another selector, runbook and datasource is complete, selects only by that
selector, and passes promtool's checks and unit tests."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from exporter.cli import main
from exporter.monitoring.render import DEFAULT_DATASOURCE, DEFAULT_SELECTOR, RenderOptions, render
from exporter.monitoring.selector import Selector
from exporter.settings import DEFAULT_RUNBOOK_URL

from . import artefacts as a
from .test_dashboards import all_panels

CUSTOM_SELECTOR = 'job="my-longrun", env="prod"'
CUSTOM_RUNBOOK = "https://wiki.example.com/ops/longrun-runbook.md"
REGENERATE = "longrun monitoring render --output ."


def default_files() -> dict[str, str]:
    return render(RenderOptions(Selector.parse(DEFAULT_SELECTOR), DEFAULT_RUNBOOK_URL, DEFAULT_DATASOURCE))


@pytest.fixture(scope="module")
def custom(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    code = main(["monitoring", "render", "--output", str(out), "--selector", CUSTOM_SELECTOR,
                 "--runbook-url", CUSTOM_RUNBOOK, "--datasource", "Mimir"])
    assert code == 0
    return out


def run_tool(tool: str | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if tool is None:
        reason = "promtool/amtool NOT FOUND: the rendered set was NOT checked. Install them (`make system-deps`)."
        warnings.warn(reason)
        pytest.skip(reason)
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def test_the_shipped_files_are_the_default_rendering():
    files = default_files()
    assert {"prometheus/rules/longrun-alerts.yml", "alertmanager/longrun-routes.yml",
            "grafana/dashboards/longrun-overview.json"} <= set(files)
    stale = [name for name, text in files.items()
             if not (a.REPO / name).is_file() or (a.REPO / name).read_text(encoding="utf-8") != text]
    assert not stale, f"{stale} differ from the templates in exporter/monitoring/templates: edit the template, then run `{REGENERATE}`"


def test_the_shipped_directories_hold_nothing_the_templates_do_not_make():
    files = set(default_files())
    shipped = {str(p.relative_to(a.REPO)) for p in [*a.RULE_FILES, *a.RULE_TEST_FILES, *a.DASHBOARD_FILES]}
    assert shipped <= files


def test_a_custom_selector_is_applied_everywhere(custom: Path):
    rendered = {p.relative_to(custom).as_posix(): p.read_text(encoding="utf-8") for p in custom.rglob("*") if p.is_file()}
    assert set(rendered) == set(default_files())
    for name, text in rendered.items():
        assert 'job="longrun"' not in text and 'job=\\"longrun\\"' not in text and "job: longrun" not in text, name
        assert "@@" not in text, f"{name}: a placeholder was left"
    alerts = yaml.safe_load(rendered["prometheus/rules/longrun-alerts.yml"])
    for group in alerts["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook_url"].startswith(CUSTOM_RUNBOOK + "#"), rule["alert"]
    assert 'longrun_heartbeat_last_timestamp_seconds{job="my-longrun", env="prod"}' in rendered["prometheus/rules/longrun-alerts.yml"]


def test_the_rendered_dashboards_default_to_the_selector_and_the_datasource(custom: Path):
    for path in sorted((custom / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["selector"]["query"] == CUSTOM_SELECTOR
        assert variables["selector"]["current"]["value"] == CUSTOM_SELECTOR
        assert variables["datasource"]["current"]["value"] == "Mimir"
        exprs = [t["expr"] for p in all_panels(board) for t in p.get("targets", [])]
        assert all("my-longrun" not in e for e in exprs), "queries read the variable, not a copy of the selector"


@pytest.mark.process
def test_promtool_checks_and_unit_tests_pass_on_a_custom_rendering(custom: Path):
    rules = sorted(str(p) for p in (custom / "prometheus" / "rules").glob("*.yml"))
    checked = run_tool(a.promtool(), "check", "rules", *rules, cwd=custom)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(str(p) for p in (custom / "prometheus" / "tests").glob("*.yml"))
    assert len(tests) == len(a.RULE_TEST_FILES)
    result = run_tool(a.promtool(), "test", "rules", *tests, cwd=custom / "prometheus" / "tests")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.process
def test_the_rendered_unit_tests_fail_against_rules_of_another_selector(custom: Path, tmp_path: Path):
    """The rendered tests really exercise the selector: the default rules select nothing of their series."""
    test = yaml.safe_load((custom / "prometheus" / "tests" / "heartbeats_test.yml").read_text(encoding="utf-8"))
    test["rule_files"] = [str(p) for p in a.RULE_FILES]
    path = tmp_path / "mismatched_test.yml"
    path.write_text(yaml.safe_dump(test), encoding="utf-8")
    result = run_tool(a.promtool(), "test", "rules", str(path), cwd=tmp_path)
    assert result.returncode != 0


def test_the_alertmanager_routes_snippet_fits_into_a_configuration(custom: Path, tmp_path: Path):
    snippet = yaml.safe_load((custom / "alertmanager" / "longrun-routes.yml").read_text(encoding="utf-8"))
    config = {"route": {"receiver": "team-default", "routes": [snippet["route"]]},
              "receivers": [{"name": "team-default"}, *snippet["receivers"]],
              "inhibit_rules": snippet["inhibit_rules"]}
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    checked = run_tool(a.amtool(), "check-config", str(path), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    routed = run_tool(a.amtool(), "config", "routes", "test", f"--config.file={path}", "alertname=LongrunNoLeader",
                      "severity=critical", "priority=P1", cwd=tmp_path)
    assert routed.stdout.strip() == "longrun-bridge"
    other = run_tool(a.amtool(), "config", "routes", "test", f"--config.file={path}", "alertname=DiskFull",
                     "severity=critical", cwd=tmp_path)
    assert other.stdout.strip() == "team-default"


def test_the_shipped_alertmanager_config_routes_as_the_snippet_does():
    snippet = a.load_yaml(a.ALERTMANAGER_ROUTES)
    shipped = a.load_yaml(a.ALERTMANAGER_CONFIG)
    key = lambda r: (r["receiver"], tuple(r.get("matchers", [])), r.get("group_wait"), r.get("repeat_interval"))
    assert {key(r) for r in snippet["route"]["routes"]} <= {key(r) for r in shipped["route"]["routes"]}
    severities = lambda rules: {m for r in rules for m in r["source_matchers"] + r["target_matchers"] if "severity" in m}
    assert severities(snippet["inhibit_rules"]) == severities(shipped["inhibit_rules"])


@pytest.mark.parametrize("args, message", [
    (["--selector", 'job=longrun'], "--selector: expected label=\"value\""),
    (["--selector", 'job="a" env="b"'], "--selector: expected a comma"),
    (["--selector", 'job=~"("'], "invalid regular expression"),
    (["--selector", 'job=""'], "matches an empty label"),
    (["--selector", '__name__="x"'], "__name__"),
    (["--runbook-url", "ftp://wiki.example/runbook.md"], "--runbook-url: expected an http:// or https:// URL"),
    (["--runbook-url", "javascript:alert(1)"], "--runbook-url: expected an http:// or https:// URL"),
    (["--runbook-url", "https://wiki.example/runbook.md#top"], "without #section"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path: Path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["monitoring", "render", "--output", str(out), *args]) == 64
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_runbook_base_defaults_to_the_setting(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LONGRUN_RUNBOOK_URL", CUSTOM_RUNBOOK)
    assert main(["monitoring", "render", "--output", str(tmp_path)]) == 0
    text = (tmp_path / "prometheus" / "rules" / "longrun-alerts.yml").read_text(encoding="utf-8")
    assert f"runbook_url: {CUSTOM_RUNBOOK}#longrunheartbeatgap" in text


def test_a_regex_selector_renders_rules_and_dashboards_but_no_unit_tests(tmp_path: Path, capsys):
    assert main(["monitoring", "render", "--output", str(tmp_path), "--selector", 'job=~"longrun-.+"']) == 0
    assert "rule unit tests not rendered" in capsys.readouterr().out
    assert (tmp_path / "prometheus" / "rules" / "longrun-alerts.yml").is_file()
    assert not (tmp_path / "prometheus" / "tests").exists()
