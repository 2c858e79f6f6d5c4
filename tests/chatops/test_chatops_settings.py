"""TELEGRAM_ADMIN_IDS and TELEGRAM_ESCALATION_CHAT_ID: parsed once, bad values named with the fix."""

from __future__ import annotations

import pytest

from exporter.settings import SettingsError, load_settings


def test_admin_ids_and_the_escalation_chat_are_read():
    s = load_settings({"TELEGRAM_ADMIN_IDS": " 111, 222 ,", "TELEGRAM_ESCALATION_CHAT_ID": "-1009"})
    assert s.telegram_admin_ids == ("111", "222") and s.telegram_escalation_chat_id == "-1009"
    assert load_settings({}).telegram_admin_ids == () and load_settings({}).telegram_escalation_chat_id is None


def test_admin_ids_from_a_yaml_list(tmp_path):
    config = tmp_path / "longrun.yml"
    config.write_text("TELEGRAM_ADMIN_IDS: [111, 222]\n")
    assert load_settings({}, config).telegram_admin_ids == ("111", "222")


@pytest.mark.parametrize("env, named", [
    ({"TELEGRAM_ADMIN_IDS": "alice"}, "TELEGRAM_ADMIN_IDS: 'alice' is not a Telegram user id"),
    ({"TELEGRAM_ADMIN_IDS": "-5"}, "TELEGRAM_ADMIN_IDS: '-5' is not a Telegram user id"),
    ({"TELEGRAM_ESCALATION_CHAT_ID": "-1,-2"}, "TELEGRAM_ESCALATION_CHAT_ID: expected one chat id"),
    ({"TELEGRAM_ESCALATION_CHAT_ID": "chat"}, "TELEGRAM_ESCALATION_CHAT_ID: 'chat' is not a Telegram chat id"),
])
def test_bad_values_are_refused_naming_the_setting(env, named):
    with pytest.raises(SettingsError, match="^" + named.replace("(", r"\(")):
        load_settings(env)
