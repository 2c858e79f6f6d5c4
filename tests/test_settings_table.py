"""The README's settings table is generated from the settings code and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter import settings as settings_module
from exporter import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_settings_table_is_current():
    text = README.read_text(encoding="utf-8")
    assert settings_table.replace_in(text) == text, (
        "README.md's settings table is stale (a setting was added, renamed or its default changed in "
        f"exporter/settings.py). Regenerate it: .venv/bin/{settings_table.REGENERATE}")


def test_every_setting_load_settings_reads_is_a_row():
    keys = [key for key, _, _ in settings_table.rows()]
    assert keys == list(settings_module._KEYS)
    table = settings_table.table()
    for key in settings_module._KEYS:
        assert f"| `{key}` |" in table


def test_a_new_setting_appears_with_its_field_comment(monkeypatch):
    """Added in settings.py alone (no entry in DESCRIPTIONS): the row comes from the code."""
    monkeypatch.setitem(settings_module._KEYS, "LONGRUN_SOMETHING_NEW", ("http_idle_timeout", settings_module._duration))
    monkeypatch.delitem(settings_table.DESCRIPTIONS, "TELEGRAM_TIMEOUT")
    monkeypatch.delitem(settings_table.DESCRIPTIONS, "LONGRUN_STORE_TIMEOUT")
    rows = {key: (default, what) for key, default, what in settings_table.rows()}
    assert rows["LONGRUN_SOMETHING_NEW"][0] == "`1m`"
    assert rows["TELEGRAM_TIMEOUT"][1].startswith("one sendMessage call")  # the comment after the field
    assert rows["LONGRUN_STORE_TIMEOUT"][1].startswith("How long one store call may take")  # the lines above it
    with pytest.raises(AssertionError, match="python -m exporter.settings_table --write README.md"):
        test_the_readme_settings_table_is_current()


def test_the_open_webhook_carries_its_security_note():
    (what,) = [w for key, _, w in settings_table.rows() if key == "LONGRUN_WEBHOOK_OPEN"]
    assert "**Security:**" in what and "anyone who can reach the port" in what


def test_defaults_are_shown_as_people_write_them():
    rows = {key: default for key, default, _ in settings_table.rows()}
    assert rows["LONGRUN_HEARTBEAT_INTERVAL"] == "`1m`" and rows["LONGRUN_QUEUE_INTERVAL"] == "`1d`"
    assert rows["LONGRUN_WEBHOOK_OPEN"] == "`false`" and rows["TELEGRAM_CHAT_ID"] == "unset"
    assert rows["LONGRUN_LISTEN"] == "`127.0.0.1:9469`"


def test_the_writer_refuses_a_file_without_markers(tmp_path, capsys):
    path = tmp_path / "README.md"
    path.write_text("# no table here\n")
    assert settings_table.main(["--write", str(path)]) == 1
    assert "no settings table markers" in capsys.readouterr().err
