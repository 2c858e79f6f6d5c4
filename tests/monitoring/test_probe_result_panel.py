"""The "Last result" panel reads a probe that never ran, or was skipped, as "no data" / "not configured", never FAIL.

promtool evaluates the panel's own query over series as the exporter exports them
(``longrun_probe_success`` NaN while never run or SKIP, ``longrun_probe_skipped`` beside it).
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from tests.monitoring import artefacts as a

BOARD = "longrun-probes-incidents.json"


def last_result_panel() -> dict:
    board = a.load_json(a.GRAFANA_DIR / "dashboards" / BOARD)
    return next(p for p in board["panels"] if p.get("title") == "Last result")


def mapped(panel: dict) -> dict[str, str]:
    values = next(m for m in panel["fieldConfig"]["defaults"]["mappings"] if m["type"] == "value")["options"]
    return {number: option["text"] for number, option in values.items()}


def test_the_panel_maps_each_value_to_words():
    panel = last_result_panel()
    assert mapped(panel) == {"0": "FAIL", "1": "PASS", "2": "not configured", "3": "no data"}
    specials = {m["options"]["match"]: m["options"]["result"]["text"]
                for m in panel["fieldConfig"]["defaults"]["mappings"] if m["type"] == "special"}
    assert specials == {"nan": "no data", "null": "no data"}


def test_never_run_and_skipped_probes_never_read_as_fail(tmp_path: Path):
    tool = a.promtool()
    if tool is None:
        reason = "promtool NOT FOUND: the Last result query was NOT evaluated. Install Prometheus 2.x (`make system-deps`)."
        warnings.warn(reason)
        pytest.skip(reason)
    expr = last_result_panel()["targets"][0]["expr"].replace("$instance", ".*").replace("${selector:raw}", 'job="longrun"')
    series = {  # type: (probe_success, probe_skipped), as exported
        "outbound": ("1", "0"), "queue": ("NaN", "1"), "inbound": ("NaN", "NaN"), "custom": ("0", "0"),
    }
    input_series = []
    for probe_type, (success, skipped) in series.items():
        input_series.append({"series": f'longrun_probe_success{{job="longrun",instance="x",type="{probe_type}"}}', "values": " ".join([success] * 4)})
        input_series.append({"series": f'longrun_probe_skipped{{job="longrun",instance="x",type="{probe_type}"}}', "values": " ".join([skipped] * 4)})
    expected = {"outbound": 1, "custom": 0, "queue": 2, "inbound": 3}  # PASS, FAIL, not configured, no data
    tests = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": input_series,
        "promql_expr_test": [{"expr": expr, "eval_time": "2m",
                              "exp_samples": [{"labels": f'{{type="{t}"}}', "value": v} for t, v in expected.items()]}],
    }]}
    test_file = tmp_path / "panel-test.yml"
    test_file.write_text(yaml.safe_dump(tests), encoding="utf-8")
    result = subprocess.run([tool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
