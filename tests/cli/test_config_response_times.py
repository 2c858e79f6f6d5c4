"""``longrun config set`` validates the response times of chat-ops reminders (responseTimeSec)."""

from __future__ import annotations


def test_config_set_takes_a_response_time_and_refuses_a_bad_one(sqlite_cli):
    result = sqlite_cli.ok("config", "set", "responseTimeSec.P1=120", "--yes")
    assert "responseTimeSec.P1: 300 -> 120" in result.out
    refused = sqlite_cli("config", "set", "responseTimeSec.P2=0", "--yes")
    assert refused.code == 64 and "responseTimeSec.P2: must be >= 1, got 0" in refused.err
    shown = sqlite_cli.ok("config", "show", "--json").json()
    assert shown["effective"]["responseTimeSec"] == {"P1": 120, "P2": 900, "P3": 3600}
