"""alertmanager/render-config.sh: the shipped Alertmanager config with this deployment's Telegram
token and chat filled in (the telegram-direct receiver), or without that receiver when there are none."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from . import artefacts as a
from .test_alertmanager import route_receiver, run_amtool

TOKEN = "123456789:AAtest-token_0123456789abcdef"
DIRECT_ALERT = {"alertname": "LongrunStoreDown", "severity": "P2", "incident_type": "store_down",
                "delivery": "direct"}


def render(tmp_path: Path, *extra: str, token_file: str | None = None, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    output = tmp_path / "rendered.yml"
    environment = {"PATH": os.environ["PATH"], "TELEGRAM_BOT_TOKEN_FILE": token_file or str(tmp_path / "absent"), **env}
    result = subprocess.run(["sh", str(a.ALERTMANAGER_RENDER), str(a.ALERTMANAGER_CONFIG), str(output), *extra],
                            capture_output=True, text=True, timeout=30, env=environment)
    return result, output


def direct_receiver(path: Path) -> dict | None:
    receivers = yaml.safe_load(path.read_text())["receivers"]
    return next((r["telegram_configs"][0] for r in receivers if r["name"] == "telegram-direct"), None)


def test_with_a_token_and_a_chat_the_direct_receiver_is_filled_in_and_private(tmp_path: Path):
    result, output = render(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="-1001234")

    assert result.returncode == 0, result.stderr
    telegram = direct_receiver(output)
    assert telegram["bot_token"] == TOKEN and telegram["chat_id"] == -1001234
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert TOKEN not in result.stdout + result.stderr and "-1001234" in result.stderr
    assert run_amtool("check-config", str(output)).returncode == 0
    assert route_receiver(output, **DIRECT_ALERT) == "telegram-direct,longrun-bridge"
    # everything else is the shipped file, line for line
    shipped, rendered = a.ALERTMANAGER_CONFIG.read_text().splitlines(), output.read_text().splitlines()
    changed = [(old, new) for old, new in zip(shipped, rendered) if old != new]
    assert len(shipped) == len(rendered) and len(changed) == 2, changed


def test_without_a_token_the_direct_route_is_left_out_with_a_warning(tmp_path: Path):
    result, output = render(tmp_path, TELEGRAM_CHAT_ID="-1001234")

    assert result.returncode == 0, result.stderr
    assert direct_receiver(output) is None and "telegram" not in output.read_text()
    assert "WARNING" in result.stderr and "reach nobody" in result.stderr
    assert run_amtool("check-config", str(output)).returncode == 0
    assert route_receiver(output, **DIRECT_ALERT) == "longrun-bridge"


def test_the_token_file_wins_over_the_variable(tmp_path: Path):
    secret = tmp_path / "telegram_bot_token"
    secret.write_text(TOKEN + "\n")

    result, output = render(tmp_path, token_file=str(secret), TELEGRAM_BOT_TOKEN="1:other", TELEGRAM_CHAT_ID="5")

    assert result.returncode == 0, result.stderr
    assert direct_receiver(output)["bot_token"] == TOKEN


@pytest.mark.parametrize("chats, expected", [
    ({"TELEGRAM_CHAT_ID": "@alerts,-1009,42"}, -1009),  # Alertmanager takes numbers only: the first one
    ({"TELEGRAM_CHAT_ID": "42", "ALERTMANAGER_TELEGRAM_CHAT_ID": "-77"}, -77),
])
def test_the_chat_is_the_first_numeric_id_unless_given_apart(tmp_path: Path, chats: dict, expected: int):
    result, output = render(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, **chats)
    assert result.returncode == 0, result.stderr
    assert direct_receiver(output)["chat_id"] == expected


def test_only_channel_names_leave_the_direct_route_out(tmp_path: Path):
    result, output = render(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="@alerts")
    assert result.returncode == 0 and direct_receiver(output) is None and "WARNING" in result.stderr


@pytest.mark.parametrize("env, says", [
    ({"TELEGRAM_BOT_TOKEN": 'x"; rm -rf /', "TELEGRAM_CHAT_ID": "1"}, "characters a Telegram token never has"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "ALERTMANAGER_TELEGRAM_CHAT_ID": "12a"}, "is not a number"),
])
def test_a_value_that_could_never_work_is_refused_and_nothing_written(tmp_path: Path, env: dict, says: str):
    result, output = render(tmp_path, **env)
    assert result.returncode == 65 and says in result.stderr
    assert not output.exists()
    assert 'rm -rf' not in result.stderr


def test_after_rendering_it_runs_the_command_given(tmp_path: Path):
    result, output = render(tmp_path, "--", "sh", "-c", 'echo "ran with $0"', "argument",
                            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="1")
    assert result.returncode == 0 and result.stdout.strip() == "ran with argument" and output.exists()
