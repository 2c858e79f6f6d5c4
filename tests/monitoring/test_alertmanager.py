"""The shipped Alertmanager config: amtool accepts it, every alert reaches
longrun's webhook with the token, and the Watchdog is sent often enough for a
dead man's switch."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from . import artefacts as a

AMTOOL_MISSING = (
    "amtool NOT FOUND: the Alertmanager config checks did NOT run. "
    "Install Alertmanager (`make system-deps`, or apt-get install prometheus-alertmanager)."
)
CONFIG = a.load_yaml(a.ALERTMANAGER_CONFIG)


def run_amtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = a.amtool()
    if tool is None:
        warnings.warn(AMTOOL_MISSING)
        pytest.skip(AMTOOL_MISSING)
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, cwd=a.REPO)


def route_receiver(config: Path, **labels: str) -> str:
    result = run_amtool("config", "routes", "test", f"--config.file={config}", *(f"{k}={v}" for k, v in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", text))


def test_amtool_check_config_accepts_it():
    result = run_amtool("check-config", str(a.ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_check_config_rejects_a_broken_config(tmp_path: Path):
    """The check above can fail: a route to a receiver that does not exist is refused."""
    broken = dict(CONFIG, route=dict(CONFIG["route"], receiver="nobody"))
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = run_amtool("check-config", str(path))
    assert result.returncode != 0
    assert "nobody" in result.stdout + result.stderr


@pytest.mark.parametrize("severity, priority", [("critical", "P1"), ("warning", "P2"), ("info", "P3")])
def test_every_longrun_alert_goes_to_the_bridge(severity: str, priority: str):
    receiver = route_receiver(a.ALERTMANAGER_CONFIG, alertname="LongrunHeartbeatGap", severity=severity,
                              priority=priority, incident_type="missed_heartbeat")
    assert receiver == "longrun-bridge"


def test_severity_routes_use_the_conventional_words():
    """Routing trees key on severity="critical"; a route on P1 would never match a shipped alert."""
    matchers = [m for r in CONFIG["route"]["routes"] for m in r.get("matchers", [])]
    assert 'severity="critical"' in matchers and 'severity="info"' in matchers
    assert not [m for m in matchers if "P1" in m or "P2" in m or "P3" in m]
    for rule in CONFIG["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            if matcher.startswith("severity"):
                assert re.fullmatch(r'severity="(critical|warning|info)"', matcher), matcher


def test_watchdog_goes_to_the_dead_mans_switch():
    assert route_receiver(a.ALERTMANAGER_CONFIG, alertname="Watchdog", severity="none") == "longrun-watchdog"


def test_watchdog_is_resent_every_minute():
    """Alertmanager re-sends at a group_interval tick once repeat_interval has passed since the
    last send; repeat_interval below group_interval makes that every tick."""
    route = next(r for r in CONFIG["route"]["routes"] if 'alertname="Watchdog"' in r.get("matchers", []))
    assert duration(route["group_interval"]) <= 60
    assert duration(route["repeat_interval"]) < duration(route["group_interval"])
    assert duration(route["group_wait"]) == 0


def test_grouping_is_by_alert_and_incident_type():
    assert CONFIG["route"]["group_by"] == ["alertname", "incident_type"]


DIRECT = "telegram-direct"
WEBHOOK_RECEIVERS = [r for r in CONFIG["receivers"] if r["name"] != DIRECT]


@pytest.mark.parametrize("labels", [
    {"alertname": "LongrunExporterDown", "severity": "critical", "incident_type": "alert"},
    {"alertname": "LongrunStoreDown", "severity": "warning", "incident_type": "store_down"},
    {"alertname": "LongrunOutboxStale", "severity": "warning", "incident_type": "alert"},
], ids=lambda labels: labels["alertname"])
def test_alerts_longrun_may_not_deliver_go_to_telegram_directly_and_to_the_bridge(labels: dict):
    assert route_receiver(a.ALERTMANAGER_CONFIG, **labels, delivery="direct") == f"{DIRECT},longrun-bridge"


def test_the_alerts_that_go_directly_are_those_longrun_may_not_deliver():
    direct = {(r["alert"], r["labels"]["priority"]) for r in a.alert_rules()
              if r.get("labels", {}).get("delivery") == "direct"}
    assert direct == {("LongrunExporterAbsent", "P1"), ("LongrunExporterDown", "P1"), ("LongrunStoreDown", "P2"),
                      ("LongrunTelegramDeliveryFailing", "P2"), ("LongrunOutboxStale", "P2"),
                      ("LongrunAlertDeliveryFailing", "P1")}


def test_the_direct_receiver_calls_telegram_with_fields_render_config_fills_in():
    (receiver,) = [r for r in CONFIG["receivers"] if r["name"] == DIRECT]
    (telegram,) = receiver["telegram_configs"]
    assert telegram["api_url"] == "https://api.telegram.org"
    assert telegram["parse_mode"] == "HTML" and telegram["send_resolved"] is True
    text = a.ALERTMANAGER_CONFIG.read_text()
    assert re.search(r"bot_token: .*# longrun-render: TELEGRAM_BOT_TOKEN$", text, re.M)
    assert re.search(r"chat_id: .*# longrun-render: TELEGRAM_CHAT_ID$", text, re.M)


@pytest.mark.parametrize("receiver", WEBHOOK_RECEIVERS, ids=lambda r: r["name"])
def test_receivers_call_the_webhook_with_the_token(receiver: dict):
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == f"http://longrun:9469{a.WEBHOOK_PATH}"
    assert hook["send_resolved"] is True
    assert hook["max_alerts"] == 0
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer", "credentials_file": "/etc/alertmanager/webhook_token",
    }


def test_inhibit_rules_name_existing_alerts():
    alerts = {rule["alert"] for rule in a.alert_rules()}
    for rule in CONFIG["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            label, op, value = re.fullmatch(r'(\w+)\s*(=~|!~|!=|=)\s*"(.*)"', matcher).groups()
            if label == "alertname":
                assert set(value.split("|")) <= alerts, matcher
        assert rule["equal"], "an inhibition without `equal` silences every matching alert everywhere"


def test_inhibit_rules_compare_labels_the_alerts_carry():
    """`equal` on a label no alert has would compare empty with empty and inhibit across deployments."""
    external = set(a.load_yaml(a.PROMETHEUS_CONFIG)["global"].get("external_labels", {}))
    assert "monitor" in external
    for rule in CONFIG["inhibit_rules"]:
        assert set(rule["equal"]) <= {"alertname", "job", "instance"} | external, rule["equal"]
